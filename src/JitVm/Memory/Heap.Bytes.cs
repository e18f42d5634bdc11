using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Memory;

/// <summary>
/// Sub-word access at byte offsets and the bulk operations (mem.copy, mem.fill, mem.compare), with the checks both
/// tiers run through these methods (spec/instructions.md §3.7, §3.10). Invariants kept: bytes are little-endian
/// within words whatever the host; a byte view never reads or writes a word that holds a pointer; every check of an
/// instruction runs before it writes anything, so a trap leaves the heap unchanged.
/// </summary>
internal sealed partial class Heap
{
    /// <summary>The width in bytes and the signedness of a byte-addressed load or store.</summary>
    private static (int Size, bool Signed) Access(OpCode instruction) => instruction switch
    {
        OpCode.LoadS8 => (1, true),
        OpCode.LoadU16 or OpCode.StoreU16 => (2, false),
        OpCode.LoadS16 => (2, true),
        OpCode.LoadU32 or OpCode.StoreU32 => (4, false),
        OpCode.LoadS32 => (4, true),
        OpCode.LoadU64 or OpCode.LoadF64 or OpCode.StoreU64 or OpCode.StoreF64 => (8, false),
        _ => throw new ArgumentOutOfRangeException(nameof(instruction), instruction, "not a byte-addressed load or store"),
    };

    /// <summary>
    /// Checks a <paramref name="size"/>-byte access at byte <paramref name="index"/> as load.u8 checks one byte: the
    /// bytes must lie inside the object (OutOfBounds, or UseAfterSend for a sent object), then no word they touch may
    /// hold a pointer (TagMismatch). Returns the arena index of the word holding the first byte.
    /// </summary>
    private long ByteRange(long pointer, long index, int size, OpCode instruction)
    {
        var length = _words[pointer - 1] & LengthMask;
        var bytes = length * 8;
        if ((ulong)index >= (ulong)bytes || size > bytes - index)
        {
            if (length == 0) throw AccessFault(pointer, index, 0, "bytes");
            throw new TrapException(TrapCode.OutOfBounds, size == 1
                ? $"byte index {index} is outside the object's {bytes} bytes"
                : $"{OpCodeTable.Mnemonic(instruction)} of {size} bytes at byte index {index} does not fit the object's {bytes} bytes");
        }
        var at = pointer + (index >> 3);
        var last = pointer + ((index + size - 1) >> 3);
        if (IsPointer(at)) throw TouchesPointer(instruction, at - pointer);
        if (last != at && IsPointer(last)) throw TouchesPointer(instruction, last - pointer);
        return at;
    }

    private static TrapException TouchesPointer(OpCode instruction, long word) =>
        new(TrapCode.TagMismatch, $"{OpCodeTable.Mnemonic(instruction)} would touch word {word}, which holds a pointer");

    /// <summary>load.s8 .. load.f64: the bytes at <paramref name="index"/>, zero- or sign-extended (load.f64 returns the
    /// float's bits).</summary>
    public long LoadBytes(long pointer, long index, OpCode instruction)
    {
        var (size, signed) = Access(instruction);
        var at = ByteRange(pointer, index, size, instruction);
        var shift = (int)(index & 7) * 8;
        var value = (ulong)_words[at] >> shift;
        // The access spills into the next word only when it starts inside a word and runs past its end.
        if (shift != 0 && shift + size * 8 > 64) value |= (ulong)_words[at + 1] << (64 - shift);
        return (size, signed) switch
        {
            (1, true) => (sbyte)value,
            (2, true) => (short)value,
            (2, false) => (ushort)value,
            (4, true) => (int)value,
            (4, false) => (uint)value,
            _ => (long)value,
        };
    }

