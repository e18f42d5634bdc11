using BenchmarkDotNet.Attributes;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>Shared setup for the garbage-collector benchmarks.</summary>
internal static class GcSetup
{
    /// <summary>Heap limit for the GC benchmarks' isolates: far below what binary-trees allocates in total
    /// (~300 MB per run), so it only completes because the collector reclaims the dead trees.</summary>
    public const long HeapLimit = 64L * 1024 * 1024;

    /// <summary>Warmup iterations: the interpreter's binary-trees takes ~2 s per invocation, so 3 as for the large kernels.</summary>
    public const int Warmup = JobSettings.LargeKernelWarmup;

    /// <summary>Measured iterations (15, as every class).</summary>
    public const int Iterations = JobSettings.Iterations;

    public static readonly long BinaryTreesExpected = GcPrograms.BinaryTrees(GcPrograms.BinaryTreesMaxDepth);

    /// <summary>
    /// One isolate (reused by every invocation; its heap is collected, so it does not fill) with the given tier.
    /// For the JIT tier it is invoked once here, which compiles the module, and checked to have compiled code and
    /// the expected result.
    /// </summary>
    public static (Isolate Isolate, int Function) Isolate(string text, string name, string function, ExecutionTier tier,
        Func<Isolate, int, long> run, long expected)
    {
        var module = Vm.Load(text, name + ".jvm");
        var index = Vm.Function(module, function);
        var isolate = NewIsolate(module, tier);
        if (tier == ExecutionTier.Jit)
        {
            if (isolate.Tier != ExecutionTier.Jit) throw new InvalidOperationException($"{name}: isolate tier is {isolate.Tier}, not Jit");
            var actual = run(isolate, index);
            if (!Vm.IsCompiled(isolate, function)) throw new InvalidOperationException($"{name}: the JIT tier did not compile the function");
            if (actual != expected) throw new InvalidOperationException($"{name}: JIT tier returned {actual}, C# {expected}");
        }
        return (isolate, index);
    }

    /// <summary>An isolate with unlimited fuel, the GC heap limit and the default (2 MiB) nursery.</summary>
    public static Isolate NewIsolate(Module module, ExecutionTier tier, Microsoft.Extensions.Logging.ILogger? logger = null) =>
        new(module, StandardImports.Create(Stream.Null), new IsolateOptions
        {
            Fuel = null,
            MaxHeapBytes = HeapLimit,
            Tier = tier,
            Logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
        });

    /// <summary>Calls a () -> (i64) function.</summary>
    public static long Call0(Isolate isolate, int function) => isolate.Invoke(function)[0].AsI64;
}

/// <summary>
/// binary-trees, max depth 16 (examples/binary_trees.jvm without printing): ~300 MB of two-word nodes per run
/// against a 64 MiB heap, the sum of all check values as the result; C# with a class-based tree as the baseline.
/// </summary>
[SimpleJob(warmupCount: GcSetup.Warmup, iterationCount: GcSetup.Iterations)]
[MedianColumn]
public class BinaryTreesBenchmark
{
    private readonly long _maxDepth = GcPrograms.BinaryTreesMaxDepth;
    private Isolate _isolate = null!;
    private int _function;

    private (Isolate, int) Setup(ExecutionTier tier) =>
        GcSetup.Isolate(GcPrograms.BinaryTreesText, "binary_trees", "main", tier, GcSetup.Call0, GcSetup.BinaryTreesExpected);

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => (_isolate, _function) = Setup(ExecutionTier.Interpreter);

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit() => (_isolate, _function) = Setup(ExecutionTier.Jit);

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => GcPrograms.BinaryTrees(_maxDepth);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => GcSetup.Call0(_isolate, _function);

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => GcSetup.Call0(_isolate, _function);
}

/// <summary>
/// Allocation rate: 10,000,000 two-word objects per invocation, each dropped when the next one is allocated;
/// C# allocates <c>new long[2]</c> into a static field. Allocations/s = 10,000,000 / mean. The memory diagnoser's
/// Allocated column is .NET heap allocation: 400 MB (40 bytes per array) per C# invocation shows the arrays really are allocated; the VM
/// methods allocate in the isolate's own heap, which .NET does not see.
/// </summary>
[SimpleJob(warmupCount: GcSetup.Warmup, iterationCount: GcSetup.Iterations)]
[MedianColumn]
[MemoryDiagnoser]
public class AllocationRateBenchmark
{
    private readonly long _n = GcPrograms.AllocationN;
    private Isolate _isolate = null!;
    private int _function;

    private (Isolate, int) Setup(ExecutionTier tier) =>
        GcSetup.Isolate(GcPrograms.AllocationText, "allocate", "allocate", tier, (isolate, f) => Vm.Call(isolate, f, _n), GcPrograms.Allocate(_n));

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => (_isolate, _function) = Setup(ExecutionTier.Interpreter);

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit() => (_isolate, _function) = Setup(ExecutionTier.Jit);

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp() => GcPrograms.Allocate(_n);

    [Benchmark(Description = "JitVm interpreter")]
    public long Interpreter() => Vm.Call(_isolate, _function, _n);

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => Vm.Call(_isolate, _function, _n);
}
