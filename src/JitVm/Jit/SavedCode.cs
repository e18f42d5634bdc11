using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;
using Module = JitVm.Hosting.Module;

namespace JitVm.Jit;

/// <summary>
/// The single entry through which code saved by <see cref="AssemblyCompiler"/> reaches the runtime: it checks the
/// assembly's stamp (see <see cref="CodeInterface"/>), then binds every function's body and dispatcher entry as a
/// <see cref="CompiledFunction"/> and installs it in the module's code table, where the interpreter's call path
/// and the host entry pick it up exactly as they pick up code the JIT made (with tier Jit or Tiered).
/// </summary>
internal static class SavedCode
{
    /// <summary>The parameters of a <see cref="SavedDispatcher"/>: the fiber, the depth, the frame pointer and the entry.</summary>
    public static readonly Type[] DispatcherParameters = [typeof(Runtime.Fiber), typeof(int), typeof(int), typeof(int)];

    private const string ReflectsOverTheAssembly = "Binds the methods of a loaded assembly through reflection.";

    /// <summary>
    /// Installs <paramref name="assembly"/>'s code as <paramref name="module"/>'s compiled functions. Throws a
    /// <see cref="LinkException"/>, having installed nothing, when the assembly was compiled for another code
    /// interface version or from another module, or does not hold every function; nothing of the assembly runs and
    /// no method of it is resolved before its stamp is checked.
    /// </summary>
    /// <remarks>The dispatchers come from the assembly's table (<see cref="AssemblyCompiler.EntriesTypeName"/>), which
    /// works without dynamic code; each function's adapter is a <see cref="SavedEntry"/> over its dispatcher and entry.
    /// Where the JIT runs (<see cref="DynamicCode.Supported"/>) the bodies are bound on first use, by reflection, for
    /// the JIT's direct calls into them and the typed exports' stubs; without it nothing needs them, and reflection
    /// over the assembly's methods may not be available.</remarks>
    /// <exception cref="InvalidOperationException">A function of the module already has compiled code.</exception>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    public static void Load(Assembly assembly, Module module) => Load(assembly, module, null);

    /// <summary>As <see cref="Load(Assembly, Module)"/>; <paramref name="moduleHash"/>, when given, is the module's
    /// hash as the caller computed it from the very bytes the module was read from.</summary>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    internal static void Load(Assembly assembly, Module module, string? moduleHash)
    {
        var name = DisplayName(assembly);
        var stamp = CheckStamp(assembly, module, name, moduleHash);
        var code = module.Code;
        var count = module.Definition.Functions.Count;
        var compiled = new CompiledFunction?[count];
        var dispatchers = DispatcherTable(assembly, name);
        var stackBytes = StackBytes(stamp, count, name);
        var places = Places(stamp, module.Definition, dispatchers.Length, name);
        // Each function's entry is taken without decoding it (CodeTable.Entry): a call into saved code needs only the
        // dispatcher, the entry in it and the stack bound, which the stamp carries; the function is decoded, and its
        // verification pass run, when the interpreter, a deoptimisation or the JIT first needs it. The bodies, in
        // definition order, are those of the functions with a place (the others stay interpreted); they are bound on
        // first use, by reflection, which loading does not need.
        var bodies = new Lazy<MethodInfo[]?>(() => DynamicCode.Supported ? Methods(assembly, AssemblyCompiler.TypeName, name) : null);
        var withCode = 0;
        foreach (var (dispatcher, _) in places)
            if (dispatcher >= 0) withCode++;
        for (int i = 0, b = 0; i < compiled.Length; i++)
        {
            var function = code.Entry(i);
            var (dispatcher, entry) = places[i];
            if (dispatcher < 0)
            {
                if (JitLimits.WhyNeverCompiled(function) is null)
                    throw new LinkException($"{name} does not hold compiled code for function {Printable.Quote(function.Name)}: compile it again");
                continue;
            }
            var index = b++;
            if (stackBytes[i] <= 0)
                throw new LinkException($"{name} carries a damaged table of stack bounds (function {Printable.Quote(function.Name)} has {stackBytes[i]}): compile it again");
            compiled[i] = new CompiledFunction(() => Body(bodies.Value, index, withCode, function, name),
                new SavedEntry(dispatchers[dispatcher], entry).Call, stackBytes[i]);
        }
        // Checked for every function before installing any, so a refusal leaves the table as it was.
        for (var i = 0; i < compiled.Length; i++)
            if (code.Entry(i).Compiled is not null)
                throw new InvalidOperationException($"function {Printable.Quote(code.Entry(i).Name)} already has compiled code; {name} is not loaded");
        for (var i = 0; i < compiled.Length; i++)
            if (compiled[i] is { } entry) code.Install(i, entry);
            else code.Entry(i).NotCompiledReason = JitLimits.WhyNeverCompiled(code.Entry(i));
        code.MarkSaved(assembly);
    }

