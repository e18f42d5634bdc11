using JitVm.Diagnostics;

namespace JitVm.Runtime;

/// <summary>
/// Asynchronous entries (Isolate.InvokeAsync, spec/embedding.md §3.4): one entry that may suspend in host calls and
/// continue on another thread, owning the store across its awaits.
/// </summary>
/// <remarks>
/// Ownership protocol. The entry takes the store like any entry (<see cref="BeginEntry"/>). When it suspends, the
/// owner becomes <see cref="SuspendedOwner"/>, never a thread id: every other entry and host access is refused (the
/// fiber's frames belong to the suspended call), and no thread holds the store while the host's work runs. The thread
/// that continues the entry takes it back from <see cref="SuspendedOwner"/> only (<see cref="ResumeAsyncEntry"/>), with
/// its own stack measured as at any entry. The time limits are armed once, when the entry begins: its timeout and the
/// deadline bound the whole call, waits included; its cancellation token interrupts running code at the next fuel
/// check like <see cref="CancellationToken"/> does.
/// </remarks>
internal sealed partial class Store
{
    /// <summary><see cref="_runningThread"/> while an asynchronous entry is suspended (no thread id is negative).</summary>
    private const int SuspendedOwner = -2;

    /// <summary>The cancellation of the asynchronous entry running, checked at each refuel with the store's own.</summary>
    private CancellationToken _entryCancellation;

    /// <summary>Begins an asynchronous entry on <paramref name="fiber"/>, cancelled by <paramref name="cancellation"/>.</summary>
    /// <exception cref="InvalidOperationException">The store is running or suspended in another entry.</exception>
    internal void BeginAsyncEntry(Fiber fiber, CancellationToken cancellation)
    {
        BeginEntry(fiber);
        if (fiber.NestedEntries > 0)
        {
            EndEntry(fiber);
            throw new InvalidOperationException("InvokeAsync cannot run inside a host function the isolate called; call Invoke there");
        }
        fiber.InAsyncEntry = true;
        fiber.EntryCancellation = cancellation;
        _entryCancellation = cancellation;
        UpdateInterruptible();
    }

    /// <summary>Ends an asynchronous entry that returned or trapped (it owns the store on this thread).</summary>
    internal void EndAsyncEntry(Fiber fiber)
    {
        fiber.InAsyncEntry = false;
        fiber.EntryCancellation = default;
        _entryCancellation = default;
        UpdateInterruptible();
        EndEntry(fiber);
    }

    /// <summary>The asynchronous entry suspended in a host call: its frames stay, and the store is no thread's until it
    /// resumes.</summary>
    internal void SuspendAsyncEntry(Fiber fiber)
    {
        EndHostViews();
        Volatile.Write(ref _runningThread, SuspendedOwner);
    }

    /// <summary>Takes the store back for the suspended asynchronous entry on the thread continuing it.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.CallDepthExceeded"/>: this thread has too little stack
    /// left to run VM code (the store stays suspended; the caller abandons the entry).</exception>
    internal void ResumeAsyncEntry(Fiber fiber)
    {
        var (_, limit) = MeasureEntryStack();
        var owner = Interlocked.CompareExchange(ref _runningThread, Environment.CurrentManagedThreadId, SuspendedOwner);
        if (owner != SuspendedOwner)
            throw new InvalidOperationException($"the isolate is {RunningOn(owner)}, not suspended in this call");
        fiber.StackLimit = limit;
    }

    /// <summary>Abandons a suspended asynchronous entry (cancelled, or past its deadline, while the host's work ran):
    /// the store is the caller's for as long as it takes to end the entry with <see cref="EndAsyncEntry"/>.</summary>
    internal void AbandonAsyncEntry() =>
        Interlocked.CompareExchange(ref _runningThread, Environment.CurrentManagedThreadId, SuspendedOwner);

    /// <summary>How long the asynchronous entry may still wait for the host's work: until its timeout or the deadline.</summary>
    internal TimeSpan AsyncWaitLimit()
    {
        var left = TimeToDeadline();
        return left == TimeSpan.MaxValue ? System.Threading.Timeout.InfiniteTimeSpan
            : left <= TimeSpan.Zero ? TimeSpan.Zero
            : left > TimeSpan.FromMilliseconds(uint.MaxValue - 1) ? TimeSpan.FromMilliseconds(uint.MaxValue - 1) : left;
    }

    /// <summary>Whether the asynchronous entry running was cancelled (checked at each refuel).</summary>
    private bool EntryCancelled => _entryCancellation.IsCancellationRequested;
}
