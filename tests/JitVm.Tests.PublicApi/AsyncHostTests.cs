using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Memory;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Asynchronous host functions and InvokeAsync (spec/embedding.md §3.4): a pending host call suspends the
/// entry without holding a thread and continues where the work completes, on every tier, with the collector and
/// deoptimisation running around it; results, traps and fuel as with synchronous calls.</summary>
public sealed class AsyncHostTests
{
    private const string Source = """
        .type fetch_type (i64) -> (i64)
        .import fetch (i64) -> (i64)
        .import poke (i64) -> ()
        .import label (ptr) -> (i64)
        ; Sums step(i) for i < n, keeping an object alive across every host call and allocating after each.
        .func main (n: i64) -> (i64)
            .local i i64
            .local keep ptr
            i64.const 3
            alloc
            local.set keep
            local.get keep
            i64.const 2
            i64.const 1000
            store.i
        loop:
            local.get i
            local.get n
            i64.lt_s
            br_ifz done
            local.get keep
            i64.const 1
            local.get keep
            i64.const 1
            load.i
            local.get i
            call step
            i64.add
            store.i
            i64.const 5
            alloc
            drop
            local.get i
            i64.const 1
            i64.add
            local.set i
            br loop
        done:
            local.get keep
            i64.const 1
            load.i
            local.get keep
            i64.const 2
            load.i
            i64.add
            return
        .end
        ; A frame between main and the host call, which also tail-calls an import every other step.
        .func step (i: i64) -> (i64)
            local.get i
            call poke
            local.get i
            i64.const 1
            i64.and
            br_ifz direct
            local.get i
            return_call fetch
        direct:
            local.get i
            func.ref fetch
            call_indirect fetch_type
            return
        .end
        .func tail_indirect (i: i64) -> (i64)
            local.get i
            func.ref fetch
            return_call_indirect fetch_type
        .end
        .func spin () -> ()
        again:
            br again
        .end
        .func named () -> (i64)
            i64.const 8
            alloc
            call label
            return
        .end
        """;

    public static TheoryData<ExecutionTier, GcStressMode, DeoptStressMode> Configurations()
    {
        var data = new TheoryData<ExecutionTier, GcStressMode, DeoptStressMode>();
        foreach (var tier in Enum.GetValues<ExecutionTier>())
        {
            data.Add(tier, GcStressMode.Off, DeoptStressMode.Off);
            data.Add(tier, GcStressMode.EveryAllocation, DeoptStressMode.Off);
        }
        data.Add(ExecutionTier.Jit, GcStressMode.Off, DeoptStressMode.EverySafepoint);
        data.Add(ExecutionTier.Tiered, GcStressMode.EveryAllocation, DeoptStressMode.EverySafepoint);
        return data;
    }

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    /// <summary>Host work the test completes when it decides: each call of fetch waits for the next value given.</summary>
    private sealed class Gate
    {
        private readonly Queue<TaskCompletionSource<long>> _waiting = new();
        public int Calls;

        public ValueTask<long> Next(long i)
        {
            Interlocked.Increment(ref Calls);
            var source = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiting) _waiting.Enqueue(source);
            return new ValueTask<long>(source.Task);
        }

