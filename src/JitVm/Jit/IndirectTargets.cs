using System.Reflection;
using JitVm.Bytecode;
using JitVm.Interpreter;

namespace JitVm.Jit;

/// <summary>
/// A compiled function as an indirect call from compiled code reaches it: its body as a delegate of the calling
/// convention's own signature (<see cref="FunctionCompiler"/>), so the caller passes arguments in registers instead
/// of frame-stack slots, the id of its signature, and the .NET stack its body's frame takes.
/// </summary>
internal sealed class IndirectTarget(Delegate body, int signatureId, int frameBytes)
{
    /// <summary>A <c>Func&lt;Fiber, int, ..., R&gt;</c> or <c>Action&lt;Fiber, int, ...&gt;</c> over the body.</summary>
    public readonly Delegate Body = body;

    /// <summary>The body's signature, as <see cref="Verification.VerifiedModule.SignatureId"/> numbers it.</summary>
    public readonly int SignatureId = signatureId;

    /// <summary>An upper bound of the body's .NET frame (the caller checks there is room, as for a direct call).</summary>
    public readonly int FrameBytes = frameBytes;
}

/// <summary>
/// One per code table: for each defined function, the <see cref="IndirectTarget"/> compiled <c>call_indirect</c> and
/// <c>call_ref</c> sites call directly, or null. An entry is made the first time the runtime's indirect-call helper
/// reaches the function's compiled body (so only functions that are called indirectly pay for a delegate), and never
/// replaced; until then, and for a function that has no such body (interpreted, compiled in pieces, saved code without
/// its method, more parameters than a delegate type has), the call takes the helper, which does everything the
/// direct path skips.
/// </summary>
/// <remarks>
/// Compiled code reads an entry without a lock: entries are immutable and published with a release write, so a
/// reader sees null or a complete one. The direct path is taken only when the entry's signature id equals the one
/// the call site expects, which holds exactly when the function's signature equals the site's type (ids are
/// assigned per distinct signature), so it performs the checks the helper performs, in the same order of effect:
/// the reference and signature checks, then the depth check and the stack check.
/// </remarks>
internal sealed class IndirectTargets
{
    private readonly Verification.VerifiedModule _module;

    public IndirectTargets(Hosting.Module module)
    {
        _module = module.Verified;
        Entries = new IndirectTarget?[module.Definition.Functions.Count];
    }

    /// <summary>By defined function index; compiled code reads one entry per call.</summary>
    public IndirectTarget?[] Entries { get; }

    /// <summary>Makes defined function <paramref name="function"/>'s entry from its compiled body, if it has none and
    /// the body can be one.</summary>
    public void Publish(DecodedFunction function, CompiledFunction compiled)
    {
        var definedIndex = function.FunctionIndex - function.Module.Imports.Count;
        if (Volatile.Read(ref Entries[definedIndex]) is not null || compiled.Pieced is not null) return;
        if (compiled.Body is not { } body || DelegateType(function.Signature) is not { } type) return;
        var typeIndex = _module.Definition.Functions[definedIndex].TypeIndex;
        var target = new IndirectTarget(body.CreateDelegate(type), _module.SignatureId(typeIndex), function.FrameBytes);
        Interlocked.CompareExchange(ref Entries[definedIndex], target, null);
    }

    /// <summary>The largest parameter count a body can have and still have an entry: <c>Func</c>
    /// takes up to 16 arguments, three of which are the fiber, the depth and the fuel.</summary>
    public const int MaxParameters = 13;

    private static readonly Type[] Funcs =
    [
        typeof(Func<>), typeof(Func<,>), typeof(Func<,,>), typeof(Func<,,,>), typeof(Func<,,,,>), typeof(Func<,,,,,>),
        typeof(Func<,,,,,,>), typeof(Func<,,,,,,,>), typeof(Func<,,,,,,,,>), typeof(Func<,,,,,,,,,>),
        typeof(Func<,,,,,,,,,,>), typeof(Func<,,,,,,,,,,,>), typeof(Func<,,,,,,,,,,,,>), typeof(Func<,,,,,,,,,,,,,>),
        typeof(Func<,,,,,,,,,,,,,,>), typeof(Func<,,,,,,,,,,,,,,,>), typeof(Func<,,,,,,,,,,,,,,,,>),
    ];

    /// <summary>The delegate type of a body of <paramref name="signature"/>, or null when it has too many parameters.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Reached only with dynamic code: the entries are made for bodies the JIT or a loaded assembly's reflection provides.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2055", Justification = "Func puts no DynamicallyAccessedMembers requirement on its type parameters.")]
    public static Type? DelegateType(FunctionType signature)
    {
        if (signature.Parameters.Length > MaxParameters) return null;
        var parameters = FunctionCompiler.ParameterTypes(signature);
        // Every body returns at least its fuel (FuelConvention), so every delegate is a Func.
        return Funcs[parameters.Length].MakeGenericType([.. parameters, FunctionCompiler.ReturnType(signature)]);
    }

    /// <summary>The delegate's <c>Invoke</c>, which compiled call sites call.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "A delegate type's Invoke is never trimmed: the runtime implements it.")]
    public static MethodInfo Invoke(Type delegateType) => delegateType.GetMethod("Invoke")!;
}
