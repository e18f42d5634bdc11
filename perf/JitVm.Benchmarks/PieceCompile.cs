using System.Diagnostics;
using System.Globalization;
using System.Text;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// <c>--pieces</c>: compile time and run time of one generated function of 16,000 and of 64,000 instructions, which the
/// JIT compiles in pieces (spec/execution.md §8.3), against the interpreter. A stopwatch harness, not BenchmarkDotNet:
/// the figure of interest is a first call, which includes emitting the pieces' IL and the CLR compiling them, and a
/// benchmark's warm-up would hide it. Each sample loads the module afresh (its own code table and dynamic methods),
/// after a warm-up that runs the same path on a small function, so the library's own first use is not measured.
/// </summary>
internal static class PieceCompile
{
    private const int Samples = 3;

    /// <summary>Rounds of the body per call: enough that a call runs for milliseconds in the interpreter.</summary>
    private const int Rounds = 20;

    public static int Run()
    {
        Console.WriteLine($"{Samples} samples per size, each on a module loaded afresh; main runs the body {Rounds} times; load average {LoadAverage()}");
        Measure(Program(400), "warm-up", print: false);
        foreach (var size in new[] { 16_000, 64_000 })
            for (var sample = 0; sample < Samples; sample++)
                if (!Measure(Program(size), $"{size} instructions", print: true)) return 1;
        return 0;
    }

    private static bool Measure(string text, string label, bool print)
    {
        var watch = Stopwatch.StartNew();
        var jit = new Isolate(Module.FromText(text, "pieces.jvm"), [], new IsolateOptions { Tier = ExecutionTier.Jit });
        var jitResult = jit.Invoke("main")[0].AsI64;
        var first = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        jit.Invoke("main");
        var second = watch.Elapsed.TotalMilliseconds;
        var interpreter = new Isolate(Module.FromText(text, "pieces.jvm"), [], new IsolateOptions { Tier = ExecutionTier.Interpreter });
        watch.Restart();
        var interpretedResult = interpreter.Invoke("main")[0].AsI64;
        var interpreted = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        interpreter.Invoke("main");
        var interpretedAgain = watch.Elapsed.TotalMilliseconds;
        if (jitResult != interpretedResult)
        {
            Console.Error.WriteLine($"{label}: the tiers disagree ({jitResult} and {interpretedResult})");
            return false;
        }
        var statistics = jit.Statistics();
        var pieces = statistics.Split('\n').FirstOrDefault(l => l.Contains("compiled in", StringComparison.Ordinal))?.Trim() ?? "not compiled in pieces";
        if (print)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: jit first call {first:F1} ms, second {second:F2} ms; interpreter first call {interpreted:F1} ms, second {interpretedAgain:F1} ms ({pieces})"));
        return true;
    }

    /// <summary>main: about <paramref name="instructions"/> instructions of straight-line blocks (integer arithmetic on
    /// locals, a heap store and load, f64 arithmetic, a compare and a forward branch over a call) in a loop of
    /// <see cref="Rounds"/> rounds; the mix of perf/RESULTS.md's "JIT compile time by function size".</summary>
    private static string Program(int instructions)
    {
        var o = new StringBuilder();
        o.Append(".func helper (x: i64) -> (i64)\n    local.get x\n    i64.const 3\n    i64.mul\n    return\n.end\n");
        o.Append(".func main () -> (i64)\n    .local a i64\n    .local b i64\n    .local f f64\n    .local p ptr\n    .local round i64\n");
        o.Append("    i64.const 16\n    alloc\n    local.set p\ntop:\n");
        var count = 4;
        for (var k = 1; count < instructions - 12; k++)
        {
            o.Append($"    local.get a\n    i64.const {k}\n    i64.add\n    local.set a\n    local.get a\n    local.get b\n    i64.xor\n    local.set b\n");
            o.Append($"    local.get p\n    i64.const {k % 16}\n    local.get a\n    store.i\n    local.get p\n    i64.const {k * 7 % 16}\n    load.i\n    local.get b\n    i64.add\n    local.set b\n");
            o.Append($"    local.get f\n    f64.const 0.5\n    f64.add\n    local.set f\n    local.get a\n    i64.const 100\n    i64.lt_s\n    br_if skip{k}\n");
            o.Append($"    local.get b\n    call helper\n    local.set b\nskip{k}:\n    nop\n");
            count += 31;
        }
        o.Append($"    local.get round\n    i64.const 1\n    i64.add\n    local.tee round\n    i64.const {Rounds}\n    i64.lt_s\n    br_if top\n");
        o.Append("    local.get a\n    local.get b\n    i64.add\n    return\n.end\n");
        return o.ToString();
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}
