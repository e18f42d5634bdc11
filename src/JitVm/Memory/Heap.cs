using JitVm.Diagnostics;

namespace JitVm.Memory;

/// <summary>
/// One isolate's heap: an arena of 64-bit words with one tag bit per word (set = the word is a pointer).
/// An object is a header word followed by its fields; a pointer is the index of the first field, so a field access
/// <c>p[i]</c> checks <c>(ulong)i &lt; length</c> against the header at <c>p - 1</c>.
/// </summary>
/// <remarks>
/// The arena is split at <see cref="NurseryEnd"/>: indices [1, NurseryEnd) are the nursery, where small objects are
/// bump-allocated, and [NurseryEnd, ...) the old space, where survivors of a minor collection and large objects
/// live, so "is young" is one compare. Invariants: word 0 is never part of an object, so no pointer is 0 or 1
/// (0 marks an unassigned pointer slot); every tagged word holds the index of an object's first field; headers are
/// never tagged; every old object holding a pointer to a young one is in the remembered set (the write barrier,
/// <see cref="RecordWrite"/>, keeps this). Collector.cs has the collections.
/// </remarks>
internal sealed partial class Heap
{
    /// <summary>The header keeps the length in its low 32 bits; bit 62 marks a remembered old object and bit 63 a
    /// forwarded one (only during a collection).</summary>
    private const long LengthMask = 0xFFFF_FFFF;

    private const long RememberedBit = 1L << 62;

    private long[] _words;
    private ulong[] _tags;
    private long _youngTop = 1;
    private long _oldTop;
    /// <summary>The remembered list (see <see cref="RecordWrite"/>); made at the first remembered object.</summary>
    private List<long>? _remembered;
    private long _bumpLimit;
    private readonly long _smallObjectWords;