    /// <summary>store.u16 .. store.f64: writes the low bytes of <paramref name="value"/> (a float's bits for
    /// store.f64) at <paramref name="index"/>, leaving the other bytes of the words unchanged.</summary>
    public void StoreBytes(long pointer, long index, long value, OpCode instruction)
    {
        var (size, _) = Access(instruction);
        var at = ByteRange(pointer, index, size, instruction);
        var shift = (int)(index & 7) * 8;
        var mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        var bits = (ulong)value & mask;
        _words[at] = (long)(((ulong)_words[at] & ~(mask << shift)) | (bits << shift));
        if (shift != 0 && shift + size * 8 > 64)
        {
            var rest = 64 - shift;
            _words[at + 1] = (long)(((ulong)_words[at + 1] & ~(mask >> rest)) | (bits >> rest));
        }
    }

    /// <summary>
    /// Checks that words [<paramref name="start"/>, start + <paramref name="count"/>) lie inside the object: a sent
    /// object traps UseAfterSend first (even for an empty range); a negative count, or a range that does not fit,
    /// traps OutOfBounds. An empty range may start at the object's end, not past it.
    /// </summary>
    private void WordRange(long pointer, long start, long count, string instruction, string role)
    {
        var header = _words[pointer - 1];
        if ((header & SentBit) != 0) throw UseAfterSend();
        var length = header & LengthMask;
        if (count < 0) throw new TrapException(TrapCode.OutOfBounds, $"{instruction}: the word count {count} is negative");
        if ((ulong)start > (ulong)length || (ulong)count > (ulong)(length - start))
            throw new TrapException(TrapCode.OutOfBounds, $"{instruction}: {count} words from word {start} do not fit the {role}'s {length} words");
    }

    /// <summary>As <see cref="WordRange"/> for bytes [<paramref name="start"/>, start + <paramref name="count"/>), then
    /// traps TagMismatch if one of the words those bytes lie in holds a pointer.</summary>
    private void ByteSpan(long pointer, long start, long count, string role)
    {
        var header = _words[pointer - 1];
        if ((header & SentBit) != 0) throw UseAfterSend();
        var bytes = (header & LengthMask) * 8;
        if (count < 0) throw new TrapException(TrapCode.OutOfBounds, $"mem.compare: the byte count {count} is negative");
        if ((ulong)start > (ulong)bytes || (ulong)count > (ulong)(bytes - start))
            throw new TrapException(TrapCode.OutOfBounds, $"mem.compare: {count} bytes from byte {start} do not fit the {role}'s {bytes} bytes");
        if (count == 0) return;
        var first = start >> 3;
        var tagged = FirstTagged(pointer + first, ((start + count - 1) >> 3) - first + 1);
        if (tagged >= 0)
            throw new TrapException(TrapCode.TagMismatch, $"mem.compare would touch word {tagged - pointer} of the {role}, which holds a pointer");
    }

    /// <summary>mem.copy's checks; returns its size part, ⌊count/8⌋.</summary>
    public long CheckCopy(long destination, long destinationStart, long source, long sourceStart, long count)
    {
        WordRange(destination, destinationStart, count, "mem.copy", "destination");
        WordRange(source, sourceStart, count, "mem.copy", "source");
        return Bytecode.SizeFuel.For(count);
    }

    /// <summary>mem.copy after <see cref="CheckCopy"/>: words and tags move as if through a temporary buffer, so
    /// overlapping ranges copy correctly in both directions; the write barrier sees every pointer copied.</summary>
    public void CopyWords(long destination, long destinationStart, long source, long sourceStart, long count)
    {
        if (count == 0) return;
        var to = destination + destinationStart;
        var from = source + sourceStart;
        // Bytes and numbers (no pointer among the words copied) need only the destination's tags cleared, whole tag
        // words at a time, and no write barrier: the common case of strings and buffers runs at memmove speed.
        var copiesPointers = FirstTagged(from, count) >= 0;
        Array.Copy(_words, from, _words, to, count);
        if (!copiesPointers)
        {
            if (to != from) FillTagBits(to, count, 0);
            return;
        }
        if (to != from) CopyTags(from, to, count);
        RecordWrites(destination, to, count);
    }

    /// <summary>mem.fill's checks; returns its size part, ⌊count/8⌋.</summary>
    public long CheckFill(long pointer, long start, long count)
    {
        WordRange(pointer, start, count, "mem.fill", "object");
        return Bytecode.SizeFuel.For(count);
    }

