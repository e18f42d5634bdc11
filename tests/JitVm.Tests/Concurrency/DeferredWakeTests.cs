using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Concurrency;

/// <summary>
/// A task made runnable by a fiber's operation signals a worker only when the fiber's thread could stop looking at
/// the run queue (spec/concurrency.md §4): these check the points where the deferred signal must be paid, with a host
/// function that waits, on the root task's thread, for the task just made runnable. Were the signal still owed, no
/// worker would run that task and the wait would end only at its backstop.
/// </summary>
public sealed class DeferredWakeTests
{
    /// <summary>main spawns a task that calls the host's signal (), then calls the host's wait_for_signal () without
    /// waiting in the VM first, and returns what it returned (1: the task ran).</summary>
    private const string SpawnThenHostWait = """
        .import signal () -> ()
        .import wait_for_signal () -> (i64)
        .func child () -> ()
            call signal
            return
        .end
        .func main () -> (i64)
            .local t ptr
            .local seen i64
            task.spawn child
            local.set t
            call wait_for_signal
            local.set seen
            local.get t
            task.join () -> ()
            local.get seen
            return
        .end
        """;

    /// <summary>The task first tells main it is about to wait on channel c, and waits there; main's send wakes it,
    /// and main then calls wait_for_signal (), which returns 1 once the woken task has called signal ().</summary>
    private const string SendThenHostWait = """
        .import signal () -> ()
        .import wait_for_signal () -> (i64)
        .func child (ready: ptr, c: ptr) -> ()
            local.get ready
            i64.const 0
            word.of_i64
            chan.send
            local.get c
            chan.recv
            drop
            drop
            call signal
            return
        .end
        .func main () -> (i64)
            .local ready ptr
            .local c ptr
            .local t ptr
            .local seen i64
            i64.const 1
            chan.new
            local.set ready
            i64.const 1
            chan.new
            local.set c
            local.get ready
            local.get c
            task.spawn child
            local.set t
            local.get ready
            chan.recv
            drop
            drop
            local.get c
            i64.const 7
            word.of_i64
            chan.send
            call wait_for_signal
            local.set seen
            local.get t
            task.join () -> ()
            local.get seen
            return
        .end
        """;

    public static TheoryData<string, ExecutionTier, int> Runs()
    {
        var runs = new TheoryData<string, ExecutionTier, int>();
        foreach (var program in new[] { "spawn", "send" })
            foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered })
                foreach (var workers in new[] { 1, 2 })
                    runs.Add(program, tier, workers);
        return runs;
    }

    /// <summary>A host function called right after an operation made a task runnable sees that task run on a worker
    /// (the untyped host-call path in the interpreter, the typed one compiled code calls directly).</summary>
    [Theory]
    [MemberData(nameof(Runs))]
    public void AHostFunctionCanWaitForTheTaskJustMadeRunnable(string program, ExecutionTier tier, int workers)
    {
        var module = Module.FromText(program == "spawn" ? SpawnThenHostWait : SendThenHostWait, $"{program}.jvm");
        for (var run = 0; run < 20; run++)
        {
            using var signalled = new ManualResetEventSlim();
            using var backstop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var functions = new[]
            {
                HostFunction.FromAction("signal", signalled.Set),
                // The backstop only bounds a failure: the task runs on a worker whatever the machine's speed.
                HostFunction.FromFunc("wait_for_signal", () => signalled.Wait(TimeSpan.FromSeconds(60)) ? 1L : 0L),
            };
            var isolate = new Isolate(module, functions, new IsolateOptions
            {
                Tier = tier,
                TierUpCalls = 1,
                Workers = workers,
                CancellationToken = backstop.Token,
            });
            Assert.Equal(1L, isolate.Invoke("main")[0].AsI64);
        }
    }

    /// <summary>Tasks the root task spawns while it keeps computing (no wait, no host call) start on the workers
    /// within a fuel slice: the root's loop spins until a task has sent on the channel, which it polls without
    /// waiting (chan.recv_for with timeout 0).</summary>
    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void ASpawnedTaskStartsWhileItsSpawnerComputes(ExecutionTier tier)
    {
        const string text = """
            .func child (c: ptr) -> ()
                local.get c
                i64.const 5
                word.of_i64
                chan.send
                return
            .end
            .func main () -> (i64)
                .local c ptr
                .local t ptr
                .local polls i64
                i64.const 1
                chan.new
                local.tee c
                task.spawn child
                local.set t
            poll:
                local.get polls
                i64.const 1
                i64.add
                local.set polls
                local.get c
                i64.const 0
                chan.recv_for
                i64.const 1
                i64.eq
                br_if got
                drop
                br poll
            got:
                word.as_i64
                local.get t
                task.join () -> ()
                return
            .end
            """;
        using var backstop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var isolate = new Isolate(Module.FromText(text, "compute.jvm"), [], new IsolateOptions
        {
            Tier = tier,
            Workers = 1,
            CancellationToken = backstop.Token,
        });
        Assert.Equal(5L, isolate.Invoke("main")[0].AsI64);
    }
}
