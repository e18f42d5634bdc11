using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// The host's access to the isolate's heap and globals (spec/embedding.md §9.1): objects it allocates, their words
/// and bytes, and globals by name, all under the rules VM code obeys. Bounds are checked as <c>load.i</c> and
/// <c>load.u8</c> check them; a word that holds a pointer is read or written only as a pointer (through a
/// <see cref="Handle"/>), so the host can never read a pointer's bits or turn a number into a pointer.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>
    /// Allocates an object of <paramref name="length"/> words, all zero numbers, and returns a handle on it (dispose
    /// it when the host no longer needs the object). Between calls the allocation may collect garbage, as VM code's
    /// may; inside a host function it never collects (the object goes to the old space, within the heap limit).
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> for a negative length;
    /// <see cref="TrapCode.OutOfMemory"/> when the heap limit leaves no room.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public Handle Allocate(long length)
    {
        var nested = EnterHostAccess();
        try
        {
            return Store.HandleFor(nested ? Heap.AllocateWithoutCollecting(length) : Heap.Allocate(length));
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>
    /// Allocates an object holding <paramref name="bytes"/> (word <c>i</c> holds bytes <c>8i</c> to <c>8i+7</c>, least
    /// significant first, as <c>load.u8</c> reads them; the last word is padded with zeros) and returns a handle on it.
    /// The object records <c>bytes.Length</c> as its byte length, as <c>alloc.bytes</c> does (<see cref="Handle.ByteLength"/>,
    /// <c>len.bytes</c>). Collects as <see cref="Allocate"/> does.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfMemory"/>: the heap limit leaves no room.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public Handle AllocateBytes(ReadOnlySpan<byte> bytes)
    {
        Handle handle;
        var nested = EnterHostAccess();
        try
        {
            handle = Store.HandleFor(nested ? Heap.AllocateBytesWithoutCollecting(bytes.Length) : Heap.AllocateBytes(bytes.Length));
        }
        finally
        {
            ExitHostAccess(nested);
        }
        WriteBytes(handle, 0, bytes);
        return handle;
    }

    /// <summary>
    /// Allocates <paramref name="text"/> as a VM string (spec/embedding.md §9.2): an object whose word 0 holds the
    /// byte length <c>n</c> of its UTF-8 encoding and whose bytes 8 to <c>8 + n - 1</c> hold that encoding.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfMemory"/>: the heap limit leaves no room.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public Handle AllocateString(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return NewString(text);
    }

    /// <summary>Allocates already encoded UTF-8 <paramref name="utf8"/> as a VM string (see <see cref="AllocateString(string)"/>);
    /// the bytes are copied as they are.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfMemory"/>: the heap limit leaves no room.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public Handle AllocateString(ReadOnlySpan<byte> utf8) => NewByteString(utf8);

    /// <summary>The UTF-8 bytes of a VM string (see <see cref="AllocateString(string)"/>), copied out.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> when word 0 is negative or larger than the
    /// object holds, <see cref="TrapCode.TagMismatch"/> when a word read holds a pointer.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public byte[] ReadStringBytes(Handle source)
    {
        var nested = EnterHostAccess();
        try
        {
            return VmObjects.StringBytes(Heap, source.TargetIn(this, nameof(source))).ToArray();
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>A VM string (see <see cref="AllocateString(string)"/>) decoded from UTF-8; invalid sequences become
    /// U+FFFD, as <see cref="System.Text.Encoding.UTF8"/> decodes them.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> or <see cref="TrapCode.TagMismatch"/>, as
    /// <see cref="ReadStringBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public string ReadString(Handle source)
    {
        var nested = EnterHostAccess();
        try
        {
            return VmObjects.ReadString(Heap, source.TargetIn(this, nameof(source)));
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>Reads word <paramref name="index"/> of the object as a signed integer, as <c>load.i</c> does.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>, or <see cref="TrapCode.TagMismatch"/> when
    /// the word holds a pointer.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public long ReadI64(Handle target, long index) => ReadNumber(target, index, OpCode.LoadI);

    /// <summary>Reads word <paramref name="index"/> of the object as a float, as <c>load.f</c> does.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>, or <see cref="TrapCode.TagMismatch"/> when
    /// the word holds a pointer.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public double ReadF64(Handle target, long index) => BitConverter.Int64BitsToDouble(ReadNumber(target, index, OpCode.LoadF));

    /// <summary>Writes a number into word <paramref name="index"/>, as <c>store.i</c> does (a pointer the word held is
    /// overwritten).</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public void WriteI64(Handle target, long index, long value) => WriteWord(target, index, value, null);

    /// <summary>Writes a float into word <paramref name="index"/>, as <c>store.f</c> does.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public void WriteF64(Handle target, long index, double value) => WriteWord(target, index, BitConverter.DoubleToInt64Bits(value), null);

    /// <summary>Whether word <paramref name="index"/> holds a pointer (its tag, which decides whether <c>load.p</c> or
    /// <c>load.i</c> may read it).</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public bool HoldsPointer(Handle target, long index)
    {
        var nested = EnterHostAccess();
        try
        {
            return Heap.IsPointer(Heap.Field(target.TargetIn(this, nameof(target)), index));
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>Reads the pointer in word <paramref name="index"/>, as <c>load.p</c> does, as a new handle on the
    /// object it points to.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>, or <see cref="TrapCode.TagMismatch"/> when
    /// the word holds a number.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public Handle ReadPointer(Handle target, long index)
    {
        var nested = EnterHostAccess();
        try
        {
            return Store.HandleFor(Heap.LoadPointer(target.TargetIn(this, nameof(target)), index));
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>Writes a pointer to <paramref name="pointee"/>'s object into word <paramref name="index"/>, as
    /// <c>store.p</c> does.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/>.</exception>
    /// <exception cref="ObjectDisposedException">A handle was disposed.</exception>
    /// <exception cref="ArgumentException">A handle belongs to another isolate.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public void WritePointer(Handle target, long index, Handle pointee) => WriteWord(target, index, 0, pointee);

    /// <summary>Copies <paramref name="destination"/>'s length of bytes from byte <paramref name="start"/> of the object,
    /// with the checks of <c>load.u8</c> (every byte in bounds, no word read holds a pointer).</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> or <see cref="TrapCode.TagMismatch"/>.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public void ReadBytes(Handle source, long start, Span<byte> destination)
    {
        var nested = EnterHostAccess();
        try
        {
            Heap.CopyBytes(source.TargetIn(this, nameof(source)), start, destination.Length, destination, nameof(ReadBytes));
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>Copies <paramref name="bytes"/> into the object from byte <paramref name="start"/>, with the checks of
    /// <c>store.u8</c>, all made before any byte is written (a refused write changes nothing).</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> or <see cref="TrapCode.TagMismatch"/>.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public void WriteBytes(Handle target, long start, ReadOnlySpan<byte> bytes)
    {
        var nested = EnterHostAccess();
        try
        {
            Heap.WriteBytes(target.TargetIn(this, nameof(target)), start, bytes, nameof(WriteBytes));
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>The value of global <paramref name="name"/>, defined or imported (<c>MODULE.GLOBAL</c>, the exporter's cell) (a pointer as a value valid until the isolate next runs,
    /// like a pointer result of <see cref="Invoke(string, Value[])"/>).</summary>
    /// <exception cref="ArgumentException">The module has no global of that name.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread.</exception>
    public Value GetGlobal(string name)
    {
        var index = GlobalIndex(name);
        var nested = EnterHostAccess();
        try
        {
            var type = Module.Definition.GlobalTypeOf(index);
            var (owner, cell) = Instance.GlobalCell(index);
            return Store.ResultValue(type, owner.Globals[cell], owner.GlobalTags[cell] != 0);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>Sets global <paramref name="name"/> (an imported one, <c>MODULE.GLOBAL</c>, is the exporter's cell, seen by
    /// both modules), whose type <paramref name="value"/> must have (a <c>word</c> global
    /// also takes a ptr value, as <c>word.of_ptr</c> makes one). A pointer comes from a live <see cref="Handle"/>
    /// (<see cref="Handle.Value"/>), as pointer arguments of <see cref="Invoke(string, Value[])"/> do.</summary>
    /// <exception cref="ArgumentException">No such global, a value of another type, or a pointer value that is not
    /// this isolate's or that no live handle holds.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running on another thread, or the pointer value is stale.</exception>
    public void SetGlobal(string name, Value value)
    {
        var index = GlobalIndex(name);
        var type = Module.Definition.GlobalTypeOf(index);
        // A word global holds a pointer as VM code's word.of_ptr makes one.
        if (value.Type != type && !(type == VmType.Word && value.Type == VmType.Ptr))
            throw new ArgumentException($"global {Printable.Quote(name)} is {type.Name()}, but {Printable.WithArticle(value.Type)} was given", nameof(value));
        var nested = EnterHostAccess();
        try
        {
            var isPointer = value.Type == VmType.Ptr || value.IsPointer;
            var bits = isPointer ? Store.ResolvePointer(value, nameof(value)) : value.Bits;
            if (isPointer && !Store.IsHandlePointer(bits))
                throw new ArgumentException($"the pointer for global {Printable.Quote(name)} is one that no live handle holds; pass pointers in through Handle.Value", nameof(value));
            var (owner, cell) = Instance.GlobalCell(index);
            owner.Globals[cell] = bits;
            owner.GlobalTags[cell] = isPointer ? (byte)1 : (byte)0;
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    private int GlobalIndex(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // Defined globals, then imported ones (MODULE.GLOBAL), which reach the exporter's cell.
        var definition = Module.Definition;
        for (var i = 0; i < definition.GlobalCount; i++)
            if (definition.GlobalNameOf(i) == name) return i;
        throw new ArgumentException($"the module has no global named {Printable.Quote(name)}", nameof(name));
    }

    private long ReadNumber(Handle target, long index, OpCode instruction)
    {
        var nested = EnterHostAccess();
        try
        {
            return Heap.LoadInt(target.TargetIn(this, nameof(target)), index, instruction);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    private void WriteWord(Handle target, long index, long number, Handle? pointee)
    {
        var nested = EnterHostAccess();
        try
        {
            var pointer = target.TargetIn(this, nameof(target));
            if (pointee is null) Heap.Store(pointer, index, number, isPointer: false);
            else Heap.Store(pointer, index, pointee.TargetIn(this, nameof(pointee)), isPointer: true);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    private bool EnterHostAccess() => Store.EnterHostAccess();

    private void ExitHostAccess(bool nested) => Store.ExitHostAccess(nested);
}
