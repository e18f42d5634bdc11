using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>The body of an asynchronous host function: converts the raw arguments in <paramref name="values"/> during
/// the call and starts the work, whose result (if the function has one) is the raw bits of its only result.</summary>
internal delegate ValueTask<long> AsyncHostBody(Isolate isolate, Span<long> values, CancellationToken cancellationToken);

/// <summary>
/// Asynchronous host functions (spec/embedding.md §3.4). Parameters are <c>long</c> (i64), <c>double</c> (f64), or
/// <c>string</c>, <c>byte[]</c>, <c>long[]</c> and <c>double[]</c> (ptr, copied out of the VM object before the work
/// starts); the result, if any, is one <c>long</c> or <c>double</c>. A <see cref="Pointer"/> is not allowed: it is
/// valid only until the call returns, and the work outlives the call. The function is given a cancellation token:
/// the token of the <see cref="Isolate.InvokeAsync(string, Value[], CancellationToken)"/> running it, else none.
/// </summary>
/// <remarks>When the work is still pending as the function returns, the VM call suspends at that safepoint if the
/// fiber can be suspended (in an <see cref="Isolate.InvokeAsync(string, Value[], CancellationToken)"/> entry or a
/// spawned task) and continues, on whatever thread completes the work, once it has completed; elsewhere (an
/// <see cref="Isolate.Invoke(string, Value[])"/>, a typed export, a callback nested in a host call) the calling thread
/// blocks until it completes. Work that completed at once costs no suspension.</remarks>
public sealed partial class HostFunction
{
    /// <summary>For an asynchronous host function, what starts its work (<see cref="Callback"/> then blocks on it).</summary>
    internal AsyncHostBody? Async { get; private init; }

    /// <summary>An asynchronous host function of no parameters and no results.</summary>
    public static HostFunction FromAsyncAction(string name, Func<CancellationToken, ValueTask> action) =>
        Asynchronous(name, [], [], (_, _, token) => NoResult(action(token)));

    /// <summary>An asynchronous host function of no parameters and one result.</summary>
    public static HostFunction FromAsyncFunc<TResult>(string name, Func<CancellationToken, ValueTask<TResult>> function) =>
        Asynchronous(name, [], AsyncResult<TResult>(), (_, _, token) => Bits(function(token)));

    /// <summary>An asynchronous host function of one parameter and no results.</summary>
    public static HostFunction FromAsyncAction<T1>(string name, Func<T1, CancellationToken, ValueTask> action) =>
        Asynchronous(name, [AsyncParameter<T1>()], [], (isolate, values, token) => NoResult(action(From<T1>(isolate, values[0]), token)));

    /// <summary>An asynchronous host function of one parameter and one result.</summary>
    public static HostFunction FromAsyncFunc<T1, TResult>(string name, Func<T1, CancellationToken, ValueTask<TResult>> function) =>
        Asynchronous(name, [AsyncParameter<T1>()], AsyncResult<TResult>(), (isolate, values, token) => Bits(function(From<T1>(isolate, values[0]), token)));

    /// <summary>An asynchronous host function of two parameters and no results.</summary>
    public static HostFunction FromAsyncAction<T1, T2>(string name, Func<T1, T2, CancellationToken, ValueTask> action) =>
        Asynchronous(name, [AsyncParameter<T1>(), AsyncParameter<T2>()], [],
            (isolate, values, token) => NoResult(action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), token)));

    /// <summary>An asynchronous host function of two parameters and one result.</summary>
    public static HostFunction FromAsyncFunc<T1, T2, TResult>(string name, Func<T1, T2, CancellationToken, ValueTask<TResult>> function) =>
        Asynchronous(name, [AsyncParameter<T1>(), AsyncParameter<T2>()], AsyncResult<TResult>(),
            (isolate, values, token) => Bits(function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), token)));

    /// <summary>An asynchronous host function of three parameters and no results.</summary>
    public static HostFunction FromAsyncAction<T1, T2, T3>(string name, Func<T1, T2, T3, CancellationToken, ValueTask> action) =>
        Asynchronous(name, [AsyncParameter<T1>(), AsyncParameter<T2>(), AsyncParameter<T3>()], [],
            (isolate, values, token) => NoResult(action(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), token)));

    /// <summary>An asynchronous host function of three parameters and one result.</summary>
    public static HostFunction FromAsyncFunc<T1, T2, T3, TResult>(string name, Func<T1, T2, T3, CancellationToken, ValueTask<TResult>> function) =>
        Asynchronous(name, [AsyncParameter<T1>(), AsyncParameter<T2>(), AsyncParameter<T3>()], AsyncResult<TResult>(),
            (isolate, values, token) => Bits(function(From<T1>(isolate, values[0]), From<T2>(isolate, values[1]), From<T3>(isolate, values[2]), token)));

    private static HostFunction Asynchronous(string name, VmType[] parameters, VmType[] results, AsyncHostBody body)
    {
        // Called directly (not by VM code through Instance.CallImport, which starts the work itself), the function
        // blocks on its work: the same raw values in and out as the typed host functions' callbacks.
        var hasResult = results.Length == 1;
        HostCallback blocking = (isolate, values) =>
        {
            var work = body(isolate, values, CancellationToken.None);
            var result = work.IsCompleted ? work.GetAwaiter().GetResult() : work.AsTask().GetAwaiter().GetResult();
            if (hasResult) values[0] = result;
        };
        return new HostFunction(name, new FunctionType(parameters, results), blocking) { Async = body };
    }

    private static VmType AsyncParameter<T>() =>
        typeof(T) == typeof(Pointer)
            ? throw new ArgumentException("cannot make an asynchronous host function: a Pointer parameter is valid only until the call returns, and the work outlives it; take a string, byte[], long[] or double[] copy instead")
            : BoundaryTypes.HostParameter(typeof(T), "cannot make an asynchronous host function");

    private static VmType[] AsyncResult<T>() =>
        BoundaryTypes.IsScalar(typeof(T))
            ? BoundaryTypes.HostResult(typeof(T), "cannot make an asynchronous host function")
            : throw new ArgumentException($"cannot make an asynchronous host function: its result is {typeof(T).Name}, but only long (i64) and double (f64) results can be delivered when the work completes");

    private static ValueTask<long> NoResult(ValueTask work) =>
        work.IsCompletedSuccessfully ? default : Completed(work);

    private static async ValueTask<long> Completed(ValueTask work)
    {
        await work.ConfigureAwait(false);
        return 0;
    }

    private static ValueTask<long> Bits<T>(ValueTask<T> work) =>
        work.IsCompletedSuccessfully ? new ValueTask<long>(TypedValues.ToBits(work.Result)) : Completed(work);

    private static async ValueTask<long> Completed<T>(ValueTask<T> work) => TypedValues.ToBits(await work.ConfigureAwait(false));
}
