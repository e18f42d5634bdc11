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

/// <summary>
/// A registration to be woken: a task's (stale once the task has stopped waiting for it, see
/// <see cref="VmTask.WaitTicket"/>), or a host's asynchronous wait on a channel, which is woken by completing
/// <see cref="Host"/> (stale once it is completed or cancelled). A host waiter holds no thread and is not a task: it
/// is not counted by deadlock detection, which the host endpoint it belongs to already suspends.
/// </summary>
internal readonly record struct Waiter(VmTask? Task, long Ticket, TaskCompletionSource<bool>? Host = null)
{
    /// <summary>A host's wait: completing <paramref name="host"/> wakes it.</summary>
    public static Waiter ForHost(TaskCompletionSource<bool> host) => new(null, 0, host);
}
