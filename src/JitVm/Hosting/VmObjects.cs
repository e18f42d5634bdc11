using System.Runtime.InteropServices;
using System.Text;
using JitVm.Diagnostics;
using JitVm.Memory;

namespace JitVm.Hosting;

/// <summary>
/// The layouts the boundary copies values in and out of (spec/embedding.md §9.2, §9.3), on an object the caller
/// has already resolved to its heap index: a <em>VM string</em> (word 0 its byte length <c>n</c>, bytes 8 to
/// <c>8 + n - 1</c> its UTF-8 bytes, the rest of the last word zero), which also carries byte arrays, and a
/// <em>word array</em> (one i64 or f64 per word). Reads check what <c>load.i</c> and <c>load.u8</c> check: bounds,
/// and that no word read holds a pointer, so a pointer's bits never reach the host.
/// </summary>
/// <remarks>A span over the heap's words is taken only after the allocation it follows, and dropped before the next:
/// an allocation may replace the arena.</remarks>
internal static class VmObjects
{
    /// <summary>The words of a VM string of <paramref name="byteCount"/> bytes: its length word and its bytes.</summary>
    public static long StringWords(long byteCount) => 1 + ((byteCount + 7) / 8);

    /// <summary>Fills a new VM string of <see cref="StringWords"/>(<paramref name="byteCount"/>) words with the UTF-8
    /// encoding of <paramref name="text"/>, which is <paramref name="byteCount"/> bytes long.</summary>
    public static void FillString(Heap heap, long pointer, ReadOnlySpan<char> text, int byteCount)
    {
        heap.Words[pointer] = byteCount;
        Encoding.UTF8.GetBytes(text, BytesAfterLength(heap, pointer, byteCount));
    }

    /// <summary>Fills a new VM string with <paramref name="bytes"/> as they are.</summary>
    public static void FillBytes(Heap heap, long pointer, ReadOnlySpan<byte> bytes)
    {
        heap.Words[pointer] = bytes.Length;
        bytes.CopyTo(BytesAfterLength(heap, pointer, bytes.Length));
    }

    /// <summary>Fills a new object of <paramref name="words"/>' length with their bits (i64 or f64, one per word).</summary>
    public static void FillWords<T>(Heap heap, long pointer, ReadOnlySpan<T> words) where T : unmanaged =>
        MemoryMarshal.Cast<T, long>(words).CopyTo(heap.Words.AsSpan((int)pointer, words.Length));

    /// <summary>The UTF-8 bytes of the VM string at <paramref name="pointer"/>, in place (valid until the next allocation).</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> for a length word that is negative or larger
    /// than the object holds; <see cref="TrapCode.TagMismatch"/> when a word read holds a pointer.</exception>
    public static ReadOnlySpan<byte> StringBytes(Heap heap, long pointer)
    {
        var length = heap.LoadInt(pointer, 0, Bytecode.OpCode.LoadI);
        var room = (heap.Length(pointer) - 1) * 8;
        if (length < 0 || length > room)
            throw new TrapException(TrapCode.OutOfBounds, $"the string's length word says {length} bytes, but the object holds {room} after it");
        var words = (length + 7) / 8;
        CheckNumbers(heap, pointer, 1, words, "load.u8");
        return MemoryMarshal.AsBytes(heap.Words.AsSpan((int)pointer + 1, (int)words))[..(int)length];
    }

    /// <summary>The VM string at <paramref name="pointer"/> decoded from UTF-8 (invalid sequences become U+FFFD).</summary>
    /// <exception cref="TrapException">As <see cref="StringBytes"/>.</exception>
    public static string ReadString(Heap heap, long pointer) => Encoding.UTF8.GetString(StringBytes(heap, pointer));

    /// <summary>Every word of the object at <paramref name="pointer"/> as a number (the bits of an i64 or f64).</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.TagMismatch"/> when a word holds a pointer.</exception>
    public static T[] ReadWords<T>(Heap heap, long pointer) where T : unmanaged
    {
        var length = heap.Length(pointer);
        CheckNumbers(heap, pointer, 0, length, typeof(T) == typeof(double) ? "load.f" : "load.i");
        var words = new T[length];
        heap.Words.AsSpan((int)pointer, (int)length).CopyTo(MemoryMarshal.Cast<T, long>(words.AsSpan()));
        return words;
    }

    private static Span<byte> BytesAfterLength(Heap heap, long pointer, int byteCount) =>
        MemoryMarshal.AsBytes(heap.Words.AsSpan((int)pointer + 1, (int)((byteCount + 7L) / 8)))[..byteCount];

    /// <summary>Traps as <paramref name="instruction"/> would at the first of <paramref name="count"/> words from word
    /// <paramref name="first"/> that holds a pointer.</summary>
    private static void CheckNumbers(Heap heap, long pointer, long first, long count, string instruction)
    {
        for (var word = first; word < first + count; word++)
            if (heap.IsPointer(pointer + word))
                throw new TrapException(TrapCode.TagMismatch, $"{instruction} found a pointer in word {word}, expected a number");
    }
}
