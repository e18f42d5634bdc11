using System.Collections.Concurrent;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace JitVm.Tests.PublicApi.Hostile;

/// <summary>
/// Many isolates of one module, on their own threads, released together by a barrier, each driven into a different
/// limit (fuel, heap, call depth, deadline, cancellation) on every tier at the same moment: each gets its own trap
/// code, none disturbs another (each then makes a normal call on the same isolate and gets the right result), and
/// once the isolates are dropped the process's managed memory returns to its baseline. No assertion depends on how
/// fast anything runs: the programs that meet a deadline or a cancellation loop until it comes.
/// </summary>
/// <remarks>Runs alone (its collection disables parallelization): managed memory is measured for the whole process,
/// and its fifteen busy threads would slow other tests down.</remarks>
[Collection(nameof(ConcurrentLimitsTests))]
public sealed class ConcurrentLimitsTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    private const string Program = """
        ; spin: an endless loop. hog: allocates and keeps everything. dive: endless recursion. sum: 0 + 1 + ... + (n - 1),
        ; allocating a small object per step, the normal call each isolate makes after its trap.
        .func spin () -> () export
            .local i i64
        top:
            local.get i
            i64.const 1
            i64.add
            local.set i
            br top
        .end

        .func hog () -> () export
            .local keep word
        top:
            i64.const 512
            alloc
            dup
            i64.const 0
            local.get keep
            store.w
            word.of_ptr
            local.set keep
            br top
        .end

        .func dive (n: i64) -> (i64) export
            local.get n
            i64.const 1
            i64.add
            call dive
            return
        .end

        .func sum (n: i64) -> (i64) export
            .local i i64
            .local total i64
            .local box ptr
        top:
            local.get i
            local.get n
            i64.ge_s
            br_if done
            i64.const 1
            alloc
            local.set box
            local.get box
            i64.const 0
            local.get i
            store.i
            local.get total
            local.get box
            i64.const 0
            load.i
            i64.add
            local.set total
            local.get i
            i64.const 1
            i64.add
            local.set i
            br top
        done:
            local.get total
            return
        .end
        """;

    /// <summary>Each isolate's heap limit; the heap-limited ones fill it, so live isolates hold at least this much.</summary>
    private const long HeapLimit = 8L * 1024 * 1024;

    private static readonly ExecutionTier[] Tiers = [ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered];

    private enum Limit
    {
        Fuel,
        Heap,
        Depth,
        Deadline,
        Cancellation,
    }

    [Fact]
    public void EachIsolateGetsItsOwnTrapAndMemoryReturnsToBaseline()
    {
        var module = Module.FromText(Program, "limits.jvm");
        // A first round compiles the module's code and warms the runtime, so the baseline is taken in steady state.
        RunRound(module, out _);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        long live = 0;
        for (var round = 0; round < 3; round++) RunRound(module, out live);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        _output.WriteLine($"managed memory: baseline {baseline:N0} bytes, with a round's isolates alive {live:N0}, after dropping them {after:N0}");

        // While a round's isolates were alive they held their heaps (three of them full at HeapLimit); once dropped,
        // what is left is well under one such heap. The bounds are generous: they only catch a leak of whole heaps.
        Assert.True(live - baseline > 2 * HeapLimit, $"live isolates should hold their heaps: baseline {baseline}, live {live}");
        Assert.True(after - baseline < HeapLimit, $"memory did not return to baseline: baseline {baseline}, after {after} bytes");
    }

    /// <summary>Runs one isolate per (tier, limit) on its own thread, all released at once; checks each outcome.</summary>
    private static void RunRound(Module module, out long liveBytes)
    {
        var cases = Tiers.SelectMany(tier => Enum.GetValues<Limit>().Select(limit => (Tier: tier, Limit: limit))).ToArray();
        var isolates = new Isolate[cases.Length];
        var cancellations = new CancellationTokenSource[cases.Length];
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(cases.Length);

        var threads = cases.Select((c, i) => new Thread(() =>
        {
            var released = false;
            try
            {
                cancellations[i] = new CancellationTokenSource();
                var isolate = isolates[i] = Create(module, c.Tier, c.Limit, cancellations[i].Token);
                start.SignalAndWait();
                released = true;
                if (c.Limit == Limit.Cancellation) cancellations[i].CancelAfter(TimeSpan.FromMilliseconds(20));
                var trap = Assert.Throws<TrapException>(() => isolate.Invoke(Entry(c.Limit), Arguments(c.Limit)));
                if (trap.Code != Expected(c.Limit)) failures.Enqueue($"{c}: trapped {trap.Code}, expected {Expected(c.Limit)}");

                // The isolate is usable again once the limit it hit is lifted, and its next call is unaffected.
                Lift(isolate, c.Limit);
                var result = isolate.Invoke("sum", Value.I64(1000))[0].AsI64;
                if (result != 499_500) failures.Enqueue($"{c}: the call after the trap returned {result}, expected 499500");
            }
            catch (Exception e)
            {
                failures.Enqueue($"{c}: {e}");
                if (!released) start.RemoveParticipant();
            }
        })).ToList();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();

        Assert.True(failures.IsEmpty, string.Join("\n", failures));
        liveBytes = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(isolates);
        foreach (var source in cancellations) source?.Dispose();
    }

    private static Isolate Create(Module module, ExecutionTier tier, Limit limit, CancellationToken token) =>
        new(module, options: new IsolateOptions
        {
            Tier = tier,
            TierUpCalls = 2,
            MaxHeapBytes = HeapLimit,
            Fuel = limit == Limit.Fuel ? 1_000_000 : null,
            MaxCallDepth = limit == Limit.Depth ? 1_000 : IsolateOptions.DefaultMaxCallDepth,
            Timeout = limit == Limit.Deadline ? TimeSpan.FromMilliseconds(20) : null,
            CancellationToken = token,
        });

    private static string Entry(Limit limit) => limit switch
    {
        Limit.Heap => "hog",
        Limit.Depth => "dive",
        _ => "spin",
    };

    private static Value[] Arguments(Limit limit) => limit == Limit.Depth ? [Value.I64(0)] : [];

    private static TrapCode Expected(Limit limit) => limit switch
    {
        Limit.Fuel => TrapCode.OutOfFuel,
        Limit.Heap => TrapCode.OutOfMemory,
        Limit.Depth => TrapCode.CallDepthExceeded,
        Limit.Deadline => TrapCode.DeadlineExceeded,
        _ => TrapCode.Cancelled,
    };

    private static void Lift(Isolate isolate, Limit limit)
    {
        switch (limit)
        {
            case Limit.Fuel: isolate.Fuel = 1_000_000; break;
            case Limit.Deadline: isolate.Timeout = null; break;
            case Limit.Cancellation: isolate.CancellationToken = CancellationToken.None; break;
        }
    }
}

/// <summary>The collection of <see cref="ConcurrentLimitsTests"/>, which no other test runs beside.</summary>
[CollectionDefinition(nameof(ConcurrentLimitsTests), DisableParallelization = true)]
public sealed class ConcurrentLimitsCollection
{
}
