using JitVm.Diagnostics;

namespace JitVm.Memory;

/// <summary>
/// One isolate's heap: an arena of 64-bit words with one tag bit per word (set = the word is a pointer).
/// An object is a header word followed by its fields; a pointer is the index of the first field, so a field access
/// <c>p[i]</c> checks <c>(ulong)i &lt; length</c> against the header at <c>p - 1</c>.
/// </summary>
/// <remarks>
/// Invariants: word 0 is never part of an object, so no pointer is 0 or 1 (0 marks an unassigned pointer slot);
/// every tagged word holds the index of an object's first field; headers are never tagged. Allocation bumps
/// <see cref="_top"/>. When the bump pointer reaches <see cref="_collectAt"/> the collector (Collector.cs) copies
/// every object reachable from the roots into a fresh arena and continues there.
/// </remarks>
internal sealed partial class Heap
{
    /// <summary>The header keeps the length in its low 32 bits; higher bits are reserved for the collector.</summary>
    private const long LengthMask = 0xFFFF_FFFF;

    private long[] _words;
    private ulong[] _tags;
    private long _top = 1;

    public Heap(long limitBytes)
    {
        LimitBytes = limitBytes;
        _words = new long[1024];
        _tags = new ulong[_words.Length / 64];
        _collectAt = Math.Min(InitialCollectWords, LimitWords + 1);
    }

    /// <summary>Greatest number of bytes the isolate's objects may occupy (8 per field plus 8 per header).</summary>
    public long LimitBytes { get; }

    /// <summary>Bytes the heap's objects occupy now (live ones and garbage not yet collected).</summary>
    public long UsedBytes => (_top - 1) * 8;

    /// <summary>Bytes allocated since the heap was created, whether still live or not.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Number of objects allocated since the heap was created.</summary>
    public long ObjectCount { get; private set; }

    private long LimitWords => LimitBytes / 8;

    public long[] Words => _words;

    public ulong[] Tags => _tags;

    /// <summary>
    /// Allocates an object of <paramref name="length"/> zero, untagged words and returns a pointer to it. May
    /// collect first, so callers must have published their roots (every allocation is a safepoint).
    /// </summary>
    public long Allocate(long length)
    {
        if (length < 0) throw new TrapException(TrapCode.OutOfBounds, $"cannot allocate an object of negative length {length}");
        var needed = length + 1;
        if (length > int.MaxValue) throw OutOfMemory(length);
        if (ShouldCollect(needed)) Collect(needed);
        if (_top + needed > LimitWords + 1) throw OutOfMemory(length);
        var end = _top + needed;
        if (end > _words.Length) Grow(end);
        var header = _top;
        _words[header] = length;
        _top = end;
        ObjectCount++;
        AllocatedBytes += needed * 8;
        return header + 1;
    }

    private TrapException OutOfMemory(long length) =>
        new(TrapCode.OutOfMemory,
            $"allocating {length} words ({(length + 1) * 8} bytes) would exceed the heap limit of {LimitBytes} bytes ({UsedBytes} in use after collection)");

    private void Grow(long required)
    {
        var size = (long)Math.Max(_words.Length, 64);
        while (size < required) size *= 2;
        size = Math.Min(size, Array.MaxLength & ~63L);
        if (size < required) throw new TrapException(TrapCode.OutOfMemory, "the heap cannot grow any further");
        Array.Resize(ref _words, (int)size);
        Array.Resize(ref _tags, (int)((size + 63) / 64));
    }

    /// <summary>The object's length in words.</summary>
    public long Length(long pointer) => _words[pointer - 1] & LengthMask;

    public bool IsPointer(long index) => (_tags[index >> 6] & (1UL << (int)index)) != 0;

    public void SetTag(long index, bool pointer)
    {
        if (pointer) _tags[index >> 6] |= 1UL << (int)index;
        else _tags[index >> 6] &= ~(1UL << (int)index);
    }

    /// <summary>Checks a field index and returns the arena index of the field.</summary>
    public long Field(long pointer, long index)
    {
        var length = _words[pointer - 1] & LengthMask;
        if ((ulong)index >= (ulong)length) throw OutOfBounds(index, length);
        return pointer + index;
    }

    public long LoadInt(long pointer, long index, string what)
    {
        var at = Field(pointer, index);
        if (IsPointer(at)) throw new TrapException(TrapCode.TagMismatch, $"{what} found a pointer in word {index}, expected a number");
        return _words[at];
    }

    public long LoadPointer(long pointer, long index)
    {
        var at = Field(pointer, index);
        if (!IsPointer(at)) throw new TrapException(TrapCode.TagMismatch, $"load.p found a number in word {index}, expected a pointer");
        return _words[at];
    }

    public void Store(long pointer, long index, long value, bool isPointer)
    {
        var at = Field(pointer, index);
        _words[at] = value;
        SetTag(at, isPointer);
    }

    /// <summary>Reads byte <paramref name="index"/> of the object (bytes are little-endian within words).</summary>
    public long LoadByte(long pointer, long index)
    {
        var at = ByteWord(pointer, index, "load.u8");
        return (long)(((ulong)_words[at] >> (int)((index & 7) * 8)) & 0xFF);
    }

    public void StoreByte(long pointer, long index, long value)
    {
        var at = ByteWord(pointer, index, "store.u8");
        var shift = (int)((index & 7) * 8);
        _words[at] = (long)(((ulong)_words[at] & ~(0xFFUL << shift)) | (((ulong)value & 0xFF) << shift));
    }

    /// <summary>Copies bytes into a span, with the same checks as <see cref="LoadByte"/>.</summary>
    public void CopyBytes(long pointer, long start, long count, Span<byte> destination)
    {
        if (count < 0) throw new TrapException(TrapCode.OutOfBounds, $"byte count {count} is negative");
        if (count == 0) return;
        var length = Length(pointer) * 8;
        if ((ulong)start >= (ulong)length || (ulong)count > (ulong)(length - start))
            throw new TrapException(TrapCode.OutOfBounds, $"bytes {start}..{start + count - 1} are outside the object's {length} bytes");
        for (long i = 0; i < count; i++) destination[(int)i] = (byte)LoadByte(pointer, start + i);
    }

    private long ByteWord(long pointer, long index, string what)
    {
        var length = _words[pointer - 1] & LengthMask;
        if ((ulong)index >= (ulong)length * 8) throw new TrapException(TrapCode.OutOfBounds, $"byte index {index} is outside the object's {length * 8} bytes");
        var at = pointer + (index >> 3);
        if (IsPointer(at)) throw new TrapException(TrapCode.TagMismatch, $"{what} would touch word {index >> 3}, which holds a pointer");
        return at;
    }

    public static TrapException OutOfBounds(long index, long length) =>
        new(TrapCode.OutOfBounds, $"index {index} is outside the object's {length} words");
}
