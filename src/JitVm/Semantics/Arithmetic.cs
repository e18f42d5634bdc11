using System.Runtime.CompilerServices;

namespace JitVm.Semantics;

/// <summary>
/// The instruction semantics that are more than one C# operator, defined once for every tier: the interpreter calls
/// these functions, and compiled code either calls the same function as its helper or inlines only a fast path whose
/// constants and trap messages come from here (see <see cref="Traps"/>). So the tiers cannot drift.
/// </summary>
internal static class Arithmetic
{
    /// <summary>The bits of the NaN every arithmetic instruction produces (a positive quiet NaN), so results never
    /// depend on which operand's payload the hardware or the CLR JIT happens to keep. The text format's <c>nan</c>
    /// literal names the same bits.</summary>
    public const long CanonicalNaNBits = 0x7FF8_0000_0000_0000;

    /// <summary>The canonical NaN as a double (see <see cref="CanonicalNaNBits"/>).</summary>
    public static readonly double CanonicalNaN = BitConverter.Int64BitsToDouble(CanonicalNaNBits);

    /// <summary>The lower bound of the f64 values whose truncation fits in an i64: -2^63, exactly representable.</summary>
    private const double MinTruncatable = -9223372036854775808.0;

    /// <summary>2^63, the first f64 above the i64 range (i64.MaxValue is not representable as an f64).</summary>
    private const double AboveTruncatable = 9223372036854775808.0;

    /// <summary>An f64 arithmetic result with any NaN replaced by the canonical one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Canonical(double value) => double.IsNaN(value) ? CanonicalNaN : value;

    /// <summary>The bits of an f64 arithmetic result, with any NaN made canonical.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long CanonicalBits(double value) => double.IsNaN(value) ? CanonicalNaNBits : BitConverter.DoubleToInt64Bits(value);

    /// <summary>i64.div_s: traps on a zero divisor and on MIN / -1, whose quotient does not fit.</summary>
    public static long DivS(long a, long b)
    {
        if (b == 0) throw Traps.DivisionByZero.Create();
        if (b == -1 && a == long.MinValue) throw Traps.DivisionOverflow.Create();
        return a / b;
    }

    /// <summary>i64.div_u: traps on a zero divisor.</summary>
    public static long DivU(long a, long b)
    {
        if (b == 0) throw Traps.DivisionByZero.Create();
        return (long)((ulong)a / (ulong)b);
    }

    /// <summary>i64.rem_s: traps on a zero divisor; MIN % -1 is 0 (which .NET would fault on).</summary>
    public static long RemS(long a, long b)
    {
        if (b == 0) throw Traps.RemainderByZero.Create();
        return b == -1 ? 0 : a % b;
    }

    /// <summary>i64.rem_u: traps on a zero divisor.</summary>
    public static long RemU(long a, long b)
    {
        if (b == 0) throw Traps.RemainderByZero.Create();
        return (long)((ulong)a % (ulong)b);
    }

    /// <summary>i64.trunc_f64_s: traps unless the truncation lies in [-2^63, 2^63).</summary>
    public static long TruncS(double value)
    {
        // NaN fails both comparisons.
        if (value >= MinTruncatable && value < AboveTruncatable) return (long)value;
        throw Traps.CannotConvert(value);
    }

    /// <summary>i64.trunc_sat_f64_s: saturates to MIN/MAX; NaN gives 0.</summary>
    public static long TruncSatS(double value)
    {
        if (double.IsNaN(value)) return 0;
        if (value >= AboveTruncatable) return long.MaxValue;
        if (value < MinTruncatable) return long.MinValue;
        return (long)value;
    }

    /// <summary>2^64, the first f64 above the unsigned 64-bit range.</summary>
    private const double AboveTruncatableU = 18446744073709551616.0;

    /// <summary>i64.trunc_f64_u: traps unless the truncation lies in [0, 2^64), i.e. unless -1 &lt; value &lt; 2^64; the
    /// result is the unsigned value's 64 bits.</summary>
    public static long TruncU(double value)
    {
        // NaN fails both comparisons. (-1, 1) truncates to 0 (-0.5 gives +0, so no sign to keep).
        if (value > -1.0 && value < AboveTruncatableU) return value < 1.0 ? 0 : (long)(ulong)value;
        throw Traps.CannotConvertUnsigned(value);
    }

    /// <summary>i64.trunc_sat_f64_u: saturates to 0 (below 1, including -inf) and 2^64-1 (all bits set, from 2^64
    /// up, including +inf); NaN gives 0.</summary>
    public static long TruncSatU(double value)
    {
        if (double.IsNaN(value) || value < 1.0) return 0;
        if (value >= AboveTruncatableU) return -1;
        return (long)(ulong)value;
    }

    /// <summary>f64.copysign: the bits of <paramref name="a"/> with the sign bit of <paramref name="b"/>; no other bit
    /// changes, so a NaN keeps its payload (like f64.neg and f64.abs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double CopySign(double a, double b) =>
        BitConverter.Int64BitsToDouble(CopySignBits(BitConverter.DoubleToInt64Bits(a), BitConverter.DoubleToInt64Bits(b)));

    /// <summary>f64.copysign on the operands' bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long CopySignBits(long a, long b) => (a & long.MaxValue) | (b & long.MinValue);

    /// <summary>f64.convert_i64_u: the nearest f64 to the unsigned value (round to nearest, ties to even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ConvertU(long value) => (ulong)value;

    /// <summary>f64.nearest: rounds to the nearest integer, ties to even (Math.Round's default, which the CLR JIT
    /// compiles to one rounding instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Nearest(double value) => Math.Round(value);

    /// <summary>f64.min: NaN (canonical) if either operand is NaN; -0 is smaller than +0.</summary>
    public static double Min(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return CanonicalNaN;
        if (a == b) return a == 0 && (double.IsNegative(a) || double.IsNegative(b)) ? -0.0 : a;
        return a < b ? a : b;
    }

    /// <summary>f64.max: NaN (canonical) if either operand is NaN; +0 is larger than -0.</summary>
    public static double Max(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return CanonicalNaN;
        if (a == b) return a == 0 && (!double.IsNegative(a) || !double.IsNegative(b)) ? 0.0 : a;
        return a > b ? a : b;
    }
}
