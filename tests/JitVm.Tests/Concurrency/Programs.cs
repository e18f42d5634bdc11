namespace JitVm.Tests.Concurrency;

/// <summary>The task programs the concurrency tests run (text modules; each traps if it sees a message out of order).</summary>
internal static class Programs
{
    /// <summary>
    /// main (n, laps): a ring of n node tasks joined by n+1 channels (capacity 4). An injector task sends laps tokens,
    /// objects [lap, hops], into channel 0; node i takes each token from channel i, checks that its lap is the next
    /// one it expects (else it traps Unreachable), counts its hop and passes it on; main takes them from channel n,
    /// checks lap and hops (n), then joins every node (each returns laps). Returns laps * (n + 1).
    /// </summary>
    public const string Ring = """
        .func node (in: ptr, out: ptr, laps: i64) -> (i64)
            .local k i64
            .local p ptr
        loop:
            local.get k
            local.get laps
            i64.ge_s
            br_if done
            local.get in
            chan.recv
            drop
            word.as_ptr
            local.set p
            local.get p
            i64.const 0
            load.i
            local.get k
            i64.ne
            br_if bad
            local.get p
            i64.const 1
            local.get p
            i64.const 1
            load.i
            i64.const 1
            i64.add
            store.i
            local.get out
            local.get p
            word.of_ptr
            chan.send
            local.get k
            i64.const 1
            i64.add
            local.set k
            br loop
        bad:
            unreachable
        done:
            local.get k
            return
        .end
        .func inject (out: ptr, laps: i64) -> ()
            .local k i64
            .local p ptr
        loop:
            local.get k
            local.get laps
            i64.ge_s
            br_if done
            i64.const 2
            alloc
            local.set p
            local.get p
            i64.const 0
            local.get k
            store.i
            local.get out
            local.get p
            word.of_ptr
            chan.send
            local.get k
            i64.const 1
            i64.add
            local.set k
            br loop
        done:
            return
        .end
        .func main (n: i64, laps: i64) -> (i64)
            .local chans ptr
            .local tasks ptr
            .local i i64
            .local k i64
            .local p ptr
            .local total i64
            local.get n
            i64.const 1
            i64.add
            alloc
            local.set chans
            local.get n
            alloc
            local.set tasks
        make:
            local.get chans
            local.get i
            i64.const 4
            chan.new
            store.p
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.le_s
            br_if make
            i64.const 0
            local.set i
        spawn:
            local.get tasks
            local.get i
            local.get chans
            local.get i
            load.p
            local.get chans
            local.get i
            i64.const 1
            i64.add
            load.p
            local.get laps
            task.spawn node
            store.p
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if spawn
            local.get chans
            i64.const 0
            load.p
            local.get laps
            task.spawn inject
            drop
        receive:
            local.get k
            local.get laps
            i64.ge_s
            br_if received
            local.get chans
            local.get n
            load.p
            chan.recv
            drop
            word.as_ptr
            local.set p
            local.get p
            i64.const 0
            load.i
            local.get k
            i64.ne
            br_if bad
            local.get p
            i64.const 1
            load.i
            local.get n
            i64.ne
            br_if bad
            local.get total
            i64.const 1
            i64.add
            local.set total
            local.get k
            i64.const 1
            i64.add
            local.set k
            br receive
        received:
            i64.const 0
            local.set i
        join:
            local.get total
            local.get tasks
            local.get i
            load.p
            task.join (ptr ptr i64) -> (i64)
            i64.add
            local.set total
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if join
            local.get total
            return
        bad:
            unreachable
        .end
        """;

    /// <summary>
    /// main (n): spawns n tasks that each send "ready" and then wait on one gate channel; once all n are ready (so
    /// all are alive and waiting at once) main calls the host's measure (), closes the gate and joins them all. Each
    /// task returns its index plus its receive's status (0: the gate closed). Returns the sum of what they return.
    /// </summary>
    public const string ManyWaiting = """
        .import measure () -> ()
        .func waiter (ready: ptr, gate: ptr, i: i64) -> (i64)
            local.get ready
            i64.const 0
            word.of_i64
            chan.send
            local.get gate
            chan.recv
            swap
            drop
            local.get i
            i64.add
            return
        .end
        .func main (n: i64) -> (i64)
            .local ready ptr
            .local gate ptr
            .local tasks ptr
            .local i i64
            .local total i64
            call measure
            i64.const 1024
            chan.new
            local.set ready
            i64.const 1
            chan.new
            local.set gate
            local.get n
            alloc
            local.set tasks
        spawn:
            local.get tasks
            local.get i
            local.get ready
            local.get gate
            local.get i
            task.spawn waiter
            store.p
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if spawn
            i64.const 0
            local.set i
        wait_ready:
            local.get ready
            chan.recv
            drop
            drop
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if wait_ready
            call measure
            local.get gate
            chan.close
            i64.const 0
            local.set i
        join:
            local.get total
            local.get tasks
            local.get i
            load.p
            task.join (ptr ptr i64) -> (i64)
            i64.add
            local.set total
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if join
            local.get total
            return
        .end
        """;

    /// <summary>
    /// loop_forever (started) sends on started and then loops without end; finish (x) computes a little and returns
    /// x * 2. result () spawns two loopers, waits until both have started, spawns finish (21) and joins it, cancels
    /// the loopers and returns what finish returned (42). cancelled () spawns a looper, waits until it has started,
    /// cancels it and joins it, which traps TaskFailed (the looper's trap is Cancelled).
    /// </summary>
    /// <summary>loop_forever (started) sends on started and then loops without end; cancelled () spawns a looper,
    /// waits until it has started, cancels it and joins it, which traps TaskFailed (the looper's trap is Cancelled).
    /// Part of <see cref="Fairness"/>, and of other programs that need a task cancelled while it runs.</summary>
    public const string Cancellation = """
        .func loop_forever (started: ptr) -> (i64)
            .local n i64
            local.get started
            i64.const 1
            word.of_i64
            chan.send
        loop:
            local.get n
            i64.const 1
            i64.add
            local.set n
            br loop
        .end
        .func cancelled () -> (i64)
            .local started ptr
            .local a ptr
            i64.const 1
            chan.new
            local.set started
            local.get started
            task.spawn loop_forever
            local.set a
            local.get started
            chan.recv
            drop
            drop
            local.get a
            task.cancel
            local.get a
            task.join (ptr) -> (i64)
            return
        .end
        """;

    public const string Fairness = Cancellation + "\n" + """
        .func finish (x: i64) -> (i64)
            .local i i64
        loop:
            local.get i
            i64.const 1
            i64.add
            local.tee i
            i64.const 10000
            i64.lt_s
            br_if loop
            local.get x
            i64.const 2
            i64.mul
            return
        .end
        .func result () -> (i64)
            .local started ptr
            .local a ptr
            .local b ptr
            .local r i64
            i64.const 2
            chan.new
            local.set started
            local.get started
            task.spawn loop_forever
            local.set a
            local.get started
            task.spawn loop_forever
            local.set b
            local.get started
            chan.recv
            drop
            drop
            local.get started
            chan.recv
            drop
            drop
            i64.const 21
            task.spawn finish
            task.join (i64) -> (i64)
            local.set r
            local.get a
            task.cancel
            local.get b
            task.cancel
            local.get r
            return
        .end
        """;
}
