using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// Typed host functions. Parameters are <c>long</c> (i64), <c>double</c> (f64), <see cref="Pointer"/> (ptr: the
/// object, its bytes readable and writable in place during the call), or <c>string</c>, <c>byte[]</c>,
/// <c>long[]</c> and <c>double[]</c> (ptr: copied out of a VM string or an object of numbers); the result, if any,
/// is <c>long</c> or <c>double</c>, <c>string</c>, <c>byte[]</c>, <c>long[]</c> or <c>double[]</c> (copied into a
/// new object, the ptr result), a <see cref="Handle"/> (its object is the ptr result), or a <see cref="ValueTuple"/>
/// of 2 to 4 <c>long</c>s and <c>double</c>s (several results). A function of only <c>long</c> and <c>double</c>
/// values is called without boxing, by compiled code directly. Each method names the function's type parameters
/// after its parameters, in order (spec/embedding.md §3, §9.3).
/// </summary>
public sealed partial class HostFunction
{
    /// <summary>A host function with no parameters and no results.</summary>
    public static HostFunction FromAction(string name, Action action) =>
        new(name, new FunctionType([], []), (_, _) => action()) { Typed = action };

    /// <summary>A host function of no parameters and one result.</summary>
    public static HostFunction FromFunc<TResult>(string name, Func<TResult> function) =>
        new(name, new FunctionType([], Results<TResult>()), (isolate, values) => Write(isolate, values, function())) { Typed = function };

    /// <summary>A host function of one parameter and no results.</summary>
    public static HostFunction FromAction<T1>(string name, Action<T1> action) =>
        new(name, new FunctionType([Parameter<T1>()], []), (isolate, values) => action(From<T1>(isolate, values[0]))) { Typed = action };

    /// <summary>A host function of one parameter and one result.</summary>
    public static HostFunction FromFunc<T1, TResult>(string name, Func<T1, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0])))) { Typed = function };

    /// <summary>A host function of two parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2>(string name, Action<T1, T2> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]))) { Typed = action };

    /// <summary>A host function of two parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, TResult>(string name, Func<T1, T2, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1])))) { Typed = function };

    /// <summary>A host function of three parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2, T3>(string name, Action<T1, T2, T3> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]))) { Typed = action };

    /// <summary>A host function of three parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2])))) { Typed = function };

    /// <summary>A host function of four parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2, T3, T4>(string name, Action<T1, T2, T3, T4> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]))) { Typed = action };

    /// <summary>A host function of four parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, T4, TResult>(string name, Func<T1, T2, T3, T4, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3])))) { Typed = function };

    /// <summary>A host function of five parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2, T3, T4, T5>(string name, Action<T1, T2, T3, T4, T5> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]))) { Typed = action };

    /// <summary>A host function of five parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, T4, T5, TResult>(string name, Func<T1, T2, T3, T4, T5, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4])))) { Typed = function };

    /// <summary>A host function of six parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2, T3, T4, T5, T6>(string name, Action<T1, T2, T3, T4, T5, T6> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>(), Parameter<T6>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]), From<T6>(isolate, values[5]))) { Typed = action };

    /// <summary>A host function of six parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, T4, T5, T6, TResult>(string name, Func<T1, T2, T3, T4, T5, T6, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>(), Parameter<T6>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]), From<T6>(isolate, values[5])))) { Typed = function };

    /// <summary>A host function of seven parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2, T3, T4, T5, T6, T7>(string name, Action<T1, T2, T3, T4, T5, T6, T7> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>(), Parameter<T6>(), Parameter<T7>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]), From<T6>(isolate, values[5]), From<T7>(isolate, values[6]))) { Typed = action };

    /// <summary>A host function of seven parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, T4, T5, T6, T7, TResult>(string name, Func<T1, T2, T3, T4, T5, T6, T7, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>(), Parameter<T6>(), Parameter<T7>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]), From<T6>(isolate, values[5]), From<T7>(isolate, values[6])))) { Typed = function };

    /// <summary>A host function of eight parameters and no results.</summary>
    public static HostFunction FromAction<T1, T2, T3, T4, T5, T6, T7, T8>(string name, Action<T1, T2, T3, T4, T5, T6, T7, T8> action) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>(), Parameter<T6>(), Parameter<T7>(), Parameter<T8>()], []), (isolate, values) => action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]), From<T6>(isolate, values[5]), From<T7>(isolate, values[6]), From<T8>(isolate, values[7]))) { Typed = action };

    /// <summary>A host function of eight parameters and one result.</summary>
    public static HostFunction FromFunc<T1, T2, T3, T4, T5, T6, T7, T8, TResult>(string name, Func<T1, T2, T3, T4, T5, T6, T7, T8, TResult> function) =>
        new(name, new FunctionType([Parameter<T1>(), Parameter<T2>(), Parameter<T3>(), Parameter<T4>(), Parameter<T5>(), Parameter<T6>(), Parameter<T7>(), Parameter<T8>()], Results<TResult>()), (isolate, values) => Write(isolate, values, function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), From<T4>(isolate, values[3]), From<T5>(isolate, values[4]), From<T6>(isolate, values[5]), From<T7>(isolate, values[6]), From<T8>(isolate, values[7])))) { Typed = function };
}
