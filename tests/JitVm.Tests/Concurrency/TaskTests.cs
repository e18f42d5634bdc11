using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Xunit.Abstractions;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Concurrency;

/// <summary>Tasks and channels at scale and under the test modes (spec/concurrency.md): no message lost or reordered,
/// many live tasks, the memory an idle task costs, fairness and cancellation. Every isolate has a cancellation token
/// as a backstop, so a scheduler that lost a wake-up makes the run trap instead of hanging the test run.</summary>
public sealed class TaskTests(ITestOutputHelper output)
{
    /// <summary>How many tasks <see cref="HundredThousandTasksWaitAtOnceAndAllFinish"/> keeps alive at once; README's
    /// test knobs: JITVM_TASKS=1000000 dotnet test tests/JitVm.Tests --filter HundredThousandTasks.</summary>
    private static int LiveTasks => int.TryParse(Environment.GetEnvironmentVariable("JITVM_TASKS"), out var n) && n > 0 ? n : 100_000;

    private readonly ITestOutputHelper _output = output;

    private static IsolateOptions Options(ExecutionTier tier, CancellationToken token, DiagnosticOptions? diagnostics = null, int? workers = null, long? fuel = null) => new()
    {
        Tier = tier,
        TierUpCalls = 2,
        CancellationToken = token,
        Diagnostics = diagnostics ?? new DiagnosticOptions(),
        Workers = workers,
        Fuel = fuel,
    };

    /// <summary>A backstop against hangs: cancels the isolates of a test that has not ended after this long.</summary>
    private static CancellationTokenSource Backstop() => new(TimeSpan.FromMinutes(5));

    public static TheoryData<string, ExecutionTier, int, int> RingRuns() => new()
    {
        { "plain", ExecutionTier.Interpreter, 1000, 1000 },
        { "plain", ExecutionTier.Jit, 1000, 1000 },
        { "plain", ExecutionTier.Tiered, 1000, 1000 },
        // Deoptimising at every safepoint or collecting at every allocation makes each hop far dearer: fewer laps,
        // the same ring.
        { "deopt", ExecutionTier.Tiered, 1000, 30 },
        { "deopt", ExecutionTier.Jit, 1000, 30 },
        { "gc", ExecutionTier.Tiered, 1000, 30 },
        { "deterministic", ExecutionTier.Tiered, 1000, 100 },
    };

    /// <summary>A ring of 1,000 tasks passes tokens for many laps: every node and main check each token's lap, so a
    /// message lost, duplicated or reordered traps; every node's join returns its lap count.</summary>
    [Theory]
    [MemberData(nameof(RingRuns))]
    public void RingPassesEveryTokenInOrder(string mode, ExecutionTier tier, int nodes, int laps)
    {
        using var backstop = Backstop();
        var diagnostics = mode switch
        {
            "deopt" => new DiagnosticOptions { DeoptStress = DeoptStressMode.EverySafepoint },
            "gc" => new DiagnosticOptions { GcStress = Memory.GcStressMode.EveryN, GcStressInterval = 7, VerifyHeap = false },
            _ => new DiagnosticOptions(),
        };
        var isolate = new Isolate(Module.FromText(Programs.Ring, "ring.jvm"), [], Options(tier, backstop.Token, diagnostics, mode == "deterministic" ? 0 : null));
        var watch = Stopwatch.StartNew();
        var result = isolate.Invoke("main", Value.I64(nodes), Value.I64(laps))[0].AsI64;
        _output.WriteLine($"{mode} {tier}: {nodes} nodes x {laps} laps in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.Equal((long)laps * (nodes + 1), result);
    }

    /// <summary>100,000 tasks (JITVM_TASKS) are alive and waiting at once, then all are released and joined.</summary>
    [Fact]
    public void HundredThousandTasksWaitAtOnceAndAllFinish()
    {
        using var backstop = Backstop();
        var n = LiveTasks;
        var measured = 0;
        var measure = new HostFunction("measure", new Bytecode.FunctionType([], []), (_, _) => measured++);
        var isolate = new Isolate(Module.FromText(Programs.ManyWaiting, "many.jvm"), [measure], Options(ExecutionTier.Tiered, backstop.Token));
        var watch = Stopwatch.StartNew();
        var total = isolate.Invoke("main", Value.I64(n))[0].AsI64;
        _output.WriteLine($"{n} tasks alive at once, released and joined in {watch.Elapsed.TotalSeconds:F1} s");
        // Each returns its index (the gate's receive status, 0, adds nothing): the sum of 0..n-1.
        Assert.Equal((long)n * (n - 1) / 2, total);
        Assert.Equal(2, measured);
    }

    /// <summary>Two tasks that loop forever do not keep a third from running to its end, on one worker or on all; the
    /// loopers are then cancelled. Fuel is finite, but far more than the finisher could need before the loopers
    /// would run out of it, so the result shows that the scheduler shares the workers.</summary>
    [Theory]
    [InlineData(ExecutionTier.Interpreter, 1)]
    [InlineData(ExecutionTier.Tiered, 1)]
    [InlineData(ExecutionTier.Jit, null)]
    [InlineData(ExecutionTier.Tiered, 0)]
    public void LoopingTasksDoNotStarveAFinishingOne(ExecutionTier tier, int? workers)
    {
        using var backstop = Backstop();
        var isolate = new Isolate(Module.FromText(Programs.Fairness, "fair.jvm"), [], Options(tier, backstop.Token, workers: workers, fuel: 1L << 40));
        Assert.Equal(42, isolate.Invoke("result")[0].AsI64);
    }

    /// <summary>task.cancel ends a task that loops without waiting (at its next fuel refill): joining it traps
    /// TaskFailed, and the report gives its trap, Cancelled.</summary>
    [Theory]
    [InlineData(ExecutionTier.Interpreter, null)]
    [InlineData(ExecutionTier.Jit, null)]
    [InlineData(ExecutionTier.Tiered, null)]
    [InlineData(ExecutionTier.Tiered, 0)]
    public void CancellingALoopingTaskEndsIt(ExecutionTier tier, int? workers)
    {
        using var backstop = Backstop();
        var isolate = new Isolate(Module.FromText(Programs.Fairness, "fair.jvm"), [], Options(tier, backstop.Token, workers: workers, fuel: 1L << 40));
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("cancelled"));
        Assert.Equal(TrapCode.TaskFailed, trap.Code);
        Assert.Contains("Cancelled", trap.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Cancelled: Cancelled", trap.Message, StringComparison.Ordinal);
    }

    /// <summary>A joined task that deadlocked together with its joiner: the joiner traps Deadlock, never TaskFailed,
    /// however the woken tasks are scheduled (each run is a fresh race).</summary>
    [Fact]
    public void AJoinerInADeadlockTrapsDeadlockNotTaskFailed()
    {
        const string text = """
            .func receive (c: ptr) -> ()
                local.get c
                chan.recv
                drop
                drop
                return
            .end
            .func main () -> ()
                i64.const 1
                chan.new
                task.spawn receive
                task.join (ptr) -> ()
                return
            .end
            """;
        var module = Module.FromText(text, "deadlock.jvm");
        using var backstop = Backstop();
        for (var run = 0; run < 200; run++)
        {
            var isolate = new Isolate(module, [], Options(ExecutionTier.Interpreter, backstop.Token));
            var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
            Assert.Equal(TrapCode.Deadlock, trap.Code);
        }
    }
}
