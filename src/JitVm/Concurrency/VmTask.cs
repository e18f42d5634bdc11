using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Concurrency;

/// <summary>Where a task is in its life (spec/concurrency.md §4).</summary>
internal enum TaskState
{
    /// <summary>In the run queue, or about to be.</summary>
    Runnable,

    /// <summary>On a worker (or, for a host task, running on its host thread).</summary>
    Running,

    /// <summary>Suspended, waiting to be woken; its whole state is in its fiber's frames.</summary>
    Blocked,

    /// <summary>Its function returned; <see cref="VmTask.Results"/> holds the results.</summary>
    Finished,

    /// <summary>It trapped; <see cref="VmTask.Trap"/> says how.</summary>
    Trapped,
}

/// <summary>
/// A task: an isolate of its own (store, instance, fiber: own heap, globals and frames; the module's code is shared)
/// run by a <see cref="Scheduler"/>. A host task is an isolate the host created and runs on its own thread: it can
/// spawn, send, receive and join, and it blocks its thread where a task would be suspended.
/// </summary>
/// <remarks>All mutable state is guarded by <see cref="Scheduler.Gate"/>, except <see cref="CancelRequested"/>,
/// which running code polls without it.</remarks>
internal sealed class VmTask
{
    public VmTask(Scheduler scheduler, long id, Isolate? isolate, VmTask? parent, int functionIndex, bool isHost)
    {
        Scheduler = scheduler;
        Id = id;
        Isolate = isolate;
        Parent = parent;
        FunctionIndex = functionIndex;
        IsHost = isHost;
        State = isHost ? TaskState.Running : TaskState.Runnable;
    }

    public Scheduler Scheduler { get; }

    public long Id { get; }

    /// <summary>The task's isolate; null once it has finished (its heap is released, its results kept in a message).</summary>
    public Isolate? Isolate { get; set; }

    public VmTask? Parent { get; }

    /// <summary>The function the task runs (for spawned tasks).</summary>
    public int FunctionIndex { get; }

    /// <summary>The signature of <see cref="FunctionIndex"/> (what task.join checks).</summary>
    public Bytecode.FunctionType Signature => Module.Definition.SignatureOf(FunctionIndex);

    /// <summary>The module the task runs.</summary>
    public required Module Module { get; init; }

    /// <summary>A host task blocks its thread instead of being suspended.</summary>
    public bool IsHost { get; }

    public TaskState State { get; set; }

    /// <summary>The arguments until the task starts.</summary>
    public Message? Arguments { get; set; }

    public bool Started { get; set; }

    public Message? Results { get; set; }

    public TrapException? Trap { get; set; }

    /// <summary>Children spawned, for cancellation (a documented tree, spec/concurrency.md §4).</summary>
    public List<VmTask>? Children { get; set; }

    /// <summary>Tasks waiting in task.join for this one.</summary>
    public List<Waiter>? Joiners { get; set; }

    /// <summary>Completes when the task finishes or traps (for hosts awaiting it).</summary>
    public TaskCompletionSource<bool>? Completion { get; set; }

    public volatile bool CancelRequested;

    /// <summary>Set while the task waits; a wake for an older ticket is stale and ignored.</summary>
    public long WaitTicket { get; set; }

    public bool Waiting { get; set; }

    /// <summary>Woken while still unwinding into its suspension: the worker runs it again at once.</summary>
    public bool WakePending { get; set; }

    /// <summary>Its wait can never end (every task blocked, nothing to wake them): the retried operation traps Deadlock.</summary>
    public bool DeadlockDetected { get; set; }

    /// <summary>The current wait's timeout has passed.</summary>
    public bool TimedOut { get; set; }

    /// <summary>Asked to give its worker to others at the next block boundary (its quantum is used up).</summary>
    public bool YieldRequested { get; set; }

    /// <summary>Running on the thread of a waiting host task, which it must give back at the end of its quantum.</summary>
    public bool OnHostThread { get; set; }

    /// <summary>Fuel slices granted since the task was last scheduled (see <see cref="Scheduler.QuantumSlices"/>).</summary>
    public int SlicesThisTurn { get; set; }

    /// <summary>The timer of a wait with a timeout (chan.recv_for), while it runs.</summary>
    public Timer? Timer { get; set; }

    public bool IsDone => State is TaskState.Finished or TaskState.Trapped;

    public string Describe() => $"task {Id}";
}
