using BenchmarkDotNet.Attributes;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// The jobs the classes use. All methods of a class share one job, so the Ratio column (method / the C#
/// [Benchmark(Baseline = true)] of the same class) compares like with like. BenchmarkDotNet's pilot stage picks
/// the invocation count per iteration (~500 ms per iteration) unless a class fixes it (Sieve).
/// </summary>
internal static class JobSettings
{
    /// <summary>One launched process, 5 warmup + 15 measured iterations (Fib, CompileThroughput).</summary>
    public const int Warmup = 5;

    public const int Iterations = 15;

    /// <summary>
    /// The 1e8-iteration kernels and the 1e7 sieve take 0.5-1 s per invocation in the interpreter, so those classes
    /// use 3 warmup iterations (still 15 measured) to keep a full run affordable.
    /// </summary>
    public const int LargeKernelWarmup = 3;
}

/// <summary>Recursive fib(30): 2,692,537 calls; measures call/return cost.</summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class FibBenchmark
{
    private static readonly Kernel Kernel = VmPrograms.Kernels.Single(k => k.Name == "fib");
    private readonly long _n = VmPrograms.FibN;
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => (_isolate, _function) = KernelSetup.Isolate(Kernel, ExecutionTier.Interpreter);

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit() => (_isolate, _function) = KernelSetup.Isolate(Kernel, ExecutionTier.Jit);

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.Fib(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => Vm.Call(_isolate, _function, _n);
}

/// <summary>The seed loop: s += i*2 for i = 1..100,000,000; measures simple i64 ops and a back edge.</summary>
[SimpleJob(warmupCount: JobSettings.LargeKernelWarmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class LoopBenchmark
{
    private static readonly Kernel Kernel = VmPrograms.Kernels.Single(k => k.Name == "loop");
    private readonly long _n = VmPrograms.LoopN;
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => (_isolate, _function) = KernelSetup.Isolate(Kernel, ExecutionTier.Interpreter);

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit() => (_isolate, _function) = KernelSetup.Isolate(Kernel, ExecutionTier.Jit);

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.Loop(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => Vm.Call(_isolate, _function, _n);
}

/// <summary>
/// Sieve of Eratosthenes up to 10,000,000 (664,579 primes): one fresh 10,000,001-word (80 MB) array per run;
/// measures heap allocation plus bounds-checked load.i/store.i.
/// </summary>
/// <remarks>
/// Each run uses a fresh isolate: when this was written the VM had no garbage collector (a reused isolate ran out
/// of heap); now it keeps every run identical (empty heap, same arena growth) and keeps collections of earlier
/// runs' garbage out of the measurement. The isolate is created in [IterationSetup], outside the timed region,
/// which forces one invocation per iteration; [InvocationCount(1)] fixes that for the C# baseline too, so all three
/// methods share one job. The timed VM region still contains everything <c>alloc</c> does for the 80 MB object
/// (the heap arena growing with Array.Resize to 16 M words; the VM's counterpart of the C# baseline's
/// <c>new long[n + 1]</c>). [IterationCleanup] drops the isolate so BenchmarkDotNet's forced GC between
/// iterations reclaims it outside the timed region.
/// </remarks>
[SimpleJob(warmupCount: JobSettings.LargeKernelWarmup, iterationCount: JobSettings.Iterations)]
[InvocationCount(1)]
[MedianColumn]
public class SieveBenchmark
{
    /// <summary>One run allocates (10,000,001 + 1 header) words = 80 MB; 128 MiB leaves headroom.</summary>
    private const long HeapLimit = 128L * 1024 * 1024;

    private static readonly Kernel Kernel = VmPrograms.Kernels.Single(k => k.Name == "sieve");
    private readonly long _n = VmPrograms.SieveN;
    private Module _module = null!;
    private int _function;
    private Isolate? _isolate;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter()
    {
        _module = Vm.Load(Kernel.Text, Kernel.Name + ".jvm");
        _function = Vm.Function(_module, Kernel.Name);
    }

    /// <summary>Compiles the module (its code is shared by every isolate that runs it) and runs it once on a throwaway isolate.</summary>
    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit()
    {
        SetupInterpreter();
        Vm.WarmJit(Vm.NewIsolate(_module, ExecutionTier.Jit, HeapLimit), _function, Kernel);
    }

    [IterationSetup(Target = nameof(Interpreter))]
    public void NewInterpreterIsolate() => _isolate = Vm.NewIsolate(_module, ExecutionTier.Interpreter, HeapLimit);

    [IterationSetup(Target = nameof(Jit))]
    public void NewJitIsolate() => _isolate = Vm.NewIsolate(_module, ExecutionTier.Jit, HeapLimit);

    [IterationCleanup]
    public void DropIsolate() => _isolate = null;

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.Sieve(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate!, _function, _n);

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => Vm.Call(_isolate!, _function, _n);
}

/// <summary>x = (x*31 + i) % 1000003 for i = 0..99,999,999; a dependent multiply/remainder chain.</summary>
[SimpleJob(warmupCount: JobSettings.LargeKernelWarmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class MulModBenchmark
{
    private static readonly Kernel Kernel = VmPrograms.Kernels.Single(k => k.Name == "mulmod");
    private readonly long _n = VmPrograms.MulModN;
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => (_isolate, _function) = KernelSetup.Isolate(Kernel, ExecutionTier.Interpreter);

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit() => (_isolate, _function) = KernelSetup.Isolate(Kernel, ExecutionTier.Jit);

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => VmPrograms.MulMod(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => Vm.Call(_isolate, _function, _n);
}

/// <summary>Global setup shared by the classes that reuse one isolate for every invocation.</summary>
internal static class KernelSetup
{
    /// <summary>
    /// Assembles and verifies the kernel's module and creates one isolate with the given tier. For the JIT tier the
    /// isolate is invoked once here (compiling the module and letting the CLR JIT the DynamicMethods), so the
    /// measured invocations run warm code and exclude compile cost.
    /// </summary>
    public static (Isolate Isolate, int Function) Isolate(Kernel kernel, ExecutionTier tier)
    {
        var module = Vm.Load(kernel.Text, kernel.Name + ".jvm");
        var function = Vm.Function(module, kernel.Name);
        var isolate = Vm.NewIsolate(module, tier);
        if (tier == ExecutionTier.Jit) Vm.WarmJit(isolate, function, kernel);
        return (isolate, function);
    }
}
