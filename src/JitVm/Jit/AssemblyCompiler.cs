using System.Reflection;
using System.Reflection.Emit;
using JitVm.Hosting;
using Module = JitVm.Hosting.Module;

namespace JitVm.Jit;

/// <summary>
/// Lowers a whole module with the JIT's emitter into a saved .NET assembly: one public static method per defined
/// function, with the JIT's calling convention, calling each other directly. Used to check the emitted IL with
/// the CLR's own loader and JIT, and as the base of ahead-of-time compilation. The runtime helpers the code calls
/// are internal to JitVm (no host may call them), so the assembly carries <c>IgnoresAccessChecksTo("JitVm")</c>,
/// which the CLR honours by name, as dynamic methods use skipVisibility. (The attribute's type is JitVm's own: a
/// saved assembly whose assembly attribute names a constructor it defines itself does not load.)
/// </summary>
/// <remarks>
/// The assembly is stamped (<see cref="CodeInterface.StampTypeName"/>) with the code interface version and the hash
/// of the module, and holds, for the functions of each signature, a dispatcher (<see cref="DispatchTypeName"/>) that
/// does the work of their <see cref="SlotAdapter"/>s with a switch on the function's entry, so
/// <see cref="SavedCode.Load(System.Reflection.Assembly, Module)"/> binds every function without emitting any code and
/// the runtime prepares one method per function (its body) and one per dispatcher, not an adapter per function.
/// Bodies are defined in function order, which is how they are bound.
/// </remarks>
internal static class AssemblyCompiler
{
    /// <summary>The name of the generated type holding the functions.</summary>
    public const string TypeName = "JitVmGenerated.Functions";

    /// <summary>The name of the generated type holding the dispatchers: one <see cref="SavedDispatcher"/> method per
    /// group of functions of one signature, each doing the work of those functions' adapters.</summary>
    public const string DispatchTypeName = "JitVmGenerated.Dispatch";

    /// <summary>The name of the generated type whose <see cref="DispatcherTableMethod"/> returns every dispatcher as a
    /// delegate, in order: binding through it needs no metadata tokens and no reflection over methods, so it works
    /// where reflection is limited (NativeAOT).</summary>
    public const string EntriesTypeName = "JitVmGenerated.Entries";

    /// <summary>The method of <see cref="EntriesTypeName"/>: <c>SavedDispatcher[] Dispatchers()</c>, a new array per call.</summary>
    public const string DispatcherTableMethod = "Dispatchers";

    /// <summary>The most functions one dispatcher serves: its switch stays of a size the CLR's JIT and crossgen2
    /// compile as a jump table without trouble, and a module of many functions needs few dispatchers.</summary>
    public const int DispatcherEntries = 1024;

    /// <summary>
    /// The method's name: the function's, which may be any text (the CLR takes names with line breaks or NUL), except
    /// that the CLR rejects an empty name, so an unnamed function gets <c>&lt;function N&gt;</c>, made unique among the
    /// module's function names.
    /// </summary>
    private static string MethodName(Bytecode.ModuleDefinition definition, int index)
    {
        var name = definition.Functions[index].Name;
        if (name.Length > 0) return name;
        var taken = definition.Functions.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        name = $"<function {index}>";
        for (var n = 1; taken.Contains(name); n++) name = $"<function {index}>_{n}";
        return name;
    }

    /// <summary>Saves <paramref name="module"/>'s code as assembly <paramref name="assemblyName"/> at
    /// <paramref name="path"/>, stamped with <paramref name="codeInterfaceVersion"/> (another value than
    /// <see cref="CodeInterface.Version"/> only to test that a stale assembly is refused).</summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.JitNeedsDynamicCode)]
    public static void Save(Module module, string path, string assemblyName, int codeInterfaceVersion = CodeInterface.Version)
    {
        using var file = File.Create(path);
        Save(module, file, assemblyName, codeInterfaceVersion);
    }

