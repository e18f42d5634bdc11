using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Memory;
using Microsoft.Extensions.Logging;

namespace JitVm.Benchmarks;

/// <summary>
/// <c>--check</c> for the garbage-collector benchmarks (same results from C#, the interpreter and the JIT tier; same
/// fuel and heap allocated from both tiers; the JIT really compiled), and <c>--pauses</c>: minor pause times of
/// binary-trees in the JIT tier with the default 2 MiB nursery.
/// </summary>
internal static class GcCheck
{
    public static int Run()
    {
        var failures = 0;
        failures += One("binary_trees", GcPrograms.BinaryTreesText, "main", GcSetup.Call0, () => GcPrograms.BinaryTrees(GcPrograms.BinaryTreesMaxDepth));
        var n = GcPrograms.AllocationN;
        failures += One($"allocate({n})", GcPrograms.AllocationText, "allocate", (isolate, f) => Vm.Call(isolate, f, n), () => GcPrograms.Allocate(n));

        // The C# allocation loop must really allocate on the .NET heap (no escape analysis / stack allocation).
        GcPrograms.Allocate(n);
        var before = GC.GetAllocatedBytesForCurrentThread();
        GcPrograms.Allocate(n);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var ok = allocated >= n * 24;
        Console.WriteLine($"{(ok ? "OK  " : "FAIL")} C# allocate({n}) allocated {allocated} bytes on the .NET heap ({(double)allocated / n:F1} per array)");
        return failures + (ok ? 0 : 1);
    }

    private sealed record Outcome(long Result, double Milliseconds, long Fuel, long Heap, long Objects, GcStatistics Gc);

    private static Outcome Time(Isolate isolate, int function, Func<Isolate, int, long> run)
    {
        var fuel = isolate.FuelUsed;
        var heap = isolate.HeapAllocatedBytes;
        var objects = isolate.ObjectsAllocated;
        var watch = Stopwatch.StartNew();
        var result = run(isolate, function);
        watch.Stop();
        return new Outcome(result, watch.Elapsed.TotalMilliseconds, isolate.FuelUsed - fuel, isolate.HeapAllocatedBytes - heap,
            isolate.ObjectsAllocated - objects, isolate.GcStatistics);
    }

