using System.Reflection.Emit;
using JitVm.Bytecode;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>
/// Byte-addressed loads and stores and the bulk memory operations: each calls the helper that runs the shared
/// definition (checks, size part of the fuel, then the work, spec/instructions.md §3.7 and §3.10). None is a
/// safepoint and none replaces the heap's arrays, so nothing is spilled or reloaded around them. The bulk work
/// itself runs as Array.Copy, Span.Fill and a span comparison in the heap, not as a loop of CIL.
/// </summary>
internal sealed partial class BodyEmitter
{
    private void EmitLoadBytes(OpCode opCode, int h)
    {
        Arg(FiberArg);
        Load(h - 2);
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I4, (int)opCode);
        LocationArguments();
        il.Call(Helpers.LoadBytes);
        if (opCode == OpCode.LoadF64)
        {
            il.Call(Helpers.BitsToDouble);
            Store(h - 2, VmType.F64);
        }
        else
        {
            Store(h - 2, VmType.I64);
        }
    }

    private void EmitStoreBytes(OpCode opCode, int h)
    {
        Arg(FiberArg);
        Load(h - 3);
        Load(h - 2);
        Load(h - 1);
        if (opCode == OpCode.StoreF64) il.Call(Helpers.DoubleToBits);
        il.Emit(OpCodes.Ldc_I4, (int)opCode);
        LocationArguments();
        il.Call(Helpers.StoreBytes);
    }

    /// <summary>mem.copy [ptr i64 ptr i64 i64]: the helper returns the fuel slice left after the size part.</summary>
    private void EmitMemCopy(int h)
    {
        Arg(FiberArg);
        for (var i = h - 5; i < h; i++) Load(i);
        LocationArguments();
        il.Call(Helpers.MemCopy);
        il.Emit(OpCodes.Stloc, _fuel);
    }

    /// <summary>mem.fill [ptr i64 word i64].</summary>
    private void EmitMemFill(int h)
    {
        Arg(FiberArg);
        for (var i = h - 4; i < h; i++) Load(i);
        LocationArguments();
        il.Call(Helpers.MemFill);
        il.Emit(OpCodes.Stloc, _fuel);
    }

    /// <summary>mem.compare [ptr i64 ptr i64 i64] -> [i64]: checks and size part first, then the comparison.</summary>
    private void EmitMemCompare(int h)
    {
        Arg(FiberArg);
        for (var i = h - 5; i < h; i++) Load(i);
        LocationArguments();
        il.Call(Helpers.MemCompareCharge);
        il.Emit(OpCodes.Stloc, _fuel);
        Arg(FiberArg);
        for (var i = h - 5; i < h; i++) Load(i);
        il.Call(Helpers.MemCompareBytes);
        Store(h - 5, VmType.I64);
    }

    /// <summary>alloc.bytes, a safepoint spilled like data.alloc: pay the size part, then allocate through the heap
    /// (no inline bump: the header's byte count is set there), then reload the heap's arrays, which may have moved.</summary>
    private void LowerAllocBytes()
    {
        var h = _types.Length;
        Arg(FiberArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.ChargeBytesAllocation);
        il.Emit(OpCodes.Stloc, _fuel);
        Arg(FiberArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.AllocBytes);
        Store(h - 1, VmType.Ptr);
        ReloadHeap();
    }

    /// <summary>len.bytes inline for a plain object, 8 × words − the header's unused byte count (spec/values.md §2.4);
    /// a reference or sent object takes the checked form, which gives 0 or traps UseAfterSend.</summary>
    private void LowerLenBytes()
    {
        var h = _types.Length;
        var slow = il.DefineLabel();
        var done = il.DefineLabel();
        il.Emit(OpCodes.Ldloc, _words);
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Stloc, _index);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I8, Memory.Heap.NotPlainBits);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Brtrue, slow);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I8, 0xFFFF_FFFFL);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldc_I4, 3);
        il.Emit(OpCodes.Shl);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, Memory.Heap.UnusedBytesShift);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Ldc_I8, 7L);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stloc, _index);
        il.Emit(OpCodes.Br, done);
        il.MarkLabel(slow);
        Arg(FiberArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.CheckedByteLength);
        il.Emit(OpCodes.Stloc, _index);
        il.MarkLabel(done);
        il.Emit(OpCodes.Ldloc, _index);
        Store(h - 1, VmType.I64);
    }
}
