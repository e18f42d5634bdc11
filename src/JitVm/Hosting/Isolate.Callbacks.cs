using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// Callbacks (spec/embedding.md §3.1): a host function may call back into the isolate that called it — through
/// <see cref="Invoke(string, Value[])"/>, a typed export, or a function reference the program passed it — and the
/// callback runs above the calling frames, under the same limits.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>
    /// The function a program's function reference names (the i64 <c>func.ref</c> pushes, passed to the host), as a
    /// delegate of type <typeparamref name="TDelegate"/> whose parameters and result are <c>long</c> or <c>double</c>
    /// and match the function's signature — the checks <c>call_indirect</c> makes, made once here. Call it between
    /// calls or from a host function the isolate called (a callback).
    /// </summary>
    /// <exception cref="ArgumentException">The reference names no function of the module, or the function's signature
    /// differs from the delegate's; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public TDelegate GetDelegateForReference<TDelegate>(long functionReference) where TDelegate : Delegate =>
        (TDelegate)Bind(typeof(TDelegate), nameof(functionReference), (parameters, result) =>
        {
            var definition = Module.Definition;
            if ((ulong)functionReference >= (ulong)definition.FunctionCount)
                throw new ArgumentException($"function reference {functionReference} does not name a function (the module has {definition.FunctionCount})", nameof(functionReference));
            var index = (int)functionReference;
            return CheckSignature(index, $"function reference {index} ({Printable.Quote(definition.NameOf(index))})", parameters, result);
        });
}
