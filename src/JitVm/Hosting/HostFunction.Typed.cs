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

    private static VmType TypeOf<T>() => TypedValues.TypeOf(typeof(T), "a typed host function");

    private static T From<T>(long bits) => TypedValues.FromBits<T>(bits);

    private static long To<T>(T value) => TypedValues.ToBits(value);
}
