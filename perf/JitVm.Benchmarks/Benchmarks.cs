using BenchmarkDotNet.Attributes;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// The job every class uses: one launched process, 5 warmup + 15 measured iterations. BenchmarkDotNet's pilot stage
/// still picks the invocation count per iteration (~500 ms per iteration), so on a noisy 2-vCPU machine all four
/// classes finish in about four minutes; read the Median column and RatioSD alongside Mean/Ratio. The Ratio column
/// compares the VM [Benchmark] with the C# [Benchmark(Baseline = true)] of the same class.
/// </summary>
internal static class JobSettings
{
    public const int Warmup = 5;
    public const int Iterations = 15;
}

/// <summary>Recursive fib(25): 242,785 calls; measures call/return cost.</summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class FibBenchmark
{
    private readonly long _n = VmPrograms.FibN;
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup]
    public void Setup()
    {
        var module = Vm.Load(VmPrograms.FibText, "fib.jvm");
        _isolate = Vm.NewIsolate(module);
        _function = Vm.Function(module, "fib");
    }

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.Fib(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);
}

/// <summary>The seed loop: s += i*2 for i = 1..10,000,000; measures dispatch of simple i64 ops and a back edge.</summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class LoopBenchmark
{
    private readonly long _n = VmPrograms.LoopN;
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup]
    public void Setup()
    {
        var module = Vm.Load(VmPrograms.LoopText, "loop.jvm");
        _isolate = Vm.NewIsolate(module);
        _function = Vm.Function(module, "loop");
    }

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.Loop(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);
}

/// <summary>
/// Sieve of Eratosthenes up to 1,000,000 (78,498 primes): one fresh 1,000,001-word array per run; measures heap
/// allocation plus bounds-checked load.i/store.i.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class SieveBenchmark
{
    /// <summary>One run allocates (1,000,001 + 1 header) words = ~8 MB; 64 MiB leaves ample headroom.</summary>
    private const long HeapLimit = 64L * 1024 * 1024;

    private readonly long _n = VmPrograms.SieveN;
    private Module _module = null!;
    private int _function;

    [GlobalSetup]
    public void Setup()
    {
        _module = Vm.Load(VmPrograms.SieveText, "sieve.jvm");
        _function = Vm.Function(_module, "sieve");
    }

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.Sieve(_n);

    /// <remarks>
    /// The VM has no garbage collector yet: every <c>alloc</c> stays in the isolate's heap until the isolate is
    /// dropped, so reusing one isolate would hit MaxHeapBytes after a few dozen runs (and BenchmarkDotNet runs
    /// hundreds). Each invocation therefore creates a fresh isolate (a few small arrays; the module is assembled,
    /// verified and decoded once and shared). The measured time includes that, and the heap arena growing from its
    /// initial 1,024 words to fit the 8 MB object (Array.Resize doubling), the VM's counterpart of the C#
    /// baseline's <c>new long[n + 1]</c>.
    /// </remarks>
    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(Vm.NewIsolate(_module, HeapLimit), _function, _n);
}

/// <summary>x = (x*31 + i) % 1000003 for i = 0..9,999,999; a dependent multiply/remainder chain.</summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class MulModBenchmark
{
    private readonly long _n = VmPrograms.MulModN;
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup]
    public void Setup()
    {
        var module = Vm.Load(VmPrograms.MulModText, "mulmod.jvm");
        _isolate = Vm.NewIsolate(module);
        _function = Vm.Function(module, "mulmod");
    }

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.MulMod(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);
}
