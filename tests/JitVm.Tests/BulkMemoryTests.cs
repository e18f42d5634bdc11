using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Memory;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// The heap's bulk and byte-addressed operations (spec/instructions.md §3.7, §3.10) against a plain model: words
/// and tags after mem.copy over random (often overlapping, unaligned, longer than 64 words) ranges, mem.fill ranges,
/// mem.compare results, and that every trap leaves the objects exactly as they were.
/// </summary>
public sealed class BulkMemoryTests
{
    private static (long[] Words, bool[] Tags) Snapshot(Heap heap, long pointer, int length)
    {
        var words = new long[length];
        var tags = new bool[length];
        for (var i = 0; i < length; i++)
        {
            words[i] = heap.Words[pointer + i];
            tags[i] = heap.IsPointer(pointer + i);
        }
        return (words, tags);
    }

    [Fact]
    public void CopyMovesWordsAndTagsAsThroughATemporaryBuffer()
    {
        var random = new Random(5);
        var heap = new Heap(16L << 20);
        const int Length = 300;
        var a = heap.Allocate(Length);
        var b = heap.Allocate(Length);
        for (var round = 0; round < 400; round++)
        {
            // Fill both objects with numbers and pointers (to each other) at random; in a third of the rounds one
            // of them holds numbers only, so copies of pointer-free ranges over tagged words are covered too.
            var numbersOnly = random.Next(3) == 0 ? (random.Next(2) == 0 ? a : b) : -1;
            foreach (var p in new[] { a, b })
                for (var i = 0; i < Length; i++)
                {
                    var pointer = p != numbersOnly && random.Next(3) == 0;
                    heap.Store(p, i, pointer ? (random.Next(2) == 0 ? a : b) : random.NextInt64(), pointer);
                }
            var destination = random.Next(2) == 0 ? a : b;
            var source = random.Next(3) == 0 ? b : destination;
            var count = random.Next(0, Length + 1);
            var di = random.Next(0, Length - count + 1);
            var si = random.Next(0, Length - count + 1);
            var (sourceWords, sourceTags) = Snapshot(heap, source, Length);
            var (expectedWords, expectedTags) = Snapshot(heap, destination, Length);
            Array.Copy(sourceWords, si, expectedWords, di, count);
            Array.Copy(sourceTags, si, expectedTags, di, count);
            Assert.Equal(count / 8, heap.CheckCopy(destination, di, source, si, count));
            heap.CopyWords(destination, di, source, si, count);
            var (words, tags) = Snapshot(heap, destination, Length);
            Assert.Equal(expectedWords, words);
            Assert.Equal(expectedTags, tags);
        }
        heap.Verify("after the copies");
    }

    /// <summary>Copies whose source and destination sit at the same position within a tag word move whole tag words
    /// (Heap.CopyTags' fast path): forced here, overlapping both ways, at every alignment of the partial ends.</summary>
    [Fact]
    public void CopiesAlignedToTagWordsMoveWordsAndTagsAsThroughATemporaryBuffer()
    {
        var random = new Random(11);
        var heap = new Heap(16L << 20);
        const int Length = 1_000;
        var a = heap.Allocate(Length);
        var b = heap.Allocate(Length);
        for (var round = 0; round < 400; round++)
        {
            foreach (var p in new[] { a, b })
                for (var i = 0; i < Length; i++)
                {
                    var pointer = random.Next(3) == 0;
                    heap.Store(p, i, pointer ? (random.Next(2) == 0 ? a : b) : random.NextInt64(), pointer);
                }
            var destination = random.Next(2) == 0 ? a : b;
            var source = random.Next(2) == 0 ? b : destination;
            var count = random.Next(128, Length - 128);
            var si = random.Next(0, Length - count + 1);
            // di with destination + di ≡ source + si (mod 64), within the object.
            var candidates = Enumerable.Range(0, Length - count + 1).Where(di => ((destination + di) - (source + si)) % 64 == 0).ToArray();
            var di = candidates[random.Next(candidates.Length)];
            var (sourceWords, sourceTags) = Snapshot(heap, source, Length);
            var (expectedWords, expectedTags) = Snapshot(heap, destination, Length);
            Array.Copy(sourceWords, si, expectedWords, di, count);
            Array.Copy(sourceTags, si, expectedTags, di, count);
            heap.CheckCopy(destination, di, source, si, count);
            heap.CopyWords(destination, di, source, si, count);
            var (words, tags) = Snapshot(heap, destination, Length);
            Assert.Equal(expectedWords, words);
            Assert.Equal(expectedTags, tags);
        }
        heap.Verify("after the copies");
    }