    /// <summary>mem.fill after <see cref="CheckFill"/>.</summary>
    public void FillWords(long pointer, long start, long value, bool isPointer, long count)
    {
        if (count == 0) return;
        var at = pointer + start;
        _words.AsSpan((int)at, (int)count).Fill(value);
        FillTagBits(at, count, isPointer ? ulong.MaxValue : 0);
        if (isPointer) RecordWrite(pointer, value);
    }

    /// <summary>mem.compare's checks; returns its size part, ⌊⌈count/8⌉/8⌋ (per word of bytes compared).</summary>
    public long CheckCompare(long a, long aStart, long b, long bStart, long count)
    {
        ByteSpan(a, aStart, count, "first object");
        ByteSpan(b, bStart, count, "second object");
        return Bytecode.SizeFuel.ForSegment(count);
    }

    /// <summary>mem.compare after <see cref="CheckCompare"/>: the sign of the first differing byte pair, compared as
    /// unsigned bytes (-1, 0 or 1), or 0 when all are equal.</summary>
    public long CompareBytes(long a, long aStart, long b, long bStart, long count)
    {
        if (!BitConverter.IsLittleEndian)
        {
            for (long i = 0; i < count; i++)
            {
                var x = ByteAt(a, aStart + i);
                var y = ByteAt(b, bStart + i);
                if (x != y) return x < y ? -1 : 1;
            }
            return 0;
        }
        // On a little-endian host the arena's bytes are the objects' bytes in order; compare a gigabyte at a time
        // so each span's length fits an int.
        const long Chunk = 1L << 30;
        for (long done = 0; done < count; done += Chunk)
        {
            var length = (int)Math.Min(Chunk, count - done);
            var order = Bytes(a, aStart + done, length).SequenceCompareTo(Bytes(b, bStart + done, length));
            if (order != 0) return order < 0 ? -1 : 1;
        }
        return 0;
    }

    private byte ByteAt(long pointer, long index) => (byte)((ulong)_words[pointer + (index >> 3)] >> (int)((index & 7) * 8));

