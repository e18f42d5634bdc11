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

    /// <summary>Makes the plan of which slots each safepoint writes (<see cref="SpillPlan"/>).</summary>
    private SpillPlan MakeSpillPlan()
    {
        var slotOfLocal = new int[_analysis.LocalTypes.Length];
        Array.Fill(slotOfLocal, -1);
        for (var i = 0; i < _pointerLocals.Length; i++) slotOfLocal[_pointerLocals[i]] = i;
        var code = _analysis.Definition.Code;
        var liveness = _analysis.Liveness;
        return SpillPlan.Make(_analysis, _first, _end, slotOfLocal, _pointerLocals.Length, _spillSize - _pointerLocals.Length,
            pc => plan?.EntryAt[pc] >= 0,
            pc => Consumed(code[pc]) is var consumed and >= 0 ? TracedBelow(TypeStack.ToArray(_analysis.StackBefore[pc]), consumed) : -1,
            (pc, k) => liveness.IsLive(pc, _pointerLocals[k]));
    }

    private static int TracedBelow(VmType[] types, int consumed) => types.Take(types.Length - consumed).Count(IsTraced);

    /// <summary>
    /// Before a safepoint: writes the dirty live locals and the live pointer stack values to their slots, clears the
    /// slots of dead locals and the stack slots an earlier safepoint left set, and notes the collection count;
    /// returns what <see cref="Reload"/> restores.
    /// </summary>
    private List<(int Slot, LocalBuilder Local, VmType Type, bool Live)> Spill(int consumed)
    {
        var spilled = new List<(int, LocalBuilder, VmType, bool)>();
        if (_spillBase is null) return spilled;
        var writes = new List<(int Slot, LocalBuilder? Local, VmType Type)>();
        var liveness = _analysis.Liveness;
        for (var i = 0; i < _pointerLocals.Length; i++)
        {
            var local = _pointerLocals[i];
            var type = _analysis.LocalTypes[local];
            var live = liveness.IsLive(_pc, local);
            spilled.Add((i, _locals[local], type, live));
            if (live && _spillPlan!.IsDirty(_pc, i)) writes.Add((i, _locals[local], type));
            else if (!live && _spillPlan!.MayBeSet(_pc, i)) writes.Add((i, null, VmType.Ptr));
        }
        for (var height = 0; height < _types.Length - consumed; height++)
            if (IsTraced(_types[height]))
            {
                var local = StackLocal(height, _types[height]);
                writes.Add((spilled.Count, local, _types[height]));
                spilled.Add((spilled.Count, local, _types[height], true));
            }
        // A stack value left from an earlier safepoint would keep a dead object alive here but not in the
        // interpreter, and the tiers must agree even on when the heap is full.
        for (var slot = spilled.Count; slot < _pointerLocals.Length + _spillPlan!.StackSlotsSet(_pc); slot++)
            writes.Add((slot, null, VmType.Ptr));
        if (writes.Count > 0) WriteSlots(writes);
        Runtime(Helpers.Collections, _collections!);
        return spilled;
    }

    /// <summary>Stores values (null: a clear slot) into the spill area through references to its first slot and
    /// tag, taken once: the area's extent was made room for when it was entered, so no store is bounds-checked.</summary>
    private void WriteSlots(List<(int Slot, LocalBuilder? Local, VmType Type)> writes)
    {
        _slotsRef ??= il.DeclareLocal(typeof(long).MakeByRefType());
        _tagsRef ??= il.DeclareLocal(typeof(byte).MakeByRefType());
        Arg(FiberArg);
        il.Emit(OpCodes.Ldloc, _spillBase!);
        il.Call(Helpers.SlotReference);
        il.Emit(OpCodes.Stloc, _slotsRef);
        Arg(FiberArg);
        il.Emit(OpCodes.Ldloc, _spillBase!);
        il.Call(Helpers.TagReference);
        il.Emit(OpCodes.Stloc, _tagsRef);
        foreach (var (slot, local, type) in writes)
        {
            il.Emit(OpCodes.Ldloc, _slotsRef);
            il.Emit(OpCodes.Ldc_I4, slot * sizeof(long));
            il.Emit(OpCodes.Add);
            if (local is null) il.Emit(OpCodes.Ldc_I8, 0L);
            else
            {
                il.Emit(OpCodes.Ldloc, local);
                if (type == VmType.Word) il.Emit(OpCodes.Ldfld, Helpers.WordBits);
            }
            il.Emit(OpCodes.Stind_I8);
            il.Emit(OpCodes.Ldloc, _tagsRef);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            if (local is null) il.Emit(OpCodes.Ldc_I4_0);
            else if (type == VmType.Word)
            {
                il.Emit(OpCodes.Ldloc, local);
                il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
            }
            else
            {
                // A ptr slot is tagged unless it holds 0 (an unassigned pointer local).
                il.Emit(OpCodes.Ldloc, local);
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Cgt_Un);
            }
            il.Emit(OpCodes.Stind_I1);
        }
    }

    /// <summary>After a safepoint: when a collection ran (it may have moved objects), reloads every live spilled value
    /// and clears the dead locals (the collector did not update them, and no stale pointer may reach a deoptimised
    /// frame's image); otherwise every live one still equals its slot.</summary>
    private void Reload(List<(int Slot, LocalBuilder Local, VmType Type, bool Live)> spilled)
    {
        if (spilled.Count == 0) return;
        var done = il.DefineLabel();
        var reload = Stub(() =>
        {
            foreach (var (slot, local, type, live) in spilled)
            {
                if (live)
                {
                    Arg(FiberArg);
                    il.Emit(OpCodes.Ldloc, _spillBase!);
                    il.Emit(OpCodes.Ldc_I4, slot);
                    il.Emit(OpCodes.Add);
                    il.Call(type == VmType.Word ? Helpers.SlotWord : Helpers.GetSlot);
                }
                else LoadZero(type);
                il.Emit(OpCodes.Stloc, local);
            }
            il.Emit(OpCodes.Br, done);
        });
        Arg(FiberArg);
        il.Call(Helpers.Collections);
        il.Emit(OpCodes.Ldloc, _collections!);
        il.Emit(OpCodes.Bne_Un, reload);
        il.MarkLabel(done);
    }
}