    private static int One(string name, string text, string functionName, Func<Isolate, int, long> run, Func<long> reference)
    {
        var watch = Stopwatch.StartNew();
        var expected = reference();
        var csharpMs = watch.Elapsed.TotalMilliseconds;
        try
        {
            var interpreterModule = Vm.Load(text, name + ".jvm");
            var jitModule = Vm.Load(text, name + ".jvm");
            var function = Vm.Function(interpreterModule, functionName);
            var interpreted = Time(GcSetup.NewIsolate(interpreterModule, ExecutionTier.Interpreter), function, run);
            var jitIsolate = GcSetup.NewIsolate(jitModule, ExecutionTier.Jit);
            var cold = Time(jitIsolate, function, run);
            var warm = Time(jitIsolate, function, run); // the same isolate again, as the benchmark reuses it

            var problems = new List<string>();
            if (jitIsolate.Tier != ExecutionTier.Jit) problems.Add($"isolate tier is {jitIsolate.Tier}, not Jit");
            if (!Vm.IsCompiled(jitModule, function)) problems.Add("JIT tier did not compile the function");
            if (Vm.IsCompiled(interpreterModule, function)) problems.Add("Interpreter tier compiled the function");
            if (interpreted.Result != expected) problems.Add($"interpreter {interpreted.Result} != C# {expected}");
            if (cold.Result != expected || warm.Result != expected) problems.Add($"JIT {cold.Result}/{warm.Result} != C# {expected}");
            if (cold.Fuel != interpreted.Fuel || warm.Fuel != interpreted.Fuel) problems.Add($"fuel: JIT {cold.Fuel}/{warm.Fuel} != interpreter {interpreted.Fuel}");
            if (cold.Heap != interpreted.Heap || warm.Heap != interpreted.Heap) problems.Add($"heap: JIT {cold.Heap}/{warm.Heap} != interpreter {interpreted.Heap}");
            if (interpreted.Gc.Collections == 0) problems.Add("no collection happened");

            var ok = problems.Count == 0;
            Console.WriteLine($"{(ok ? "OK  " : "FAIL")} {name}: C# {expected}, interpreter {interpreted.Result}, JIT {cold.Result}/{warm.Result} " +
                              $"(fuel {interpreted.Fuel}, heap {interpreted.Heap} bytes in {interpreted.Objects} objects; C# {csharpMs:F1} ms, " +
                              $"interpreter {interpreted.Milliseconds:F1} ms, JIT first run incl. compile {cold.Milliseconds:F1} ms, second {warm.Milliseconds:F1} ms; " +
                              $"interpreter isolate: {interpreted.Gc.MinorCollections} minor / {interpreted.Gc.FullCollections} full collections, " +
                              $"longest minor pause {interpreted.Gc.LongestMinorPause.TotalMilliseconds:F3} ms)");
            foreach (var problem in problems) Console.WriteLine($"     {problem}");
            if (!ok) Console.Write(jitIsolate.Statistics());
            return ok ? 0 : 1;
        }
        catch (Exception exception) when (exception is JitVmException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"FAIL {name}: {exception.GetType().Name}: {exception.Message}");
            return 1;
        }
    }

    /// <summary>Records each collection's kind and pause from the collector's Debug log event (EventId 150).</summary>
    private sealed class PauseRecorder : ILogger
    {
        public readonly List<double> MinorMicroseconds = [];
        public readonly List<double> FullMicroseconds = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != 150 || state is not IReadOnlyList<KeyValuePair<string, object?>> fields) return;
            string? kind = null;
            double? microseconds = null;
            foreach (var (key, value) in fields)
            {
                if (key == "Kind") kind = value as string;
                else if (key == "Microseconds" && value is double us) microseconds = us;
            }
            if (microseconds is not { } pause) return;
            (kind == "minor" ? MinorMicroseconds : FullMicroseconds).Add(pause);
        }
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    /// <summary>
    /// <c>--pauses</c>: binary-trees in the JIT tier, default 2 MiB nursery, 64 MiB heap limit. One warm-up run
    /// (compiles the module), then <paramref name="runs"/> runs, each on a fresh isolate so each run's statistics
    /// are its own. Per-collection pauses come from the collector's own log event (the same Stopwatch interval it
    /// adds to TotalPause / LongestMinorPause), so the mean minor pause excludes full collections.
    /// </summary>
    public static int Pauses(int runs = 5)
    {
        var module = Vm.Load(GcPrograms.BinaryTreesText, "binary_trees.jvm");
        var function = Vm.Function(module, "main");
        var expected = GcSetup.BinaryTreesExpected;
        var warm = GcSetup.NewIsolate(module, ExecutionTier.Jit);
        if (warm.Tier != ExecutionTier.Jit || GcSetup.Call0(warm, function) != expected || !Vm.IsCompiled(module, function))
        {
            Console.WriteLine("FAIL: warm-up run did not compile or returned the wrong result");
            return 1;
        }
        Console.WriteLine($"binary-trees (max depth {GcPrograms.BinaryTreesMaxDepth}), JIT tier, nursery {JitVm.Memory.Heap.DefaultNurseryBytes} bytes (default), heap limit {GcSetup.HeapLimit} bytes; {runs} runs after one warm-up run");
        Console.WriteLine("| run | time | minor | full | longest minor | mean minor | median minor | p99 minor | minor > 1 ms | full pauses (sum) | TotalPause (all) | promoted bytes |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var longest = new List<double>();
        var failures = 0;
        for (var run = 1; run <= runs; run++)
        {
            var recorder = new PauseRecorder();
            var isolate = GcSetup.NewIsolate(module, ExecutionTier.Jit, recorder);
            var watch = Stopwatch.StartNew();
            var result = GcSetup.Call0(isolate, function);
            watch.Stop();
            var gc = isolate.GcStatistics;
            if (result != expected) { Console.WriteLine($"FAIL run {run}: result {result} != {expected}"); failures++; }
            if (recorder.MinorMicroseconds.Count != gc.MinorCollections || recorder.FullMicroseconds.Count != gc.FullCollections)
            {
                Console.WriteLine($"FAIL run {run}: logged {recorder.MinorMicroseconds.Count}/{recorder.FullMicroseconds.Count} collections, statistics say {gc.MinorCollections}/{gc.FullCollections}");
                failures++;
            }
            longest.Add(gc.LongestMinorPause.TotalMilliseconds);
            var minors = recorder.MinorMicroseconds;
            Console.WriteLine($"| {run} | {watch.Elapsed.TotalMilliseconds:F0} ms | {gc.MinorCollections} | {gc.FullCollections} | " +
                              $"{gc.LongestMinorPause.TotalMilliseconds:F3} ms | {(minors.Count == 0 ? double.NaN : minors.Average()) / 1000:F3} ms | " +
                              $"{Median(minors) / 1000:F3} ms | {Percentile(minors, 0.99) / 1000:F3} ms | {minors.Count(us => us > 1000)} | " +
                              $"{recorder.FullMicroseconds.Sum() / 1000:F3} ms | {gc.TotalPause.TotalMilliseconds:F3} ms | {gc.PromotedBytes:N0} |");
        }
        var median = Median(longest);
        Console.WriteLine($"median of the longest minor pauses: {median:F3} ms (target <= 1 ms: {(median <= 1.0 ? "met" : "missed")})");
        return failures == 0 ? 0 : 1;
    }
}