        /// <summary>Completes the oldest pending call with <paramref name="value"/>, waiting until one is pending.</summary>
        public async Task Complete(Func<long, long> value, int call)
        {
            while (true)
            {
                TaskCompletionSource<long>? source = null;
                lock (_waiting)
                    if (_waiting.Count > 0) source = _waiting.Dequeue();
                if (source is not null)
                {
                    source.SetResult(value(call));
                    return;
                }
                await Task.Delay(1);
            }
        }
    }

    private static HostFunction[] Hosts(Func<long, CancellationToken, ValueTask<long>> fetch, List<long>? pokes = null) =>
    [
        HostFunction.FromAsyncFunc<long, long>("fetch", fetch),
        HostFunction.FromAction<long>("poke", i => pokes?.Add(i)),
        HostFunction.FromAsyncFunc<string, long>("label", (text, _) => ValueTask.FromResult((long)text.Length)),
    ];

    private static IsolateOptions Options(ExecutionTier tier, GcStressMode gc = GcStressMode.Off, DeoptStressMode deopt = DeoptStressMode.Off) =>
        new() { Tier = tier, NurseryBytes = 4096, TierUpCalls = 2, Diagnostics = new DiagnosticOptions { GcStress = gc, VerifyHeap = gc != GcStressMode.Off, DeoptStress = deopt } };

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task PendingHostCallsSuspendTheCallAndItContinuesWhereTheWorkCompletes(ExecutionTier tier, GcStressMode gc, DeoptStressMode deopt)
    {
        var gate = new Gate();
        var pokes = new List<long>();
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"), Hosts((i, _) => gate.Next(i), pokes), Options(tier, gc, deopt));
        const int n = 12;
        var call = isolate.InvokeAsync("main", [Value.I64(n)]);
        for (var k = 0; k < n; k++)
        {
            // While a host call is pending the call is suspended: it has not completed, and the isolate is its alone.
            while (Volatile.Read(ref gate.Calls) <= k) await Task.Delay(1);
            Assert.False(call.IsCompleted);
            var refused = Assert.Throws<InvalidOperationException>(() => isolate.Invoke("main", Value.I64(0)));
            Assert.Contains("suspended in an asynchronous call", refused.Message);
            await gate.Complete(c => c * 10, k);
        }
        var results = await call.AsTask().WaitAsync(TimeSpan.FromMinutes(5));
        // Each step adds 10 * i, and main keeps 1000 in the object it held across every suspension.
        Assert.Equal(1000 + 10 * (n * (n - 1) / 2), results[0].AsI64);
        Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), pokes);
        // The isolate is free again.
        Assert.Equal(1000, isolate.Invoke("main", Value.I64(0))[0].AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task FuelIsTheSameWhetherHostWorkWasPendingOrCompletedAtOnceAndAsWithInvoke(ExecutionTier tier)
    {
        var module = Module.FromText(Source, "async.jvm");
        using var pendingIsolate = new Isolate(module, Hosts((i, _) => Later(i * 3)), Options(tier));
        var pending = await pendingIsolate.InvokeAsync("main", [Value.I64(9)]);
        using var immediate = new Isolate(module, Hosts((i, _) => ValueTask.FromResult(i * 3)), Options(tier));
        var direct = await immediate.InvokeAsync("main", [Value.I64(9)]);
        using var blocking = new Isolate(module, Hosts((i, _) => Later(i * 3)), Options(tier));
        var blocked = blocking.Invoke("main", Value.I64(9));
        Assert.Equal(1000 + 3 * 36, pending[0].AsI64);
        Assert.Equal(pending[0], direct[0]);
        Assert.Equal(pending[0], blocked[0]);
        Assert.Equal(immediate.FuelUsed, pendingIsolate.FuelUsed);
        Assert.Equal(immediate.FuelUsed, blocking.FuelUsed);
    }

    private static async ValueTask<long> Later(long value)
    {
        await Task.Yield();
        return value;
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task AFailedHostWorkIsAHostErrorTrapAtTheCall(ExecutionTier tier)
    {
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"),
            Hosts(async (i, _) =>
            {
                await Task.Yield();
                return i == 3 ? throw new IOException("the disk is gone") : i;
            }), Options(tier));
        var trap = await Assert.ThrowsAsync<TrapException>(async () => await isolate.InvokeAsync("main", [Value.I64(5)]));
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.IsType<IOException>(trap.InnerException);
        Assert.Contains("the disk is gone", trap.Message);
        // i = 3 is odd: step tail-calls fetch, so its frame is replaced and the trap is at step's return_call.
        Assert.Equal("step", trap.VmStackTrace[0].Function);
        Assert.Equal("return_call", trap.VmStackTrace[0].Instruction);
        Assert.Equal("main", trap.VmStackTrace[1].Function);
        Assert.Equal(1000, isolate.Invoke("main", Value.I64(0))[0].AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task CancellingTheCallEndsAPendingHostCallWithACancelledTrap(ExecutionTier tier)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken given = default;
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"),
            Hosts((_, token) =>
            {
                given = token;
                started.TrySetResult();
                return new ValueTask<long>(new TaskCompletionSource<long>().Task); // never completes
            }), Options(tier));
        using var cancellation = new CancellationTokenSource();
        var call = isolate.InvokeAsync("main", [Value.I64(4)], cancellation.Token);
        await started.Task.WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(cancellation.Token, given);
        await cancellation.CancelAsync();
        var trap = await Assert.ThrowsAsync<TrapException>(async () => await call);
        Assert.Equal(TrapCode.Cancelled, trap.Code);
        Assert.Equal("step", trap.VmStackTrace[0].Function);
        // Nothing of the abandoned call is left behind.
        Assert.Equal(1000, isolate.Invoke("main", Value.I64(0))[0].AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task CancellingTheCallStopsRunningCode(ExecutionTier tier)
    {
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"), Hosts((i, _) => ValueTask.FromResult(i)), Options(tier));
        // The call runs on this thread until it first suspends (here: never), so the cancellation comes from a timer.
        using var cancellation = new CancellationTokenSource();
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(20));
        var call = isolate.InvokeAsync("spin", [], cancellation.Token);
        var trap = await Assert.ThrowsAsync<TrapException>(async () => await call);
        Assert.Equal(TrapCode.Cancelled, trap.Code);
        Assert.Equal(1000, isolate.Invoke("main", Value.I64(0))[0].AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task TheTimeoutCoversWaitingForHostWork(ExecutionTier tier)
    {
        var options = Options(tier) with { Timeout = TimeSpan.FromMilliseconds(30) };
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"),
            Hosts((_, _) => new ValueTask<long>(new TaskCompletionSource<long>().Task)), options);
        var trap = await Assert.ThrowsAsync<TrapException>(async () => await isolate.InvokeAsync("main", [Value.I64(2)]));
        Assert.Equal(TrapCode.DeadlineExceeded, trap.Code);
        Assert.Contains("waiting for a host function", trap.Message);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task ATailCallThroughAReferenceToAnAsynchronousImportBlocksAndStillWorks(ExecutionTier tier)
    {
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"), Hosts((i, _) => Later(i + 1)), Options(tier));
        Assert.Equal(8, (await isolate.InvokeAsync("tail_indirect", [Value.I64(7)]))[0].AsI64);
        Assert.Equal(8, isolate.Invoke("tail_indirect", Value.I64(7))[0].AsI64);
    }

    [Fact]
    public async Task HostAccessAndLifecycleAreRefusedWhileTheCallIsSuspended()
    {
        var gate = new Gate();
        var isolate = new Isolate(Module.FromText(Source, "async.jvm"), Hosts((i, _) => gate.Next(i)), Options(ExecutionTier.Tiered));
        var call = isolate.InvokeAsync("main", [Value.I64(1)]);
        while (Volatile.Read(ref gate.Calls) == 0) await Task.Delay(1);
        Assert.Contains("suspended", Assert.Throws<InvalidOperationException>(() => isolate.Allocate(2)).Message);
        Assert.Contains("suspended", Assert.Throws<InvalidOperationException>(() => isolate.Reset()).Message);
        Assert.Contains("suspended", Assert.Throws<InvalidOperationException>(() => isolate.Dispose()).Message);
        Assert.Contains("suspended", (await Assert.ThrowsAsync<InvalidOperationException>(async () => await isolate.InvokeAsync("main", [Value.I64(0)]))).Message);
        await gate.Complete(_ => 5, 0);
        Assert.Equal(1005, (await call.AsTask().WaitAsync(TimeSpan.FromMinutes(5)))[0].AsI64);
        isolate.Dispose();
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void InvokeAsyncFromAHostFunctionTheIsolateCalledIsRefused(ExecutionTier tier)
    {
        Isolate? isolate = null;
        HostFunction[] hosts =
        [
            HostFunction.FromAsyncFunc<long, long>("fetch", (i, _) => ValueTask.FromResult(i)),
            HostFunction.FromAction<long>("poke", _ => isolate!.InvokeAsync("main", [Value.I64(0)]).AsTask().GetAwaiter().GetResult()),
            HostFunction.FromAsyncFunc<string, long>("label", (text, _) => ValueTask.FromResult((long)text.Length)),
        ];
        using var created = new Isolate(Module.FromText(Source, "async.jvm"), hosts, Options(tier));
        isolate = created;
        var trap = Assert.Throws<TrapException>(() => created.Invoke("main", Value.I64(1)));
        Assert.Equal(TrapCode.HostError, trap.Code);
        var refused = Assert.IsType<InvalidOperationException>(trap.InnerException);
        Assert.Contains("InvokeAsync cannot run inside a host function", refused.Message);
        // The refused entry left nothing behind: the isolate runs again.
        Assert.Equal(1000, created.Invoke("main", Value.I64(0))[0].AsI64);
    }

    [Fact]
    public async Task StringParametersAreCopiedBeforeTheWorkStarts()
    {
        using var isolate = new Isolate(Module.FromText(Source, "async.jvm"), Hosts((i, _) => ValueTask.FromResult(i)), Options(ExecutionTier.Jit));
        // An 8-word object read as a string: its first word (0) is the byte length.
        Assert.Equal(0, (await isolate.InvokeAsync("named", []))[0].AsI64);
    }

    [Fact]
    public void PointerParametersAndObjectResultsAreRefused()
    {
        var pointer = Assert.Throws<ArgumentException>(() => HostFunction.FromAsyncFunc<Pointer, long>("f", (_, _) => ValueTask.FromResult(0L)));
        Assert.Contains("valid only until the call returns", pointer.Message);
        var result = Assert.Throws<ArgumentException>(() => HostFunction.FromAsyncFunc<long, string>("f", (_, _) => ValueTask.FromResult("")));
        Assert.Contains("only long (i64) and double (f64) results", result.Message);
    }

    private const string TaskSource = """
        .type a_type () -> (i64)
        .import wait_for (i64) -> (i64)
        .import release (i64) -> ()
        ; Task a waits for host work that only task b's host call completes. In the deterministic mode (no workers) the
        ; tasks run one at a time, a first, on the root's thread while it joins: had a blocked that thread, b would
        ; never run.
        .func a () -> (i64)
            i64.const 1
            call wait_for
            i64.const 100
            i64.add
            return
        .end
        .func b () -> (i64)
            i64.const 7
            call release
            i64.const 2
            return
        .end
        .func both () -> (i64)
            .local ta ptr
            .local tb ptr
            task.spawn a
            local.set ta
            task.spawn b
            local.set tb
            local.get ta
            task.join a_type
            local.get tb
            task.join a_type
            i64.add
            return
        .end
        """;

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task ATaskSuspendedInAHostCallGivesUpItsWorker(ExecutionTier tier)
    {
        var released = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        HostFunction[] hosts =
        [
            HostFunction.FromAsyncFunc<long, long>("wait_for", (_, _) => new ValueTask<long>(released.Task)),
            HostFunction.FromAction<long>("release", v => released.TrySetResult(v)),
        ];
        using var isolate = new Isolate(Module.FromText(TaskSource, "async_tasks.jvm"), hosts, new IsolateOptions { Tier = tier, Workers = 0 });
        var results = await Task.Run(() => isolate.Invoke("both")).WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(107 + 2, results[0].AsI64);
        Assert.True(isolate.TaskStatistics.Suspensions > 0);
    }
}
