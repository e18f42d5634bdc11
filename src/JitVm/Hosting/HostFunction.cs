using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// The body of a host function. <paramref name="values"/> holds the arguments on entry (in parameter order, as raw
/// 64-bit values: integers, float bits, and for pointers - ptr arguments and words holding a pointer - tokens that
/// <see cref="Isolate.ReadBytes(long, long, Span{byte})"/> accepts during the call); the callback writes the results into the same span,
/// from index 0. A ptr result must be a token given out during the call (a pointer argument, or the
/// <see cref="Value.Bits"/> of <see cref="Handle.Value"/>); anything else is the trap <c>HostError</c>. The span is
/// as long as the larger of the parameter and result counts.
/// </summary>
public delegate void HostCallback(Isolate isolate, Span<long> values);

/// <summary>A function the host gives to modules; a module imports it by name with the same signature.</summary>
public sealed partial class HostFunction
{
    /// <summary>Creates a host function.</summary>
    public HostFunction(string name, FunctionType signature, HostCallback callback)
    {
        Name = name;
        Signature = signature;
        Callback = callback;
        HandlesPointers = signature.Parameters.Any(t => t is VmType.Ptr or VmType.Word) || signature.Results.Contains(VmType.Ptr);
    }

    /// <summary>True when pointers can cross the call (ptr or word parameters, ptr results): an untyped callback
    /// then sees tokens in their place.</summary>
    internal bool HandlesPointers { get; }

    /// <summary>The name modules import it by.</summary>
    public string Name { get; }

    /// <summary>Its parameter and result types; an import must declare exactly these.</summary>
    public FunctionType Signature { get; }

    /// <summary>The code that runs when it is called.</summary>
    public HostCallback Callback { get; }

    /// <summary>For a typed host function, the delegate <see cref="Callback"/> wraps; compiled code calls it directly
    /// when its values are all i64 and f64. Its presence also means <see cref="Callback"/> takes the frame's raw values
    /// (a ptr argument or result is the object's heap index, not a token): the typed conversions
    /// (HostFunction.Marshalling.cs) read and make objects from those indices.</summary>
    internal Delegate? Typed { get; private init; }
}