    [Fact]
    public void FillSetsOrClearsTheTagsOfExactlyItsRange()
    {
        var random = new Random(9);
        var heap = new Heap(16L << 20);
        const int Length = 200;
        var p = heap.Allocate(Length);
        var model = new (long Word, bool Tag)[Length];
        for (var round = 0; round < 300; round++)
        {
            var count = random.Next(0, Length + 1);
            var start = random.Next(0, Length - count + 1);
            var pointer = random.Next(2) == 0;
            var value = pointer ? p : random.NextInt64();
            heap.CheckFill(p, start, count);
            heap.FillWords(p, start, value, pointer, count);
            for (var i = start; i < start + count; i++) model[i] = (value, pointer);
            var (words, tags) = Snapshot(heap, p, Length);
            Assert.Equal(model.Select(m => m.Word), words);
            Assert.Equal(model.Select(m => m.Tag), tags);
        }
    }

    [Fact]
    public void CompareIsMemcmpOfUnsignedBytesReducedToItsSign()
    {
        var random = new Random(11);
        var heap = new Heap(16L << 20);
        var a = heap.Allocate(8);
        var b = heap.Allocate(8);
        var bytesA = new byte[64];
        var bytesB = new byte[64];
        for (var round = 0; round < 2000; round++)
        {
            random.NextBytes(bytesA);
            // Mostly equal prefixes, so the first difference lands anywhere.
            bytesA.CopyTo(bytesB, 0);
            if (random.Next(4) != 0) bytesB[random.Next(64)] = (byte)random.Next(256);
            for (var i = 0; i < 64; i++)
            {
                heap.StoreByte(a, i, bytesA[i]);
                heap.StoreByte(b, i, bytesB[i]);
            }
            var count = random.Next(0, 33);
            var i0 = random.Next(0, 64 - count + 1);
            var j0 = random.Next(0, 64 - count + 1);
            if (random.Next(2) == 0) j0 = i0;
            var expected = Math.Sign(bytesA.AsSpan(i0, count).SequenceCompareTo(bytesB.AsSpan(j0, count)));
            Assert.Equal(SizeFuel.ForSegment(count), heap.CheckCompare(a, i0, b, j0, count));
            Assert.Equal(expected, heap.CompareBytes(a, i0, b, j0, count));
        }
    }

