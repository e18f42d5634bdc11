using JitVm.Diagnostics;

namespace JitVm.Memory;

/// <summary>
/// Objects that are not plain fields (spec/concurrency.md §3): <em>references</em> to things outside the heap (a
/// channel, a task) and <em>sent</em> objects whose contents moved to another task.
/// </summary>
/// <remarks>
/// Both read as objects of length 0, so every field access, in every tier, fails the one bounds check it already
/// makes, and only the slow path that builds the trap looks at the header's kind bits: checking for them costs
/// nothing when nothing was sent. A reference's header holds its index in <see cref="_references"/> in bits 32..59.
/// Marking an object sent turns it into a header-only stub (kept, so its index is never reused and stale pointers
/// keep trapping) followed by a filler object over its old fields, so linear walks of the heap still tile it; the
/// filler is garbage and the next collection drops it. Invariants: a reference object is never marked sent (sending
/// copies references: they are capabilities, not data); an entry of <see cref="_references"/> is in use exactly while
/// some object, live or not yet collected, holds its index, and the young ones are listed in
/// <see cref="_youngReferences"/> so a minor collection frees the entries of those that died.
/// </remarks>
internal sealed partial class Heap
{
    private const long SentBit = 1L << 61;
    private const long ReferenceBit = 1L << 60;
    private const int ReferenceShift = 32;
    private const long ReferenceIndexMask = (1L << 28) - 1;

    /// <summary>The most references one heap can hold at once.</summary>
    public const int MaxReferences = (int)ReferenceIndexMask;

    // The table and its lists are made at the first reference and start small: most heaps (a task's) hold a few
    // references or none.
    private object?[] _references = [];
    private Stack<int>? _freeReferences;
    private int _referenceTop;
    private List<(long Pointer, int Index)>? _youngReferences;

    /// <summary>Allocates a reference object naming <paramref name="target"/> (may collect first, like any allocation).</summary>
    public long AllocateReference(object target)
    {
        var pointer = Allocate(0);
        int index;
        if (_freeReferences is { Count: > 0 }) index = _freeReferences.Pop();
        else
        {
            if (_referenceTop == MaxReferences) throw new TrapException(TrapCode.OutOfMemory, $"the heap already holds {MaxReferences} task and channel references");
            if (_referenceTop == _references.Length) Array.Resize(ref _references, Math.Max(2, _references.Length * 2));
            index = _referenceTop++;
        }
        _references[index] = target;
        _words[pointer - 1] = ReferenceBit | ((long)index << ReferenceShift);
        if (pointer < NurseryEnd) (_youngReferences ??= new(2)).Add((pointer, index));
        return pointer;
    }

    /// <summary>What the reference object at <paramref name="pointer"/> names, or null when it is a plain object.</summary>
    /// <exception cref="TrapException">UseAfterSend when the object was sent.</exception>
    public object? ReferenceTarget(long pointer)
    {
        var header = _words[pointer - 1];
        if ((header & SentBit) != 0) throw UseAfterSend();
        return (header & ReferenceBit) == 0 ? null : _references[(int)((header >> ReferenceShift) & ReferenceIndexMask)];
    }

    /// <summary>Whether the object at <paramref name="pointer"/> is a reference (not a plain object).</summary>
    public bool IsReference(long pointer) => (_words[pointer - 1] & ReferenceBit) != 0;

    /// <summary>Whether the object at <paramref name="pointer"/> was sent.</summary>
    public bool IsSent(long pointer) => (_words[pointer - 1] & SentBit) != 0;

    /// <summary>Marks a plain object sent: it becomes a stub of length 0 and its fields a filler (see the type's remarks).</summary>
    public void MarkSent(long pointer)
    {
        var header = _words[pointer - 1];
        var length = header & LengthMask;
        // A remembered old object stays remembered: the remembered list may name it, and its stub has no fields to scan.
        _words[pointer - 1] = SentBit | (header & RememberedBit);
        if (length == 0) return;
        for (var i = pointer; i < pointer + length; i++) SetTag(i, false);
        _words[pointer] = length - 1;
    }

    /// <summary>The trap for a field access that failed its bounds check: decided here, off the fast path.</summary>
    private TrapException AccessFault(long pointer, long index, long length, string unit = "words")
    {
        var header = _words[pointer - 1];
        if ((header & SentBit) != 0) return UseAfterSend();
        if ((header & ReferenceBit) != 0)
            return new TrapException(TrapCode.OutOfBounds, $"index {index} is outside the object: a {ReferenceKind(pointer)} reference has no fields");
        return new TrapException(TrapCode.OutOfBounds, $"index {index} is outside the object's {length} {unit}");
    }

    private string ReferenceKind(long pointer) => ReferenceTarget(pointer) switch
    {
        Concurrency.VmChannel => "channel",
        Concurrency.VmTask => "task",
        _ => "host",
    };

    private static TrapException UseAfterSend() =>
        new(TrapCode.UseAfterSend, "the object was sent to another task; the sender can no longer use it");

    /// <summary>During a full collection: a copied object that is a reference keeps its table entry.</summary>
    private void NoteLiveReference(long header)
    {
        if ((header & ReferenceBit) == 0) return;
        (_liveReferences ??= new System.Collections.BitArray(_referenceTop)).Length = Math.Max(_liveReferences.Length, _referenceTop);
        _liveReferences[(int)((header >> ReferenceShift) & ReferenceIndexMask)] = true;
    }

    private System.Collections.BitArray? _liveReferences;

    /// <summary>After a minor collection: frees the entries of young references that died (those not forwarded).</summary>
    private void SweepYoungReferences()
    {
        if (_youngReferences is null) return;
        foreach (var (pointer, index) in _youngReferences)
            if (_words[pointer - 1] >= 0) FreeReference(index);
        _youngReferences.Clear();
    }

    /// <summary>After a full collection: frees every entry no copied reference object holds.</summary>
    private void SweepAllReferences()
    {
        _youngReferences?.Clear();
        if (_referenceTop == 0) return;
        var live = _liveReferences;
        var free = _freeReferences ??= new();
        free.Clear();
        for (var i = 0; i < _referenceTop; i++)
        {
            if (live is not null && i < live.Length && live[i]) continue;
            _references[i] = null;
            free.Push(i);
        }
        _liveReferences?.SetAll(false);
    }

    private void FreeReference(int index)
    {
        _references[index] = null;
        (_freeReferences ??= new()).Push(index);
    }

    /// <summary>References in use now (statistics and tests).</summary>
    public int ReferencesInUse => _referenceTop - (_freeReferences?.Count ?? 0);
}
