using JitVm.Interpreter;
using JitVm.Memory;

namespace JitVm.Runtime;

/// <summary>
/// Deoptimisation: compiled frames handing their whole VM state to the interpreter (spec/internals.md §4).
/// </summary>
/// <remarks>
/// A compiled frame deoptimises at a safepoint: before the safepoint instruction (when asked to, e.g. by deopt
/// stress), or after a call whose callee deoptimised. It writes an <em>image</em> of its interpreter frame — every
/// local and every operand-stack value the interpreter frame holds at that point, with tags — and the operation the
/// interpreter resumes at, then returns at once. The first image also sets <see cref="FuelSlice"/> to
/// <see cref="DeoptimisingSlice"/> (keeping the real slice aside): compiled callers reload the slice after every
/// call anyway, so seeing it negative is their only cost when nothing deoptimises, and each of them writes its own
/// image in turn. The first place that called compiled code from outside compiled code (the interpreter's call,
/// the host entry, a call across instances) then lays the images out as interpreter frames from the callee's frame
/// pointer, outermost first — each frame starts where its caller's image ends, which is where its arguments were —
/// and continues the innermost in the interpreter. No collection runs while images are pending (unwinding
/// allocates nothing on the VM heap), but their pointers are roots all the same.
/// </remarks>
internal sealed partial class Fiber
{
    /// <summary>The fuel slice while a deoptimisation unwinds compiled frames; running code never has a negative slice.</summary>
    public const long DeoptimisingSlice = -1;

    private struct FrameImage
    {
        public DecodedFunction Function;
        public int Ip;
        public int Start;
        public int Count;
    }

    /// <summary>The images of one deoptimisation: <see cref="Images"/> written so far, innermost first, whose values
    /// are <see cref="Values"/>[Start, Start + Count).</summary>
    private sealed class ImageBuffers
    {
        public readonly List<FrameImage> Images = [];
        public long[] Values = [];
        public byte[] Tags = [];
        public int Top;
    }

    /// <summary>Image buffers are held by a fiber only while its compiled frames unwind (from the first image to
    /// <see cref="Materialise"/> or <see cref="DiscardDeoptimised"/>, all on one thread); otherwise they belong to
    /// the thread, which reuses them for every fiber it runs, so a suspended task holds none.</summary>
    [ThreadStatic] private static ImageBuffers? t_spareImageBuffers;

    private ImageBuffers? _imageBuffers;

    private ImageBuffers TakeImageBuffers()
    {
        var buffers = t_spareImageBuffers ?? new ImageBuffers();
        t_spareImageBuffers = null;
        return _imageBuffers = buffers;
    }

    private void ReleaseImageBuffers()
    {
        if (_imageBuffers is not { } buffers) return;
        buffers.Images.Clear();
        buffers.Top = 0;
        _imageBuffers = null;
        t_spareImageBuffers = buffers;
    }

    /// <summary>The real fuel slice while <see cref="FuelSlice"/> says a deoptimisation is unwinding; kept by the
    /// frame that started it (<see cref="_deoptFuelKept"/>), so frames further out, which reloaded the negative slice,
    /// do not replace it.</summary>
    private long _deoptFuel;

    private bool _deoptFuelKept;

    private void KeepDeoptFuel(long fuel)
    {
        if (_deoptFuelKept) return;
        _deoptFuel = fuel;
        _deoptFuelKept = true;
    }

    private long TakeDeoptFuel()
    {
        _deoptFuelKept = false;
        return _deoptFuel;
    }

    /// <summary>Whether compiled frames are unwinding into images (see the type's remarks).</summary>
    public bool IsDeoptimising => FuelSlice < 0;

    /// <summary>Reserves <paramref name="count"/> values for the next image; returns the index of the first.</summary>
    public int BeginImage(int count)
    {
        var buffers = _imageBuffers ?? TakeImageBuffers();
        var start = buffers.Top;
        if (start + count > buffers.Values.Length)
        {
            var size = Math.Max(Math.Max(buffers.Values.Length * 2, 16), start + count);
            Array.Resize(ref buffers.Values, size);
            Array.Resize(ref buffers.Tags, size);
        }
        buffers.Top = start + count;
        return start;
    }

    public void SetImageValue(int index, long bits, bool isPointer)
    {
        var buffers = _imageBuffers!;
        buffers.Values[index] = bits;
        buffers.Tags[index] = isPointer ? (byte)1 : (byte)0;
    }

    /// <summary>
    /// Completes the image begun at <paramref name="start"/>: the frame of defined function
    /// <paramref name="definedIndex"/> of the running instance, to resume at operation <paramref name="ip"/>. The
    /// first image of a deoptimisation keeps <paramref name="fuel"/>, the frame's slice, which is the fiber's real one.
    /// </summary>
    public void EndImage(int definedIndex, int ip, int start, long fuel)
    {
        KeepDeoptFuel(fuel);
        var buffers = _imageBuffers!;
        buffers.Images.Add(new FrameImage { Function = Instance.Functions[definedIndex], Ip = ip, Start = start, Count = buffers.Top - start });
        FuelSlice = DeoptimisingSlice;
    }

    /// <summary>
    /// Lays the pending images out as interpreter frames, the outermost at <paramref name="fp"/> running one deeper
    /// than <see cref="CallDepth"/>, and ends the deoptimisation: afterwards the innermost frame record is the frame
    /// to continue, <see cref="CallDepth"/> counts the new frames and <see cref="FuelSlice"/> is the real slice.
    /// </summary>
    public void Materialise(int fp)
    {
        if (_imageBuffers is { } buffers)
        {
            var images = buffers.Images;
            for (var i = images.Count - 1; i >= 0; i--)
            {
                var image = images[i];
                // Room for the whole interpreter frame: the innermost continues at once and uses its operand stack.
                EnsureSlots(fp + image.Function.FrameSize + 1);
                Array.Copy(buffers.Values, image.Start, Slots, fp, image.Count);
                Array.Copy(buffers.Tags, image.Start, SlotTags, fp, image.Count);
                CallDepth++;
                PushRecord(image.Function, fp);
                Frames[FrameCount - 1].Ip = image.Ip;
                fp += image.Count;
            }
            Store.FramesDeoptimised += images.Count;
            ReleaseImageBuffers();
        }
        // A suspension goes on unwinding to the task's entry; a plain deoptimisation ends here.
        if (!IsSuspending) FuelSlice = TakeDeoptFuel();
    }

    private void DiscardDeoptimised()
    {
        ReleaseImageBuffers();
        if (FuelSlice < 0) FuelSlice = _deoptFuel;
        _deoptFuelKept = false;
        IsSuspending = false;
    }

    private void UpdateDeoptimisedRoots(Heap heap)
    {
        if (_imageBuffers is not { } buffers) return;
        for (var i = 0; i < buffers.Top; i++)
            if (buffers.Tags[i] != 0) buffers.Values[i] = heap.Forward(buffers.Values[i]);
    }
}
