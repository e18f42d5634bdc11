using JitVm.Diagnostics;

namespace JitVm.Interpreter;

/// <summary>The instruction semantics that are more than one C# operator; shared by every tier so they cannot drift.</summary>
internal static class Arithmetic
{
    public static long DivS(long a, long b)
    {
        if (b == 0) throw new TrapException(TrapCode.DivideByZero, "integer division by zero");
        if (b == -1 && a == long.MinValue) throw new TrapException(TrapCode.IntegerOverflow, "i64.div_s of -9223372036854775808 by -1 overflows");
        return a / b;
    }

    public static long DivU(long a, long b)
    {
        if (b == 0) throw new TrapException(TrapCode.DivideByZero, "integer division by zero");
        return (long)((ulong)a / (ulong)b);
    }

    public static long RemS(long a, long b)
    {
        if (b == 0) throw new TrapException(TrapCode.DivideByZero, "integer remainder by zero");
        return b == -1 ? 0 : a % b;
    }

    public static long RemU(long a, long b)
    {
        if (b == 0) throw new TrapException(TrapCode.DivideByZero, "integer remainder by zero");
        return (long)((ulong)a % (ulong)b);
    }

    public static long TruncS(double value)
    {
        // Valid when the truncation lies in [-2^63, 2^63); NaN fails both comparisons.
        if (value >= -9223372036854775808.0 && value < 9223372036854775808.0) return (long)value;
        throw new TrapException(TrapCode.InvalidConversion, $"{Format(value)} cannot be converted to i64");
    }

    public static long TruncSatS(double value)
    {
        if (double.IsNaN(value)) return 0;
        if (value >= 9223372036854775808.0) return long.MaxValue;
        if (value < -9223372036854775808.0) return long.MinValue;
        return (long)value;
    }

    /// <summary>The NaN every arithmetic instruction produces (a positive quiet NaN), so results never depend on
    /// which operand's payload the hardware or the CLR JIT happens to keep.</summary>
    public static readonly double CanonicalNaN = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0000);

    public static double Canonical(double value) => double.IsNaN(value) ? CanonicalNaN : value;

    public static double Min(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return CanonicalNaN;
        if (a == b) return a == 0 && (double.IsNegative(a) || double.IsNegative(b)) ? -0.0 : a;
        return a < b ? a : b;
    }

    public static double Max(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return CanonicalNaN;
        if (a == b) return a == 0 && (!double.IsNegative(a) || !double.IsNegative(b)) ? 0.0 : a;
        return a > b ? a : b;
    }

    private static string Format(double value) => Text.Disassembler.FormatF64(BitConverter.DoubleToInt64Bits(value));
}
