using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Tasks and channels from the host (spec/embedding.md §10): spawning, results and traps, cancellation,
/// host channel endpoints in both directions, bytes as objects, and the tree's statistics.</summary>
public sealed class TasksTests
{
    private const string Source = """
        .func sum_to (n: i64) -> (i64)
            .local total i64
        loop:
            local.get n
            br_ifz done
            local.get total
            local.get n
            i64.add
            local.set total
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br loop
        done:
            local.get total
            return
        .end
        .func halve (x: f64) -> (f64 i64)
            local.get x
            f64.const 0.5
            f64.mul
            i64.const 7
            return
        .end
        .func divide (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            i64.div_s
            return
        .end
        .func spin () -> ()
        again:
            br again
        .end
        .func make () -> (ptr)
            i64.const 1
            alloc
            return
        .end
        .func boxed () -> (word)
            i64.const 1
            alloc
            word.of_ptr
            return
        .end
        ; Doubles every number from in and sends it to out until in is closed; closes out and returns the count.
        .func double_all (in: ptr, out: ptr) -> (i64)
            .local x i64
            .local count i64
        loop:
            local.get in
            chan.recv
            br_ifz done
            word.as_i64
            i64.const 2
            i64.mul
            local.set x
            local.get out
            local.get x
            word.of_i64
            chan.send
            local.get count
            i64.const 1
            i64.add
            local.set count
            br loop
        done:
            drop
            local.get out
            chan.close
            local.get count
            return
        .end
        ; Receives one object, returns the sum of its bytes after adding 1 to byte 0 and sending the object back.
        .func bytes_back (in: ptr, out: ptr) -> (i64)
            .local object ptr
            .local i i64
            .local sum i64
            local.get in
            chan.recv
            drop
            word.as_ptr
            local.set object
        loop:
            local.get i
            local.get object
            len
            i64.const 8
            i64.mul
            i64.ge_s
            br_if done
            local.get sum
            local.get object
            local.get i
            load.u8
            i64.add
            local.set sum
            local.get i
            i64.const 1
            i64.add
            local.set i
            br loop
        done:
            local.get object
            i64.const 0
            local.get object
            i64.const 0
            load.u8
            i64.const 1
            i64.add
            store.u8
            local.get out
            local.get object
            word.of_ptr
            chan.send
            local.get sum
            return
        .end
        ; Sends an object holding a pointer, then the number 5.
        .func send_nested (out: ptr) -> ()
            .local outer ptr
            i64.const 1
            alloc
            local.set outer
            local.get outer
            i64.const 0
            i64.const 1
            alloc
            store.p
            local.get out
            local.get outer
            word.of_ptr
            chan.send
            local.get out
            i64.const 5
            word.of_i64
            chan.send
            return
        .end
        ; Waits for one number and returns it, or -1 when the channel was closed first.
        .func take (in: ptr) -> (i64)
            local.get in
            chan.recv
            br_ifz closed
            word.as_i64
            return
        closed:
            drop
            i64.const -1
            return
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static Isolate NewIsolate(ExecutionTier tier = ExecutionTier.Tiered, int workers = 2) =>
        new(Module.FromText(Source, "tasks.jvm"), options: new IsolateOptions { Tier = tier, Workers = workers });

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task SpawnedTasksCompleteWithTheirResults(ExecutionTier tier)
    {
        var isolate = NewIsolate(tier);
        var tasks = Enumerable.Range(1, 8).Select(i => isolate.Spawn("sum_to", Value.I64(i * 1000))).ToArray();
        var halve = isolate.Spawn("halve", Value.F64(5));
        for (var i = 0; i < tasks.Length; i++)
        {
            var n = (i + 1) * 1000L;
            Assert.Equal(n * (n + 1) / 2, (await tasks[i].Completion).Single().AsI64);
            Assert.Equal(VmTaskState.Finished, tasks[i].State);
        }
        var results = await halve.WaitAsync();
        Assert.Equal([2.5, 7.0], [results[0].AsF64, results[1].AsI64]);
        Assert.Equal(9, tasks.Select(t => t.Id).Append(halve.Id).Distinct().Count());
        var statistics = isolate.TaskStatistics;
        Assert.Equal(9, statistics.TasksSpawned);
        Assert.Equal(0, statistics.LiveTasks);
    }

    [Fact]
    public async Task ATrapFaultsTheCompletionWithThatTrap()
    {
        var isolate = NewIsolate();
        var task = isolate.Spawn("divide", Value.I64(1), Value.I64(0));
        var trap = await Assert.ThrowsAsync<TrapException>(() => task.Completion);
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal(VmTaskState.Trapped, task.State);
        // The isolate and its tree go on.
        Assert.Equal(2, (await isolate.Spawn("divide", Value.I64(4), Value.I64(2)).Completion).Single().AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task SpawnedTasksShareOnePoolOfTaskFuel(ExecutionTier tier)
    {
        var isolate = new Isolate(Module.FromText(Source, "tasks.jvm"), options: new IsolateOptions { Tier = tier, Workers = 2, TaskFuel = 1_000_000 });
        // sum_to(n) costs a few fuel per step: the first task fits in the pool, and what it did not spend goes back.
        Assert.Equal(500500, (await isolate.Spawn("sum_to", Value.I64(1000)).Completion).Single().AsI64);
        Assert.Equal(5050, (await isolate.Spawn("sum_to", Value.I64(100)).Completion).Single().AsI64);
        // An endless loop uses up what is left, and then every later task traps at its first block.
        var spin = await Assert.ThrowsAsync<TrapException>(() => isolate.Spawn("spin").Completion);
        Assert.Equal(TrapCode.OutOfFuel, spin.Code);
        Assert.Contains("TaskFuel", spin.Message);
        var after = await Assert.ThrowsAsync<TrapException>(() => isolate.Spawn("sum_to", Value.I64(10)).Completion);
        Assert.Equal(TrapCode.OutOfFuel, after.Code);
        // The root's own fuel is separate.
        Assert.Equal(55, isolate.Invoke("sum_to", Value.I64(10)).Single().AsI64);
    }

    [Fact]
    public void TaskFuelCannotBeNegative() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IsolateOptions { TaskFuel = -1 });

    [Fact]
    public async Task CancelMakesALoopingTaskTrapCancelled()
    {
        var isolate = NewIsolate();
        var task = isolate.Spawn("spin");
        task.Cancel();
        var trap = await Assert.ThrowsAsync<TrapException>(() => task.Completion);
        Assert.Equal(TrapCode.Cancelled, trap.Code);
        task.Cancel(); // an ended task: nothing happens
        Assert.Equal(VmTaskState.Trapped, task.State);
    }

    [Fact]
    public void SpawnRejectsWhatTheHostCannotGiveOrTake()
    {
        var isolate = NewIsolate();
        Assert.Contains("returns a ptr", Assert.Throws<ArgumentException>(() => isolate.Spawn("make")).Message, StringComparison.Ordinal);
        Assert.Contains("no function named", Assert.Throws<ArgumentException>(() => isolate.Spawn("nope")).Message, StringComparison.Ordinal);
        Assert.Contains("takes 1 argument (i64)", Assert.Throws<ArgumentException>(() => isolate.Spawn("sum_to")).Message, StringComparison.Ordinal);
        Assert.Contains("must be i64", Assert.Throws<ArgumentException>(() => isolate.Spawn("sum_to", Value.F64(1))).Message, StringComparison.Ordinal);
        using var foreign = NewIsolate().CreateChannel(1);
        Assert.Contains("another isolate", Assert.Throws<ArgumentException>(() => isolate.Spawn("take", foreign.Value)).Message, StringComparison.Ordinal);
        Assert.Contains("must be ptr", Assert.Throws<ArgumentException>(() => isolate.Spawn("take", Value.I64(3))).Message, StringComparison.Ordinal);
        // A channel's value names no object: Invoke refuses it like any pointer the VM did not give out.
        Assert.Throws<ArgumentException>(() => isolate.Invoke("take", foreign.Value));
        var deterministic = NewIsolate(workers: 0);
        Assert.Contains("deterministic", Assert.Throws<InvalidOperationException>(() => deterministic.Spawn("spin")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWordResultHoldingAPointerFaultsTheCompletion()
    {
        var trap = await Assert.ThrowsAsync<TrapException>(() => NewIsolate().Spawn("boxed").Completion);
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Contains("returned a pointer", trap.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task TheHostFeedsAndDrainsATaskThroughBoundedChannels(ExecutionTier tier)
    {
        var isolate = NewIsolate(tier);
        using var input = isolate.CreateChannel(2);
        using var output = isolate.CreateChannel(2);
        var task = isolate.Spawn("double_all", input.Value, output.Value);
        var received = new List<long>();
        var reader = Task.Run(async () =>
        {
            await foreach (var message in output.ReadAllAsync()) received.Add(message.AsI64);
        });
        // Capacity 2: the host's sends wait for the task, and the task's for the reader.
        for (var i = 1; i <= 500; i++) await input.SendAsync(i);
        input.Close();
        await reader;
        Assert.Equal(Enumerable.Range(1, 500).Select(i => 2L * i), received);
        Assert.Equal(500, (await task.Completion).Single().AsI64);
        Assert.True(output.IsClosed);
        var statistics = isolate.TaskStatistics;
        Assert.Equal(1000, statistics.MessagesSent);
        Assert.Equal(0, statistics.BytesCopied);
        await Assert.ThrowsAsync<TrapException>(async () => await input.SendAsync(1));
    }

    [Fact]
    public async Task BytesBecomeAnObjectAndComeBackAsBytes()
    {
        var isolate = NewIsolate();
        using var input = isolate.CreateChannel(1);
        using var output = isolate.CreateChannel(1);
        var task = isolate.Spawn("bytes_back", input.Value, output.Value);
        byte[] bytes = [10, 20, 30, 40, 50, 60, 70, 80, 90];
        await input.SendAsync(bytes);
        Assert.Equal(bytes.Sum(b => (long)b), (await task.Completion).Single().AsI64);
        var back = (await output.ReceiveAsync())!;
        Assert.True(back.IsObject);
        // The object the task received records the 9 bytes' byte length and keeps it when sent back: 9 bytes come back.
        Assert.Equal<byte>([11, 20, 30, 40, 50, 60, 70, 80, 90], back.Bytes.ToArray());
        Assert.Throws<InvalidOperationException>(() => back.AsI64);
        Assert.Equal(2 * 3 * 8, isolate.TaskStatistics.BytesCopied); // one header and two words, each way
    }

    [Fact]
    public async Task AMessageTheHostCannotTakeStaysInTheChannel()
    {
        var isolate = NewIsolate();
        using var channel = isolate.CreateChannel(4);
        await isolate.Spawn("send_nested", channel.Value).Completion;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await channel.ReceiveAsync());
        Assert.Contains("the host can receive only numbers and objects of numbers", error.Message, StringComparison.Ordinal);
        // A task can still take it (take reads it as a number, so it traps); then the number behind it reaches the host.
        Assert.Equal(TrapCode.TagMismatch, (await Assert.ThrowsAsync<TrapException>(() => isolate.Spawn("take", channel.Value).Completion)).Code);
        Assert.Equal(5, (await channel.ReceiveAsync())!.AsI64);
    }

    [Fact]
    public async Task AnOpenHostEndpointKeepsWaitingTasksFromDeadlock()
    {
        var isolate = NewIsolate();
        var channel = isolate.CreateChannel(1);
        var first = isolate.Spawn("take", channel.Value);
        var second = isolate.Spawn("take", channel.Value);
        // Both wait on a channel only the host can fill; with the endpoint open that is no deadlock.
        await channel.SendAsync(42);
        var one = await Task.WhenAny(first.Completion, second.Completion);
        Assert.Equal(42, (await one).Single().AsI64);
        // Closing the endpoint closes the channel: the other task sees it closed.
        channel.Close();
        var other = one == first.Completion ? second : first;
        Assert.Equal(-1, (await other.Completion).Single().AsI64);
    }

    [Fact]
    public async Task ACancelledReceiveLeavesTheNextMessageForTheNextReceiver()
    {
        var isolate = NewIsolate();
        using var channel = isolate.CreateChannel(1);
        using var cancel = new CancellationTokenSource();
        var waiting = channel.ReceiveAsync(cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        var task = isolate.Spawn("take", channel.Value);
        await channel.SendAsync(9);
        Assert.Equal(9, (await task.Completion).Single().AsI64);
    }
}
