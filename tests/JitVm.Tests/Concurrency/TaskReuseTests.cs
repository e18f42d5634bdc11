using JitVm.Concurrency;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Concurrency;

/// <summary>
/// An ended task's isolate is reset and reused by the tree's next spawn (spec/concurrency.md §4): each task must
/// still start as a new one would, with nothing left by the task that ran in the same isolate before. Each check
/// traps or returns a wrong sum if some state survived: globals (a number and a pointer), heap space (the heap limit
/// holds one large object, not two), a cancellation requested for the previous task, and a trap deep in its frames.
/// </summary>
public sealed class TaskReuseTests
{
    /// <summary>
    /// child (k) returns g + keep + field 0 of the object it allocates (5 + 0 + 0 in a new task: keep holding a
    /// pointer traps word.as_i64), then sets g to k and keep to that object of 3,000 words (24,000 bytes, more than
    /// half the heap limit the tests set). spawn_children (n) spawns and joins n children one after the other and
    /// returns the sum (5 n). counters () spawns two tasks that each count to 200,000 (past several fuel slices,
    /// where a cancellation is seen) and returns the sum of their counts. deep (d) recurses d frames and traps
    /// Unreachable; trapped () joins deep (20), which traps TaskFailed. loop_forever and cancelled () are
    /// <see cref="Programs.Cancellation"/>: cancelled () traps TaskFailed once the cancelled looper has ended.
    /// </summary>
    private const string Text = """
        .global g i64 = 5
        .global keep word
        .func child (k: i64) -> (i64)
            .local p ptr
            .local seen i64
            global.get g
            global.get keep
            word.as_i64
            i64.add
            local.set seen
            local.get k
            global.set g
            i64.const 3000
            alloc
            local.tee p
            word.of_ptr
            global.set keep
            local.get p
            i64.const 0
            load.i
            local.get seen
            i64.add
            local.set seen
            local.get p
            i64.const 0
            local.get k
            store.i
            local.get seen
            return
        .end
        .func spawn_children (n: i64) -> (i64)
            .local i i64
            .local sum i64
        loop:
            local.get i
            task.spawn child
            task.join (i64) -> (i64)
            local.get sum
            i64.add
            local.set sum
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if loop
            local.get sum
            return
        .end
        .func count () -> (i64)
            .local i i64
        loop:
            local.get i
            i64.const 1
            i64.add
            local.tee i
            i64.const 200000
            i64.lt_s
            br_if loop
            local.get i
            return
        .end
        .func counters () -> (i64)
            .local a ptr
            .local b ptr
            task.spawn count
            local.set a
            task.spawn count
            local.set b
            local.get a
            task.join () -> (i64)
            local.get b
            task.join () -> (i64)
            i64.add
            return
        .end
        .func deep (d: i64) -> (i64)
            local.get d
            i64.eqz
            br_if bottom
            local.get d
            i64.const 1
            i64.sub
            call deep
            return
        bottom:
            unreachable
        .end
        .func trapped () -> (i64)
            i64.const 20
            task.spawn deep
            task.join (i64) -> (i64)
            return
        .end
        """;

    private static readonly Module Module = Module.FromText(Text + "\n" + Programs.Cancellation, "reuse.jvm");

    public static TheoryData<ExecutionTier, int> Runs()
    {
        var runs = new TheoryData<ExecutionTier, int>();
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered })
            foreach (var workers in new[] { 0, 1, 2 })
                runs.Add(tier, workers);
        return runs;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void AReusedTaskIsolateStartsAsANewOne(ExecutionTier tier, int workers)
    {
        using var backstop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var isolate = new Isolate(Module, options: new IsolateOptions
        {
            Tier = tier,
            TierUpCalls = 1,
            Workers = workers,
            MaxHeapBytes = 40 * 1024,
            CancellationToken = backstop.Token,
        });

        Assert.Equal(5L * 10, isolate.Invoke("spawn_children", Value.I64(10))[0].AsI64);
        Assert.Equal(TrapCode.TaskFailed, Assert.Throws<TrapException>(() => isolate.Invoke("cancelled")).Code);
        Assert.Equal(2L * 200_000, isolate.Invoke("counters")[0].AsI64);
        Assert.Equal(TrapCode.TaskFailed, Assert.Throws<TrapException>(() => isolate.Invoke("trapped")).Code);
        Assert.Equal(5L * 10, isolate.Invoke("spawn_children", Value.I64(10))[0].AsI64);
        Assert.Equal(2L * 200_000, isolate.Invoke("counters")[0].AsI64);

        // Without reuse every check above would pass trivially: the tree's spawns must have taken ended tasks' isolates.
        var reused = TaskOps.CurrentTask(isolate.Fiber).Scheduler.TaskIsolates.Reused;
        Assert.True(reused >= 10, $"only {reused} spawns reused an isolate");
    }

    /// <summary>A task that called a host function is not reused (the host may keep its isolate): every spawn of a
    /// task that prints builds a new isolate.</summary>
    [Fact]
    public void ATaskThatCalledTheHostIsNotReused()
    {
        const string text = """
            .import note (i64) -> ()
            .func child (k: i64) -> ()
                local.get k
                call note
                return
            .end
            .func main () -> ()
                i64.const 1
                task.spawn child
                task.join () -> ()
                i64.const 2
                task.spawn child
                task.join () -> ()
                return
            .end
            """;
        var seen = new List<(long Value, Isolate Isolate)>();
        var note = new HostFunction("note", new Bytecode.FunctionType([Bytecode.VmType.I64], []), (isolate, values) =>
        {
            lock (seen) seen.Add((values[0], isolate));
        });
        var root = new Isolate(Module.FromText(text, "host.jvm"), [note], new IsolateOptions { Workers = 1 });
        root.Invoke("main");
        Assert.Equal([1L, 2L], seen.Select(s => s.Value));
        Assert.NotSame(seen[0].Isolate, seen[1].Isolate);
        Assert.Equal(0, TaskOps.CurrentTask(root.Fiber).Scheduler.TaskIsolates.Reused);
    }
}
