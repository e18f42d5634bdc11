using System.Reflection.Emit;
using JitVm.Bytecode;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>
/// The task and channel instructions: each calls its helper (the semantics are <c>TaskOps</c>'s, shared with the
/// interpreter). An instruction that can wait branches, when its helper says the task must suspend, to a deoptimisation
/// stub that writes the frame with the instruction's operands still on the stack and resumes at the instruction itself.
/// </summary>
internal sealed partial class BodyEmitter
{
    private bool LowerTaskInstruction(Instruction instruction)
    {
        var h = _types.Length;
        switch (instruction.OpCode)
        {
            case OpCode.TaskSpawn:
            {
                var signature = module.Definition.SignatureOf(instruction.Index);
                var first = h - signature.Parameters.Length;
                StoreArgumentsToScratch(new FunctionType(signature.Parameters, [VmType.Ptr]), first);
                Arg(FiberArg);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                il.Emit(OpCodes.Ldloc, _scratch);
                LocationArguments();
                il.Call(Helpers.TaskSpawn);
                Store(first, VmType.Ptr);
                AfterCall();
                return true;
            }
            case OpCode.TaskJoin:
            {
                var results = module.Definition.Types[instruction.Index].Results;
                var suspend = SuspendStub();
                Arg(FiberArg);
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                LocationArguments();
                il.Call(Helpers.TaskJoin);
                il.Emit(OpCodes.Brfalse, suspend);
                for (var i = 0; i < results.Length; i++) LoadResult(i, results[i], h - 1 + i);
                AfterCall();
                return true;
            }
            case OpCode.TaskSelf:
                Arg(FiberArg);
                LocationArguments();
                il.Call(Helpers.TaskSelf);
                Store(h, VmType.Ptr);
                AfterCall();
                return true;
            case OpCode.TaskCancel:
                Arg(FiberArg);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.TaskCancel);
                AfterCall();
                return true;
            case OpCode.ChanNew:
                Arg(FiberArg);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.ChanNew);
                Store(h - 1, VmType.Ptr);
                AfterCall();
                return true;
            case OpCode.ChanSend:
            {
                var suspend = SuspendStub();
                Arg(FiberArg);
                Load(h - 2);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.ChanSend);
                il.Emit(OpCodes.Brfalse, suspend);
                AfterCall();
                return true;
            }
            case OpCode.ChanRecv:
            case OpCode.ChanRecvFor:
            {
                var withTimeout = instruction.OpCode == OpCode.ChanRecvFor;
                var channel = withTimeout ? h - 2 : h - 1;
                var suspend = SuspendStub();
                Arg(FiberArg);
                Load(channel);
                if (withTimeout)
                {
                    Load(h - 1);
                    il.Emit(OpCodes.Ldc_I8, 0L);
                    il.Call(Helpers.MaxInt64);
                }
                else il.Emit(OpCodes.Ldc_I8, -1L);
                LocationArguments();
                il.Call(Helpers.ChanRecv);
                il.Emit(OpCodes.Brfalse, suspend);
                LoadResult(0, VmType.Word, channel);
                LoadResult(1, VmType.I64, channel + 1);
                AfterCall();
                return true;
            }
            case OpCode.ChanClose:
                Arg(FiberArg);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.ChanClose);
                AfterCall();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Where a waiting instruction goes to suspend: its frame's image, resuming at the instruction itself.</summary>
    private Label SuspendStub() => DeoptStub(_types.Length, decoded.SafepointOperation(_pc));

    private void LoadResult(int index, VmType type, int height)
    {
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, index);
        if (type == VmType.Word) il.Call(Helpers.GetResultWord);
        else
        {
            il.Call(Helpers.GetResult);
            if (type == VmType.F64) il.Call(Helpers.BitsToDouble);
        }
        Store(height, type);
    }
}
