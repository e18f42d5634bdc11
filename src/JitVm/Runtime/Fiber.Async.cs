using JitVm.Diagnostics;

namespace JitVm.Runtime;

/// <summary>
/// Asynchronous host calls (spec/embedding.md §3.4): a host function whose work has not completed when it returns
/// suspends the fiber at its call, when the fiber can be suspended, instead of blocking the thread.
/// </summary>
/// <remarks>
/// The call suspends as a callee that deoptimised would: the calling frame (and every frame below it, compiled or
/// interpreted) is left as an interpreter frame resuming at the operation after the call, whose results are expected
/// where its arguments were, i.e. at the callee frame pointer the call operation names. <see cref="DeliverHostResult"/>
/// writes the completed work's result there before the interpreter continues, or raises its failure as a trap at the
/// call. Only calls that continue at the next operation may suspend this way: a <c>call</c>, <c>call_indirect</c> or
/// <c>return_call</c> of an import from a defined function. A <c>return_call_indirect</c> that reaches an import,
/// an entry that names an import itself, a call across instances and a callback nested in a host call block the
/// thread until the work completes.
/// </remarks>
internal sealed partial class Fiber
{
    /// <summary>A host call the fiber is suspended in: its work, and where the call was made.</summary>
    internal sealed record PendingHostCall(Task<long> Work, int Import, long Site, int Depth, int Results);

    /// <summary>The host call the fiber is suspended in, from its suspension until it resumes.</summary>
    public PendingHostCall? PendingHost;

    /// <summary>Whether the outermost entry running is an asynchronous one (Isolate.InvokeAsync), whose caller awaits
    /// the host's work instead of a thread blocking on it.</summary>
    public bool InAsyncEntry;

    /// <summary>The cancellation of the asynchronous entry running (passed to asynchronous host functions).</summary>
    public CancellationToken EntryCancellation;

    /// <summary>Whether a host call whose work is pending may suspend the fiber (see the type's remarks): in an
    /// asynchronous entry or a spawned task, with no call across instances and no nested entry in progress.</summary>
    public bool CanSuspendForHost => (InAsyncEntry || Task is { IsHost: false }) && LinkedCalls == 0 && NestedEntries == 0;

    /// <summary>
    /// Suspends at a host call whose <paramref name="work"/> is pending: a spawned task is woken by its scheduler when
    /// the work completes; an asynchronous entry awaits it itself.
    /// </summary>
    public void SuspendForHost(Task<long> work, int import, long site, int depth, int results)
    {
        PendingHost = new PendingHostCall(work, import, site, depth, results);
        if (Task is { IsHost: false } task) Concurrency.TaskOps.WakeWhenDone(task, work);
        BeginSuspend();
    }

    /// <summary>
    /// The suspended entry ends while the host's work is pending (cancelled, or past its deadline): the trap is
    /// located at the host call, with the fuel the fiber had there; the work's outcome is ignored.
    /// </summary>
    public TrapException AbandonSuspended(TrapException trap)
    {
        var pending = PendingHost!;
        PendingHost = null;
        IsSuspending = false;
        FuelSlice = TakeDeoptFuel();
        // Observed, so a failure after the entry ended is not reported as an unobserved task exception.
        pending.Work.ContinueWith(static work => _ = work.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return Locate(trap, pending.Site, pending.Depth, FuelSlice);
    }

    /// <summary>
    /// Resuming after a host call suspended the fiber: writes the work's result where the call's results go in the
    /// innermost frame (the frame that made the call), or throws the trap its failure is, located at the call.
    /// </summary>
    /// <exception cref="TrapException">The host's work failed, or the task was woken before it completed (it was
    /// cancelled, or every task is deadlocked).</exception>
    private void DeliverHostResult()
    {
        if (PendingHost is not { } pending) return;
        PendingHost = null;
        var work = pending.Work;
        if (!work.IsCompleted)
        {
            var trap = Task is { } task ? Concurrency.TaskOps.WhyWokenEarly(task) : new TrapException(TrapCode.Cancelled, "the host cancelled the program");
            throw Locate(trap, pending.Site, pending.Depth, FuelSlice);
        }
        long result;
        try
        {
            result = work.GetAwaiter().GetResult();
        }
        catch (Exception exception)
        {
            throw Locate(Instance.HostFailure(pending.Import, exception), pending.Site, pending.Depth, FuelSlice);
        }
        if (pending.Results == 0) return;
        ref var caller = ref Frames[FrameCount - 1];
        var at = caller.Fp + caller.Function!.Code[caller.Ip - 1].A;
        Slots[at] = result;
        SlotTags[at] = 0;
    }
}
