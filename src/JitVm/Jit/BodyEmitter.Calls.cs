using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Calls and returns: direct calls between compiled functions, calls through the interpreter and to the host.</summary>
internal sealed partial class BodyEmitter
{

    /// <summary>Returns the function's results from the top <paramref name="h"/> values; <paramref name="spillAreaOpen"/>
    /// false after a tail call's fallback has closed the spill area already.</summary>
    private void EmitReturn(int h, bool spillAreaOpen = true)
    {
        if (plan is not null)
        {
            ReturnFromPiece(h, spillAreaOpen);
            return;
        }
        var results = _analysis.Signature.Results;
        // The fuel left goes back in the return value (FuelConvention), not through the fiber.
        CloseFrame(spillAreaOpen, publishFuel: false);
        if (results.Length == 1)
        {
            Load(h - 1);
        }
        else if (results.Length > 1)
        {
            for (var i = 0; i < results.Length; i++)
            {
                var height = h - results.Length + i;
                Arg(FiberArg);
                il.Emit(OpCodes.Ldc_I4, i);
                switch (results[i])
                {
                    case VmType.Word:
                        Load(height);
                        il.Emit(OpCodes.Ldfld, Helpers.WordBits);
                        Load(height);
                        il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
                        break;
                    case VmType.F64:
                        Load(height);
                        il.Call(Helpers.DoubleToBits);
                        il.Emit(OpCodes.Ldc_I4, 0);
                        break;
                    default:
                        Load(height);
                        il.Emit(OpCodes.Ldc_I4, results[i] == VmType.Ptr ? 1 : 0);
                        break;
                }
                il.Call(Helpers.SetResult);
            }
        }
        il.Emit(OpCodes.Ldloc, _fuel);
        var returnType = ReturnType(_analysis.Signature);
        FuelConvention.Make(il, returnType, Temporary, _fuelTemporary ??= il.DeclareLocal(typeof(long)));
        Ret(returnType);
    }

    private LocalBuilder? _fuelTemporary;
    private readonly Dictionary<Type, LocalBuilder> _temporaries = [];

    /// <summary>A CIL local of <paramref name="type"/> for the calling convention's results, one per type.</summary>
    private LocalBuilder Temporary(Type type) =>
        _temporaries.TryGetValue(type, out var local) ? local : _temporaries[type] = il.DeclareLocal(type);

    /// <summary>Hands this frame's fuel slice to the fiber before a call into the runtime that does not take it as
    /// an argument (the interpreter's CallInterpreted); the call's return is followed by a reload.</summary>
    private void PublishFuel()
    {
        Arg(FiberArg);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Call(Helpers.SetFuel);
    }

