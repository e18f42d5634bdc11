using System.Diagnostics;
using System.Text.Json;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Cli;

/// <summary>
/// What <c>jitvm run --report-json FILE [--repeat N]</c> measures and writes (spec/execution.md §10.3): the time to
/// read and verify the module, to link it, the first call, and N further calls of the entry in fresh isolates of
/// the same module (its compiled code is kept, its heap and globals are not), with the .NET allocations and
/// collections and the process's peak memory. <c>jitvm compare</c> reads it from each child it starts.
/// </summary>
/// <remarks>Timestamps are taken only around the phases, never inside a call, so reporting adds nothing to the
/// time it measures. The JSON is written with <see cref="Utf8JsonWriter"/>, not reflection, so the run path
/// loads no serializer.</remarks>
internal sealed class RunReport(string? path, int repeat)
{
    /// <summary>The report <c>run</c> was asked for, or null for neither option. A <paramref name="path"/> of null
    /// with a <paramref name="repeat"/> gives a report without a file, which <c>run</c> rejects as a usage error.</summary>
    public static RunReport? From(string? path, int repeat) => path is null && repeat == 0 ? null : new RunReport(path, repeat);

    /// <summary>Where the report goes.</summary>
    public string? Path { get; } = path;

    private readonly long _started = Stopwatch.GetTimestamp();
    private long _verified, _linked, _firstCallDone;
    private long _firstCallAllocated;
    private int _gen0, _gen1, _gen2;
    private string _outcome = "ok";
    private readonly List<double> _steady = [];
    private readonly List<long> _steadyAllocated = [];
    private string? _repeatTrap;
    private double _compileMs;
    private int _compiledFunctions, _functions;
    private string _tier = "";
    private long _vmMinor, _vmFull, _vmAllocated;

    /// <summary>How many calls follow the first one.</summary>
    public int Repeat { get; } = repeat;

    public void Verified() => _verified = Stopwatch.GetTimestamp();

    public void Linked() => _linked = Stopwatch.GetTimestamp();

    /// <summary>Times the first call; returns its results, or rethrows its trap after recording it.</summary>
    public Value[] FirstCall(Isolate isolate, int index, Value[] arguments)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            return isolate.Invoke(index, arguments);
        }
        catch (TrapException trap)
        {
            _outcome = "trap " + trap.Code;
            throw;
        }
        finally
        {
            _firstCallDone = Stopwatch.GetTimestamp();
            _firstCallAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Snapshot(isolate);
        }
    }

    /// <summary>Calls the entry <see cref="Repeat"/> more times, each in a fresh isolate made by
    /// <paramref name="create"/> (outside the timed region), and records each call's time and allocations.</summary>
    public void RunRepeats(Func<Isolate> create, int index, Value[] arguments)
    {
        for (var i = 0; i < Repeat; i++)
        {
            var isolate = create();
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            try
            {
                isolate.Invoke(index, arguments);
            }
            catch (TrapException trap)
            {
                // The first call returned, so a later one trapping means the entry depends on something outside
                // the module (it cannot: isolates are fresh) or a limit was hit; either way the figures stop here.
                _repeatTrap = trap.Code.ToString();
                break;
            }
            _steady.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            _steadyAllocated.Add(GC.GetAllocatedBytesForCurrentThread() - allocated);
        }
    }

    private void Snapshot(Isolate isolate)
    {
        _tier = isolate.Tier.ToString().ToLowerInvariant();
        var gc = isolate.GcStatistics;
        _vmMinor = gc.MinorCollections;
        _vmFull = gc.FullCollections;
        _vmAllocated = isolate.HeapAllocatedBytes;
        _functions = isolate.Instance.Functions.Length;
        foreach (var function in isolate.Instance.Functions)
        {
            if (function.Compiled is not { } compiled) continue;
            _compiledFunctions++;
            _compileMs += compiled.CompileTime.TotalMilliseconds;
        }
    }

    /// <summary>Writes the report. Failing to write it is reported on stderr and does not change the exit code of
    /// the run, whose output has already gone out.</summary>
    public void Write(TextWriter stderr)
    {
        _gen0 = GC.CollectionCount(0);
        _gen1 = GC.CollectionCount(1);
        _gen2 = GC.CollectionCount(2);
        var end = Stopwatch.GetTimestamp();
        using var process = Process.GetCurrentProcess();
        var peak = process.PeakWorkingSet64;
        try
        {
            using var file = File.Create(Path!);
            using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteString("schema", "jitvm-run-report/1");
            json.WriteString("outcome", _outcome);
            json.WriteString("tier", _tier);
            Milliseconds(json, "verifyMs", _started, _verified);
            Milliseconds(json, "linkMs", _verified, _linked);
            Milliseconds(json, "firstCallMs", _linked, _firstCallDone);
            json.WriteNumber("firstCallAllocatedBytes", _firstCallAllocated);
            json.WriteNumber("compileMs", Math.Round(_compileMs, 4));
            json.WriteNumber("compiledFunctions", _compiledFunctions);
            json.WriteNumber("functions", _functions);
            json.WriteStartArray("steadyMs");
            foreach (var ms in _steady) json.WriteNumberValue(Math.Round(ms, 5));
            json.WriteEndArray();
            json.WriteStartArray("steadyAllocatedBytes");
            foreach (var bytes in _steadyAllocated) json.WriteNumberValue(bytes);
            json.WriteEndArray();
            if (_repeatTrap is null) json.WriteNull("repeatTrap");
            else json.WriteString("repeatTrap", _repeatTrap);
            json.WriteNumber("gen0Collections", _gen0);
            json.WriteNumber("gen1Collections", _gen1);
            json.WriteNumber("gen2Collections", _gen2);
            json.WriteNumber("vmMinorCollections", _vmMinor);
            json.WriteNumber("vmFullCollections", _vmFull);
            json.WriteNumber("vmAllocatedBytes", _vmAllocated);
            json.WriteNumber("peakWorkingSetBytes", peak);
            Milliseconds(json, "inProcessMs", _started, end);
            json.WriteEndObject();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"jitvm: cannot write the report '{Path}': {e.Message}");
        }
    }

    private static void Milliseconds(Utf8JsonWriter json, string name, long from, long to)
    {
        if (from == 0 || to == 0) json.WriteNull(name);
        else json.WriteNumber(name, Math.Round(Stopwatch.GetElapsedTime(from, to).TotalMilliseconds, 4));
    }
}
