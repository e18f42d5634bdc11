using System.Runtime.CompilerServices;
using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// The .NET types typed exports and typed host functions accept — <c>long</c> for i64 and <c>double</c> for f64 —
/// and their conversion to and from a VM word's bits, specialised per type by the CLR so nothing is boxed.
/// </summary>
internal static class TypedValues
{
    public static VmType TypeOf(Type type, string what) =>
        type == typeof(long) ? VmType.I64
        : type == typeof(double) ? VmType.F64
        : throw new ArgumentException($"{what}: typed exports and host functions use long (i64) and double (f64), not {type.Name}");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ToBits<T>(T value) =>
        typeof(T) == typeof(double) ? BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref value)) : Unsafe.As<T, long>(ref value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FromBits<T>(long bits)
    {
        if (typeof(T) == typeof(double))
        {
            var number = BitConverter.Int64BitsToDouble(bits);
            return Unsafe.As<double, T>(ref number);
        }
        return Unsafe.As<long, T>(ref bits);
    }
}
