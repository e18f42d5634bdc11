using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Runtime;

/// <summary>
/// What the host sees of VM pointers (spec/embedding.md §9). The host never sees a pointer's bits: every pointer it
/// is given (a ptr result, <see cref="Handle.Value"/>, <see cref="Pointer.Value"/>, a pointer argument of an untyped
/// host function) is a <em>token</em> that names an entry in the list of pointers issued in the current
/// <em>view epoch</em>. The epoch ends whenever objects may move or control returns to VM code: at the start of
/// every host call, at the end of every entry and at every collection. Tokens and <see cref="Pointer"/>s from an
/// earlier epoch are stale and are refused on use, so no host-side view can ever read or write another object.
/// </summary>
internal sealed partial class Store
{
    /// <summary>A token is the epoch (low bits) above the index of its entry in <see cref="_issued"/>.</summary>
    private const int TokenIndexBits = 24;

    private const long TokenIndexMask = (1L << TokenIndexBits) - 1;

    private const long TokenEpochMask = (1L << (63 - TokenIndexBits)) - 1;

    /// <summary>The pointers (heap indices) given to the host in epoch <see cref="_issuedEpoch"/>; a token is an
    /// index here. The list is emptied lazily, by the first token of a new epoch, so ending an epoch (every host
    /// call) is one increment: a token of another epoch never reads it. Made at the first token (a task's store
    /// usually never gives the host one).</summary>
    private List<long>? _issued;

    private long _issuedEpoch = -1;

    /// <summary>Counts view epochs. A <see cref="Pointer"/> records the epoch it was made in and is valid only in it.</summary>
    internal long ViewEpoch;

    /// <summary>Ends the current view epoch: every token and <see cref="Pointer"/> given to the host so far is stale.</summary>
    internal void EndHostViews() => ViewEpoch++;

    /// <summary>Gives the host the pointer <paramref name="bits"/> as a token valid until the epoch ends.</summary>
    internal long IssueToken(long bits)
    {
        _issued ??= [];
        if (_issuedEpoch != ViewEpoch)
        {
            _issued.Clear();
            _issuedEpoch = ViewEpoch;
        }
        if (_issued.Count > TokenIndexMask)
            throw new InvalidOperationException($"the host has taken more than {TokenIndexMask + 1} pointer values from the isolate in one call; keep objects with Handles instead");
        _issued.Add(bits);
        return ((ViewEpoch & TokenEpochMask) << TokenIndexBits) | (long)(_issued.Count - 1);
    }

    /// <summary>A pointer value of <paramref name="type"/> (ptr, or a tagged word) for the host.</summary>
    internal Value PointerValue(VmType type, long bits) => new(type, IssueToken(bits), true) { Origin = Owner };

    /// <summary>A result as the host receives it: pointers become tokens (valid until the isolate next runs).</summary>
    internal Value ResultValue(VmType type, long bits, bool isPointer) =>
        isPointer || type == VmType.Ptr ? PointerValue(type, bits) : new Value(type, bits);

    private bool TryResolveToken(long token, out long bits)
    {
        var index = token & TokenIndexMask;
        bits = 0;
        if (token < 0 || (token >> TokenIndexBits) != (ViewEpoch & TokenEpochMask) || _issuedEpoch != ViewEpoch || _issued is null || index >= _issued.Count) return false;
        bits = _issued[(int)index];
        return true;
    }

    /// <summary>The heap index behind pointer value <paramref name="value"/>, which must have been given out by this
    /// isolate in the current epoch; <paramref name="what"/> names it in the error.</summary>
    /// <exception cref="ArgumentException">The value is not a pointer, was made by the host, belongs to another isolate, or was altered.</exception>
    /// <exception cref="InvalidOperationException">The value is stale.</exception>
    internal long ResolvePointer(Value value, string what)
    {
        if (value.Type != VmType.Ptr && !value.IsPointer)
            throw new ArgumentException($"{what} is {Printable.WithArticle(value.Type)} value, not a pointer");
        if (value.Type is not (VmType.Ptr or VmType.Word))
            throw new ArgumentException($"{what} is {Printable.WithArticle(value.Type)} value marked as a pointer; only ptr values and words can hold pointers");
        if (value.Origin is null)
            throw new ArgumentException($"{what} was not given out by the VM: a pointer Value made by the host (such as new Value(VmType.Ptr, 5, true)) names no object. " +
                                        "Pointers come only from results of Invoke, Handle.Value and Pointer.Value");
        if (value.Origin != Owner)
            throw new ArgumentException($"{what} was given out by another isolate; pointers never cross isolates");
        if (TryResolveToken(value.Bits, out var bits)) return bits;
        if ((value.Bits >> TokenIndexBits) != (ViewEpoch & TokenEpochMask))
            throw new InvalidOperationException($"{what} is stale: it was given out before the isolate last ran, returned from a host function or collected garbage, " +
                                                "so its object may have moved or been reclaimed. To keep an object across calls, make a Handle while the pointer is fresh and use Handle.Value");
        throw new ArgumentException($"{what} was altered: its Bits are not a pointer this isolate gave out");
    }

    /// <summary>The heap index behind a raw token (an untyped host function's pointer argument, or a pointer value's bits).</summary>
    internal long ResolveRawToken(long token, string what) =>
        TryResolveToken(token, out var bits) ? bits
            : throw new ArgumentException($"{what} {token} is not a pointer this isolate gave the host since it last ran: it is stale (given to an earlier host call, " +
                                          "or before the isolate last ran or collected garbage) or was never a pointer");

    /// <summary>
    /// Calls an untyped host function (whose callback sees raw 64-bit values) with the arguments in
    /// <paramref name="values"/> (the frame's slots: only the results are read afterwards): pointer arguments are
    /// replaced by tokens for the call, and ptr results must be tokens of the current epoch and are turned back into
    /// pointers (after a callback into the isolate that is a handle's fresh value: the arguments' tokens are stale).
    /// </summary>
    internal void CallUntypedHost(HostFunction host, byte[] tags, int fp, Span<long> values)
    {
        var parameters = host.Signature.Parameters;
        var results = host.Signature.Results;
        // The epoch has just begun, so the arguments' tokens are the first entries of the issued list, in order.
        for (var i = 0; i < parameters.Length; i++)
            if (parameters[i] == VmType.Ptr || (parameters[i] == VmType.Word && tags[fp + i] != 0))
                values[i] = IssueToken(values[i]);
        host.Callback(Owner, values);
        for (var i = 0; i < results.Length; i++)
            if (results[i] == VmType.Ptr && !TryResolveToken(values[i], out values[i]))
                throw new ArgumentException($"result {i} of host function '{host.Name}' is ptr, but the callback returned a value that is not a pointer it was given " +
                                            "during this call (a pointer argument, Handle.Value or Pointer.Value); a host function cannot make pointers");
    }

    /// <summary>A handle on the object at heap index <paramref name="bits"/> (a pointer the caller has checked).</summary>
    internal Handle HandleFor(long bits)
    {
        int slot;
        if (_freeHandles is { Count: > 0 }) slot = _freeHandles.Pop();
        else
        {
            if (_handleCount == HandleSlots.Length) Array.Resize(ref HandleSlots, Math.Max(16, HandleSlots.Length * 2));
            slot = _handleCount++;
        }
        HandleSlots[slot] = bits;
        var handle = new Handle(Owner, slot);
        if (_scopes is { Count: > 0 }) _scopes[^1].Handles.Add(handle);
        return handle;
    }
}
