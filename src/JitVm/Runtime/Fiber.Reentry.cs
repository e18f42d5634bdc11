namespace JitVm.Runtime;

/// <summary>
/// Host calls in progress and the entries nested in them (spec/embedding.md §3.1): a host function may call back
/// into the isolate that called it, and the callback runs on the same fiber, above every frame of the entries
/// around it.
/// </summary>
/// <remarks>
/// Invariants. Entries on one fiber are strictly nested (they all run on the owning thread), so the saved states
/// form a stack and the innermost entry is always the one that ends next. A nested entry may begin only while a host
/// call is in progress (<see cref="HostCallDepth"/> is not -1): then every frame below has published its state as at
/// any safepoint — interpreter frames their resume point, compiled frames their spill areas — so the collector can
/// run inside the callback, and the frames below are neither read nor written until it returns. The callback's
/// frames begin at <see cref="EntryBase"/>, above the innermost record and every slot the host call uses; its first
/// frame runs one deeper than the frame that called the host, so the call-depth limit and the VM stack of a trap
/// cover the whole chain. A nested entry never suspends (host code is on the .NET stack between its frames and the
/// task's entry) and never re-arms the time limits, which run from the outermost entry.
/// </remarks>
internal sealed partial class Fiber
{
    /// <summary>The depth of the frame whose host function call is in progress, or -1 when VM code (or nothing) runs:
    /// the host may enter the isolate again on its thread only while this is set.</summary>
    public int HostCallDepth = -1;

    /// <summary>The call site of the host call in progress (valid while <see cref="HostCallDepth"/> is set).</summary>
    public long HostCallSite;

    /// <summary>The first slot of the current entry's frames: 0 for an entry from outside VM code.</summary>
    public int EntryBase;

    /// <summary>The frame records below the current entry (0 for an entry from outside VM code).</summary>
    public int EntryFrames;

    /// <summary>The depth of the frame below the current entry's first frame (0 for an entry from outside VM code).</summary>
    public int EntryDepth;

    private Stack<NestedEntry>? _nested;

    /// <summary>Entries in progress nested in host calls of this fiber.</summary>
    public int NestedEntries => _nested?.Count ?? 0;

    /// <summary>What a nested entry changed, restored when it ends.</summary>
    private readonly record struct NestedEntry(int SlotTop, int CallDepth, int EntryBase, int EntryFrames, int EntryDepth,
        int HostCallDepth, long HostCallSite, nuint StackLimit, Instance? Crossed);

    /// <summary>Set at the fiber's first host function call and never cleared: the host function was given the
    /// isolate and may keep it, so a spawned task's isolate that made one is not reused for another task
    /// (<see cref="Store.ResetForNextTask"/>).</summary>
    public bool HostCalled;

    /// <summary>Marks a host function call by the frame at <paramref name="depth"/> from <paramref name="site"/> as in progress.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void BeginHostCall(long site, int depth)
    {
        // A host function may wait for a task this fiber made runnable: its worker must be signalled first.
        if (DeferredWakes != 0) FlushDeferredWakes();
        HostCalled = true;
        HostCallSite = site;
        HostCallDepth = depth;
    }

    /// <summary>Marks the host call in progress as returned (a host call that throws ends with its entry instead).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void EndHostCall() => HostCallDepth = -1;

    /// <summary>Marks the host call in progress as failed, as the first thing an exception filter does: no entry may
    /// nest in it from then on (a logger the trap's location reaches must not run VM code). Always true.</summary>
    public bool HostCallFailed()
    {
        HostCallDepth = -1;
        return true;
    }

    /// <summary>
    /// Begins an entry nested in the host call in progress: the entry's frames go above everything below, its first
    /// frame one deeper than the host call's, in the fiber's own instance.
    /// </summary>
    public void EnterNested()
    {
        var top = SlotTop;
        if (FrameCount > 0)
        {
            ref var innermost = ref Frames[FrameCount - 1];
            top = Math.Max(top, innermost.Function is { } function ? innermost.Fp + function.FrameSize + 1 : innermost.Fp + innermost.SpillCount);
        }
        var home = _baseInstance ?? Instance;
        // The VM stack of a trap in the callback goes on through the host call into the frames below. The table grows
        // as far as the limit allows (a host call at the limit itself is refused by the callee's depth check).
        EnsureDepth(Math.Min(HostCallDepth, Store.MaxDepth - 1));
        if (HostCallDepth < Sites.Length) Sites[HostCallDepth] = HostCallSite;
        // Nothing above throws once the state is saved: every EnterNested is paired with a LeaveNested.
        (_nested ??= new()).Push(new NestedEntry(SlotTop, CallDepth, EntryBase, EntryFrames, EntryDepth, HostCallDepth, HostCallSite,
            StackLimit, Instance == home ? null : Instance));
        if (Instance != home) EnterInstance(home, HostCallDepth + 1);
        EntryBase = top;
        EntryFrames = FrameCount;
        EntryDepth = HostCallDepth;
        CallDepth = HostCallDepth;
        SlotTop = top;
        HostCallDepth = -1;
    }

    /// <summary>Ends the innermost nested entry, its frames already dropped: the host call it ran in is in progress again.
    /// The fuel stays as the callback left it (it spent the isolate's fuel).</summary>
    public void LeaveNested()
    {
        var saved = _nested!.Pop();
        if (saved.Crossed is { } crossed) LeaveInstance(crossed);
        SlotTop = saved.SlotTop;
        CallDepth = saved.CallDepth;
        EntryBase = saved.EntryBase;
        EntryFrames = saved.EntryFrames;
        EntryDepth = saved.EntryDepth;
        HostCallDepth = saved.HostCallDepth;
        HostCallSite = saved.HostCallSite;
        StackLimit = saved.StackLimit;
    }

    /// <summary>Forgets every host call and nested entry: the state once the outermost entry has ended.</summary>
    private void ResetEntries()
    {
        HostCallDepth = -1;
        EntryBase = EntryFrames = EntryDepth = 0;
        _nested?.Clear();
    }

    /// <summary>Writes argument <paramref name="index"/> of an entry into its slot (above the frames below the entry).</summary>
    public void SetEntryArgument(int index, long bits, byte tag)
    {
        var slot = EntryBase + index;
        if (slot + 1 >= Slots.Length) EnsureSlots(slot + 2);
        Slots[slot] = bits;
        SlotTags[slot] = tag;
    }
}
