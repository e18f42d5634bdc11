using BenchmarkDotNet.Attributes;
using JitVm.Hosting;
using Module = JitVm.Hosting.Module;

namespace JitVm.Benchmarks;

/// <summary>
/// What an isolate costs to make and to recycle (spec/embedding.md §6.1), for a module without large data (one small
/// function and a global): a new isolate with the default options, a new isolate that is also called once, a
/// rent and return through an <see cref="IsolatePool"/> (which resets the isolate), and a bare
/// <see cref="Isolate.Reset"/>. The baseline is the C# equivalent of a new instance of a small program: an object with
/// a 64-word array and a delegate to call.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
[MemoryDiagnoser]
public class IsolateCreationBenchmark
{
    private const string Source = """
        .global counter i64 = 0
        .func main (n: i64) -> (i64)
            global.get counter
            local.get n
            i64.add
            global.set counter
            global.get counter
            return
        .end
        """;

    private Module _module = null!;
    private IsolatePool _pool = null!;
    private Isolate _isolate = null!;

    private sealed class CSharpProgram(int words)
    {
        public readonly long[] Globals = new long[words];
        public readonly Func<long, long> Main = n => n + 1;
    }

    [GlobalSetup]
    public void Setup()
    {
        _module = Module.FromText(Source, "lifecycle.jvm");
        _pool = new IsolatePool(_module);
        _isolate = new Isolate(_module);
        if (CreateAndCall() != 5) throw new InvalidOperationException("the isolate does not run");
    }

    [Benchmark(Baseline = true, Description = "C# new program object")]
    public object CSharp() => new CSharpProgram(64);

    [Benchmark(Description = "new Isolate")]
    public Isolate Create() => new(_module);

    [Benchmark(Description = "new Isolate + one call")]
    public long CreateAndCall() => new Isolate(_module).Invoke("main", Value.I64(5))[0].AsI64;

    [Benchmark(Description = "IsolatePool Rent + Return")]
    public void RentAndReturn() => _pool.Return(_pool.Rent());

    [Benchmark(Description = "Isolate.Reset")]
    public void Reset() => _isolate.Reset();
}
