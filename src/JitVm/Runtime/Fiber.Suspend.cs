using JitVm.Concurrency;

namespace JitVm.Runtime;

/// <summary>
/// Suspension: a task's fiber giving up its worker with its whole VM state in its frames (spec/internals.md §4.3).
/// </summary>
/// <remarks>
/// A task suspends at a safepoint: a blocking operation that cannot complete (it resumes by running that operation
/// again) or a block's fuel charge when its quantum is used up (it resumes by charging again). Suspending is a
/// deoptimisation that does not stop at the first non-compiled caller: the operation sets the slice to
/// <see cref="DeoptimisingSlice"/>, every compiled frame writes its image as it returns, every interpreter activation
/// returns leaving its frame records in place, and each place that called compiled code from the interpreter or from
/// an entry lays the images its callees left out as interpreter frames below the frames already there
/// (<see cref="MaterialiseBelow"/>). When the unwinding reaches the task's entry, every frame is an interpreter frame;
/// <see cref="ResumeSuspended"/> continues the innermost, and compiled code is entered again at the next call.
/// </remarks>
internal sealed partial class Fiber
{
    /// <summary>The task this fiber runs, when it runs one (null for a plain isolate that never used concurrency).</summary>
    public VmTask? Task;

    /// <summary>Wake-up signals for workers that this fiber's operations owe (tasks they made runnable), paid when its
    /// thread could stop looking at the run queue: see <see cref="Scheduler.FlushWakes"/>.</summary>
    public int DeferredWakes;

    /// <summary>Pays the signals in <see cref="DeferredWakes"/> (before a host call, a fuel refill, the end of an entry).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public void FlushDeferredWakes() => Task!.Scheduler.FlushWakes(this);

    /// <summary>Whether the frames are unwinding into a suspension (see the type's remarks).</summary>
    public bool IsSuspending;

    /// <summary>Calls into other instances in progress: their frames name functions the interpreter could not find again
    /// after a suspension, so a task waits on its worker's thread while one is active (as it does in an entry nested in
    /// a host call, whose host frames cannot be unwound).</summary>
    public int LinkedCalls;

    /// <summary>Whether a blocking operation may suspend this fiber rather than block its thread.</summary>
    public bool CanSuspend => Task is { IsHost: false } && LinkedCalls == 0 && NestedEntries == 0;

    /// <summary>Starts suspending: the fuel slice (published by the operation) is kept for the resumption.</summary>
    public void BeginSuspend()
    {
        IsSuspending = true;
        KeepDeoptFuel(FuelSlice);
        FuelSlice = DeoptimisingSlice;
    }

    /// <summary>
    /// Lays the pending images out as interpreter frames from <paramref name="fp"/>, their records inserted at
    /// <paramref name="insertAt"/> below any frame records already above it (an interpreter activation deeper down
    /// that suspended); those frames move up or down in the slots so that the first starts where the last image ends,
    /// which is where its arguments were.
    /// </summary>
    public void MaterialiseBelow(int fp, int insertAt)
    {
        var above = FrameCount - insertAt;
        if (above == 0)
        {
            Materialise(fp);
            return;
        }
        var imageWords = 0;
        if (_imageBuffers is { } buffers)
            foreach (var image in buffers.Images) imageWords += image.Count;
        var from = Frames[insertAt].Fp;
        var to = fp + imageWords;
        ref var innermost = ref Frames[FrameCount - 1];
        var end = innermost.Fp + innermost.Function!.FrameSize;
        var delta = to - from;
        EnsureSlots(end + Math.Max(0, delta) + 1);
        Array.Copy(Slots, from, Slots, to, end - from);
        Array.Copy(SlotTags, from, SlotTags, to, end - from);
        var records = new FrameRecord[above];
        Array.Copy(Frames, insertAt, records, 0, above);
        for (var i = 0; i < records.Length; i++) records[i].Fp += delta;
        FrameCount = insertAt;
        Materialise(fp);
        foreach (var record in records)
        {
            PushRecord(record.Function, record.Fp, record.SpillCount);
            Frames[FrameCount - 1].Ip = record.Ip;
            Frames[FrameCount - 1].EveryLocalLive = record.EveryLocalLive;
        }
    }

    /// <summary>
    /// Closes a compiled frame's spill area as the frame deoptimises: while suspending, interpreter records of deeper
    /// activations may lie above it, so it is found and removed wherever it is.
    /// </summary>
    public void ExitSpillAreaDeoptimising(int first)
    {
        for (var f = FrameCount - 1; f >= 0; f--)
        {
            if (Frames[f].Function is not null || Frames[f].Fp != first) continue;
            Array.Copy(Frames, f + 1, Frames, f, FrameCount - f - 1);
            FrameCount--;
            break;
        }
        if (FrameCount == 0 || Frames[FrameCount - 1].Function is null) SlotTop = first;
    }

    /// <summary>Continues a suspended fiber: every frame is an interpreter frame; runs them until they have all returned
    /// (after delivering the result of the host call it was suspended in, if any: Fiber.Async.cs).</summary>
    public void ResumeSuspended()
    {
        IsSuspending = false;
        FuelSlice = TakeDeoptFuel();
        CallDepth = FrameCount;
        ref var innermost = ref Frames[FrameCount - 1];
        SlotTop = innermost.Fp + innermost.Function!.FrameSize;
        DeliverHostResult();
        Interpreter.Interpreter.Resume(this, 0);
    }
}
