using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Runtime;

namespace JitVm.Concurrency;

/// <summary>
/// Runs the tasks of one task tree (the host isolate that spawned first, and every task spawned from it) over a small
/// pool of worker threads, never a thread per task (spec/concurrency.md §4). A task runs until it returns, traps,
/// blocks or uses up its quantum; a blocked or preempted task is suspended with its whole state in its fiber's frames
/// (compiled frames deoptimise into them) and continues later, on any worker, in the interpreter.
/// </summary>
/// <remarks>
/// One lock, <see cref="Gate"/>, guards every task's and channel's state and the run queue: operations are short
/// (a queue push or pop, a state change), and a single lock makes wake-ups and deadlock detection easy to get right.
/// Invariant for deadlock detection: <see cref="_active"/> counts the host tasks not waiting plus the spawned tasks
/// that are runnable or running (a suspending task counts until its suspension completes). When it reaches 0 while no
/// wait has a timer and no host endpoint is open, nothing can ever wake the waiting tasks: they are woken to trap
/// Deadlock.
/// </remarks>
internal sealed class Scheduler
{
    /// <summary>Fuel slices (<see cref="Store.SliceSize"/> each) a task may use before it yields to waiting tasks.</summary>
    public const int QuantumSlices = 16;

    public readonly object Gate = new();

    private readonly Queue<VmTask> _runQueue = new();
    private readonly SemaphoreSlim _work = new(0);
    private readonly HashSet<VmTask> _waiting = [];
    private int _workers;
    private int _active;
    private int _timedWaits;
    private long _nextTaskId;
    private long _nextChannelId;

    public Scheduler(int workers, int maxTasks, Isolate root)
    {
        MaxWorkers = Math.Max(0, workers);
        MaxTasks = maxTasks;
        Root = root;
        var options = root.Store.Options;
        TaskFuel = (options.TaskFuel ?? options.Fuel) is { } fuel ? new FuelPool(fuel) : null;
        TaskOptions = options with { NurseryBytes = options.TaskNurseryBytes, Timeout = null };
    }

    /// <summary>The options of every spawned task's store, made once (the record is immutable): the root's, with the
    /// task nursery and no timeout (a timeout is per host entry; the deadline applies).</summary>
    public IsolateOptions TaskOptions { get; }

    /// <summary>The fuel every spawned task of the tree draws from; null when it is unlimited.</summary>
    public FuelPool? TaskFuel { get; }

    /// <summary>Ended tasks' isolates, reset for the next spawns (see <see cref="Isolate.ForTask"/>).</summary>
    public TaskIsolates TaskIsolates { get; } = new();

    /// <summary>Worker threads; 0 is the deterministic mode: spawned tasks run one at a time on the root task's thread
    /// while it waits, so the schedule depends only on the program (spec/concurrency.md §4).</summary>
    public int MaxWorkers { get; }

    public bool IsDeterministic => MaxWorkers == 0;

    /// <summary>The most tasks alive at once (spawned and not finished), host tasks not counted.</summary>
    public int MaxTasks { get; }

    /// <summary>The isolate whose options every spawned task inherits (its limits apply per task).</summary>
    public Isolate Root { get; }

    /// <summary>Spawned tasks not yet finished.</summary>
    public int LiveTasks { get; private set; }

    public long TasksSpawned { get; private set; }

    public long MessagesSent;

    public long BytesCopied;

    public long Suspensions;

    /// <summary>Host endpoints open on any channel (each can wake tasks at any time, so no deadlock is declared).</summary>
    public int HostEndpoints { get; set; }

    public long NextChannelId() => Interlocked.Increment(ref _nextChannelId);

    /// <summary>A host opens an endpoint on <paramref name="channel"/>: until it is released, no wait is a deadlock.
    /// Under the gate.</summary>
    public void AddHostEndpoint(VmChannel channel)
    {
        channel.HostEndpoints++;
        HostEndpoints++;
    }

    /// <summary>A host endpoint is released: if it was the last thing that could wake the waiting tasks, they are
    /// deadlocked now. Under the gate.</summary>
    public void ReleaseHostEndpoint(VmChannel channel)
    {
        channel.HostEndpoints--;
        ReleaseHostWaker();
    }

    /// <summary>Host work a task is suspended on (an asynchronous host call) starts: like an open host endpoint, it can
    /// wake a task at any time, so no wait is a deadlock until it ends. Under the gate.</summary>
    public void AddHostWaker() => HostEndpoints++;

