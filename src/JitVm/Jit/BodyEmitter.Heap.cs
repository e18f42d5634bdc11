using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Heap access: allocation, bounds- and tag-checked loads and stores, the write barrier.</summary>
internal sealed partial class BodyEmitter
{
    /// <summary>
    /// alloc: pay the size part of its cost (only lengths of 8 words or more have one, so small objects pay one
    /// compare), then try the inline nursery bump; only when it fails spill, call the allocator (which may collect
    /// and trap), and reload. So the common case costs no spills.
    /// </summary>
    private void LowerAlloc(int consumed)
    {
        var h = _types.Length;
        var done = il.DefineLabel();
        var paid = il.DefineLabel();
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, (long)SizeFuel.UnitsPerFuel);
        il.Emit(OpCodes.Blt_Un, paid);
        Arg(FiberArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.ChargeAllocation);
        il.Emit(OpCodes.Stloc, _fuel);
        il.MarkLabel(paid);
        Arg(FiberArg);
        Load(h - 1);
        il.Call(Helpers.AllocFast);
        il.Emit(OpCodes.Stloc, _index);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Brtrue, done);
        var spilled = Spill(consumed);
        Arg(FiberArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.Alloc);
        il.Emit(OpCodes.Stloc, _index);
        Reload(spilled);
        ReloadHeap();
        il.MarkLabel(done);
        il.Emit(OpCodes.Ldloc, _index);
        Store(h - 1, VmType.Ptr);
    }


    /// <summary>Pushes the length of the object whose pointer is at stack height <paramref name="pointer"/>.</summary>
    private void LoadLength(int pointer)
    {
        il.Emit(OpCodes.Ldloc, _words);
        Load(pointer);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldc_I8, 0xFFFF_FFFFL);
        il.Emit(OpCodes.And);
    }

    /// <summary>Bounds-checks field (pointer, index) and leaves the arena index of the field in <see cref="_index"/>.</summary>
    private void FieldIndex(OpCode opCode, int pointer, int index, Label fault)
    {
        Load(index);
        LoadLength(pointer);
        il.Emit(OpCodes.Bge_Un, fault);
        Load(pointer);
        Load(index);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, _index);
        _ = opCode;
    }

    private Label HeapFaultStub(OpCode opCode, int pointer, int index)
    {
        var pointerLocal = StackLocal(pointer, _types[pointer]);
        var indexLocal = StackLocal(index, _types[index]);
        return ThrowingStub(Helpers.HeapFault, () =>
        {
            il.Emit(OpCodes.Ldc_I4, (int)opCode);
            il.Emit(OpCodes.Ldloc, pointerLocal);
            il.Emit(OpCodes.Ldloc, indexLocal);
        });
    }

    /// <summary>Pushes the tag bit (0 or 1, as I8) of arena word <see cref="_index"/>.</summary>
    private void LoadTagBit()
    {
        il.Emit(OpCodes.Ldloc, _tags);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, 6);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, 63);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.And);
    }

    private void EmitLoad(OpCode opCode, int h)
    {
        var fault = HeapFaultStub(opCode, h - 2, h - 1);
        FieldIndex(opCode, h - 2, h - 1, fault);
        if (opCode != OpCode.LoadW)
        {
            LoadTagBit();
            il.Emit(opCode == OpCode.LoadP ? OpCodes.Brfalse : OpCodes.Brtrue, fault);
        }
        il.Emit(OpCodes.Ldloc, _words);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        switch (opCode)
        {
            case OpCode.LoadF:
                il.Call(Helpers.BitsToDouble);
                Store(h - 2, VmType.F64);
                break;
            case OpCode.LoadP:
                Store(h - 2, VmType.Ptr);
                break;
            case OpCode.LoadW:
                LoadTagBit();
                il.Emit(OpCodes.Conv_I4);
                il.Call(Helpers.MakeWord);
                Store(h - 2, VmType.Word);
                break;
            default:
                Store(h - 2, VmType.I64);
                break;
        }
    }

    private void EmitStore(OpCode opCode, int h)
    {
        var fault = HeapFaultStub(opCode, h - 3, h - 2);
        FieldIndex(opCode, h - 3, h - 2, fault);
        il.Emit(OpCodes.Ldloc, _words);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I);
        Load(h - 1);
        if (opCode == OpCode.StoreF) il.Call(Helpers.DoubleToBits);
        if (opCode == OpCode.StoreW) il.Emit(OpCodes.Ldfld, Helpers.WordBits);
        il.Emit(OpCodes.Stelem_I8);
        switch (opCode)
        {
            case OpCode.StoreP:
                SetTagBit(set: true);
                WriteBarrier(h - 3, h - 1);
                break;
            case OpCode.StoreW:
            {
                var clear = il.DefineLabel();
                var done = il.DefineLabel();
                Load(h - 1);
                il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
                il.Emit(OpCodes.Brfalse, clear);
                SetTagBit(set: true);
                WriteBarrier(h - 3, h - 1);
                il.Emit(OpCodes.Br, done);
                il.MarkLabel(clear);
                SetTagBit(set: false);
                il.MarkLabel(done);
                break;
            }
            default:
                SetTagBit(set: false);
                break;
        }
    }

    /// <summary>The write barrier: when an old object (pointer at stack height <paramref name="pointer"/>) now holds a
    /// young pointer (at height <paramref name="value"/>; a ptr or a tagged word), tell the heap.</summary>
    private void WriteBarrier(int pointer, int value)
    {
        var skip = il.DefineLabel();
        LoadBits(value);
        il.Emit(OpCodes.Ldloc, _nurseryEnd);
        il.Emit(OpCodes.Bge, skip);
        Load(pointer);
        il.Emit(OpCodes.Ldloc, _nurseryEnd);
        il.Emit(OpCodes.Blt, skip);
        Arg(FiberArg);
        Load(pointer);
        LoadBits(value);
        il.Call(Helpers.RecordWrite);
        il.MarkLabel(skip);
    }

    private void LoadBits(int height)
    {
        Load(height);
        if (_types[height] == VmType.Word) il.Emit(OpCodes.Ldfld, Helpers.WordBits);
    }

    /// <summary>tags[index >> 6] |= bit (or &amp;= ~bit) for arena word <see cref="_index"/>.</summary>
    private void SetTagBit(bool set)
    {
        il.Emit(OpCodes.Ldloc, _tags);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, 6);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldloc, _tags);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, 6);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, 63);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Shl);
        if (!set) il.Emit(OpCodes.Not);
        il.Emit(set ? OpCodes.Or : OpCodes.And);
        il.Emit(OpCodes.Stelem_I8);
    }

    private void ReloadHeap()
    {
        if (!_usesHeap) return;
        Runtime(Helpers.HeapWords, _words);
        Runtime(Helpers.HeapTags, _tags);
    }
}
