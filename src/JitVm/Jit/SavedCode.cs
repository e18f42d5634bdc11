using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Module = JitVm.Hosting.Module;

namespace JitVm.Jit;

/// <summary>
/// The single entry through which code saved by <see cref="AssemblyCompiler"/> reaches the runtime: it checks the
/// assembly's stamp (see <see cref="CodeInterface"/>), then binds every function's body and adapter as a
/// <see cref="CompiledFunction"/> and installs it in the module's code table, where the interpreter's call path
/// and the host entry pick it up exactly as they pick up code the JIT made (with tier Jit or Tiered).
/// </summary>
internal static class SavedCode
{
    /// <summary>The parameters of a <see cref="SlotAdapter"/>: the fiber, the depth and the frame pointer.</summary>
    public static readonly Type[] AdapterParameters = [typeof(Runtime.Fiber), typeof(int), typeof(int)];

    private const string ReflectsOverTheAssembly = "Binds the methods of a loaded assembly through reflection.";

    /// <summary>
    /// Installs <paramref name="assembly"/>'s code as <paramref name="module"/>'s compiled functions. Throws a
    /// <see cref="LinkException"/>, having installed nothing, when the assembly was compiled for another code
    /// interface version or from another module, or does not hold every function; nothing of the assembly runs and
    /// no method of it is resolved before its stamp is checked.
    /// </summary>
    /// <exception cref="InvalidOperationException">A function of the module already has compiled code.</exception>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    public static void Load(Assembly assembly, Module module)
    {
        var name = DisplayName(assembly);
        CheckStamp(assembly, module, name);
        var definition = module.Definition;
        var code = module.Code;
        var bodies = Methods(assembly, AssemblyCompiler.TypeName, name);
        var adapters = Methods(assembly, AssemblyCompiler.AdapterTypeName, name);
        var compiled = new CompiledFunction[definition.Functions.Count];
        if (bodies.Length != compiled.Length || adapters.Length != compiled.Length)
            throw new LinkException($"{name} holds {bodies.Length} functions and {adapters.Length} adapters, but the module defines {compiled.Length} functions: compile it again");
        for (var i = 0; i < compiled.Length; i++)
        {
            var function = code.Decoded(i);
            var (body, adapter) = (bodies[i], adapters[i]);
            if (!HasSignature(body, FunctionCompiler.ParameterTypes(function.Signature), FunctionCompiler.ReturnType(function.Signature)) ||
                !HasSignature(adapter, AdapterParameters, typeof(void)))
                throw new LinkException($"{name} does not hold compiled code for function {Printable.Quote(function.Name)} with signature {function.Signature}: compile it again");
            compiled[i] = new CompiledFunction(body, adapter.CreateDelegate<SlotAdapter>(), TimeSpan.Zero,
                body.GetMethodBody()?.GetILAsByteArray()?.Length ?? 0, function.FrameBytes + FunctionCompiler.AdapterFrameBytes);
        }
        // Checked for every function before installing any, so a refusal leaves the table as it was.
        for (var i = 0; i < compiled.Length; i++)
            if (code.Decoded(i).Compiled is not null)
                throw new InvalidOperationException($"function {Printable.Quote(code.Decoded(i).Name)} already has compiled code; {name} is not loaded");
        for (var i = 0; i < compiled.Length; i++) code.Install(i, compiled[i]);
    }

    /// <summary>The version, then the module hash: a stale assembly is reported as such even when its module differs too.</summary>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    private static void CheckStamp(Assembly assembly, Module module, string name)
    {
        var stamp = assembly.GetType(CodeInterface.StampTypeName, throwOnError: false);
        if (Literal(stamp, CodeInterface.VersionField) is not int version)
            throw new LinkException($"{name} is not compiled JitVm code: it has no code interface version stamp");
        if (version != CodeInterface.Version)
            throw new LinkException($"{name} was compiled for JitVm code interface version {version}; this runtime has version {CodeInterface.Version}: compile it again");
        var expected = CodeInterface.ModuleHash(module.Definition);
        if (Literal(stamp, CodeInterface.ModuleHashField) is not string hash || !string.Equals(hash, expected, StringComparison.Ordinal))
            throw new LinkException($"{name} was compiled from a different module (SHA-256 {Short(Literal(stamp, CodeInterface.ModuleHashField) as string)}) " +
                                    $"than the one it is loaded for ({Short(expected)}): compile it again from this module");
    }

    /// <summary>A literal field's value, read from metadata without running or resolving anything.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The stamp type of a loaded assembly is not trimmed.")]
    private static object? Literal(Type? stamp, string field) =>
        stamp?.GetField(field, BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } literal ? literal.GetRawConstantValue() : null;

    private static string Short(string? hash) => hash is null ? "none" : hash.Length > 16 ? hash[..16] + "…" : Printable.Quote(hash);

    /// <summary>The methods of a generated type in the order they were defined, which is function order. (Not by
    /// name: a name read back from metadata ends at its first NUL, and a function's name may contain one.)</summary>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    private static MethodInfo[] Methods(Assembly assembly, string typeName, string name)
    {
        var type = assembly.GetType(typeName, throwOnError: false) ?? throw new LinkException($"{name} has no type {typeName}: compile it again");
        return [.. type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly).OrderBy(m => m.MetadataToken)];
    }

    private static bool HasSignature(MethodInfo method, Type[] parameters, Type returnType) =>
        method.ReturnType == returnType && method.GetParameters().Select(p => p.ParameterType).SequenceEqual(parameters);

    /// <summary>How the assembly is named in errors: its file name, or its simple name when loaded from bytes.</summary>
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty location falls back to the assembly's name.")]
    private static string DisplayName(Assembly assembly) =>
        assembly.Location is { Length: > 0 } location ? Path.GetFileName(location) : assembly.GetName().Name ?? "the assembly";
}