    /// <summary>
    /// The stack bound of each function's compiled code (<see cref="CompiledFunction.StackBytes"/>), as the stamp's
    /// <see cref="CodeInterface.StackBytesField"/> carries it: computed when the code was compiled, by the emitter that
    /// made it, so loading needs no analysis of the function. A field that is missing, not base64 or of another size
    /// is refused here, and a bound that is not positive for a function with code by the caller.
    /// </summary>
    private static int[] StackBytes(Type? stamp, int count, string name)
    {
        var bytes = Table(stamp, CodeInterface.StackBytesField, 4 * count, out var length);
        if (bytes is null)
            throw new LinkException($"{name} carries a damaged table of stack bounds ({length} bytes for {count} functions): compile it again");
        var bounds = new int[count];
        for (var i = 0; i < count; i++) bounds[i] = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * i));
        return bounds;
    }

    /// <summary>
    /// Each function's place in the dispatchers, as the stamp's <see cref="CodeInterface.DispatchField"/> carries it:
    /// (dispatcher, entry), dispatcher -1 for a function left to the interpreter. Refused unless every dispatcher
    /// exists, serves functions of one signature only, and has its entries numbered 0, 1, ... in function order, as the
    /// compiler numbers them (so a dispatcher is never called with an entry it was not given, nor for a function of
    /// another signature).
    /// </summary>
    private static (int Dispatcher, int Entry)[] Places(Type? stamp, Bytecode.ModuleDefinition definition, int dispatchers, string name)
    {
        var count = definition.Functions.Count;
        var bytes = Table(stamp, CodeInterface.DispatchField, 8 * count, out var length)
                    ?? throw new LinkException($"{name} carries a damaged dispatch table ({length} bytes for {count} functions): compile it again");
        var places = new (int, int)[count];
        var next = new int[dispatchers];
        var signatures = new int[dispatchers];
        for (var i = 0; i < count; i++)
        {
            var dispatcher = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8 * i));
            var entry = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((8 * i) + 4));
            bool valid;
            if (dispatcher == -1) valid = entry == -1;
            else if (dispatcher < 0 || dispatcher >= dispatchers || entry != next[dispatcher]) valid = false;
            else
            {
                // A dispatcher's first entry fixes its signature.
                if (entry == 0) signatures[dispatcher] = definition.Functions[i].TypeIndex;
                valid = signatures[dispatcher] == definition.Functions[i].TypeIndex;
                next[dispatcher]++;
            }
            if (!valid)
                throw new LinkException($"{name} carries a damaged dispatch table (function {i} at dispatcher {dispatcher}, entry {entry}, of {dispatchers} dispatchers): compile it again");
            places[i] = (dispatcher, entry);
        }
        return places;
    }

    /// <summary>A base64 table of the stamp of exactly <paramref name="expected"/> bytes; null when the field is
    /// missing, is not base64 or has another size (<paramref name="length"/> then says how many bytes it decoded to).</summary>
    private static byte[]? Table(Type? stamp, string field, int expected, out int length)
    {
        length = 0;
        if (Literal(stamp, field) is not string text) return null;
        var bytes = new byte[text.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(text, bytes, out length)) length = 0;
        return length == expected ? bytes : null;
    }

    /// <summary>
    /// The module a saved assembly carries, in the binary format, after checking its stamp: the code interface
    /// version first, then that the module's bytes have the hash stamped next to them (so an assembly whose module
    /// was altered or damaged is refused, however the rest of it looks).
    /// </summary>
    /// <exception cref="LinkException">The assembly is not saved JitVm code, was compiled for another code interface
    /// version, carries no module, or carries one whose hash differs from its stamp.</exception>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    public static byte[] CarriedModule(Assembly assembly) => CarriedModule(assembly, out _);

    /// <summary>As <see cref="CarriedModule(Assembly)"/>, with the module's hash.</summary>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    public static byte[] CarriedModule(Assembly assembly, out string hash)
    {
        var name = DisplayName(assembly);
        var stamp = CheckVersion(assembly, name);
        if (Literal(stamp, CodeInterface.ModuleField) is not string text)
            throw new LinkException($"{name} carries no module: it was saved for checking only; compile it again with 'jitvm aot'");
        var binary = new byte[text.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(text, binary, out var length))
            throw new LinkException($"{name} carries a damaged module (its text is not base64): compile it again");
        binary = binary[..length];
        var stamped = Literal(stamp, CodeInterface.ModuleHashField) as string;
        var actual = CodeInterface.ModuleHash(binary);
        if (!string.Equals(stamped, actual, StringComparison.Ordinal))
            throw new LinkException($"{name} carries a module whose SHA-256 ({Short(actual)}) is not the one stamped on it ({Short(stamped)}): " +
                                    "the assembly was altered or damaged; compile it again");
        hash = actual;
        return binary;
    }

    /// <summary>Body <paramref name="index"/> of the saved bodies, checked against its function's signature.</summary>
    private static MethodInfo? Body(MethodInfo[]? bodies, int index, int expected, DecodedFunction function, string name)
    {
        if (bodies is null) return null;
        if (bodies.Length != expected)
            throw new LinkException($"{name} holds {bodies.Length} function bodies for {expected} functions with compiled code: compile it again");
        var body = bodies[index];
        if (!HasSignature(body, FunctionCompiler.ParameterTypes(function.Signature), FunctionCompiler.ReturnType(function.Signature)))
            throw new LinkException($"{name} does not hold compiled code for function {Printable.Quote(function.Name)} with signature {function.Signature}: compile it again");
        return body;
    }

    /// <summary>The version, then the module hash: a stale assembly is reported as such even when its module differs too.</summary>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    private static Type? CheckStamp(Assembly assembly, Module module, string name, string? moduleHash)
    {
        var stamp = CheckVersion(assembly, name);
        var expected = moduleHash ?? CodeInterface.ModuleHash(module.Definition);
        if (Literal(stamp, CodeInterface.ModuleHashField) is not string hash || !string.Equals(hash, expected, StringComparison.Ordinal))
            throw new LinkException($"{name} was compiled from a different module (SHA-256 {Short(Literal(stamp, CodeInterface.ModuleHashField) as string)}) " +
                                    $"than the one it is loaded for ({Short(expected)}): compile it again from this module");
        return stamp;
    }

    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    private static Type? CheckVersion(Assembly assembly, string name)
    {
        var stamp = assembly.GetType(CodeInterface.StampTypeName, throwOnError: false);
        if (Literal(stamp, CodeInterface.VersionField) is not int version)
            throw new LinkException($"{name} is not compiled JitVm code: it has no code interface version stamp");
        if (version != CodeInterface.Version)
            throw new LinkException($"{name} was compiled for JitVm code interface version {version}; this runtime has version {CodeInterface.Version}: compile it again");
        return stamp;
    }

    /// <summary>The dispatchers from the assembly's table, in order (running the table's code, which only makes
    /// delegates: the stamp is checked before).</summary>
    [RequiresUnreferencedCode(ReflectsOverTheAssembly)]
    private static SavedDispatcher[] DispatcherTable(Assembly assembly, string name)
    {
        var table = assembly.GetType(AssemblyCompiler.EntriesTypeName, throwOnError: false)?.GetMethod(AssemblyCompiler.DispatcherTableMethod, BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes);
        if (table is null || table.ReturnType != typeof(SavedDispatcher[]))
            throw new LinkException($"{name} has no dispatcher table {AssemblyCompiler.EntriesTypeName}.{AssemblyCompiler.DispatcherTableMethod}" +
                                    " (compile it again; a trimmed host must keep the whole saved assembly, as a trimmer root)");
        return (SavedDispatcher[])table.Invoke(null, null)!;
    }

    /// <summary>One function's adapter in saved code: its dispatcher, told the function's entry.</summary>
    internal sealed class SavedEntry(SavedDispatcher dispatcher, int entry)
    {
        /// <summary>The saved assembly's dispatcher that serves the function.</summary>
        public SavedDispatcher Dispatcher { get; } = dispatcher;

        /// <summary>Runs the function, as a <see cref="SlotAdapter"/>.</summary>
        public void Call(Runtime.Fiber fiber, int depth, int fp) => Dispatcher(fiber, depth, fp, entry);
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

/// <summary>A saved assembly's dispatcher: runs the function at <paramref name="entry"/> of the dispatcher, as that
/// function's <see cref="SlotAdapter"/> would, with its arguments in slots from <paramref name="fp"/>.</summary>
internal delegate void SavedDispatcher(Runtime.Fiber fiber, int depth, int fp, int entry);
