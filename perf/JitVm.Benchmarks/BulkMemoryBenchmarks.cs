using BenchmarkDotNet.Attributes;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// The bulk memory instructions against the .NET operations they stand for (issue "at memcpy speed in the JIT
/// tier"): per call, <see cref="Reps"/> copies (<c>mem.copy</c> vs <c>Array.Copy</c> between two long[]), fills
/// (<c>mem.fill</c> vs <c>Span.Fill</c>) or compares of equal ranges (<c>mem.compare</c> over all the bytes vs
/// <c>SequenceCompareTo</c>) of <see cref="Words"/> words, between two objects allocated once. The VM also moves the
/// words' tag bits (one bit per word) and applies the write barrier, and charges fuel for the size.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class BulkMemoryBenchmark
{
    private const int Reps = 1_000;

    private const string Program = """
        .func copy (i64 i64) -> (i64)        ; (words, reps) -> the last word copied
            .local a ptr
            .local b ptr
            .local i i64
            local.get 0
            alloc
            local.set a
            local.get 0
            alloc
            local.set b
            local.get a
            local.get 0
            i64.const 1
            i64.sub
            i64.const 7
            store.i
        again:
            local.get b
            i64.const 0
            local.get a
            i64.const 0
            local.get 0
            mem.copy
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get 1
            i64.lt_s
            br_if again
            local.get b
            local.get 0
            i64.const 1
            i64.sub
            load.i
            return
        .end

        .func fill (i64 i64) -> (i64)        ; (words, reps) -> the last word written
            .local a ptr
            .local i i64
            local.get 0
            alloc
            local.set a
        again:
            local.get a
            i64.const 0
            local.get i
            word.of_i64
            local.get 0
            mem.fill
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get 1
            i64.lt_s
            br_if again
            local.get a
            local.get 0
            i64.const 1
            i64.sub
            load.i
            return
        .end

        .func compare (i64 i64) -> (i64)     ; (words, reps) -> how many compares found the ranges equal
            .local a ptr
            .local b ptr
            .local i i64
            .local equal i64
            local.get 0
            alloc
            local.set a
            local.get 0
            alloc
            local.set b
        again:
            local.get a
            i64.const 0
            local.get b
            i64.const 0
            local.get 0
            i64.const 8
            i64.mul
            mem.compare
            i64.eqz
            local.get equal
            i64.add
            local.set equal
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get 1
            i64.lt_s
            br_if again
            local.get equal
            return
        .end
        """;

    [Params(64, 4_096, 131_072)]
    public int Words;

    [Params("copy", "fill", "compare")]
    public string Operation = "copy";

    private Isolate _isolate = null!;
    private int _function;
    private long[] _a = [];
    private long[] _b = [];

    [GlobalSetup(Target = nameof(CSharp))]
    public void SetupCSharp()
    {
        _a = new long[Words];
        _b = new long[Words];
        if (Operation == "copy") _a[^1] = 7;   // what copy carries across; compare wants equal ranges
    }

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit()
    {
        var module = Vm.Load(Program, "bulk.jvm");
        _function = Vm.Function(module, Operation);
        _isolate = Vm.NewIsolate(module, ExecutionTier.Jit, maxHeapBytes: 64L * 1024 * 1024);
        var first = Run();
        if (!Vm.IsCompiled(_isolate, Operation)) throw new InvalidOperationException($"{Operation} did not compile:\n{_isolate.Statistics()}");
        SetupCSharp();
        var expected = CSharp();
        if (first != expected) throw new InvalidOperationException($"{Operation}: JIT tier returned {first}, C# {expected}");
    }

    [Benchmark(Baseline = true, Description = "C#")]
    public long CSharp()
    {
        switch (Operation)
        {
            case "copy":
                for (var i = 0; i < Reps; i++) Array.Copy(_a, 0, _b, 0, Words);
                return _b[^1];
            case "fill":
                for (var i = 0; i < Reps; i++) _a.AsSpan().Fill(i);
                return _a[^1];
            default:
                long equal = 0;
                for (var i = 0; i < Reps; i++)
                    if (System.Runtime.InteropServices.MemoryMarshal.AsBytes(_a.AsSpan()).SequenceCompareTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_b.AsSpan())) == 0) equal++;
                return equal;
        }
    }

    [Benchmark(Description = "JitVm JIT")]
    public long Jit() => Run();

    private long Run() => _isolate.Invoke(_function, Value.I64(Words), Value.I64(Reps))[0].AsI64;
}
