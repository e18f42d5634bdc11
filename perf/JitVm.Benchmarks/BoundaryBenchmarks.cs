using System.Text;
using BenchmarkDotNet.Attributes;
using JitVm.Hosting;
using Module = JitVm.Hosting.Module;

namespace JitVm.Benchmarks;

/// <summary>
/// A string's round trip across the boundary (spec/embedding.md §9.2): the host copies a .NET string into the
/// isolate as a VM string (<see cref="Isolate.AllocateString(string)"/>), reads it back
/// (<see cref="Isolate.ReadString"/>) and releases its handle, against the C# work that copies the same data: encode
/// to a new UTF-8 byte array and decode it to a new string. <see cref="Length"/> is the string's length in chars
/// (ASCII, so as many bytes).
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
[MemoryDiagnoser]
public class StringRoundTripBenchmark
{
    private string _text = "";
    private Isolate _isolate = null!;

    /// <summary>The string's length in chars (and UTF-8 bytes).</summary>
    [Params(16, 1024)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _text = new string('x', Length - 1) + "!";
        _isolate = new Isolate(Module.FromText(".func main () -> ()\n    return\n.end\n", "boundary.jvm"));
        if (JitVm() != CSharp()) throw new InvalidOperationException("the round trips disagree");
    }

    [Benchmark(Baseline = true, Description = "C# encode + decode")]
    public string CSharp() => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(_text));

    [Benchmark(Description = "JitVm AllocateString + ReadString")]
    public string JitVm()
    {
        using var handle = _isolate.AllocateString(_text);
        var back = _isolate.ReadString(handle);
        return back;
    }
}

/// <summary>
/// Strings and <c>long[]</c>s through typed delegates (spec/embedding.md §9.3), against the C# call that copies the
/// same data. <c>echo</c> is a typed export <c>(ptr) -> (ptr)</c> that returns its argument: the string or array is
/// copied into a new VM object for the call and copied out of the result, one round trip. <c>via_host</c> passes its
/// argument to a typed host function that returns it (<c>FromFunc&lt;string, string&gt;(s =&gt; s)</c>), which copies it
/// out of the VM and back into a new object: two round trips. Each category's baseline is one round trip in C#: the
/// string encoded to UTF-8 and decoded again, the array copied twice. <see cref="Length"/> is chars (ASCII) or elements.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TypedBoundaryRoundTripBenchmark
{
    private const string Source = """
        .import same_string (ptr) -> (ptr)
        .import same_numbers (ptr) -> (ptr)
        .func echo (p: ptr) -> (ptr)
            local.get p
            return
        .end
        .func string_via_host (s: ptr) -> (ptr)
            local.get s
            call same_string
            return
        .end
        .func numbers_via_host (p: ptr) -> (ptr)
            local.get p
            call same_numbers
            return
        .end
        """;

    private string _text = "";
    private long[] _numbers = [];
    private Func<string, string> _echoString = null!;
    private Func<string, string> _stringViaHost = null!;
    private Func<long[], long[]> _echoNumbers = null!;
    private Func<long[], long[]> _numbersViaHost = null!;

    /// <summary>The string's length in chars (and UTF-8 bytes), and the array's in elements.</summary>
    [Params(16, 1024)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _text = new string('x', Length - 1) + "!";
        _numbers = [.. Enumerable.Range(0, Length).Select(i => i * 7L)];
        var isolate = new Isolate(Module.FromText(Source, "typed-boundary.jvm"),
        [
            HostFunction.FromFunc<string, string>("same_string", s => s),
            HostFunction.FromFunc<long[], long[]>("same_numbers", numbers => numbers),
        ]);
        _echoString = isolate.GetFunction<string, string>("echo");
        _stringViaHost = isolate.GetFunction<string, string>("string_via_host");
        _echoNumbers = isolate.GetFunction<long[], long[]>("echo");
        _numbersViaHost = isolate.GetFunction<long[], long[]>("numbers_via_host");
        if (EchoString() != CSharpString() || StringViaHost() != CSharpString() ||
            !EchoNumbers().AsSpan().SequenceEqual(CSharpNumbers()) || !NumbersViaHost().AsSpan().SequenceEqual(CSharpNumbers()))
            throw new InvalidOperationException("the round trips disagree");
    }

    [Benchmark(Baseline = true, Description = "C# encode + decode")]
    [BenchmarkCategory("string")]
    public string CSharpString() => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(_text));

    [Benchmark(Description = "JitVm export echo(string)")]
    [BenchmarkCategory("string")]
    public string EchoString() => _echoString(_text);

    [Benchmark(Description = "JitVm export -> host function (string)")]
    [BenchmarkCategory("string")]
    public string StringViaHost() => _stringViaHost(_text);

    [Benchmark(Baseline = true, Description = "C# copy in + copy out")]
    [BenchmarkCategory("long[]")]
    public long[] CSharpNumbers() => _numbers.ToArray().ToArray();

    [Benchmark(Description = "JitVm export echo(long[])")]
    [BenchmarkCategory("long[]")]
    public long[] EchoNumbers() => _echoNumbers(_numbers);

    [Benchmark(Description = "JitVm export -> host function (long[])")]
    [BenchmarkCategory("long[]")]
    public long[] NumbersViaHost() => _numbersViaHost(_numbers);
}
