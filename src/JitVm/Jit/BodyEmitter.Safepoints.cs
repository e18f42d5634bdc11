using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Safepoints: the spill area the collector sees, and spilling and reloading around each safepoint.</summary>
internal sealed partial class BodyEmitter
{
    /// <summary>
    /// Safepoints keep every pointer (and word) the function still needs in a spill area on the frame stack, where
    /// the collector can see and move it, and reload them afterwards. The area holds the pointer locals, then the
    /// live pointer values of the operand stack; its size is the largest such set over the function's safepoints.
    /// </summary>
    private int SpillAreaSize()
    {
        var code = _analysis.Definition.Code;
        // A piece spills the pointer locals it keeps in CIL locals; the frame, a root itself, holds the others.
        _pointerLocals = [.. _usedLocals.Where(i => IsTraced(_analysis.LocalTypes[i]))];
        var stackMax = 0;
        for (var pc = 0; pc < code.Length; pc++)
        {
            var consumed = Consumed(code[pc]);
            if (consumed < 0) continue;
            var types = TypeStack.ToArray(_analysis.StackBefore[pc]);
            stackMax = Math.Max(stackMax, types.Take(types.Length - consumed).Count(IsTraced));
        }
        return _pointerLocals.Length + stackMax;
    }

    private static bool IsTraced(VmType type) => type is VmType.Ptr or VmType.Word;

    /// <summary>How many operands a safepoint instruction consumes, or -1 when the instruction is not a safepoint.</summary>
    private int Consumed(Instruction instruction) => OpCodeTable.SafepointOperands(instruction, module.Definition);

    /// <summary>Before a safepoint: spill pointer locals and live pointer stack values (returns what to reload).</summary>
    private List<(int Slot, LocalBuilder Local, VmType Type)> Spill(int consumed)
    {
        var spilled = new List<(int, LocalBuilder, VmType)>();
        if (_spillBase is null) return spilled;
        foreach (var local in _pointerLocals) spilled.Add((spilled.Count, _locals[local], _analysis.LocalTypes[local]));
        for (var height = 0; height < _types.Length - consumed; height++)
            if (IsTraced(_types[height])) spilled.Add((spilled.Count, StackLocal(height, _types[height]), _types[height]));
        foreach (var (slot, local, type) in spilled)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldloc, local);
            il.Call(type == VmType.Word ? Helpers.SetSlotWord : Helpers.SpillPointer);
        }
        // Clear the rest of the area: a pointer left from an earlier safepoint would keep a dead object alive here
        // but not in the interpreter, and the tiers must agree even on when the heap is full.
        for (var slot = spilled.Count; slot < _spillSize; slot++)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Call(Helpers.SpillPointer);
        }
        return spilled;
    }

    /// <summary>After a safepoint: reload what was spilled, as the collector may have moved it.</summary>
    private void Reload(List<(int Slot, LocalBuilder Local, VmType Type)> spilled)
    {
        foreach (var (slot, local, type) in spilled)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _spillBase!);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            il.Call(type == VmType.Word ? Helpers.SlotWord : Helpers.GetSlot);
            il.Emit(OpCodes.Stloc, local);
        }
    }
}