    private void EmitCall(int callee, int h)
    {
        var definition = module.Definition;
        var imports = definition.Imports.Count;
        var signature = definition.SignatureOf(callee);
        var first = h - signature.Parameters.Length;
        var site = Site;
        if (callee < imports && TypedHostCall(signature) is { } typedCall)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, callee);
            LocationArguments();
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.Call(typedCall);
            if (signature.Results.Length == 1) Store(first, signature.Results[0]);
            AfterCall();
            return;
        }
        if (callee < imports)
        {
            StoreArgumentsToScratch(signature, first);
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, callee);
            il.Emit(OpCodes.Ldloc, _scratch);
            LocationArguments();
            il.Call(Helpers.CallHost);
            LoadResultsFromScratch(signature, first);
            AfterCall();
            return;
        }

        var definedIndex = callee - imports;
        EnterCall(() => il.Emit(OpCodes.Ldc_I4, definedIndex));

        var interpreted = il.DefineLabel();
        var done = il.DefineLabel();
        if (resolveCallee(definedIndex) is { } target)
        {
            il.Emit(OpCodes.Ldc_I4, target.FrameBytes);
            EmitStackCheck(interpreted);
            Arg(FiberArg);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldc_I4, 1);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldloc, _fuel);
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.Call(target.Method, target.ParameterTypes, target.ReturnType);
            StoreCallResults(signature, first, target.ReturnType);
            il.Emit(OpCodes.Br, done);
        }
        il.MarkLabel(interpreted);
        PublishFuel();
        StoreArgumentsToScratch(signature, first);
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, definedIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        Arg(DepthArg);
        il.Call(Helpers.CallInterpreted);
        LoadResultsFromScratch(signature, first);
        Runtime(Helpers.GetFuel, _fuel);
        il.MarkLabel(done);
        ReloadHeap();
    }

    /// <summary>call_indirect, or (without <paramref name="checkSignature"/>) call_ref, whose typed reference the
    /// verifier proved has the signature: the helper is given ~s then and compares no signatures.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "JitRuntime.IndirectBody puts no DynamicallyAccessedMembers requirement on its type parameter.")]
    private void EmitCallIndirect(int typeIndex, int h, bool checkSignature)
    {
        var signature = module.Definition.Types[typeIndex];
        var first = h - 1 - signature.Parameters.Length;
        var helper = il.DefineLabel();
        var done = il.DefineLabel();
        if (IndirectTargets.DelegateType(signature) is { } delegateType)
        {
            // A compiled callee with an entry is called like a direct callee, its arguments in registers; anything
            // else (no entry yet, an import, a bad reference or signature, too little stack) takes the helper, which
            // traps or calls as the interpreter does (see IndirectTargets).
            var target = _indirectTarget ??= il.DeclareLocal(typeof(IndirectTarget));
            var calleeIndex = _calleeIndex ??= il.DeclareLocal(typeof(int));
            Arg(FiberArg);
            Load(h - 1);
            il.Call(Helpers.IndirectTarget);
            il.Emit(OpCodes.Stloc, target);
            il.Emit(OpCodes.Ldloc, target);
            il.Emit(OpCodes.Brfalse, helper);
            if (checkSignature)
            {
                il.Emit(OpCodes.Ldloc, target);
                il.Emit(OpCodes.Ldfld, Helpers.IndirectSignatureId);
                il.Emit(OpCodes.Ldc_I4, module.SignatureId(typeIndex));
                il.Emit(OpCodes.Bne_Un, helper);
            }
            il.Emit(OpCodes.Ldloc, target);
            il.Emit(OpCodes.Ldfld, Helpers.IndirectFrameBytes);
            EmitStackCheck(helper);
            Load(h - 1);
            il.Emit(OpCodes.Ldc_I8, (long)module.Definition.Imports.Count);
            il.Emit(OpCodes.Sub);
            il.Emit(OpCodes.Conv_I4);
            il.Emit(OpCodes.Stloc, calleeIndex);
            EnterCall(() => il.Emit(OpCodes.Ldloc, calleeIndex));
            il.Emit(OpCodes.Ldloc, target);
            il.Call(Helpers.IndirectBody.MakeGenericMethod(delegateType));
            Arg(FiberArg);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldc_I4, 1);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldloc, _fuel);
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.CallVirtual(IndirectTargets.Invoke(delegateType));
            StoreCallResults(signature, first, ReturnType(signature));
            il.Emit(OpCodes.Br, done);
        }
        il.MarkLabel(helper);
        StoreArgumentsToScratch(signature, first);
        Arg(FiberArg);
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I4, checkSignature ? typeIndex : ~typeIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        LocationArguments();
        il.Call(Helpers.CallIndirect);
        LoadResultsFromScratch(signature, first);
        Runtime(Helpers.GetFuel, _fuel);
        il.MarkLabel(done);
        ReloadHeap();
    }

    /// <summary>
    /// What every call of a defined function from compiled code does before the CIL call: the depth check (past the
    /// call-site table's length a cold block grows it, or traps at the store's limit, naming the callee whose index
    /// <paramref name="loadDefinedIndex"/> pushes, and comes back) and the call site. The fuel goes to a compiled
    /// callee as its argument; a path into the runtime publishes it first (<see cref="PublishFuel"/>).
    /// </summary>
    private void EnterCall(Action loadDefinedIndex)
    {
        var site = Site;
        var depthChecked = il.DefineLabel();
        var depthStub = Stub(() =>
        {
            Arg(FiberArg);
            loadDefinedIndex();
            il.Emit(OpCodes.Ldc_I8, site);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldloc, _fuel);
            il.Call(Helpers.EnsureDepth);
            il.Emit(OpCodes.Stloc, _maxDepth);
            il.Emit(OpCodes.Br, depthChecked);
        });
        Arg(DepthArg);
        il.Emit(OpCodes.Ldloc, _maxDepth);
        il.Emit(OpCodes.Bge, depthStub);
        il.MarkLabel(depthChecked);
        // The table may have grown in a callee since this frame began: read it from the fiber at each call.
        Arg(FiberArg);
        il.Call(Helpers.Sites);
        Arg(DepthArg);
        il.Emit(OpCodes.Ldc_I8, site);
        il.Emit(OpCodes.Stelem_I8);
    }

    /// <summary>
    /// A direct call uses .NET stack: unless the callee's whole frame, whose size in bytes is on the CIL stack,
    /// fits above the limit, branches to <paramref name="tooDeep"/> to run it another way (see Fiber.StackLimit).
    /// </summary>
    private void EmitStackCheck(Label tooDeep)
    {
        // probe - frame <= limit, tested as frame + limit >= probe so that the frame size can be pushed first.
        il.Emit(OpCodes.Conv_U);
        il.Emit(OpCodes.Ldloc, _stackLimit);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldloca, _stackProbe);
        il.Emit(OpCodes.Conv_U);
        il.Emit(OpCodes.Bge_Un, tooDeep);
    }

    /// <summary>Stores a compiled callee's return value (of <paramref name="returnType"/>): the fuel left into this
    /// frame's fuel local, and its results: the single one returned, or several from the fiber's result buffer.</summary>
    private void StoreCallResults(FunctionType signature, int first, Type returnType)
    {
        FuelConvention.Split(il, returnType, Temporary, () => il.Emit(OpCodes.Stloc, _fuel));
        if (signature.Results.Length == 1)
        {
            Store(first, signature.Results[0]);
            return;
        }
        for (var i = 0; i < signature.Results.Length; i++)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, i);
            if (signature.Results[i] == VmType.Word) il.Call(Helpers.GetResultWord);
            else
            {
                il.Call(Helpers.GetResult);
                if (signature.Results[i] == VmType.F64) il.Call(Helpers.BitsToDouble);
            }
            Store(first + i, signature.Results[i]);
        }
    }

    /// <summary>Reserves scratch slots above the interpreter frames and stores the call's arguments there.</summary>
    /// <summary>
    /// The helper that calls a host import of this signature with its arguments in registers (see
    /// <c>JitRuntime.HostFunc0</c> and its siblings), or null when a parameter or result is a ptr or word, there are
    /// more than eight parameters, or more than one result.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "JitRuntime's HostFunc and HostAction helpers put no DynamicallyAccessedMembers requirement on their type parameters.")]
    private static System.Reflection.MethodInfo? TypedHostCall(FunctionType signature)
    {
        if (signature.Parameters.Length > Hosting.Isolate.MaxTypedArity || signature.Results.Length > 1) return null;
        if (signature.Parameters.Concat(signature.Results).Any(t => t is not (VmType.I64 or VmType.F64))) return null;
        var types = signature.Parameters.Concat(signature.Results).Select(ClrType).ToArray();
        var name = (signature.Results.Length == 1 ? "HostFunc" : "HostAction") + signature.Parameters.Length;
        var helper = typeof(JitRuntime).GetMethod(name)!;
        return types.Length == 0 ? helper : helper.MakeGenericMethod(types);
    }

    private void StoreArgumentsToScratch(FunctionType signature, int first)
    {
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, Math.Max(signature.Parameters.Length, signature.Results.Length));
        il.Call(Helpers.Scratch);
        il.Emit(OpCodes.Stloc, _scratch);
        for (var i = 0; i < signature.Parameters.Length; i++)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _scratch);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Add);
            Load(first + i);
            switch (signature.Parameters[i])
            {
                case VmType.Word: il.Call(Helpers.SetSlotWord); break;
                case VmType.F64: il.Call(Helpers.DoubleToBits); il.Call(Helpers.SetSlot); break;
                case VmType.Ptr: il.Call(Helpers.SetSlotPointer); break;
                default: il.Call(Helpers.SetSlot); break;
            }
        }
    }

    private void LoadResultsFromScratch(FunctionType signature, int first)
    {
        for (var i = 0; i < signature.Results.Length; i++)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _scratch);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Add);
            if (signature.Results[i] == VmType.Word) il.Call(Helpers.SlotWord);
            else
            {
                il.Call(Helpers.GetSlot);
                if (signature.Results[i] == VmType.F64) il.Call(Helpers.BitsToDouble);
            }
            Store(first + i, signature.Results[i]);
        }
    }

    /// <summary>After any call the fuel may have been spent and the heap arena replaced.</summary>
    private void AfterCall()
    {
        Runtime(Helpers.GetFuel, _fuel);
        ReloadHeap();
    }
}
