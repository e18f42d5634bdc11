using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>
/// Tail calls (spec/execution.md §4.1): the callee's frame replaces this one, at this frame's depth, so a chain of
/// tail calls of any length uses constant VM stack. A call to the function itself becomes a jump to its start; a
/// direct call to another compiled function is a CIL <c>tail.</c> call, which the CLR turns into a jump, so it uses
/// constant .NET stack too; every other tail call goes through a runtime helper and then returns what the callee
/// returned (the .NET stack it keeps meanwhile is bounded by the stack limit, past which callees run in the
/// interpreter, whose tail calls need no .NET stack at all).
/// </summary>
internal sealed partial class BodyEmitter
{
    /// <summary>Lowers return_call, return_call_indirect and return_call_ref (false for any other instruction).</summary>
    private bool LowerTailCall(Instruction instruction, int consumed)
    {
        var h = _types.Length;
        switch (instruction.OpCode)
        {
            case OpCode.ReturnCall when instruction.Index < module.Definition.Imports.Count:
            {
                // A host function is no VM frame: call it from this frame, as call does, and return its results.
                var signature = module.Definition.SignatureOf(instruction.Index);
                var first = h - signature.Parameters.Length;
                var spilled = Spill(consumed);
                EmitCall(instruction.Index, h);
                // An asynchronous host function may suspend the task here: the frame's image (its pointers reloaded,
                // as after any call) resumes at the return after the call.
                Reload(spilled);
                DeoptimiseIfCalleeDid(consumed);
                ReturnResults(signature, first, spillAreaOpen: true);
                return true;
            }
            case OpCode.ReturnCall when instruction.Index == _functionIndex:
                EmitSelfTailCall(h);
                return true;
            case OpCode.ReturnCall:
                EmitTailCall(instruction.Index, h);
                return true;
            case OpCode.ReturnCallIndirect:
            case OpCode.ReturnCallRef:
            {
                var typeIndex = instruction.Index;
                var signature = module.Definition.Types[typeIndex];
                var first = h - 1 - signature.Parameters.Length;
                // This frame's roots stay spilled while the target is checked, or an import runs from this frame.
                Spill(consumed);
                StoreArgumentsToScratch(signature, first);
                Arg(FiberArg);
                Load(h - 1);
                // return_call_ref's reference is typed: ~s asks the helper to check nothing (Instance.ResolveIndirect).
                il.Emit(OpCodes.Ldc_I4, instruction.OpCode == OpCode.ReturnCallRef ? ~typeIndex : typeIndex);
                il.Emit(OpCodes.Ldloc, _scratch);
                if (_spillBase is not null) il.Emit(OpCodes.Ldloc, _spillBase);
                else il.Emit(OpCodes.Ldc_I4, -1);
                LocationArguments();
                il.Call(Helpers.TailCallIndirect);
                Runtime(Helpers.GetFuel, _fuel);
                LoadResultsFromScratch(signature, first);
                ReturnResults(signature, first, spillAreaOpen: false);
                return true;
            }
            default:
                return false;
        }
    }

    /// <summary>A tail call to the function itself: the arguments become the parameters, the declared locals start
    /// again at zero, and control jumps to the entry block, which charges its fuel as a call's would.</summary>
    private void EmitSelfTailCall(int h)
    {
        var parameters = _analysis.ParameterCount;
        var first = h - parameters;
        // The arguments are in stack locals, apart from every VM local, so the order of the stores does not matter.
        // A piece writes the locals it does not keep straight into the frame.
        for (var i = 0; i < _locals.Length; i++)
        {
            var type = _analysis.LocalTypes[i];
            if (_locals[i] is null)
            {
                if (i < parameters) StoreToFrame(i, StackLocal(first + i, _types[first + i]), type);
                else StoreZeroToFrame(i);
                continue;
            }
            if (i < parameters) Load(first + i);
            else LoadZero(type);
            il.Emit(OpCodes.Stloc, _locals[i]);
        }
        il.Emit(OpCodes.Br, Block(0));
    }

    /// <summary>A tail call to another defined function: a CIL tail call when it is compiled and its frame fits above
    /// the stack limit, else through the interpreter.</summary>
    private void EmitTailCall(int callee, int h)
    {
        var definition = module.Definition;
        var definedIndex = callee - definition.Imports.Count;
        var signature = definition.SignatureOf(callee);
        var first = h - signature.Parameters.Length;
        var interpreted = il.DefineLabel();
        // A piece returns to its driver, which holds no frame for a CIL tail call to replace.
        if (plan is null && resolveCallee(definedIndex) is { } target)
        {
            il.Emit(OpCodes.Ldc_I4, target.FrameBytes);
            EmitStackCheck(interpreted);
            CloseFrame(publishFuel: false);
            // The callee runs at this frame's depth with this frame's fuel; its return value (results and fuel) is
            // this function's, so nothing follows the call but ret.
            Arg(FiberArg);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldloc, _fuel);
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.Emit(OpCodes.Tailcall);
            il.Call(target.Method, target.ParameterTypes, target.ReturnType);
            il.Emit(OpCodes.Ret);
        }
        il.MarkLabel(interpreted);
        CloseFrame();
        StoreArgumentsToScratch(signature, first);
        // CallInterpreted enters its callee one deeper than the depth it is given.
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, definedIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        Arg(DepthArg);
        il.Emit(OpCodes.Ldc_I4, 1);
        il.Emit(OpCodes.Sub);
        il.Call(Helpers.CallInterpreted);
        Runtime(Helpers.GetFuel, _fuel);
        LoadResultsFromScratch(signature, first);
        ReturnResults(signature, first, spillAreaOpen: false);
    }

    /// <summary>Ends this frame's part of the protocol before it returns, tail-calls or leaves a piece: its spill
    /// area closes (none of its values is live any more; <paramref name="exitSpillArea"/> names how, ExitSpillArea
    /// unless given) when it is open, and, unless the fuel leaves in a return value or a compiled callee's argument
    /// (<paramref name="publishFuel"/> false), the fiber gets its fuel.</summary>
    private void CloseFrame(bool spillAreaOpen = true, System.Reflection.MethodInfo? exitSpillArea = null, bool publishFuel = true)
    {
        if (_spillBase is not null && spillAreaOpen)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Call(exitSpillArea ?? Helpers.ExitSpillArea);
        }
        if (publishFuel) PublishFuel();
    }

    /// <summary>Returns the callee's results, stored at heights from <paramref name="first"/>, as this function's.
    /// A callee that deoptimised left the slice negative: returning it as it is lets this frame's caller deoptimise
    /// too, and this frame, which the callee replaced, writes no image.</summary>
    private void ReturnResults(FunctionType signature, int first, bool spillAreaOpen)
    {
        _types = [.. _types.Take(first), .. signature.Results];
        EmitReturn(_types.Length, spillAreaOpen);
    }
}
