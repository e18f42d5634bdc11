using System.Security.Cryptography;

namespace JitVm.Jit;

/// <summary>
/// The versioned interface between compiled code and the runtime. Code the JIT emits into dynamic methods is
/// always current, but an assembly saved by <see cref="AssemblyCompiler"/> keeps the IL of the runtime it was
/// compiled against: it is stamped with <see cref="Version"/> and with a hash of the module it was compiled from,
/// and <see cref="SavedCode.Load(System.Reflection.Assembly, Hosting.Module)"/>, the only way saved code reaches the runtime, refuses an assembly whose stamp
/// does not match before it binds any method (so a stale assembly is a clear load error, never a
/// MissingMethodException or, worse, code that runs with a different meaning).
/// </summary>
internal static class CodeInterface
{
    /// <summary>
    /// The code interface version. It covers everything compiled IL depends on:
    /// <list type="bullet">
    /// <item>the calling convention <c>R f(Fiber fiber, int depth, long fuel, P0 a0, ...)</c> and the CLR type of each
    /// VM type (<see cref="FunctionCompiler.ClrType"/>, <see cref="FunctionCompiler.ReturnType"/>): the caller's fuel
    /// slice goes in and the slice left comes back in <c>R</c>, a <see cref="ResultAndFuel{T}"/> with one result or the
    /// bare <c>long</c> with none or several (left in the fiber's result buffer), as <see cref="FuelConvention"/>
    /// describes;</item>
    /// <item>the <see cref="SlotAdapter"/> shape <c>void(Fiber, int depth, int fp)</c>, the
    /// <see cref="SavedDispatcher"/> shape <c>void(Fiber, int depth, int fp, int entry)</c> of a saved assembly's
    /// dispatchers, and how both read arguments from slots and write results back
    /// (<see cref="FunctionCompiler.EmitAdapter"/>);</item>
    /// <item>the name, parameter types and return type of every <see cref="JitRuntime"/> helper and of every shared
    /// definition compiled code calls directly (<see cref="Semantics.Arithmetic"/>), and what each
    /// means: the values compiled code passes (trap codes as <see cref="Diagnostics.TrapCode"/> numbers, call sites
    /// as <see cref="Diagnostics.CallSites.Encode"/> packs them, fuel in the slice) and the arrays it gets back and
    /// indexes itself (the heap's words and tag bitmap, with an object's length in the low 32 bits of the header word
    /// before it, a plain object's unused byte count in bits 32..34 and bits 60 and 61 marking a reference or a sent
    /// object, which len.bytes reads; the slots and their tags; the call-site array by depth);</item>
    /// <item><see cref="Word"/>'s fields and their order;</item>
    /// <item>the <see cref="IndirectTarget"/> fields indirect call sites read (signature id as
    /// <see cref="Verification.VerifiedModule.SignatureId"/> numbers signatures, frame bytes, the body's delegate
    /// type as <see cref="IndirectTargets.DelegateType"/> makes it);</item>
    /// <item>the frame and deopt protocol: the stack-limit and depth checks, the fuel slice read negative after a
    /// call whose callee deoptimised, and the frame image (every local, then the live operand-stack values, resuming
    /// at the decoder's operation index of the safepoint) that <c>BeginImage</c> ... <c>EndImage</c> write;</item>
    /// <item>the fuel each instruction costs, which compiled code charges inline.</item>
    /// </list>
    /// Bump it whenever any of these change, even compatibly: a saved assembly is only ever run by the runtime
    /// version it was compiled for. tests/JitVm.Tests/CodeInterfaceTests.cs compares the mechanically checkable part
    /// with CodeInterface.fingerprint, next to this file, and fails until the version is bumped and the fingerprint
    /// regenerated.
    /// </summary>
    public const int Version = 15;

    /// <summary>The type of a saved assembly that carries its stamp: literal fields only, so reading them runs no code
    /// of the assembly and resolves nothing it references.</summary>
    public const string StampTypeName = "JitVmGenerated.CodeInterface";

    /// <summary>The stamp's <c>int</c> field holding the code interface version the assembly was compiled for.</summary>
    public const string VersionField = "Version";

    /// <summary>The stamp's <c>string</c> field holding <see cref="ModuleHash(Bytecode.ModuleDefinition)"/> of the module it was compiled from.</summary>
    public const string ModuleHashField = "ModuleHash";

    /// <summary>The stamp's <c>string</c> field holding the module itself, its binary form in base64, so an assembly
    /// needs no source to run; <see cref="SavedCode.CarriedModule(System.Reflection.Assembly)"/> checks it against <see cref="ModuleHashField"/>.</summary>
    public const string ModuleField = "Module";

    /// <summary>The stamp's <c>string</c> field holding, in base64, one little-endian <c>int</c> per defined function:
    /// the stack bound of its compiled code (<see cref="CompiledFunction.StackBytes"/>, 0 for a function left to the
    /// interpreter), so loading binds a function without analysing it.</summary>
    public const string StackBytesField = "StackBytes";

    /// <summary>The stamp's <c>string</c> field holding, in base64, one pair of little-endian <c>int</c>s per defined
    /// function: the dispatcher (<see cref="AssemblyCompiler.DispatchTypeName"/>, numbered as the table
    /// <see cref="AssemblyCompiler.DispatcherTableMethod"/> returns them) and the entry in it that calls the function's
    /// body; (-1, -1) for a function left to the interpreter.</summary>
    public const string DispatchField = "Dispatch";

    /// <summary>The SHA-256 of the module's binary form, in upper-case hex: saved code is bound to exactly the
    /// module it was compiled from (its function indices, signatures and the decoded operations its deopt images name).</summary>
    public static string ModuleHash(Bytecode.ModuleDefinition definition) => ModuleHash(Bytecode.ModuleWriter.Write(definition));

    /// <summary>The SHA-256 of a module's binary form <paramref name="binary"/>, in upper-case hex.</summary>
    public static string ModuleHash(byte[] binary) => Convert.ToHexString(SHA256.HashData(binary));
}