    private ReadOnlySpan<byte> Bytes(long pointer, long index, int length) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref Unsafe.As<long, byte>(ref _words[pointer + (index >> 3)]), (int)(index & 7)), length);

    /// <summary>Copies <paramref name="count"/> tag bits from arena word <paramref name="from"/> to <paramref name="to"/>,
    /// 64 at a time, in the direction that reads every source bit before it can be overwritten.</summary>
    private void CopyTags(long from, long to, long count)
    {
        // Same position within a tag word: whole tag words move as they are (a memmove), so the tags cost a
        // 64th of the words' copy; only the partial words at the ends go bit by bit.
        if (((from ^ to) & 63) == 0 && count >= 128)
        {
            var head = (int)((64 - (from & 63)) & 63);
            var middleWords = (int)((count - head) >> 6);
            var tail = (int)(count - head - 64L * middleWords);
            var fromWord = (int)((from + head) >> 6);
            var toWord = (int)((to + head) >> 6);
            // The partial words never share a tag word with the other range's middle (the ranges are a whole
            // number of tag words apart), so doing the end the copy moves away from first keeps memmove semantics.
            if (to < from)
            {
                if (head > 0) SetTagBits(to, head, TagBits(from, head));
                Array.Copy(_tags, fromWord, _tags, toWord, middleWords);
                if (tail > 0) SetTagBits(to + count - tail, tail, TagBits(from + count - tail, tail));
            }
            else
            {
                if (tail > 0) SetTagBits(to + count - tail, tail, TagBits(from + count - tail, tail));
                Array.Copy(_tags, fromWord, _tags, toWord, middleWords);
                if (head > 0) SetTagBits(to, head, TagBits(from, head));
            }
            return;
        }
        if (to < from)
        {
            for (long done = 0; done < count; done += 64)
            {
                var chunk = (int)Math.Min(64, count - done);
                SetTagBits(to + done, chunk, TagBits(from + done, chunk));
            }
            return;
        }
        for (var done = (count - 1) / 64 * 64; done >= 0; done -= 64)
        {
            var chunk = (int)Math.Min(64, count - done);
            SetTagBits(to + done, chunk, TagBits(from + done, chunk));
        }
    }

    /// <summary>The tag bits of arena words [<paramref name="start"/>, start + <paramref name="count"/>), 1 ≤ count ≤ 64,
    /// the first in bit 0.</summary>
    private ulong TagBits(long start, int count)
    {
        var word = (int)(start >> 6);
        var bit = (int)(start & 63);
        var bits = _tags[word] >> bit;
        if (bit != 0 && bit + count > 64) bits |= _tags[word + 1] << (64 - bit);
        return count == 64 ? bits : bits & ((1UL << count) - 1);
    }

    /// <summary>Sets the tag bits of arena words [<paramref name="start"/>, start + <paramref name="count"/>),
    /// 1 ≤ count ≤ 64, to the low <paramref name="count"/> bits of <paramref name="bits"/>.</summary>
    private void SetTagBits(long start, int count, ulong bits)
    {
        var mask = count == 64 ? ulong.MaxValue : (1UL << count) - 1;
        bits &= mask;
        var word = (int)(start >> 6);
        var bit = (int)(start & 63);
        _tags[word] = (_tags[word] & ~(mask << bit)) | (bits << bit);
        if (bit != 0 && bit + count > 64)
        {
            var rest = 64 - bit;
            _tags[word + 1] = (_tags[word + 1] & ~(mask >> rest)) | (bits >> rest);
        }
    }

    /// <summary>Sets the tags of arena words [<paramref name="start"/>, start + <paramref name="count"/>) to
    /// <paramref name="bits"/> (all ones or all zeros): whole tag words at once, the partial ends bit by bit.</summary>
    private void FillTagBits(long start, long count, ulong bits)
    {
        var head = (int)Math.Min(count, (64 - (start & 63)) & 63);
        if (head > 0) SetTagBits(start, head, bits);
        var middleWords = (int)((count - head) >> 6);
        _tags.AsSpan((int)((start + head) >> 6), middleWords).Fill(bits);
        var tail = (int)(count - head - 64L * middleWords);
        if (tail > 0) SetTagBits(start + count - tail, tail, bits);
    }

    /// <summary>The arena index of the first tagged word in [<paramref name="start"/>, start + <paramref name="count"/>), or -1.
    /// The whole tag words between the partial ends are searched vectorised.</summary>
    private long FirstTagged(long start, long count)
    {
        if (count <= 0) return -1;
        var head = (int)Math.Min(count, (64 - (start & 63)) & 63);
        if (head > 0 && TagBits(start, head) is var headBits and not 0) return start + BitOperations.TrailingZeroCount(headBits);
        var middleStart = start + head;
        var middleWords = (int)((count - head) >> 6);
        var found = _tags.AsSpan((int)(middleStart >> 6), middleWords).IndexOfAnyExcept(0UL);
        if (found >= 0) return middleStart + 64L * found + BitOperations.TrailingZeroCount(_tags[(int)(middleStart >> 6) + found]);
        var tail = (int)(count - head - 64L * middleWords);
        if (tail > 0 && TagBits(start + count - tail, tail) is var tailBits and not 0) return start + count - tail + BitOperations.TrailingZeroCount(tailBits);
        return -1;
    }

    /// <summary>The write barrier for a range of words of <paramref name="pointer"/>'s object just written: one young
    /// pointer among them is enough to remember the object.</summary>
    private void RecordWrites(long pointer, long start, long count)
    {
        if (pointer < NurseryEnd) return;
        for (var end = start + count; start < end; start++)
        {
            var at = FirstTagged(start, end - start);
            if (at < 0) return;
            if (_words[at] < NurseryEnd)
            {
                RecordWrite(pointer, _words[at]);
                return;
            }
            start = at;
        }
    }
}
