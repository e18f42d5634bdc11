using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>An isolate's life (spec/embedding.md §6.1): Reset to the initial state, Dispose, and a pool of isolates
/// reused request after request.</summary>
public sealed class LifecycleTests
{
    private const string Source = """
        .import poke () -> ()
        .global count i64 = 10
        .func next () -> (i64)
            global.get count
            i64.const 1
            i64.add
            global.set count
            global.get count
            return
        .end
        .func make (n: i64) -> (ptr)
            local.get n
            alloc
            return
        .end
        .func call_poke () -> ()
            call poke
            return
        .end
        .func spin () -> ()
        again:
            br again
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static readonly Module Shared = Module.FromText(Source, "life.jvm");

    private static Isolate Create(ExecutionTier tier, long? fuel = null) =>
        new(Shared, [HostFunction.FromAction("poke", () => { })], new IsolateOptions { Tier = tier, Fuel = fuel, Workers = 2 });

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ResetGivesBackTheInitialState(ExecutionTier tier)
    {
        var isolate = Create(tier, fuel: 1_000_000);
        var next = isolate.GetFunction<long>("next");
        Assert.Equal(11, next());
        Assert.Equal(12, isolate.Invoke("next").Single().AsI64);
        var pointer = isolate.Invoke("make", Value.I64(100)).Single();
        var handle = isolate.CreateHandle(pointer);
        Assert.True(isolate.HeapUsedBytes > 0);
        Assert.True(isolate.FuelUsed > 0);
        isolate.Fuel = 5;

        isolate.Reset();

        Assert.Equal(10, isolate.GetGlobal("count").AsI64);
        Assert.Equal(0, isolate.HeapUsedBytes);
        Assert.Equal(0, isolate.FuelUsed);
        Assert.Equal(1_000_000, isolate.Fuel);
        Assert.Throws<ObjectDisposedException>(() => handle.Length);
        Assert.Throws<ObjectDisposedException>(() => handle.Value);
        handle.Dispose(); // disposing a handle of before the reset does nothing
        Assert.Throws<InvalidOperationException>(() => isolate.CreateHandle(pointer));
        // Delegates bound before the reset run against the new state.
        Assert.Equal(11, next());
        Assert.Equal(12, isolate.Invoke("next").Single().AsI64);
        using var fresh = isolate.Allocate(3);
        Assert.Equal(3, fresh.Length);
    }

    [Fact]
    public async Task ResetCancelsTheTasksSpawnedBefore()
    {
        var isolate = Create(ExecutionTier.Tiered);
        var task = isolate.Spawn("spin");
        isolate.Reset();
        var trap = await Assert.ThrowsAsync<TrapException>(() => task.Completion);
        Assert.Equal(TrapCode.Cancelled, trap.Code);
        Assert.Equal(0, isolate.TaskStatistics.TasksSpawned);
        Assert.Equal(11, isolate.Invoke("next").Single().AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ADisposedIsolateRefusesEveryUse(ExecutionTier tier)
    {
        var isolate = Create(tier);
        var next = isolate.GetFunction<long>("next");
        var handle = isolate.Allocate(1);
        isolate.Dispose();
        Assert.True(isolate.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => isolate.Invoke("next"));
        Assert.Throws<ObjectDisposedException>(() => next());
        Assert.Throws<ObjectDisposedException>(() => handle.Length);
        Assert.Throws<ObjectDisposedException>(() => isolate.Allocate(1));
        Assert.Throws<ObjectDisposedException>(() => isolate.GetGlobal("count"));
        Assert.Throws<ObjectDisposedException>(() => isolate.Reset());
        Assert.Throws<ObjectDisposedException>(() => isolate.CollectGarbage());
        isolate.Dispose();
    }

    [Fact]
    public void AnIsolateCannotBeResetOrDisposedWhileItRuns()
    {
        Isolate? isolate = null;
        Exception? reset = null, dispose = null;
        isolate = new Isolate(Shared, [HostFunction.FromAction("poke", () =>
        {
            reset = Record(isolate!.Reset);
            dispose = Record(isolate.Dispose);
        })]);
        isolate.Invoke("call_poke");
        Assert.IsType<InvalidOperationException>(reset);
        Assert.IsType<InvalidOperationException>(dispose);
        Assert.False(isolate.IsDisposed);
        Assert.Equal(11, isolate.Invoke("next").Single().AsI64);
    }

    private static Exception? Record(Action action)
    {
        try { action(); return null; }
        catch (Exception e) { return e; }
    }

    [Fact]
    public void APoolHandsOutIsolatesInTheirInitialState()
    {
        using var pool = new IsolatePool(Shared, [HostFunction.FromAction("poke", () => { })], maxIdle: 1);
        Assert.Equal(1, pool.IdleCount);
        var first = pool.Rent();
        Assert.Equal(0, pool.IdleCount);
        Assert.Equal(11, first.Invoke("next").Single().AsI64);
        var second = pool.Rent();
        Assert.NotSame(first, second);
        Assert.Equal(11, second.Invoke("next").Single().AsI64);
        pool.Return(first);
        pool.Return(second); // past MaxIdle: disposed
        Assert.Equal(1, pool.IdleCount);
        Assert.True(first.IsDisposed != second.IsDisposed);
        var again = pool.Rent();
        Assert.False(again.IsDisposed);
        Assert.Equal(11, again.Invoke("next").Single().AsI64);
        Assert.Throws<ArgumentException>(() => pool.Return(Create(ExecutionTier.Interpreter)));
        pool.Return(again);
        pool.Dispose();
        Assert.Equal(0, pool.IdleCount);
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }

    [Fact]
    public void APoolReportsLinkErrorsAtOnce() =>
        Assert.Throws<LinkException>(() => new IsolatePool(Shared));

    [Fact]
    public void APoolServesManyThreads()
    {
        using var pool = new IsolatePool(Shared, [HostFunction.FromAction("poke", () => { })]);
        Parallel.For(0, 200, _ =>
        {
            var isolate = pool.Rent();
            try { Assert.Equal(11, isolate.Invoke("next").Single().AsI64); }
            finally { pool.Return(isolate); }
        });
        Assert.InRange(pool.IdleCount, 1, pool.MaxIdle);
    }
}
