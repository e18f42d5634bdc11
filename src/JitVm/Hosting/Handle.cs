namespace JitVm.Hosting;

/// <summary>
/// A host reference to a heap object that keeps it alive and follows it when the collector moves it. Pointer
/// values the host receives (from <see cref="Isolate.Invoke(string, Value[])"/>, <see cref="Pointer.Value"/>) are
/// valid only until the isolate next runs; a handle made from one stays valid until it is disposed (or its
/// <see cref="HandleScope"/> ends).
/// </summary>
public sealed class Handle : IDisposable
{
    private readonly Isolate _isolate;
    private int _slot;

    /// <summary>The isolate's handle generation when the handle was made: a reset or dispose of the isolate starts a
    /// new one, and frees every handle of the old one at once.</summary>
    private readonly int _generation;

    /// <summary>The value <see cref="Value"/> last gave out, and the view epoch it belongs to.</summary>
    private Value _value;

    private long _valueEpoch = -1;

    internal Handle(Isolate isolate, int slot)
    {
        _isolate = isolate;
        _slot = slot;
        _generation = isolate.HandleGeneration;
    }

    /// <summary>The object's current heap index.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed, or its isolate reset or disposed since.</exception>
    private long Target()
    {
        ObjectDisposedException.ThrowIf(_slot < 0 || _generation != _isolate.HandleGeneration, this);
        return _isolate.HandleSlots[_slot];
    }

    /// <summary>
    /// The object's pointer as it is now, for <see cref="Isolate.Invoke(string, Value[])"/> or a host function's ptr
    /// result. Like every pointer value it is valid only until the isolate next runs (or returns from the host
    /// function it was taken in, or collects); take it again from the handle for each use.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public Value Value
    {
        get
        {
            var target = Target();
            if (_valueEpoch != _isolate.ViewEpoch)
            {
                _value = _isolate.PointerValue(Bytecode.VmType.Ptr, target);
                _valueEpoch = _isolate.ViewEpoch;
            }
            return _value;
        }
    }

    /// <summary>The object's length in words.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public long Length
    {
        get
        {
            return _isolate.Heap.Length(Target());
        }
    }

    /// <summary>The object's byte length, as <c>len.bytes</c> gives it: the length it was allocated with by
    /// <see cref="Isolate.AllocateBytes"/>, <c>alloc.bytes</c> or <c>data.alloc</c>, otherwise 8 × <see cref="Length"/>.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public long ByteLength => _isolate.Heap.ByteLength(Target());

    /// <summary>The object's current heap index, for <paramref name="isolate"/>'s accessors; <paramref name="what"/>
    /// names the handle in the error.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="ArgumentException">The handle belongs to another isolate.</exception>
    internal long TargetIn(Isolate isolate, string what)
    {
        if (_isolate != isolate) throw new ArgumentException($"{what} is a handle of another isolate; objects never cross isolates", what);
        return Target();
    }

    /// <summary>The object's current heap index, for tests of the collector.</summary>
    internal long Bits => _isolate.HandleSlots[_slot];

    /// <summary>Releases the object: the collector no longer treats it as reachable from the host.</summary>
    public void Dispose()
    {
        if (_slot < 0) return;
        // A handle of an earlier generation was freed with all the others when the isolate was reset.
        if (_generation == _isolate.HandleGeneration) _isolate.FreeHandle(_slot);
        _slot = -1;
    }
}

/// <summary>Disposes, when it ends, every handle created in it (handles escape by being created in an outer scope).</summary>
public sealed class HandleScope : IDisposable
{
    private readonly Isolate _isolate;
    private readonly int _depth;

    internal HandleScope(Isolate isolate, int depth)
    {
        _isolate = isolate;
        _depth = depth;
    }

    internal List<Handle> Handles { get; } = [];

    /// <summary>Disposes the handles created while this was the innermost scope.</summary>
    public void Dispose() => _isolate.CloseHandleScope(this, _depth);
}
