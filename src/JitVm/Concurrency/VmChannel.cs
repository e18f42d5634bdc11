namespace JitVm.Concurrency;

/// <summary>
/// A bounded FIFO channel between tasks of one scheduler. Its messages are held copied out of every heap
/// (<see cref="Message"/>); the tasks waiting to send or receive are queued in arrival order. All of its state is
/// guarded by the scheduler's gate.
/// </summary>
internal sealed class VmChannel(Scheduler scheduler, long id, int capacity)
{
    /// <summary>The largest capacity a channel may have.</summary>
    public const int MaxCapacity = 1 << 20;

    public Scheduler Scheduler { get; } = scheduler;

    public long Id { get; } = id;

    public int Capacity { get; } = capacity;

    public readonly Queue<Message> Buffer = new();

    public readonly Queue<Waiter> Receivers = new();

    public readonly Queue<Waiter> Senders = new();

    public bool Closed;

    /// <summary>Slots promised to senders copying their message outside the lock.</summary>
    public int Reserved;

    /// <summary>Host endpoints open on this channel (each one can wake its waiting tasks at any time).</summary>
    public int HostEndpoints;
}

/// <summary>A task's registration to be woken; stale once the task has stopped waiting for it (see <see cref="VmTask.WaitTicket"/>).</summary>
internal readonly record struct Waiter(VmTask Task, long Ticket);
