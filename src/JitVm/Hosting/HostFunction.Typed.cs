using System.Runtime.CompilerServices;
using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>Typed host functions over <c>long</c> (i64) and <c>double</c> (f64), called without boxing.</summary>
public sealed partial class HostFunction
{
    /// <summary>A host function with no parameters and no results.</summary>
    public static HostFunction FromAction(string name, Action action) =>
        new(name, new FunctionType([], []), (_, _) => action());

    /// <summary>A host function of one parameter and no results.</summary>
    public static HostFunction FromAction<T1>(string name, Action<T1> action) =>
        new(name, new FunctionType([TypeOf<T1>()], []), (_, values) => action(From<T1>(values[0])));

    /// <summary>A host function of two parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2>(string name, Action<T1, T2> action) =>
        new(name, new FunctionType([TypeOf<T1>(), TypeOf<T2>()], []), (_, values) => action(From<T1>(values[0]), From<T2>(values[1])));

    /// <summary>A host function with no parameters and one result.</summary>
    public static HostFunction FromFunc<TResult>(string name, Func<TResult> function) =>
        new(name, new FunctionType([], [TypeOf<TResult>()]), (_, values) => values[0] = To(function()));

    /// <summary>A host function of one parameter and one result.</summary>
    public static HostFunction FromFunc<T1, TResult>(string name, Func<T1, TResult> function) =>
        new(name, new FunctionType([TypeOf<T1>()], [TypeOf<TResult>()]), (_, values) => values[0] = To(function(From<T1>(values[0]))));

    /// <summary>A host function of two parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, TResult>(string name, Func<T1, T2, TResult> function) =>
        new(name, new FunctionType([TypeOf<T1>(), TypeOf<T2>()], [TypeOf<TResult>()]),
            (_, values) => values[0] = To(function(From<T1>(values[0]), From<T2>(values[1]))));

    /// <summary>A host function of three parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, TResult> function) =>
        new(name, new FunctionType([TypeOf<T1>(), TypeOf<T2>(), TypeOf<T3>()], [TypeOf<TResult>()]),
            (_, values) => values[0] = To(function(From<T1>(values[0]), From<T2>(values[1]), From<T3>(values[2]))));

    private static VmType TypeOf<T>() =>
        typeof(T) == typeof(long) ? VmType.I64
        : typeof(T) == typeof(double) ? VmType.F64
        : throw new ArgumentException($"typed host functions use long (i64) and double (f64), not {typeof(T).Name}; use the HostCallback constructor for other types");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T From<T>(long bits)
    {
        if (typeof(T) == typeof(double))
        {
            var number = BitConverter.Int64BitsToDouble(bits);
            return Unsafe.As<double, T>(ref number);
        }
        return Unsafe.As<long, T>(ref bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long To<T>(T value) =>
        typeof(T) == typeof(double) ? BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref value)) : Unsafe.As<T, long>(ref value);
}
