using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Semantics;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Integer and floating-point arithmetic, comparisons and conversions with the VM's traps.</summary>
internal sealed partial class BodyEmitter
{

    // canonical: for f64 arithmetic, replace a NaN result by the canonical NaN (Arithmetic.Canonical, the shared rule).
    private void Binary(int h, System.Reflection.Emit.OpCode op, bool canonical = false)
    {
        var type = _types[h - 2];
        Load(h - 2);
        Load(h - 1);
        il.Emit(op);
        if (canonical) il.Call(Helpers.Canonical);
        Store(h - 2, type);
    }

    private void Unary(int h, System.Reflection.MethodInfo method, VmType result, bool canonical = false)
    {
        Load(h - 1);
        il.Call(method);
        if (canonical) il.Call(Helpers.Canonical);
        Store(h - 1, result);
    }

    private void Shift(int h, System.Reflection.Emit.OpCode op)
    {
        Load(h - 2);
        Load(h - 1);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, 63);
        il.Emit(OpCodes.And);
        il.Emit(op);
        Store(h - 2, VmType.I64);
    }

    private void Compare(int h, System.Reflection.Emit.OpCode op, bool negate)
    {
        Load(h - 2);
        Load(h - 1);
        il.Emit(op);
        if (negate)
        {
            il.Emit(OpCodes.Ldc_I4, 0);
            il.Emit(OpCodes.Ceq);
        }
        il.Emit(OpCodes.Conv_I8);
        Store(h - 2, VmType.I64);
    }

    private void Extend(int h, System.Reflection.Emit.OpCode narrow)
    {
        Load(h - 1);
        il.Emit(narrow);
        il.Emit(OpCodes.Conv_I8);
        Store(h - 1, VmType.I64);
    }

    /// <summary>
    /// Division and remainder, inlined: the rules of <see cref="Arithmetic.DivS"/>, <see cref="Arithmetic.DivU"/>,
    /// <see cref="Arithmetic.RemS"/> and <see cref="Arithmetic.RemU"/> (zero divisor, and MIN / -1, which CIL would
    /// fault on), raising the same <see cref="Traps"/>.
    /// </summary>
    private void Divide(int h, bool signed, bool remainder)
    {
        var byZero = remainder ? Traps.RemainderByZero : Traps.DivisionByZero;
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Beq, TrapStub(byZero.Code, byZero.Message));
        if (!signed)
        {
            Load(h - 2);
            Load(h - 1);
            il.Emit(remainder ? OpCodes.Rem_Un : OpCodes.Div_Un);
            Store(h - 2, VmType.I64);
            return;
        }
        var normal = il.DefineLabel();
        var done = il.DefineLabel();
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, -1L);
        il.Emit(OpCodes.Bne_Un, normal);
        if (remainder)
        {
            il.Emit(OpCodes.Ldc_I8, 0L);
            Store(h - 2, VmType.I64);
            il.Emit(OpCodes.Br, done);
        }
        else
        {
            Load(h - 2);
            il.Emit(OpCodes.Ldc_I8, long.MinValue);
            il.Emit(OpCodes.Beq, TrapStub(Traps.DivisionOverflow.Code, Traps.DivisionOverflow.Message));
        }
        il.MarkLabel(normal);
        Load(h - 2);
        Load(h - 1);
        il.Emit(remainder ? OpCodes.Rem : OpCodes.Div);
        Store(h - 2, VmType.I64);
        il.MarkLabel(done);
    }
}
