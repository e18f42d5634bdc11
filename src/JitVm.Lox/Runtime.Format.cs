using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;

namespace JitVm.Lox;

internal sealed partial class LoxRuntime
{
    /// <summary>
    /// Prints a number as clox does, with C's <c>printf("%g")</c>: six significant digits, trailing zeros dropped,
    /// positional when the decimal exponent is from -4 to 5, else <c>d.ddddde±XX</c>; <c>nan</c>, <c>inf</c>, <c>-0</c>.
    /// The six digits come from rounding x·10^(5−e) to an integer, with the power of ten built by multiplication
    /// (exact up to 10^22, so every number a test prints is exact).
    /// </summary>
    private void EmitNumberFormat()
    {
        var f = PrintNumber;
        var x = f.Parameter(0);
        var exponent = f.DeclareLocal(I64, "exponent");
        var scale = f.DeclareLocal(F64, "scale");
        var count = f.DeclareLocal(I64, "count");
        var mantissa = f.DeclareLocal(I64, "mantissa");
        var digits = f.DeclareLocal(I64, "digits");
        var i = f.DeclareLocal(I64, "i");
        var buffer = f.DeclareLocal(Ptr, "buffer");

        var notNan = f.DefineLabel();
        f.LocalGet(x).LocalGet(x).Emit(OpCode.F64Eq).BrIf(notNan);
        EmitText(f, "nan");
        f.Return().MarkLabel(notNan);
        var positive = f.DefineLabel();
        f.LocalGet(x).Emit(OpCode.I64ReinterpretF64).I64Const(0).Emit(OpCode.I64GeS).BrIf(positive);
        EmitText(f, "-");
        f.LocalGet(x).Emit(OpCode.F64Neg).LocalSet(x).MarkLabel(positive);
        var finite = f.DefineLabel();
        f.LocalGet(x).F64Const(double.PositiveInfinity).Emit(OpCode.F64Ne).BrIf(finite);
        EmitText(f, "inf");
        f.Return().MarkLabel(finite);
        var nonZero = f.DefineLabel();
        f.LocalGet(x).F64Const(0).Emit(OpCode.F64Ne).BrIf(nonZero);
        EmitText(f, "0");
        f.Return().MarkLabel(nonZero);

        // The decimal exponent e: 10^e <= x < 10^(e+1).
        var small = f.DefineLabel();
        var exponentKnown = f.DefineLabel();
        f.F64Const(1).LocalSet(scale)
         .LocalGet(x).F64Const(1).Emit(OpCode.F64Lt).BrIf(small);
        var up = f.DefineLabel();
        f.MarkLabel(up).LocalGet(x).LocalGet(scale).F64Const(10).Emit(OpCode.F64Mul).Emit(OpCode.F64Lt).BrIf(exponentKnown)
         .LocalGet(scale).F64Const(10).Emit(OpCode.F64Mul).LocalSet(scale)
         .LocalGet(exponent).I64Const(1).Emit(OpCode.I64Add).LocalSet(exponent).Br(up);
        var down = f.DefineLabel();
        f.MarkLabel(small).MarkLabel(down).LocalGet(x).LocalGet(scale).Emit(OpCode.F64Mul).F64Const(1).Emit(OpCode.F64Ge).BrIf(exponentKnown)
         .LocalGet(scale).F64Const(10).Emit(OpCode.F64Mul).LocalSet(scale)
         .LocalGet(exponent).I64Const(1).Emit(OpCode.I64Sub).LocalSet(exponent).Br(down);
        f.MarkLabel(exponentKnown);

        // mantissa := round(x * 10^(5 - e)), six digits.
        var roundAgain = f.DefineLabel();
        var fits = f.DefineLabel();
        f.MarkLabel(roundAgain);
        EmitPowerOfTen(f, exponent, count, scale);
        var divide = f.DefineLabel();
        var rounded = f.DefineLabel();
        f.I64Const(5).LocalGet(exponent).Emit(OpCode.I64Sub).I64Const(0).Emit(OpCode.I64LtS).BrIf(divide)
         .LocalGet(x).LocalGet(scale).Emit(OpCode.F64Mul).Emit(OpCode.F64Nearest).Emit(OpCode.I64TruncSatF64S).LocalSet(mantissa).Br(rounded)
         .MarkLabel(divide).LocalGet(x).LocalGet(scale).Emit(OpCode.F64Div).Emit(OpCode.F64Nearest).Emit(OpCode.I64TruncSatF64S).LocalSet(mantissa)
         .MarkLabel(rounded)
         .LocalGet(mantissa).I64Const(1_000_000).Emit(OpCode.I64LtS).BrIf(fits);
        // Rounding carried into a seventh digit (999999.5 -> 1000000): one more decade.
        f.LocalGet(exponent).I64Const(1).Emit(OpCode.I64Add).LocalSet(exponent).Br(roundAgain).MarkLabel(fits);

        // Drop trailing zeros: digits := significant digits left.
        var stripped = f.DefineLabel();
        var strip = f.DefineLabel();
        f.I64Const(6).LocalSet(digits)
         .MarkLabel(strip).LocalGet(digits).I64Const(1).Emit(OpCode.I64Eq).BrIf(stripped)
         .LocalGet(mantissa).I64Const(10).Emit(OpCode.I64RemS).BrIf(stripped)
         .LocalGet(mantissa).I64Const(10).Emit(OpCode.I64DivS).LocalSet(mantissa)
         .LocalGet(digits).I64Const(1).Emit(OpCode.I64Sub).LocalSet(digits).Br(strip)
         .MarkLabel(stripped);

        // The digits as ASCII bytes 0 .. digits-1 of a one-word buffer.
        f.I64Const(1).Emit(OpCode.Alloc).LocalSet(buffer).LocalGet(digits).LocalSet(i);
        var fill = f.DefineLabel();
        var filled = f.DefineLabel();
        f.MarkLabel(fill).LocalGet(i).Emit(OpCode.I64Eqz).BrIf(filled)
         .LocalGet(i).I64Const(1).Emit(OpCode.I64Sub).LocalSet(i)
         .LocalGet(buffer).LocalGet(i).LocalGet(mantissa).I64Const(10).Emit(OpCode.I64RemS).I64Const('0').Emit(OpCode.I64Add).Emit(OpCode.StoreU8)
         .LocalGet(mantissa).I64Const(10).Emit(OpCode.I64DivS).LocalSet(mantissa).Br(fill)
         .MarkLabel(filled);

        var positional = f.DefineLabel();
        var fraction = f.DefineLabel();
        f.LocalGet(exponent).I64Const(-4).Emit(OpCode.I64LtS).LocalGet(exponent).I64Const(6).Emit(OpCode.I64GeS).Emit(OpCode.I64Or).BrIfZ(positional);
        {
            // d[.ddddd]e±XX
            var oneDigit = f.DefineLabel();
            f.LocalGet(buffer).I64Const(0).I64Const(1).Call(PrintBytes)
             .LocalGet(digits).I64Const(1).Emit(OpCode.I64Eq).BrIf(oneDigit);
            EmitText(f, ".");
            f.LocalGet(buffer).I64Const(1).LocalGet(digits).I64Const(1).Emit(OpCode.I64Sub).Call(PrintBytes).MarkLabel(oneDigit);
            EmitText(f, "e");
            var nonNegative = f.DefineLabel();
            var signed = f.DefineLabel();
            f.LocalGet(exponent).I64Const(0).Emit(OpCode.I64GeS).BrIf(nonNegative);
            EmitText(f, "-");
            f.I64Const(0).LocalGet(exponent).Emit(OpCode.I64Sub).LocalSet(exponent).Br(signed).MarkLabel(nonNegative);
            EmitText(f, "+");
            f.MarkLabel(signed);
            var belowHundred = f.DefineLabel();
            f.LocalGet(exponent).I64Const(100).Emit(OpCode.I64LtS).BrIf(belowHundred)
             .LocalGet(exponent).I64Const(100).Emit(OpCode.I64DivS).I64Const('0').Emit(OpCode.I64Add).Call(PrintChar)
             .MarkLabel(belowHundred)
             .LocalGet(exponent).I64Const(10).Emit(OpCode.I64DivS).I64Const(10).Emit(OpCode.I64RemS).I64Const('0').Emit(OpCode.I64Add).Call(PrintChar)
             .LocalGet(exponent).I64Const(10).Emit(OpCode.I64RemS).I64Const('0').Emit(OpCode.I64Add).Call(PrintChar).Return();
        }
        f.MarkLabel(positional).LocalGet(exponent).I64Const(0).Emit(OpCode.I64LtS).BrIf(fraction);
        {
            // e >= 0: max(digits, e + 1) characters, a '.' before character e + 1, zeros past the digits.
            var loop = f.DefineLabel();
            var noPoint = f.DefineLabel();
            var digit = f.DefineLabel();
            var next = f.DefineLabel();
            var done = f.DefineLabel();
            f.I64Const(0).LocalSet(i).MarkLabel(loop)
             .LocalGet(i).LocalGet(digits).Emit(OpCode.I64GeS).LocalGet(i).LocalGet(exponent).Emit(OpCode.I64GtS).Emit(OpCode.I64And).BrIf(done)
             .LocalGet(i).LocalGet(exponent).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.I64Ne).BrIf(noPoint);
            EmitText(f, ".");
            f.MarkLabel(noPoint).LocalGet(i).LocalGet(digits).Emit(OpCode.I64LtS).BrIf(digit);
            EmitText(f, "0");
            f.Br(next).MarkLabel(digit).LocalGet(buffer).LocalGet(i).I64Const(1).Call(PrintBytes)
             .MarkLabel(next).LocalGet(i).I64Const(1).Emit(OpCode.I64Add).LocalSet(i).Br(loop)
             .MarkLabel(done).Return();
        }
        {
            // -4 <= e < 0: "0." then -e-1 zeros, then the digits.
            f.MarkLabel(fraction);
            EmitText(f, "0.");
            var zeros = f.DefineLabel();
            var zerosDone = f.DefineLabel();
            f.I64Const(-1).LocalGet(exponent).Emit(OpCode.I64Sub).LocalSet(i)
             .MarkLabel(zeros).LocalGet(i).Emit(OpCode.I64Eqz).BrIf(zerosDone);
            EmitText(f, "0");
            f.LocalGet(i).I64Const(1).Emit(OpCode.I64Sub).LocalSet(i).Br(zeros)
             .MarkLabel(zerosDone).LocalGet(buffer).I64Const(0).LocalGet(digits).Call(PrintBytes).Return();
        }
    }

    /// <summary>Emits scale := 10^|5 − exponent| by repeated multiplication (count is scratch).</summary>
    private static void EmitPowerOfTen(FunctionBuilder f, JitVm.Bytecode.LocalReference exponent, JitVm.Bytecode.LocalReference count,
        JitVm.Bytecode.LocalReference scale)
    {
        var positive = f.DefineLabel();
        var loop = f.DefineLabel();
        var done = f.DefineLabel();
        f.F64Const(1).LocalSet(scale)
         .I64Const(5).LocalGet(exponent).Emit(OpCode.I64Sub).LocalTee(count).I64Const(0).Emit(OpCode.I64GeS).BrIf(positive)
         .I64Const(0).LocalGet(count).Emit(OpCode.I64Sub).LocalSet(count)
         .MarkLabel(positive).MarkLabel(loop).LocalGet(count).Emit(OpCode.I64Eqz).BrIf(done)
         .LocalGet(scale).F64Const(10).Emit(OpCode.F64Mul).LocalSet(scale)
         .LocalGet(count).I64Const(1).Emit(OpCode.I64Sub).LocalSet(count).Br(loop)
         .MarkLabel(done);
    }
}
