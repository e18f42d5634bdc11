using System.Runtime.InteropServices;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// A heap object a program passed to a typed host function (a <c>ptr</c> parameter). It is valid only until the
/// host function returns: the collector may move the object once the program runs again. To keep the object,
/// make a <see cref="Handle"/> with <see cref="ToHandle"/>.
/// </summary>
public readonly struct Pointer
{
    private readonly Isolate _isolate;

    internal Pointer(Isolate isolate, long bits)
    {
        _isolate = isolate;
        Bits = bits;
    }

    /// <summary>The pointer's raw value (an index into the isolate's heap).</summary>
    public long Bits { get; }

    /// <summary>The object's length in words.</summary>
    public long Length => _isolate.Heap.Length(Bits);

    /// <summary>The object's length in bytes (8 per word), as <c>load.u8</c> and <c>store.u8</c> see it.</summary>
    public long ByteLength => Length * 8;

    /// <summary>
    /// The object's bytes, read in place without copying (word i holds bytes 8i to 8i+7, least significant first, as
    /// <c>load.u8</c> reads them). Valid only until the host function returns.
    /// </summary>
    public ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(_isolate.Heap.Words.AsSpan((int)Bits, (int)Length));

    /// <summary>
    /// The object's bytes, for writing in place. Only objects that hold no pointers can be written as bytes (a byte
    /// write could otherwise forge a pointer), exactly as <c>store.u8</c> requires.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.TagMismatch"/>: a word of the object holds a pointer.</exception>
    public Span<byte> WritableBytes
    {
        get
        {
            var heap = _isolate.Heap;
            var length = Length;
            for (var i = Bits; i < Bits + length; i++)
                if (heap.IsPointer(i))
                    throw new TrapException(TrapCode.TagMismatch, $"word {i - Bits} of the object holds a pointer, so its bytes cannot be written");
            return MemoryMarshal.AsBytes(heap.Words.AsSpan((int)Bits, (int)length));
        }
    }

    /// <summary>The pointer as a <see cref="Value"/> (valid until the host function returns).</summary>
    public Value Value => new(Bytecode.VmType.Ptr, Bits, true);

    /// <summary>A handle that keeps the object alive and follows it across collections until disposed.</summary>
    public Handle ToHandle() => _isolate.CreateHandle(Value);
}
