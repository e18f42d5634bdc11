using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Timeouts, deadlines, cancellation and refuelling, in every tier, through the public API only.</summary>
public sealed class LimitsTests
{
    private const string Programs = """
        .import checkpoint () -> ()
        .func spin () -> (i64) export
        again:
            br again
        .end
        .func count (n: i64) -> (i64) export
            .local i i64
        top:
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if top
            local.get i
            return
        .end
        .func deep (n: i64) -> (i64) export
            local.get n
            br_if more
            call checkpoint
        bottom:
            br bottom
        more:
            local.get n
            i64.const 1
            i64.sub
            call deep
            return
        .end
        .func with_checkpoint (n: i64) -> (i64) export
            call checkpoint
            local.get n
            call count
            return
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static Isolate Create(ExecutionTier tier, Action? checkpoint = null, long? fuel = null) =>
        new(Module.FromText(Programs, "limits.jvm"), [HostFunction.FromAction("checkpoint", checkpoint ?? (() => { }))],
            new IsolateOptions { Tier = tier, Fuel = fuel });

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ATimeoutStopsAnInfiniteLoopAndTheIsolateStaysUsable(ExecutionTier tier)
    {
        var isolate = Create(tier);
        isolate.Timeout = TimeSpan.FromMilliseconds(50);
        var watch = Stopwatch.StartNew();
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long>("spin")());
        Assert.Equal(TrapCode.DeadlineExceeded, trap.Code);
        Assert.Equal("spin", trap.Location?.Function);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(50), $"stopped after {watch.Elapsed}");
        // The timeout is per call: the expired one does not carry over, and the next call gets its own (long
        // enough that no machine's speed decides the outcome).
        isolate.Timeout = TimeSpan.FromMinutes(10);
        Assert.Equal(1000, isolate.GetFunction<long, long>("count")(1000));
    }

    /// <summary>Lines of <see cref="Programs"/>: deep's first instruction and the loop at the bottom of its recursion.</summary>
    private const int DeepFirstLine = 20, DeepBottomLine = 24;

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ATimeoutReachesCodeDeepInRecursion(ExecutionTier tier)
    {
        // deep(100) recurses to a depth of 101 frames, calls checkpoint, then loops in that innermost frame for ever.
        // The clock is read on entry and then only every 65,536 units of fuel; the recursion spends a few hundred, so
        // the trap comes either at the entry's first block with exactly one frame (when the whole timeout passed
        // before it ran: a stalled machine) or in the loop at the bottom with exactly 101, never in between. Only the
        // second shows that a timeout reaches deep code, so a stalled run is asserted and repeated with a longer
        // timeout: no outcome depends on how fast the machine is.
        for (var timeout = 20; ; timeout *= 10)
        {
            var reachedBottom = false;
            var isolate = Create(tier, checkpoint: () => reachedBottom = true);
            isolate.Timeout = TimeSpan.FromMilliseconds(timeout);
            var trap = Assert.Throws<TrapException>(() => isolate.Invoke("deep", Value.I64(100)));
            Assert.Equal(TrapCode.DeadlineExceeded, trap.Code);
            Assert.NotEmpty(trap.VmStackTrace);
            Assert.All(trap.VmStackTrace, frame => Assert.Equal("deep", frame.Function));
            if (reachedBottom)
            {
                Assert.Equal(101, trap.VmStackDepth);
                Assert.Equal(101, trap.VmStackTrace.Count);
                Assert.Equal(DeepBottomLine, trap.Location?.Line);
                return;
            }
            Assert.Equal(1, trap.VmStackDepth);
            Assert.Equal(DeepFirstLine, trap.Location?.Line);
            Assert.True(timeout < 20_000, $"the deadline passed before deep's first block on every try, the last with a timeout of {timeout} ms");
        }
    }

    [Fact]
    public void AnAbsoluteDeadlineAppliesUntilCleared()
    {
        var isolate = Create(ExecutionTier.Tiered);
        isolate.Deadline = DateTime.UtcNow.AddMilliseconds(-1);
        Assert.Equal(TrapCode.DeadlineExceeded, Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("count")(10)).Code);
        Assert.Equal(0, isolate.FuelUsed);
        isolate.Deadline = null;
        Assert.Equal(10, isolate.GetFunction<long, long>("count")(10));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void CancellationFromAnotherThreadStopsARunningProgram(ExecutionTier tier)
    {
        using var source = new CancellationTokenSource();
        var isolate = Create(tier, checkpoint: () => source.CancelAfter(TimeSpan.FromMilliseconds(30)));
        isolate.CancellationToken = source.Token;
        // with_checkpoint arms the cancellation from inside the run, then counts for far longer than 30 ms.
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("with_checkpoint")(long.MaxValue));
        Assert.Equal(TrapCode.Cancelled, trap.Code);
        Assert.Equal("count", trap.Location?.Function);
        // A cancelled token stops every later entry at its first block, until the host replaces it.
        Assert.Equal(TrapCode.Cancelled, Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("count")(1)).Code);
        isolate.CancellationToken = CancellationToken.None;
        Assert.Equal(5, isolate.GetFunction<long, long>("count")(5));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void RefuellingBetweenCallsGivesANewBudget(ExecutionTier tier)
    {
        var isolate = Create(tier, fuel: 1_000);
        var count = isolate.GetFunction<long, long>("count");
        var trap = Assert.Throws<TrapException>(() => count(1_000_000));
        Assert.Equal(TrapCode.OutOfFuel, trap.Code);
        Assert.Equal(1_000, isolate.FuelUsed + isolate.Fuel);
        // The trapped call does not resume; the next call starts afresh with the new budget.
        var usedBefore = isolate.FuelUsed;
        isolate.Fuel = 10_000_000;
        Assert.Equal(usedBefore, isolate.FuelUsed);
        Assert.Equal(1_000_000, count(1_000_000));
        Assert.Equal(usedBefore + 10_000_000, isolate.FuelUsed + isolate.Fuel);
        Assert.Throws<ArgumentOutOfRangeException>(() => isolate.Fuel = -1);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AHostFunctionCanRefuelTheProgramThatCalledIt(ExecutionTier tier)
    {
        Isolate? isolate = null;
        isolate = Create(tier, checkpoint: () => isolate!.Fuel = 1_000_000, fuel: 10);
        // 10 units would not pay for the loop; the checkpoint tops the budget up before it starts.
        Assert.Equal(100_000, isolate.GetFunction<long, long>("with_checkpoint")(100_000));
    }

    [Fact]
    public async Task FuelCannotBeSetFromAnotherThreadWhileTheIsolateRuns()
    {
        using var started = new ManualResetEventSlim();
        using var source = new CancellationTokenSource();
        var isolate = Create(ExecutionTier.Tiered, checkpoint: started.Set);
        isolate.CancellationToken = source.Token;
        var run = Task.Run(() => isolate.GetFunction<long, long>("with_checkpoint")(long.MaxValue));
        started.Wait();
        var error = Assert.Throws<InvalidOperationException>(() => isolate.Fuel = 5);
        Assert.Contains("running on thread", error.Message, StringComparison.Ordinal);
        source.Cancel();
        Assert.Equal(TrapCode.Cancelled, (await Assert.ThrowsAsync<TrapException>(() => run)).Code);
    }

    [Fact]
    public void NegativeTimeoutsAreRejected()
    {
        var isolate = Create(ExecutionTier.Interpreter);
        Assert.Throws<ArgumentOutOfRangeException>(() => isolate.Timeout = TimeSpan.FromSeconds(-1));
    }
}
