using System.Runtime.CompilerServices;
using System.Text;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.ChildHost;

/// <summary>
/// A host that runs VM code in ways that could overflow the .NET stack (small threads, a stack the host has
/// mostly used, nested entries, huge frames), one named scenario per argument, each in every tier. It prints one
/// line per run: <c>scenario tier: outcome</c>. Tests start it as a child process, so a stack overflow (which
/// kills the process) is seen as a failed test with its output, not as a crashed test run.
/// </summary>
public static class Program
{
    private static readonly ExecutionTier[] Tiers = [ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered];

    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: JitVm.ChildHost <scenario>... (thread:<KiB>, used:<KiB>:<used KiB>, preused, exhausted, nested[:<KiB>], bigframe, mutual[:<KiB>])");
            return 64;
        }
        if (args is [NoDynamicCode.Flag, var saved, var file]) return NoDynamicCode.Run(saved, file);
        foreach (var scenario in args)
            foreach (var tier in Tiers)
                Console.WriteLine($"{scenario} {tier.ToString().ToLowerInvariant()}: {Run(scenario, tier)}");
        return 0;
    }

    private static string Run(string scenario, ExecutionTier tier) => scenario.Split(':') switch
    {
        ["thread", var kib] => OnThread(Kib(kib), () => Recursion(tier, 0)),
        ["preused"] => OnThread(1024 * 1024, () => Recursion(tier, 600 * 1024)),
        ["exhausted"] => OnThread(256 * 1024, () => Recursion(tier, 200 * 1024)),
        ["used", var kib, var usedKib] => OnThread(Kib(kib), () => Recursion(tier, Kib(usedKib))),
        ["nested"] => Nested(tier, levels: 16, depth: 9_000),
        ["nestedtrap"] => Nested(tier, levels: 16, depth: 9_000, innermostDepth: 1_000_000),
        ["nested", var kib] => OnThread(Kib(kib), () => Nested(tier, levels: 16, depth: 9_000)),
        ["mutual", var kib] => OnThread(Kib(kib), () => Mutual(tier)),
        ["bigframe"] => BigFrame(tier),
        ["mutual"] => Mutual(tier),
        _ => throw new ArgumentException($"unknown scenario '{scenario}'"),
    };

    private static int Kib(string text) => int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>Runs <paramref name="body"/> on a new thread with a stack of <paramref name="stackBytes"/>.</summary>
    private static string OnThread(int stackBytes, Func<string> body)
    {
        string? outcome = null;
        var thread = new Thread(() => outcome = body(), stackBytes);
        thread.Start();
        thread.Join();
        return outcome!;
    }

    /// <summary>Uses <paramref name="bytes"/> of the current stack in C# frames, then runs <paramref name="body"/> below them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string AfterUsing(int bytes, Func<string> body)
    {
        const int chunk = 16 * 1024;
        if (bytes <= 0) return body();
        Span<byte> used = stackalloc byte[chunk];
        used[^1] = 1;
        var outcome = AfterUsing(bytes - chunk, body);
        return used[^1] == 1 ? outcome : "stack corrupted";
    }

    private const string RecursionModule = """
        .func down (n: i64) -> (i64)
            local.get n
            i64.const 1
            i64.add
            call down
            return
        .end
        .func sum (n: i64) -> (i64)
            local.get n
            br_if more
            i64.const 0
            return
        more:
            local.get n
            local.get n
            i64.const 1
            i64.sub
            call sum
            i64.add
            return
        .end
        """;

    /// <summary>
    /// Unbounded recursion (must trap CallDepthExceeded) and recursion 9,000 deep (must give its result), through
    /// Invoke and through typed exports, after the host has used <paramref name="preusedBytes"/> of the stack (the
    /// module is loaded and the exports bound before that, as a host would do).
    /// </summary>
    private static string Recursion(ExecutionTier tier, int preusedBytes)
    {
        var module = Module.FromText(RecursionModule, "recursion.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier });
        var typedSum = isolate.GetFunction<long, long>("sum");
        var typedDown = isolate.GetFunction<long, long>("down");
        return AfterUsing(preusedBytes, () =>
        {
            var down = Outcome(() => isolate.Invoke("down", Value.I64(0))[0].AsI64);
            var sum = Outcome(() => isolate.Invoke("sum", Value.I64(9_000))[0].AsI64);
            return $"down {down}; sum {sum}; typed sum {Outcome(() => typedSum(9_000))}; typed down {Outcome(() => typedDown(0))}";
        });
    }

    private const string NestedModule = """
        .import next (i64) -> (i64)
        .func main (n: i64) -> (i64)
            local.get n
            br_if more
            i64.const 0
            call next
            return
        more:
            local.get n
            local.get n
            i64.const 1
            i64.sub
            call main
            i64.add
            return
        .end
        """;

    /// <summary>
    /// A chain of <paramref name="levels"/> isolates on the main thread: each recurses <paramref name="depth"/>
    /// frames, then its host function enters the next isolate; the last returns 1. Every level adds
    /// depth * (depth + 1) / 2 to the result. With <paramref name="innermostDepth"/> beyond the call-depth limit,
    /// the innermost isolate traps and the trap travels out through every host function and entry.
    /// </summary>
    private static string Nested(ExecutionTier tier, int levels, int depth, int? innermostDepth = null)
    {
        var module = Module.FromText(NestedModule, "nested.jvm");
        var isolates = new Isolate[levels];
        for (var level = levels - 1; level >= 0; level--)
        {
            var inner = level + 1 < levels ? isolates[level + 1] : null;
            var innerDepth = level + 2 == levels ? innermostDepth ?? depth : depth;
            isolates[level] = new Isolate(module, [HostFunction.FromFunc<long, long>("next", _ => inner is null ? 1 : inner.Invoke("main", Value.I64(innerDepth))[0].AsI64)],
                new IsolateOptions { Tier = tier });
        }
        var expected = levels * ((long)depth * (depth + 1) / 2) + 1;
        var outcome = Outcome(() => isolates[0].Invoke("main", Value.I64(depth))[0].AsI64);
        if (innermostDepth is not null) return outcome;
        return outcome == $"result {expected}" ? $"{outcome} (expected)" : $"{outcome}, expected {expected}";
    }

    /// <summary>
    /// A function with 500 word locals and 40 safepoints (allocations), each of which spills and reloads every
    /// word local: its compiled frame is over 300 KiB, so calling it compiled on a 256 KiB thread would overflow
    /// the stack at once. The VM must run it another way, on that thread and on the main thread. It returns 7.
    /// </summary>
    private static string BigFrame(ExecutionTier tier)
    {
        var text = new StringBuilder(".func main () -> (i64)\n");
        for (var i = 0; i < 500; i++) text.Append("    .local w").Append(i).Append(" word\n");
        for (var i = 0; i < 40; i++) text.Append("    i64.const 1\n    alloc\n    drop\n");
        text.Append("    i64.const 7\n    return\n.end\n");
        var module = Module.FromText(text.ToString(), "bigframe.jvm");
        var onMain = Outcome(() => new Isolate(module, options: new IsolateOptions { Tier = tier }).Invoke("main")[0].AsI64);
        var onSmall = OnThread(256 * 1024, () => Outcome(() => new Isolate(module, options: new IsolateOptions { Tier = tier }).Invoke("main")[0].AsI64));
        var typed = OnThread(256 * 1024, () => Outcome(() => new Isolate(module, options: new IsolateOptions { Tier = tier }).GetFunction<long>("main")()));
        return $"main thread {onMain}; 256 KiB thread {onSmall}; typed {typed}";
    }

    /// <summary>
    /// Infinite mutual recursion between a function too large to compile (over 4,000 instructions, so it stays
    /// interpreted) and a small compiled one: every cycle nests an interpreter activation in a compiled frame.
    /// It must trap CallDepthExceeded, and the trap must leave without overflowing the stack.
    /// </summary>
    private static string Mutual(ExecutionTier tier)
    {
        var text = new StringBuilder("""
            .func small (n: i64) -> (i64)
                local.get n
                i64.const 1
                i64.add
                call large
                return
            .end
            .func large (n: i64) -> (i64)
                local.get n
                br_if recurse

            """);
        // Padding that makes the function too large to compile; the recursion branches over it.
        for (var i = 0; i < 2_100; i++) text.Append("    i64.const 1\n    drop\n");
        text.Append("recurse:\n    local.get n\n    call small\n    return\n.end\n");
        var module = Module.FromText(text.ToString(), "mutual.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, MaxCallDepth = 100_000 });
        return Outcome(() => isolate.Invoke("small", Value.I64(0))[0].AsI64);
    }

    private static string Outcome(Func<long> run)
    {
        try
        {
            return $"result {run()}";
        }
        catch (TrapException trap)
        {
            return Environment.GetEnvironmentVariable("JITVM_CHILD_DETAIL") == "1" ? $"trap {trap.Code}: {trap.Message}" : $"trap {trap.Code}";
        }
    }
}
