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

    /// <summary>The value <see cref="Value"/> last gave out, and the view epoch it belongs to.</summary>
    private Value _value;

    private long _valueEpoch = -1;

    internal Handle(Isolate isolate, int slot)
    {
        _isolate = isolate;
        _slot = slot;
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
            ObjectDisposedException.ThrowIf(_slot < 0, this);
            if (_valueEpoch != _isolate.ViewEpoch)
            {
                _value = _isolate.PointerValue(Bytecode.VmType.Ptr, _isolate.HandleSlots[_slot]);
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
            ObjectDisposedException.ThrowIf(_slot < 0, this);
            return _isolate.Heap.Length(_isolate.HandleSlots[_slot]);
        }
    }

    /// <summary>The object's current heap index, for <paramref name="isolate"/>'s accessors; <paramref name="what"/>
    /// names the handle in the error.</summary>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="ArgumentException">The handle belongs to another isolate.</exception>
    internal long TargetIn(Isolate isolate, string what)
    {
        ObjectDisposedException.ThrowIf(_slot < 0, this);
        if (_isolate != isolate) throw new ArgumentException($"{what} is a handle of another isolate; objects never cross isolates", what);
        return _isolate.HandleSlots[_slot];
    }

    /// <summary>The object's current heap index, for tests of the collector.</summary>
    internal long Bits => _isolate.HandleSlots[_slot];

    /// <summary>Releases the object: the collector no longer treats it as reachable from the host.</summary>
    public void Dispose()
    {
        if (_slot < 0) return;
        _isolate.FreeHandle(_slot);
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