    /// <summary>Ends what <see cref="AddHostWaker"/> began (after waking the task it was for). Under the gate.</summary>
    public void ReleaseHostWaker()
    {
        HostEndpoints--;
        CheckDeadlock();
    }

    /// <summary>Makes the task object for a host isolate (it counts as active while not waiting).</summary>
    public VmTask AddHostTask(Isolate isolate)
    {
        lock (Gate)
        {
            _active++;
            return new VmTask(this, ++_nextTaskId, isolate, null, -1, isHost: true) { Module = isolate.Module };
        }
    }

    /// <summary>Registers a new task and queues it. Under the gate.</summary>
    /// <exception cref="TrapException">TooManyTasks.</exception>
    /// <remarks>The new task's wake-up signal is deferred into <paramref name="waker"/>'s count when a fiber spawned it
    /// (see <see cref="FlushWakes"/>); the host's own spawn signals at once.</remarks>
    public VmTask Spawn(Isolate isolate, VmTask parent, int functionIndex, Message arguments, TaskCompletionSource<bool>? completion = null, Fiber? waker = null)
    {
        VmTask task;
        lock (Gate)
        {
            if (LiveTasks >= MaxTasks)
                throw new TrapException(TrapCode.TooManyTasks, $"cannot spawn: {LiveTasks} tasks are alive, the limit");
            task = new VmTask(this, ++_nextTaskId, isolate, parent, functionIndex, isHost: false) { Arguments = arguments, Module = isolate.Module, Completion = completion };
            isolate.Fiber.Task = task;
            AddChild(parent, task);
            LiveTasks++;
            TasksSpawned++;
            _active++;
            if (parent.CancelRequested) task.CancelRequested = true;
            _runQueue.Enqueue(task);
            // Running tasks read this to decide whether to yield at the end of their quantum.
            _queuedApprox = _runQueue.Count;
        }
        if (!IsDeterministic)
        {
            EnsureWorkers();
            if (waker is not null) waker.DeferredWakes++;
            else _work.Release();
        }
        return task;
    }

    /// <summary>Adds a child to its parent's tree. Children that have ended are dropped (keeping the others' order) when
    /// the list would grow, so a long-lived parent that spawns without end keeps only about its live children. Under
    /// the gate.</summary>
    private static void AddChild(VmTask parent, VmTask child)
    {
        var children = parent.Children ??= [];
        if (children.Count == children.Capacity && children.Count > 0) children.RemoveAll(static task => task.IsDone);
        children.Add(child);
    }

    private void EnsureWorkers()
    {
        while (true)
        {
            var workers = Volatile.Read(ref _workers);
            if (workers >= MaxWorkers) return;
            if (Interlocked.CompareExchange(ref _workers, workers + 1, workers) != workers) continue;
            var thread = new Thread(WorkerLoop, 16 * 1024 * 1024) { IsBackground = true, Name = "jitvm-worker" };
            thread.Start();
        }
    }

    private int _queuedApprox;

    /// <summary>Whether another task waits for a worker (so a running one should yield at the end of its quantum).</summary>
    public bool HasQueuedWork => Volatile.Read(ref _queuedApprox) > 0;

    private void WorkerLoop()
    {
        var justRan = false;
        var deferred = 0;
        while (true)
        {
            // After a turn, the queue is looked at before waiting: a task the turn woke (a message's receiver, a
            // joiner) runs next on this thread, warm, rather than waiting for another worker's wake-up. The turn's
            // deferred signals, less the one this thread answers itself, wake other workers now.
            if (justRan)
            {
                ReleaseWorkers(deferred - 1);
                if (TryTakeTask() is { } next)
                {
                    deferred = RunTurn(next);
                    continue;
                }
            }
            justRan = false;
            if (!_work.Wait(TimeSpan.FromSeconds(2)))
            {
                // Idle: exit when no task is left; a later spawn starts workers again.
                lock (Gate)
                {
                    if (_runQueue.Count == 0 && LiveTasks == 0)
                    {
                        Interlocked.Decrement(ref _workers);
                        return;
                    }
                }
                continue;
            }
            if (TryTakeTask() is not { } task) continue;
            deferred = RunTurn(task);
            justRan = true;
        }
    }

    /// <summary>Turns running now (tasks taken from the queue and not yet back), on workers and on a waiting host's thread.</summary>
    private int _turns;

