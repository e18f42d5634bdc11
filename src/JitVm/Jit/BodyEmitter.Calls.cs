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
        CloseFrame(spillAreaOpen);
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
        Ret(results.Length == 1 ? results[0] : null);
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
        // Past the call-site table's length, a cold block grows it (or traps at the store's limit) and comes back.
        var depthChecked = il.DefineLabel();
        var depthStub = Stub(() =>
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, definedIndex);
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
        Arg(FiberArg);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Call(Helpers.SetFuel);

        var interpreted = il.DefineLabel();
        var done = il.DefineLabel();
        if (resolveCallee(definedIndex) is { } target)
        {
            // A direct call uses .NET stack: unless the callee's whole frame fits above the limit, run the callee in
            // the interpreter instead (see Fiber.StackLimit).
            il.Emit(OpCodes.Ldloca, _stackProbe);
            il.Emit(OpCodes.Conv_U);
            il.Emit(OpCodes.Ldc_I4, target.FrameBytes);
            il.Emit(OpCodes.Conv_U);
            il.Emit(OpCodes.Sub);
            il.Emit(OpCodes.Ldloc, _stackLimit);
            il.Emit(OpCodes.Ble_Un, interpreted);
            Arg(FiberArg);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldc_I4, 1);
            il.Emit(OpCodes.Add);
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.Call(target.Method, target.ParameterTypes, target.ReturnType);
            if (signature.Results.Length == 1) Store(first, signature.Results[0]);
            else
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
            il.Emit(OpCodes.Br, done);
        }
        il.MarkLabel(interpreted);
        StoreArgumentsToScratch(signature, first);
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, definedIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        Arg(DepthArg);
        il.Call(Helpers.CallInterpreted);
        LoadResultsFromScratch(signature, first);
        il.MarkLabel(done);
        AfterCall();
    }

    /// <summary>call_indirect, or (without <paramref name="checkSignature"/>) call_ref, whose typed reference the
    /// verifier proved has the signature: the helper is given ~s then and compares no signatures.</summary>
    private void EmitCallIndirect(int typeIndex, int h, bool checkSignature)
    {
        var signature = module.Definition.Types[typeIndex];
        var first = h - 1 - signature.Parameters.Length;
        StoreArgumentsToScratch(signature, first);
        Arg(FiberArg);
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I4, checkSignature ? typeIndex : ~typeIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        LocationArguments();
        il.Call(Helpers.CallIndirect);
        LoadResultsFromScratch(signature, first);
        AfterCall();
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