    /// <summary>Every trapping bulk or byte-addressed operation leaves both objects unchanged.</summary>
    [Fact]
    public void ATrapLeavesTheObjectsUnchanged()
    {
        var heap = new Heap(1L << 20);
        var p = heap.Allocate(4);
        var q = heap.Allocate(4);
        for (var i = 0; i < 4; i++)
        {
            heap.Store(p, i, 0x0102030405060708 * (i + 1), false);
            heap.Store(q, i, 0x1111111111111111 * (i + 1), false);
        }
        heap.Store(q, 3, p, true);
        var before = (Snapshot(heap, p, 4), Snapshot(heap, q, 4));
        void Traps(TrapCode code, Action action)
        {
            Assert.Equal(code, Assert.Throws<TrapException>(action).Code);
            var after = (Snapshot(heap, p, 4), Snapshot(heap, q, 4));
            Assert.Equal(before.Item1.Item1, after.Item1.Item1);
            Assert.Equal(before.Item1.Item2, after.Item1.Item2);
            Assert.Equal(before.Item2.Item1, after.Item2.Item1);
            Assert.Equal(before.Item2.Item2, after.Item2.Item2);
        }
        // A store whose second word holds a pointer writes neither word.
        Traps(TrapCode.TagMismatch, () => heap.StoreBytes(q, 23, -1, OpCode.StoreU64));
        Traps(TrapCode.TagMismatch, () => heap.StoreBytes(q, 22, -1, OpCode.StoreU32));
        Traps(TrapCode.OutOfBounds, () => heap.StoreBytes(p, 31, -1, OpCode.StoreU16));
        Traps(TrapCode.OutOfBounds, () => heap.StoreBytes(p, 25, -1, OpCode.StoreF64));
        Traps(TrapCode.OutOfBounds, () => heap.StoreBytes(p, -1, -1, OpCode.StoreU16));
        Traps(TrapCode.TagMismatch, () => heap.LoadBytes(q, 24, OpCode.LoadS8));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCopy(p, 0, q, 1, 4));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCopy(p, 1, q, 0, 4));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCopy(p, 5, q, 0, 0));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCopy(p, long.MaxValue, q, 0, 2));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCopy(p, 0, q, 0, -1));
        Traps(TrapCode.OutOfBounds, () => heap.CheckFill(p, 2, 3));
        Traps(TrapCode.OutOfBounds, () => heap.CheckFill(p, 0, long.MinValue));
        Traps(TrapCode.TagMismatch, () => heap.CheckCompare(p, 0, q, 17, 8));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCompare(p, 30, q, 0, 3));
        Traps(TrapCode.OutOfBounds, () => heap.CheckCompare(p, 0, q, 0, -2));
        // In bounds and untagged: each check passes.
        Assert.Equal(0, heap.CheckCopy(p, 4, q, 4, 0));
        Assert.Equal(0, heap.CheckCompare(p, 0, q, 0, 24));
    }

    [Fact]
    public void SubWordAccessesAreLittleEndianAtAnyAlignment()
    {
        var heap = new Heap(1L << 20);
        var p = heap.Allocate(3);
        var model = new byte[24];
        var random = new Random(3);
        OpCode[] stores = [OpCode.StoreU16, OpCode.StoreU32, OpCode.StoreU64, OpCode.StoreF64];
        for (var round = 0; round < 3000; round++)
        {
            var store = stores[random.Next(stores.Length)];
            var width = store == OpCode.StoreU16 ? 2 : store == OpCode.StoreU32 ? 4 : 8;
            var index = random.Next(0, 24 - width + 1);
            var value = random.NextInt64(long.MinValue, long.MaxValue);
            heap.StoreBytes(p, index, value, store);
            BitConverter.GetBytes(value).AsSpan(0, width).CopyTo(model.AsSpan(index));
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the model writes little-endian bytes");
            var at = random.Next(0, 24 - 8 + 1);
            Assert.Equal((long)(sbyte)model[at], heap.LoadBytes(p, at, OpCode.LoadS8));
            Assert.Equal(BitConverter.ToUInt16(model, at), heap.LoadBytes(p, at, OpCode.LoadU16));
            Assert.Equal(BitConverter.ToInt16(model, at), heap.LoadBytes(p, at, OpCode.LoadS16));
            Assert.Equal(BitConverter.ToUInt32(model, at), heap.LoadBytes(p, at, OpCode.LoadU32));
            Assert.Equal(BitConverter.ToInt32(model, at), heap.LoadBytes(p, at, OpCode.LoadS32));
            Assert.Equal(BitConverter.ToInt64(model, at), heap.LoadBytes(p, at, OpCode.LoadU64));
            Assert.Equal(BitConverter.ToInt64(model, at), heap.LoadBytes(p, at, OpCode.LoadF64));
        }
        for (var i = 0; i < 3; i++) Assert.False(heap.IsPointer(p + i));
    }
}