    /// <summary>Saves <paramref name="module"/>'s code as assembly <paramref name="assemblyName"/> to <paramref name="stream"/>.</summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.JitNeedsDynamicCode)]
    public static void Save(Module module, Stream stream, string assemblyName, int codeInterfaceVersion = CodeInterface.Version)
    {
        var builder = new PersistedAssemblyBuilder(new AssemblyName(assemblyName), typeof(object).Assembly);
        var moduleBuilder = builder.DefineDynamicModule(assemblyName);
        builder.SetCustomAttribute(new CustomAttributeBuilder(
            typeof(System.Runtime.CompilerServices.IgnoresAccessChecksToAttribute).GetConstructor([typeof(string)])!, [typeof(JitRuntime).Assembly.GetName().Name!]));
        var type = moduleBuilder.DefineType(TypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        var definition = module.Definition;
        // A function the JIT would never compile (JitLimits.WhyNeverCompiled) gets no body and no dispatcher entry: it stays
        // interpreted, and compiled callers reach it through the runtime's call helper, as they do under the JIT.
        var methods = new (MethodBuilder Method, Type[] Parameters, Type Return)?[definition.Functions.Count];
        for (var i = 0; i < methods.Length; i++)
        {
            if (JitLimits.WhyNeverCompiled(module.Decoded(i)) is not null) continue;
            var signature = definition.Types[definition.Functions[i].TypeIndex];
            var parameters = FunctionCompiler.ParameterTypes(signature);
            var returnType = FunctionCompiler.ReturnType(signature);
            methods[i] = (type.DefineMethod(MethodName(definition, i), MethodAttributes.Public | MethodAttributes.Static, returnType, parameters), parameters, returnType);
        }
        for (var i = 0; i < methods.Length; i++)
        {
            if (methods[i] is not { } method) continue;
            var function = module.Decoded(i);
            var il = new CheckedIL(method.Method.GetILGenerator(), function.Name, CheckedIL.CheckingEnabled);
            new BodyEmitter(module.Verified, function, false, il,
                    callee => methods[callee] is { } target
                        ? new CalleeMethod(target.Method, target.Parameters, target.Return, module.Decoded(callee).FrameBytes)
                        : null)
                .Emit(method.Parameters);
        }
        var dispatch = EmitDispatchers(moduleBuilder, definition, methods);
        var binary = Bytecode.ModuleWriter.Write(definition);
        // A dispatcher's frame holds what an adapter's does (the arguments, one result), so the bound is the adapter's.
        var stackBytes = new byte[4 * methods.Length];
        for (var i = 0; i < methods.Length; i++)
            if (methods[i] is not null)
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(stackBytes.AsSpan(4 * i), module.Decoded(i).FrameBytes + FunctionCompiler.AdapterFrameBytes);
        Stamp(moduleBuilder, codeInterfaceVersion, CodeInterface.ModuleHash(binary), binary, stackBytes, dispatch);
        type.CreateType();
        builder.Save(stream);
    }

    /// <summary>
    /// Emits the dispatchers and the table of them, and returns each function's place in them for the stamp: per
    /// function, the little-endian <c>int</c> pair (dispatcher, entry), (-1, -1) for a function left to the interpreter.
    /// Functions are grouped by signature (type index), at most <see cref="DispatcherEntries"/> to a dispatcher, so
    /// each dispatcher reads its arguments once, into locals, and its frame does not grow with its entries.
    /// </summary>
    private static byte[] EmitDispatchers(ModuleBuilder moduleBuilder, Bytecode.ModuleDefinition definition,
        (MethodBuilder Method, Type[] Parameters, Type Return)?[] methods)
    {
        var groups = new List<(int TypeIndex, List<int> Functions)>();
        var open = new Dictionary<int, int>();
        var places = new byte[8 * methods.Length];
        for (var i = 0; i < methods.Length; i++)
        {
            var (dispatcher, entry) = (-1, -1);
            if (methods[i] is not null)
            {
                var typeIndex = definition.Functions[i].TypeIndex;
                if (!open.TryGetValue(typeIndex, out dispatcher) || groups[dispatcher].Functions.Count == DispatcherEntries)
                {
                    dispatcher = groups.Count;
                    groups.Add((typeIndex, []));
                    open[typeIndex] = dispatcher;
                }
                entry = groups[dispatcher].Functions.Count;
                groups[dispatcher].Functions.Add(i);
            }
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(places.AsSpan(8 * i), dispatcher);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(places.AsSpan((8 * i) + 4), entry);
        }
        var type = moduleBuilder.DefineType(DispatchTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        var dispatchers = new MethodBuilder[groups.Count];
        for (var d = 0; d < groups.Count; d++)
        {
            var name = $"Dispatch{d}";
            dispatchers[d] = type.DefineMethod(name, MethodAttributes.Public | MethodAttributes.Static, typeof(void), SavedCode.DispatcherParameters);
            EmitDispatcher(new CheckedIL(dispatchers[d].GetILGenerator(), name, CheckedIL.CheckingEnabled),
                definition.Types[groups[d].TypeIndex], [.. groups[d].Functions.Select(f => methods[f]!.Value)]);
        }
        type.CreateType();
        var entries = moduleBuilder.DefineType(EntriesTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        EmitDispatcherTable(entries.DefineMethod(DispatcherTableMethod, MethodAttributes.Public | MethodAttributes.Static, typeof(SavedDispatcher[]), Type.EmptyTypes),
            dispatchers);
        entries.CreateType();
        return places;
    }

    /// <summary>
    /// <c>void Dispatch(Fiber fiber, int depth, int fp, int entry)</c>: what each function's adapter
    /// (<see cref="FunctionCompiler.EmitAdapter"/>) does, for all the functions of one signature: the arguments from
    /// slots [fp, ...) into locals, a switch on <c>entry</c> calling that entry's body, its results to slot fp onwards.
    /// An entry out of range throws (the loader checks the places it binds, so none is ever passed).
    /// </summary>
    private static void EmitDispatcher(CheckedIL il, Bytecode.FunctionType signature, (MethodBuilder Method, Type[] Parameters, Type Return)[] bodies)
    {
        il.SetArguments(SavedCode.DispatcherParameters);
        var parameters = bodies[0].Parameters;
        var returnType = bodies[0].Return;
        var arguments = new LocalBuilder[signature.Parameters.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            FunctionCompiler.EmitArgumentFromSlot(il, signature.Parameters[i], i);
            arguments[i] = il.DeclareLocal(parameters[3 + i]);
            il.Emit(OpCodes.Stloc, arguments[i]);
        }
        var cases = new Label[bodies.Length];
        for (var i = 0; i < cases.Length; i++) cases[i] = il.DefineLabel();
        var done = il.DefineLabel();
        il.LoadArgument(3);
        il.Emit(OpCodes.Switch, cases);
        // Not modelled by the checked emitter, and leaves its stack as the switch did (empty).
        il.Generator.Emit(OpCodes.Ldstr, "no such entry in this dispatcher of saved JitVm code");
        il.Generator.Emit(OpCodes.Newobj, typeof(InvalidOperationException).GetConstructor([typeof(string)])!);
        il.Generator.Emit(OpCodes.Throw);
        for (var i = 0; i < cases.Length; i++)
        {
            il.MarkLabel(cases[i]);
            il.LoadArgument(0);
            il.LoadArgument(1);
            FunctionCompiler.EmitFiberFuel(il);
            foreach (var argument in arguments) il.Emit(OpCodes.Ldloc, argument);
            il.Call(bodies[i].Method, parameters, returnType);
            il.Emit(OpCodes.Br, done);
        }
        il.MarkLabel(done);
        FunctionCompiler.EmitResultsToSlots(il, signature, returnType);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>The dispatcher table: <c>new SavedDispatcher[] { Dispatch.Dispatch0, ... }</c>.</summary>
    private static void EmitDispatcherTable(MethodBuilder method, MethodBuilder[] dispatchers)
    {
        var constructor = typeof(SavedDispatcher).GetConstructor([typeof(object), typeof(IntPtr)])!;
        var il = method.GetILGenerator();
        il.Emit(OpCodes.Ldc_I4, dispatchers.Length);
        il.Emit(OpCodes.Newarr, typeof(SavedDispatcher));
        for (var i = 0; i < dispatchers.Length; i++)
        {
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Ldnull);
            il.Emit(OpCodes.Ldftn, dispatchers[i]);
            il.Emit(OpCodes.Newobj, constructor);
            il.Emit(OpCodes.Stelem_Ref);
        }
        il.Emit(OpCodes.Ret);
    }

    /// <summary>The stamp type: literal fields only, which <see cref="SavedCode.Load(System.Reflection.Assembly, Module)"/> reads before anything else:
    /// the code interface version, the module's hash, the module itself and each function's stack bound.</summary>
    private static void Stamp(ModuleBuilder moduleBuilder, int version, string moduleHash, byte[] binary, byte[] stackBytes, byte[] dispatch)
    {
        var stamp = moduleBuilder.DefineType(CodeInterface.StampTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        const FieldAttributes literal = FieldAttributes.Public | FieldAttributes.Static | FieldAttributes.Literal | FieldAttributes.HasDefault;
        stamp.DefineField(CodeInterface.VersionField, typeof(int), literal).SetConstant(version);
        stamp.DefineField(CodeInterface.ModuleHashField, typeof(string), literal).SetConstant(moduleHash);
        stamp.DefineField(CodeInterface.ModuleField, typeof(string), literal).SetConstant(Convert.ToBase64String(binary));
        stamp.DefineField(CodeInterface.StackBytesField, typeof(string), literal).SetConstant(Convert.ToBase64String(stackBytes));
        stamp.DefineField(CodeInterface.DispatchField, typeof(string), literal).SetConstant(Convert.ToBase64String(dispatch));
        stamp.CreateType();
    }
}
