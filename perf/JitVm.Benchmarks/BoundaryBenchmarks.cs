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
