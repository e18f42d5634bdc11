using JitVm.Diagnostics;

namespace JitVm.Memory;

/// <summary>
/// The byte length of an object (spec/values.md §2.4): an object made by <c>alloc.bytes n</c> or <c>data.alloc</c>
/// records how many bytes it holds, so a string needs no length field of its own.
/// </summary>
/// <remarks>
/// A plain object's header keeps, in bits 32..34, how many bytes of its last word are not part of its byte length
/// (0 to 7; always 0 for an object made by <c>alloc</c>), so the byte length is 8 × words − unused. Those bits are
/// free in a plain object (a reference object uses bits 32..59 for its index and has length 0, hence byte length 0).
/// Invariants: the unused count is 0 in an object of length 0; every copy of a header (promotion, a full
/// collection's copy) keeps the bits, and nothing else writes them after the allocation that sets them. The
/// bounds checks of every access stay against the word length: the bytes past the byte length up to the end of the
/// last word are zero when the object is made and readable and writable like any other byte.
/// </remarks>
internal sealed partial class Heap
{
    /// <summary>Where a plain object's header keeps its unused byte count (compiled code's len.bytes reads it).</summary>
    public const int UnusedBytesShift = 32;

    private const long UnusedBytesMask = 7L << UnusedBytesShift;

    /// <summary>The header bits that make an object not plain: a reference or a sent object (len.bytes' slow path).</summary>
    public const long NotPlainBits = SentBit | ReferenceBit;

    /// <summary>The header bits a message keeps for an object besides its length (its unused byte count), in the
    /// header's own positions, so <c>header &amp; (LengthMask | UnusedBytesMask)</c> round-trips through a message.</summary>
    public const long LengthAndUnusedBytesMask = LengthMask | UnusedBytesMask;

    /// <summary>The words an object of <paramref name="byteCount"/> bytes (0 or more) needs, ⌈byteCount/8⌉, without overflow.</summary>
    public static long WordsForBytes(long byteCount) => (byteCount >> 3) + ((byteCount & 7) != 0 ? 1 : 0);

    /// <summary>alloc.bytes: an object of ⌈<paramref name="byteCount"/>/8⌉ zero, untagged words whose byte length
    /// is <paramref name="byteCount"/>. May collect first, like <see cref="Allocate"/>.</summary>
    public long AllocateBytes(long byteCount)
    {
        var pointer = Allocate(CheckedWordsForBytes(byteCount));
        RecordByteLength(pointer, byteCount);
        return pointer;
    }

    /// <summary>As <see cref="AllocateBytes"/> but never collecting (see <see cref="AllocateWithoutCollecting"/>).</summary>
    public long AllocateBytesWithoutCollecting(long byteCount)
    {
        var pointer = AllocateWithoutCollecting(CheckedWordsForBytes(byteCount));
        RecordByteLength(pointer, byteCount);
        return pointer;
    }

    private static long CheckedWordsForBytes(long byteCount)
    {
        if (byteCount < 0) throw new TrapException(TrapCode.OutOfBounds, $"cannot allocate an object of negative byte length {byteCount}");
        var words = WordsForBytes(byteCount);
        // Said in bytes here, as the program asked; shorter objects that still do not fit get the heap's own message.
        if (words > int.MaxValue)
            throw new TrapException(TrapCode.OutOfMemory, $"an object of {byteCount} bytes ({words} words) is longer than any object can be: no object may have more than {int.MaxValue} words (2^31 - 1), whatever the heap limit");
        return words;
    }

    /// <summary>Records <paramref name="byteCount"/> as the byte length of the object just allocated at
    /// <paramref name="pointer"/>, whose length must be ⌈byteCount/8⌉ words.</summary>
    public void RecordByteLength(long pointer, long byteCount)
    {
        ref var header = ref _words[pointer - 1];
        var unused = (header & LengthMask) * 8 - byteCount;
        if ((ulong)unused > 7) throw new InvalidOperationException($"internal error: {byteCount} bytes do not fill an object of {header & LengthMask} words");
        header = (header & ~UnusedBytesMask) | (unused << UnusedBytesShift);
    }

    /// <summary>len.bytes: the object's byte length (8 × its words unless it recorded one; 0 for a reference).</summary>
    /// <exception cref="TrapException">UseAfterSend when the object was sent.</exception>
    public long ByteLength(long pointer)
    {
        var header = _words[pointer - 1];
        if ((header & SentBit) != 0) throw UseAfterSend();
        if ((header & ReferenceBit) != 0) return 0;
        return ByteLengthOf(header);
    }

    /// <summary>The byte length a plain object's header (or a message's length word) records.</summary>
    public static long ByteLengthOf(long header) => (header & LengthMask) * 8 - ((header & UnusedBytesMask) >> UnusedBytesShift);

    /// <summary>The length in words a header (or a message's length word) records.</summary>
    public static long LengthOf(long header) => header & LengthMask;

    /// <summary>The object's length and unused byte count as a message carries them (see <see cref="LengthAndUnusedBytesMask"/>).</summary>
    public long LengthAndUnusedBytes(long pointer) => _words[pointer - 1] & LengthAndUnusedBytesMask;
}
