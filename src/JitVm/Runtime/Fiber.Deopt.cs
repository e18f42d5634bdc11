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

    /// <summary>Images written so far, innermost first; their values are <see cref="_imageValues"/>[Start, Start + Count).</summary>
    private readonly List<FrameImage> _images = [];

    private long[] _imageValues = [];
    private byte[] _imageTags = [];
    private int _imageTop;

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
        var start = _imageTop;
        if (start + count > _imageValues.Length)
        {
            var size = Math.Max(Math.Max(_imageValues.Length * 2, 16), start + count);
            Array.Resize(ref _imageValues, size);
            Array.Resize(ref _imageTags, size);
        }
        _imageTop = start + count;
        return start;
    }

    public void SetImageValue(int index, long bits, bool isPointer)
    {
        _imageValues[index] = bits;
        _imageTags[index] = isPointer ? (byte)1 : (byte)0;
    }

    /// <summary>
    /// Completes the image begun at <paramref name="start"/>: the frame of defined function
    /// <paramref name="definedIndex"/> of the running instance, to resume at operation <paramref name="ip"/>. The
    /// first image of a deoptimisation keeps <paramref name="fuel"/>, the frame's slice, which is the fiber's real one.
    /// </summary>
    public void EndImage(int definedIndex, int ip, int start, long fuel)
    {
        KeepDeoptFuel(fuel);
        _images.Add(new FrameImage { Function = Instance.Functions[definedIndex], Ip = ip, Start = start, Count = _imageTop - start });
        FuelSlice = DeoptimisingSlice;
    }

    /// <summary>
    /// Lays the pending images out as interpreter frames, the outermost at <paramref name="fp"/> running one deeper
    /// than <see cref="CallDepth"/>, and ends the deoptimisation: afterwards the innermost frame record is the frame
    /// to continue, <see cref="CallDepth"/> counts the new frames and <see cref="FuelSlice"/> is the real slice.
    /// </summary>
    public void Materialise(int fp)
    {
        for (var i = _images.Count - 1; i >= 0; i--)
        {
            var image = _images[i];
            // Room for the whole interpreter frame: the innermost continues at once and uses its operand stack.
            EnsureSlots(fp + image.Function.FrameSize + 1);
            Array.Copy(_imageValues, image.Start, Slots, fp, image.Count);
            Array.Copy(_imageTags, image.Start, SlotTags, fp, image.Count);
            CallDepth++;
            PushRecord(image.Function, fp);
            Frames[FrameCount - 1].Ip = image.Ip;
            fp += image.Count;
        }
        Store.FramesDeoptimised += _images.Count;
        _images.Clear();
        _imageTop = 0;
        // A suspension goes on unwinding to the task's entry; a plain deoptimisation ends here.
        if (!IsSuspending) FuelSlice = TakeDeoptFuel();
    }

    private void DiscardDeoptimised()
    {
        _images.Clear();
        _imageTop = 0;
        if (FuelSlice < 0) FuelSlice = _deoptFuel;
        _deoptFuelKept = false;
        IsSuspending = false;
    }

    private void UpdateDeoptimisedRoots(Heap heap)
    {
        for (var i = 0; i < _imageTop; i++)
            if (_imageTags[i] != 0) _imageValues[i] = heap.Forward(_imageValues[i]);
    }
}