    public Heap(long limitBytes, long nurseryBytes = DefaultNurseryBytes)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("JitVm's heap lays bytes out little-endian within words and runs only on little-endian machines");
        LimitBytes = limitBytes;
        // The nursery never exceeds a quarter of the heap limit, so small isolates stay small.
        NurseryWords = Math.Clamp(Math.Min(nurseryBytes / 8, LimitWords / 4), 64, int.MaxValue / 4);
        // The old space starts on a tag-word boundary, so clearing the nursery's tag words never touches old objects.
        NurseryEnd = RoundUp(1 + NurseryWords);
        _oldTop = NurseryEnd;
        // The arena is allocated at the first allocation: an isolate or task that never allocates costs no arena.
        _words = [];
        _tags = [];
        _majorAt = Math.Min(NurseryEnd + InitialOldWords, NurseryEnd + LimitWords + 1);
        _smallObjectWords = NurseryWords / 4;
        UpdateBumpLimit();
        NoteReserved(0);
    }

    /// <summary>Default nursery: 2 MiB (256K words), OCaml's minor heap size.</summary>
    public const long DefaultNurseryBytes = 2L * 1024 * 1024;

    /// <summary>Greatest number of bytes the isolate's objects may occupy (8 per field plus 8 per header).</summary>
    public long LimitBytes { get; }

    /// <summary>Words in the nursery.</summary>
    public long NurseryWords { get; }

    /// <summary>First index of the old space; pointers below it are young.</summary>
    public long NurseryEnd { get; }

    /// <summary>Bytes the heap's objects occupy now (live ones and garbage not yet collected).</summary>
    public long UsedBytes => ((_youngTop - 1) + (_oldTop - NurseryEnd)) * 8;

    /// <summary>Bytes allocated since the heap was created, whether still live or not.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Number of objects allocated since the heap was created.</summary>
    public long ObjectCount { get; private set; }

    private long LimitWords => LimitBytes / 8;

    /// <summary>The longest object the heap could ever hold (its header and fields within the limit); longer ones
    /// trap OutOfMemory at once, without a collection.</summary>
    public long LargestObjectWords => Math.Min(int.MaxValue, LimitWords - 1);

    public long[] Words => _words;

    public ulong[] Tags => _tags;

    /// <summary>
    /// Allocates an object of <paramref name="length"/> zero, untagged words and returns a pointer to it. May
    /// collect first, so callers must have published their roots (every allocation is a safepoint).
    /// </summary>
    public long Allocate(long length)
    {
        CheckAllocationLength(length);
        var needed = length + 1;
        if (_words.Length == 0) CreateArena();
        StressCollect();
        if (UsedBytes / 8 + needed > LimitWords)
        {
            Collect(full: true);
            if (UsedBytes / 8 + needed > LimitWords) throw OutOfMemory(length);
        }
        long header;
        if (needed <= NurseryWords / 4)
        {
            if (_youngTop + needed > NurseryEnd) Collect(full: false);
            // The arena starts shorter than the nursery and grows into it as it fills (never past it before the old
            // space is used), so a heap that holds little costs little.
            if (_youngTop + needed > _words.Length) Grow(Math.Min(NurseryEnd, Math.Max(2L * _words.Length, _youngTop + needed)));
            header = _youngTop;
            _youngTop += needed;
        }
        else
        {
            // Large objects go straight to the old space, so minor collections never copy them.
            if (_oldTop + needed > _majorAt) Collect(full: true);
            if (_oldTop + needed >= _words.Length) Grow(_oldTop + needed + 1);
            header = _oldTop;
            _oldTop += needed;
        }
        _words[header] = length;
        ObjectCount++;
        AllocatedBytes += needed * 8;
        UpdateBumpLimit();
        return header + 1;
    }

    /// <summary>The traps of an allocation whose length no heap could hold, before any work.</summary>
    private void CheckAllocationLength(long length)
    {
        if (length < 0) throw new TrapException(TrapCode.OutOfBounds, $"cannot allocate an object of negative length {length}");
        if (length > LargestObjectWords)
            throw new TrapException(TrapCode.OutOfMemory, length > int.MaxValue
                // The format of object lengths bounds the object here, not the heap limit: say so, or a
                // user raises --max-heap and gets the same trap.
                ? $"an object of {length} words is longer than any object can be: no object may have more than {int.MaxValue} words (2^31 - 1), whatever the heap limit"
                : $"an object of {length} words needs {(length + 1) * 8} bytes (8 per word plus an 8-byte header), more than the whole heap limit of {LimitBytes} bytes");
    }

    /// <summary>
    /// Allocates like <see cref="Allocate"/> but never collects: in the old space, within the heap limit as it
    /// stands. For the host while a host function runs, when the collector must not run (no frame has published its
    /// roots); the next allocation of the program may collect as usual.
    /// </summary>
    public long AllocateWithoutCollecting(long length)
    {
        CheckAllocationLength(length);
        var needed = length + 1;
        if (_words.Length == 0) CreateArena();
        if (UsedBytes / 8 + needed > LimitWords) throw OutOfMemory(length);
        if (_oldTop + needed >= _words.Length) Grow(_oldTop + needed + 1);
        var header = _oldTop;
        _oldTop += needed;
        _words[header] = length;
        ObjectCount++;
        AllocatedBytes += needed * 8;
        UpdateBumpLimit();
        return header + 1;
    }

    /// <summary>
    /// The allocation fast path compiled code inlines: a small object bumped into the nursery when it fits, the
    /// heap stays within its limit and no stress mode is on; 0 when <see cref="Allocate"/> must do the work.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long TryBumpAllocate(long length)
    {
        var top = _youngTop;
        var end = top + length + 1;
        if ((ulong)length >= (ulong)_smallObjectWords || end > _bumpLimit) return 0;
        _youngTop = end;
        _words[top] = length;
        ObjectCount++;
        AllocatedBytes += (length + 1) * 8;
        return top + 1;
    }

    /// <summary>
    /// Where the fast path must stop bumping: the nursery's end, or earlier if the heap limit would be passed, or
    /// 0 under a stress mode (every allocation takes the slow path, which decides when to collect).
    /// </summary>
    private void UpdateBumpLimit() =>
        _bumpLimit = Stress != GcStressMode.Off || _words.Length == 0 ? 0 : Math.Min(Math.Min(NurseryEnd, _words.Length), 1 + LimitWords - (_oldTop - NurseryEnd));

    /// <summary>Whether the arena exists yet (it is created by the first allocation).</summary>
    private bool HasArena => _words.Length != 0;

    /// <summary>The arena's first length: word 0 and a few small objects, such as the channel references a task is
    /// spawned with (it grows, see <see cref="Allocate"/>, to whole tag words). Only this first arena may end inside
    /// a tag word; its tag array covers that partial word.</summary>
    private const int InitialArenaWords = 8;

    private void CreateArena()
    {
        _words = new long[Math.Min(NurseryEnd, InitialArenaWords)];
        _tags = new ulong[(_words.Length + 63) / 64];
        UpdateBumpLimit();
        NoteReserved(0);
    }

    /// <summary>The write barrier: call after storing pointer <paramref name="value"/> into object <paramref name="pointer"/>.</summary>
    public void RecordWrite(long pointer, long value)
    {
        if (value >= NurseryEnd || pointer < NurseryEnd) return;
        ref var header = ref _words[pointer - 1];
        if ((header & RememberedBit) != 0) return;
        header |= RememberedBit;
        // The list is bounded, so a program storing young pointers into many old objects cannot make it grow
        // with the heap; past the bound the header bits alone say what is remembered (see CollectMinor).
        _remembered ??= [];
        if (_remembered.Count < RememberedListCapacity) _remembered.Add(pointer);
        else _rememberedOverflowed = true;
    }

    /// <summary>
    /// The most old objects the remembered list holds: an eighth of the nursery's words (at least 1,024), or one per
    /// 64 words of old space if that is more, so the list costs at most about 1/64 of the heap, as the tag bits do.
    /// When it overflows, the walk of the old space that replaces it visits at most 64 object headers per store
    /// the program made (and paid for) since the last collection.
    /// </summary>
    public long RememberedListCapacity => Math.Max(Math.Max(1024, NurseryWords / 8), (_oldTop - NurseryEnd) / 64);

    /// <summary>Some remembered objects are marked only by their header's bit, not listed.</summary>
    private bool _rememberedOverflowed;

    private TrapException OutOfMemory(long length) =>
        new(TrapCode.OutOfMemory,
            $"allocating {length} words ({(length + 1) * 8} bytes) would exceed the heap limit of {LimitBytes} bytes ({UsedBytes} in use after collection)");

    private static long RoundUp(long words) => (words + 63) & ~63L;

    /// <summary>
    /// The most words the arena can ever need: the nursery, then old objects filling the limit (allocation and
    /// promotion both stop there, see <see cref="Allocate"/> and <see cref="Collect"/>), plus the word-0 and
    /// tag-word slack. Growth stops here, so a full heap reserves about 1x its limit, not the next power of two.
    /// </summary>
    private long MaxArenaWords => Math.Min(RoundUp(NurseryEnd + LimitWords + 2), Array.MaxLength & ~63L);

    private void Grow(long required)
    {
        var size = Math.Max((long)_words.Length, 64);
        while (size < required) size *= 2;
        size = Math.Max(RoundUp(required), Math.Min(RoundUp(size), MaxArenaWords));
        if (size > (Array.MaxLength & ~63L)) throw new TrapException(TrapCode.OutOfMemory, "the heap cannot grow any further");
        Array.Resize(ref _words, (int)size);
        Array.Resize(ref _tags, (int)(size / 64));
        NoteReserved(0);
    }

    /// <summary>Bytes of .NET arrays the heap holds now: the arena, its tag bits, the spare arena kept for the next
    /// full collection, and the remembered set.</summary>
    public long ReservedBytes =>
        (_words.LongLength + _tags.LongLength + (_spare?.LongLength ?? 0) + (_spareTags?.LongLength ?? 0) + (_remembered?.Capacity ?? 0)) * 8;

    /// <summary>
    /// The most <see cref="ReservedBytes"/> the heap has held at once, counting a full collection's to-space while
    /// it is being filled (what the host pays per heap byte, spec/gc.md §5.1).
    /// </summary>
    public long PeakReservedBytes { get; private set; }

    /// <summary>Updates <see cref="PeakReservedBytes"/> with what is reserved now plus <paramref name="extraBytes"/> held elsewhere.</summary>
    private void NoteReserved(long extraBytes) => PeakReservedBytes = Math.Max(PeakReservedBytes, ReservedBytes + extraBytes);

    /// <summary>The object's length in words (0 for a reference).</summary>
    /// <exception cref="TrapException">UseAfterSend when the object was sent.</exception>
    public long Length(long pointer)
    {
        var header = _words[pointer - 1];
        if ((header & SentBit) != 0) throw UseAfterSend();
        return header & LengthMask;
    }

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
        if ((ulong)index >= (ulong)length) throw AccessFault(pointer, index, length);
        return pointer + index;
    }

    /// <summary>load.i and load.f (<paramref name="instruction"/>, which the trap message names) in both tiers.</summary>
    public long LoadInt(long pointer, long index, Bytecode.OpCode instruction)
    {
        var at = Field(pointer, index);
        if (IsPointer(at)) throw new TrapException(TrapCode.TagMismatch, $"{Bytecode.OpCodeTable.Mnemonic(instruction)} found a pointer in word {index}, expected a number");
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
        if (isPointer) RecordWrite(pointer, value);
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

    /// <summary>Copies bytes into a span, with the same checks as <see cref="LoadByte"/>; a trap names
    /// <paramref name="reader"/>, the instruction or host call that reads (the program never ran a load.u8 there).</summary>
    public void CopyBytes(long pointer, long start, long count, Span<byte> destination, string reader)
    {
        if (count < 0) throw new TrapException(TrapCode.OutOfBounds, $"byte count {count} is negative");
        if (count == 0) return;
        var length = Length(pointer) * 8;
        if (length == 0) throw AccessFault(pointer, start, 0, "bytes");
        if ((ulong)start >= (ulong)length || (ulong)count > (ulong)(length - start))
            throw new TrapException(TrapCode.OutOfBounds, $"bytes {start}..{start + count - 1} are outside the object's {length} bytes");
        CheckNoPointerIn(pointer, start, count, reader);
        ByteSpan(pointer, start, count).CopyTo(destination);
    }

    /// <summary>Traps as <paramref name="what"/> would at the first word of bytes
    /// [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) that holds a pointer.</summary>
    private void CheckNoPointerIn(long pointer, long start, long count, string what)
    {
        for (var word = pointer + (start >> 3); word <= pointer + ((start + count - 1) >> 3); word++)
            if (IsPointer(word)) throw new TrapException(TrapCode.TagMismatch, $"{what} would touch word {word - pointer}, which holds a pointer");
    }

    /// <summary>Bytes of an object as a span over its words, once bounds and tags are checked: word i holds bytes
    /// 8i to 8i+7, least significant first, which is memory order on a little-endian machine (the only kind .NET
    /// runs JitVm on; <see cref="BitConverter.IsLittleEndian"/> is checked where the heap is made).</summary>
    private Span<byte> ByteSpan(long pointer, long start, long count)
    {
        var offset = (int)(start & 7);
        var words = _words.AsSpan((int)(pointer + (start >> 3)), (int)((offset + count + 7) >> 3));
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(words).Slice(offset, (int)count);
    }

    /// <summary>Copies bytes from a span into the object, with the same checks as <see cref="StoreByte"/>, all made
    /// before any byte is written; a trap names <paramref name="writer"/>, the instruction or host call that writes.</summary>
    public void WriteBytes(long pointer, long start, ReadOnlySpan<byte> source, string writer)
    {
        if (source.Length == 0) return;
        var length = Length(pointer) * 8;
        if (length == 0) throw AccessFault(pointer, start, 0, "bytes");
        if ((ulong)start >= (ulong)length || (ulong)source.Length > (ulong)(length - start))
            throw new TrapException(TrapCode.OutOfBounds, $"bytes {start}..{start + source.Length - 1} are outside the object's {length} bytes");
        CheckNoPointerIn(pointer, start, source.Length, writer);
        source.CopyTo(ByteSpan(pointer, start, source.Length));
    }

    private long ByteWord(long pointer, long index, string what)
    {
        var length = _words[pointer - 1] & LengthMask;
        if ((ulong)index >= (ulong)length * 8) throw length == 0 ? AccessFault(pointer, index, 0, "bytes") : new TrapException(TrapCode.OutOfBounds, $"byte index {index} is outside the object's {length * 8} bytes");
        var at = pointer + (index >> 3);
        if (IsPointer(at)) throw new TrapException(TrapCode.TagMismatch, $"{what} would touch word {index >> 3}, which holds a pointer");
        return at;
    }

    public static TrapException OutOfBounds(long index, long length) =>
        new(TrapCode.OutOfBounds, $"index {index} is outside the object's {length} words");
}
