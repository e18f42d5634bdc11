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
/// of the module, and holds, next to each body, its <see cref="SlotAdapter"/> in <see cref="AdapterTypeName"/> under
/// the same name, so <see cref="SavedCode.Load(System.Reflection.Assembly, Module)"/> binds every function without emitting any code. Both types define
/// their methods in function order, which is how they are bound.
/// </remarks>
internal static class AssemblyCompiler
{
    /// <summary>The name of the generated type holding the functions.</summary>
    public const string TypeName = "JitVmGenerated.Functions";

    /// <summary>The name of the generated type holding each function's adapter, named as its body.</summary>
    public const string AdapterTypeName = "JitVmGenerated.Adapters";

    /// <summary>The name of the generated type whose <see cref="AdapterTableMethod"/> returns every adapter as a
    /// delegate, in function order: binding through it needs no metadata tokens and no reflection over the adapters,
    /// so it works where reflection is limited (NativeAOT).</summary>
    public const string EntriesTypeName = "JitVmGenerated.Entries";

    /// <summary>The method of <see cref="EntriesTypeName"/>: <c>SlotAdapter[] Adapters()</c>, a new array per call.</summary>
    public const string AdapterTableMethod = "Adapters";

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
        // A function the JIT would never compile (JitLimits.WhyNeverCompiled) gets no body and no adapter: it stays
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
        var adapters = moduleBuilder.DefineType(AdapterTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        var adapterMethods = new MethodBuilder?[methods.Length];
        for (var i = 0; i < methods.Length; i++)
        {
            if (methods[i] is not { } method) continue;
            var name = method.Method.Name;
            var adapter = adapters.DefineMethod(name, MethodAttributes.Public | MethodAttributes.Static, typeof(void), SavedCode.AdapterParameters);
            adapterMethods[i] = adapter;
            FunctionCompiler.EmitAdapter(new CheckedIL(adapter.GetILGenerator(), name + "$adapter", CheckedIL.CheckingEnabled),
                definition.Types[definition.Functions[i].TypeIndex], method.Method, method.Parameters, method.Return);
        }
        var entries = moduleBuilder.DefineType(EntriesTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        EmitAdapterTable(entries.DefineMethod(AdapterTableMethod, MethodAttributes.Public | MethodAttributes.Static, typeof(SlotAdapter[]), Type.EmptyTypes),
            adapterMethods);
        var binary = Bytecode.ModuleWriter.Write(definition);
        var stackBytes = new byte[4 * methods.Length];
        for (var i = 0; i < methods.Length; i++)
            if (methods[i] is not null)
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(stackBytes.AsSpan(4 * i), module.Decoded(i).FrameBytes + FunctionCompiler.AdapterFrameBytes);
        Stamp(moduleBuilder, codeInterfaceVersion, CodeInterface.ModuleHash(binary), binary, stackBytes);
        type.CreateType();
        adapters.CreateType();
        entries.CreateType();
        builder.Save(stream);
    }

    /// <summary>The adapter table: <c>new SlotAdapter[] { Adapters.f0, Adapters.f1, ... }</c>, in function order, null
    /// for a function left to the interpreter.</summary>
    private static void EmitAdapterTable(MethodBuilder method, MethodBuilder?[] adapters)
    {
        var constructor = typeof(SlotAdapter).GetConstructor([typeof(object), typeof(IntPtr)])!;
        var il = method.GetILGenerator();
        il.Emit(OpCodes.Ldc_I4, adapters.Length);
        il.Emit(OpCodes.Newarr, typeof(SlotAdapter));
        for (var i = 0; i < adapters.Length; i++)
        {
            if (adapters[i] is null) continue;
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Ldnull);
            il.Emit(OpCodes.Ldftn, adapters[i]!);
            il.Emit(OpCodes.Newobj, constructor);
            il.Emit(OpCodes.Stelem_Ref);
        }
        il.Emit(OpCodes.Ret);
    }

    /// <summary>The stamp type: literal fields only, which <see cref="SavedCode.Load(System.Reflection.Assembly, Module)"/> reads before anything else:
    /// the code interface version, the module's hash, the module itself and each function's stack bound.</summary>
    private static void Stamp(ModuleBuilder moduleBuilder, int version, string moduleHash, byte[] binary, byte[] stackBytes)
    {
        var stamp = moduleBuilder.DefineType(CodeInterface.StampTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        const FieldAttributes literal = FieldAttributes.Public | FieldAttributes.Static | FieldAttributes.Literal | FieldAttributes.HasDefault;
        stamp.DefineField(CodeInterface.VersionField, typeof(int), literal).SetConstant(version);
        stamp.DefineField(CodeInterface.ModuleHashField, typeof(string), literal).SetConstant(moduleHash);
        stamp.DefineField(CodeInterface.ModuleField, typeof(string), literal).SetConstant(Convert.ToBase64String(binary));
        stamp.DefineField(CodeInterface.StackBytesField, typeof(string), literal).SetConstant(Convert.ToBase64String(stackBytes));
        stamp.CreateType();
    }
}