    /// <summary>Runs a task taken with <see cref="TakeTaskLocked"/> until its turn ends; returns the wake-up signals the
    /// turn deferred (tasks it made runnable), which the caller must release or answer itself.</summary>
    /// <remarks>A task that ended leaves its isolate to the tree's next spawns, once nothing here uses its fiber.</remarks>
    private int RunTurn(VmTask task)
    {
        var isolate = task.Isolate!;
        var fiber = isolate.Fiber;
        bool ended;
        try
        {
            ended = TaskRunner.RunSlice(task);
        }
        catch
        {
            FlushWakes(fiber);
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _turns);
        }
        var deferred = fiber.DeferredWakes;
        fiber.DeferredWakes = 0;
        if (ended) TaskIsolates.Return(isolate);
        return deferred;
    }

    /// <summary>
    /// Releases the wake-up signals <paramref name="fiber"/> deferred, less <paramref name="answered"/> that its thread
    /// answers itself by taking a task from the queue next.
    /// </summary>
    /// <remarks>A task made runnable by a fiber's operation (a message's receiver, a spawned task, a joiner) does not
    /// signal a worker at once: the thread running the fiber often takes that task itself (at the end of its turn, or
    /// while the root task waits), and a signal would only wake a worker to find the queue empty. The fiber counts
    /// the signals it owes instead and pays them before its thread could stop looking at the queue for long: when its
    /// turn ends or it waits (here, less the task it takes), at every fuel refill (so within a slice of fuel,
    /// <see cref="Store.SliceSize"/>), before every host call (a host function may wait for a task made runnable
    /// before it), and when an entry from the host ends. Invariant: every queued task has a signal released or a
    /// thread about to take a task.</remarks>
    public void FlushWakes(Fiber fiber, int answered = 0)
    {
        var owed = fiber.DeferredWakes;
        fiber.DeferredWakes = 0;
        ReleaseWorkers(owed - answered);
    }

    private void ReleaseWorkers(int signals)
    {
        if (signals > 0 && !IsDeterministic) _work.Release(signals);
    }

    /// <summary>Takes the first runnable task and marks it running, or returns null when none is queued.</summary>
    private VmTask? TryTakeTask()
    {
        lock (Gate) return TakeTaskLocked();
    }

    private VmTask? TakeTaskLocked()
    {
        if (!_runQueue.TryDequeue(out var task)) return null;
        Interlocked.Increment(ref _turns);
        _queuedApprox = _runQueue.Count;
        task.State = TaskState.Running;
        task.SlicesThisTurn = 0;
        task.YieldRequested = false;
        return task;
    }

    /// <summary>After a worker's turn ends in a suspension: the task waits, or runs again when already woken or when it
    /// only yielded.</summary>
    public void Suspended(VmTask task, Fiber fiber)
    {
        lock (Gate)
        {
            Suspensions++;
            if (task.YieldRequested || task.WakePending || !task.Waiting)
            {
                task.WakePending = false;
                task.Waiting = false;
                MakeRunnable(task, fiber);
                return;
            }
            task.State = TaskState.Blocked;
            _active--;
            CheckDeadlock(fiber);
        }
    }

    /// <summary>Queues a task; its signal goes to a worker at once, or is deferred into <paramref name="waker"/>'s count
    /// (<see cref="FlushWakes"/>). Under the gate.</summary>
    private void MakeRunnable(VmTask task, Fiber? waker)
    {
        task.State = TaskState.Runnable;
        _runQueue.Enqueue(task);
        _queuedApprox = _runQueue.Count;
        if (IsDeterministic) return;
        if (waker is not null) waker.DeferredWakes++;
        else _work.Release();
    }

    /// <summary>Starts a wait for <paramref name="task"/>: returns the ticket its wakers must present. Under the gate.</summary>
    public long BeginWait(VmTask task, long timeoutMicroseconds = -1)
    {
        task.WaitTicket++;
        task.Waiting = true;
        task.TimedOut = false;
        _waiting.Add(task);
        if (timeoutMicroseconds > 0)
        {
            _timedWaits++;
            var ticket = task.WaitTicket;
            var due = TimeSpan.FromTicks(Math.Min(timeoutMicroseconds, TimeSpan.MaxValue.Ticks / 10 - 1) * 10);
            var end = DateTime.UtcNow.Ticks + Math.Min(due.Ticks, DateTime.MaxValue.Ticks - DateTime.UtcNow.Ticks);
            task.Timer = new Timer(_ => TimeOut(task, ticket, end), null, TimerDue(due), Timeout.InfiniteTimeSpan);
        }
        return task.WaitTicket;
    }

    /// <summary>The longest due time a <see cref="Timer"/> takes (about 49.7 days); a longer wait re-arms its timer
    /// each time it fires until its end (<see cref="TimeOut"/>).</summary>
    private static readonly TimeSpan MaxTimerDue = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private static TimeSpan TimerDue(TimeSpan due) => due < MaxTimerDue ? due : MaxTimerDue;

    // end: when the wait's timeout ends, in DateTime.UtcNow ticks.
    private void TimeOut(VmTask task, long ticket, long end)
    {
        lock (Gate)
        {
            if (!task.Waiting || task.WaitTicket != ticket) return;
            var remaining = end - DateTime.UtcNow.Ticks;
            if (remaining > TimeSpan.TicksPerMillisecond && task.Timer is { } timer)
            {
                timer.Change(TimerDue(TimeSpan.FromTicks(remaining)), Timeout.InfiniteTimeSpan);
                return;
            }
            task.TimedOut = true;
            WakeLocked(task);
        }
    }

    /// <summary>Wakes the waiter if its wait is still current; false when stale. <paramref name="waker"/>: the fiber whose
    /// operation wakes it, which defers the worker's signal (<see cref="FlushWakes"/>). Under the gate.</summary>
    public bool Wake(Waiter waiter, Fiber? waker = null)
    {
        if (waiter.Host is { } host) return host.TrySetResult(true);
        var task = waiter.Task!;
        if (!task.Waiting || task.WaitTicket != waiter.Ticket) return false;
        WakeLocked(task, waker);
        return true;
    }

    /// <summary>Wakes the first current waiter of <paramref name="queue"/>, dropping stale ones. Under the gate.</summary>
    public void WakeOne(Queue<Waiter> queue, Fiber? waker = null)
    {
        while (queue.TryDequeue(out var waiter))
            if (Wake(waiter, waker)) return;
    }

    public void WakeAll(Queue<Waiter> queue, Fiber? waker = null)
    {
        while (queue.TryDequeue(out var waiter)) Wake(waiter, waker);
    }

    /// <summary>Ends the task's wait and makes it run again. Under the gate.</summary>
    private void WakeLocked(VmTask task, Fiber? waker = null)
    {
        EndWait(task);
        if (task.IsHost)
        {
            _active++;
            Monitor.PulseAll(Gate);
        }
        else if (task.State == TaskState.Blocked)
        {
            _active++;
            MakeRunnable(task, waker);
        }
        else task.WakePending = true; // still unwinding into its suspension on a worker
    }

    private void EndWait(VmTask task)
    {
        task.Waiting = false;
        _waiting.Remove(task);
        if (task.Timer is { } timer)
        {
            timer.Dispose();
            task.Timer = null;
            _timedWaits--;
        }
    }

    /// <summary>A host task waits on its own thread until woken, running queued tasks on it meanwhile. Under the gate
    /// (released while waiting or running a task).</summary>
    /// <remarks>In the deterministic mode this thread is the only worker. Otherwise it helps the workers while fewer
    /// than <see cref="MaxWorkers"/> turns run (so the tree keeps to about that many threads at once): a task the
    /// host's own operation woke (the receiver of its message, the task it spawned and joins) runs at once on this
    /// thread instead of waiting for a worker to wake up, and every task it runs yields at the end of its quantum
    /// (<see cref="ShouldYield"/>), so the host sees its own wake-up within a quantum. Tasks so run keep the order of
    /// the run queue; which thread runs a task is invisible to it.</remarks>
    /// <para>The signals <paramref name="fiber"/> deferred (<see cref="FlushWakes"/>), and those of the turns run here,
    /// are released before this thread waits or stops waiting, less one for each task it takes itself.</para>
    public void WaitOnHostThread(VmTask task, Fiber fiber)
    {
        _active--;
        CheckDeadlock(fiber);
        try
        {
            WaitOrHelp(task, fiber);
        }
        finally
        {
            FlushWakes(fiber);
        }
    }

    private void WaitOrHelp(VmTask task, Fiber fiber)
    {
        while (task.Waiting)
        {
            if (task.IsHost && (IsDeterministic || Volatile.Read(ref _turns) < MaxWorkers) && TakeTaskLocked() is { } next)
            {
                FlushWakes(fiber, answered: 1);
                // The gate is held once here (by the waiting operation); it is released while the task runs, as a
                // worker would not hold it.
                next.OnHostThread = true;
                Monitor.Exit(Gate);
                try
                {
                    fiber.DeferredWakes += RunTurn(next);
                }
                finally
                {
                    Monitor.Enter(Gate);
                    next.OnHostThread = false;
                }
                continue;
            }
            FlushWakes(fiber);
            // The host's limits hold while its thread waits: past the root isolate's deadline, or once its
            // cancellation token is cancelled, the wait ends in a trap (checked at least every 50 ms).
            var store = task.Isolate!.Store;
            var remaining = store.TimeToDeadline();
            if (remaining <= TimeSpan.Zero || store.CancellationToken.IsCancellationRequested)
            {
                EndWait(task);
                _active++;
                throw store.CancellationToken.IsCancellationRequested
                    ? new TrapException(TrapCode.Cancelled, "the host cancelled the program")
                    : new TrapException(TrapCode.DeadlineExceeded, "the program ran past its deadline while waiting");
            }
            Monitor.Wait(Gate, remaining < HostWaitPoll ? remaining : HostWaitPoll);
        }
    }

    private static readonly TimeSpan HostWaitPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>The operation could not complete and the task must wait: whether it still may (a cancellation or a
    /// detected deadlock ends waiting with a trap instead). Under the gate.</summary>
    public static void ThrowIfCannotWait(VmTask task)
    {
        if (task.CancelRequested) throw new TrapException(TrapCode.Cancelled, $"{task.Describe()} was cancelled");
        ThrowIfDeadlocked(task);
    }

    /// <summary>A wait that deadlock detection ended traps Deadlock when its operation is retried, before anything
    /// else is looked at: the other tasks it woke may have trapped meanwhile (a joined task ends with Deadlock), and
    /// what the retry would see must not depend on which of them ran first. Under the gate.</summary>
    public static void ThrowIfDeadlocked(VmTask task)
    {
        if (!task.DeadlockDetected) return;
        task.DeadlockDetected = false;
        throw new TrapException(TrapCode.Deadlock, "deadlock: every task is waiting and nothing can wake any of them");
    }

    private void CheckDeadlock(Fiber? waker = null)
    {
        if (_active > 0 || HostEndpoints > 0 || _waiting.Count == 0) return;
        if (_timedWaits > 0)
        {
            // Only timers can wake anything. In the deterministic mode time is the program's, not the clock's: every
            // timed wait ends now, as if its timeout had passed, so the schedule never depends on how long it took.
            if (IsDeterministic)
                foreach (var task in _waiting.ToArray())
                    if (task.Timer is not null)
                    {
                        task.TimedOut = true;
                        WakeLocked(task, waker);
                    }
            return;
        }
        foreach (var task in _waiting.ToArray())
        {
            task.DeadlockDetected = true;
            WakeLocked(task, waker);
        }
    }

    /// <summary>A spawned task finished or trapped: wakes its joiners. Under the gate.</summary>
    public void Completed(VmTask task, Fiber fiber)
    {
        LiveTasks--;
        _active--;
        if (task.Joiners is { } joiners)
            foreach (var joiner in joiners) Wake(joiner, fiber);
        task.Joiners = null;
        task.Completion?.TrySetResult(true);
        CheckDeadlock(fiber);
    }

    /// <summary>Cancels the task and its descendants: waiting ones wake to trap Cancelled, running ones trap at their next
    /// fuel check, queued ones trap when they start.</summary>
    /// <remarks><paramref name="waker"/>: the fiber cancelling (task.cancel), which defers the signals.</remarks>
    public void Cancel(VmTask task, Fiber? waker = null)
    {
        lock (Gate)
        {
            var pending = new Stack<VmTask>();
            pending.Push(task);
            while (pending.TryPop(out var next))
            {
                if (next.IsDone) continue;
                next.CancelRequested = true;
                if (next.Isolate is { } isolate) isolate.Store.RequestInterrupt();
                if (next.Waiting) WakeLocked(next, waker);
                if (next.Children is { } children)
                    foreach (var child in children) pending.Push(child);
            }
        }
    }

    /// <summary>Asks for a yield when this task has used its quantum and another waits for a worker.</summary>
    /// <remarks>A task run on the waiting host's thread (always, in the deterministic mode) always yields at the end of
    /// its quantum: the host task may have been woken and must get its turn.</remarks>
    public static bool ShouldYield(VmTask task) =>
        !task.IsHost && ++task.SlicesThisTurn > QuantumSlices && (task.Scheduler.HasQueuedWork || task.OnHostThread || task.Scheduler.IsDeterministic);

    public string DescribeStatistics() =>
        $"tasks: {TasksSpawned} spawned, {LiveTasks} alive; {MessagesSent} messages, {BytesCopied} bytes copied; {Suspensions} suspensions; {TaskIsolates.Reused} spawns reused an ended task's isolate";

    internal static long Timestamp() => Stopwatch.GetTimestamp();
}
