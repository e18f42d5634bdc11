using System.Runtime.InteropServices;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// A heap object a program passed to a typed host function (a <c>ptr</c> parameter). It is valid only during that
/// host call: once the function returns, every member throws <see cref="InvalidOperationException"/> (the
/// collector may move the object once the program runs again). To keep the object, make a <see cref="Handle"/>
/// with <see cref="ToHandle"/> during the call. The pointer's own bits are never visible (spec/values.md §1.2).
/// </summary>
public readonly struct Pointer
{
    private readonly Isolate? _isolate;
    private readonly long _bits;
    private readonly long _epoch;

    internal Pointer(Isolate isolate, long bits)
    {
        _isolate = isolate;
        _bits = bits;
        _epoch = isolate.ViewEpoch;
    }

    /// <summary>The isolate, once this pointer is known to be valid now.</summary>
    private Isolate Isolate
    {
        get
        {
            if (_isolate is null)
                throw new InvalidOperationException("this Pointer is default(Pointer) and names no object; Pointers are given only to typed host functions, as their ptr parameters");
            if (_epoch != _isolate.ViewEpoch)
                throw new InvalidOperationException("this Pointer was given to a host function call that has returned, and is valid only during that call " +
                                                    "(the object may have moved since); to keep the object, call ToHandle() during the call");
            return _isolate;
        }
    }

    /// <summary>The object's length in words.</summary>
    /// <exception cref="InvalidOperationException">The host call this pointer was given to has returned.</exception>
    public long Length => Isolate.Heap.Length(_bits);

    /// <summary>The object's byte length, as <c>len.bytes</c> gives it (spec/values.md §2.4): the length it was made
    /// with by <c>alloc.bytes</c>, <c>data.alloc</c> or <see cref="Isolate.AllocateBytes"/>, otherwise 8 per word.
    /// <see cref="Bytes"/> still spans every word (8 × <see cref="Length"/> bytes), as <c>load.u8</c> sees the object.</summary>
    /// <exception cref="InvalidOperationException">The host call this pointer was given to has returned.</exception>
    public long ByteLength => Isolate.Heap.ByteLength(_bits);

    /// <summary>
    /// The object's bytes, read in place without copying (word i holds bytes 8i to 8i+7, least significant first, as
    /// <c>load.u8</c> reads them). Only objects that hold no pointers can be read as bytes (their bits are not
    /// observable), exactly as <c>load.u8</c> and <see cref="Isolate.ReadBytes(long, long, Span{byte})"/> require. Valid only until the host
    /// function returns.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.TagMismatch"/>: a word of the object holds a pointer.</exception>
    /// <exception cref="InvalidOperationException">The host call this pointer was given to has returned.</exception>
    public ReadOnlySpan<byte> Bytes => ByteView("read");

    /// <summary>
    /// The object's bytes, for writing in place. Only objects that hold no pointers can be written as bytes (a byte
    /// write could otherwise forge a pointer), exactly as <c>store.u8</c> requires.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.TagMismatch"/>: a word of the object holds a pointer.</exception>
    /// <exception cref="InvalidOperationException">The host call this pointer was given to has returned.</exception>
    public Span<byte> WritableBytes => ByteView("written");

    /// <summary>Every byte view: the object's words as bytes, once no word holds a pointer.</summary>
    private Span<byte> ByteView(string use)
    {
        var heap = Isolate.Heap;
        var length = heap.Length(_bits);
        for (var i = _bits; i < _bits + length; i++)
            if (heap.IsPointer(i))
                throw new TrapException(TrapCode.TagMismatch, $"word {i - _bits} of the object holds a pointer, so its bytes cannot be {use}");
        return MemoryMarshal.AsBytes(heap.Words.AsSpan((int)_bits, (int)length));
    }

    /// <summary>The pointer as a <see cref="Value"/> (for a ptr result of an untyped host function, or
    /// <see cref="Isolate.CreateHandle"/>); valid only until the host function returns.</summary>
    /// <exception cref="InvalidOperationException">The host call this pointer was given to has returned.</exception>
    public Value Value => Isolate.PointerValue(Bytecode.VmType.Ptr, _bits);

    /// <summary>A handle that keeps the object alive and follows it across collections until disposed.</summary>
    /// <exception cref="InvalidOperationException">The host call this pointer was given to has returned.</exception>
    public Handle ToHandle() => Isolate.HandleFor(_bits);
}
