using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// Typed exports: functions of the module as ordinary .NET delegates. Over <c>long</c> (i64) and <c>double</c> (f64)
/// alone, under the JIT tiers the delegate calls the function's compiled code directly (the function is compiled when
/// the delegate is made); under the interpreter it runs the function in the interpreter. Parameters may also be
/// <c>string</c>, <c>byte[]</c>, <c>ReadOnlyMemory&lt;byte&gt;</c>, <c>long[]</c>, <c>double[]</c> or <see cref="Handle"/>
/// and results <c>string</c>, <c>byte[]</c>, <c>long[]</c>, <c>double[]</c>, <see cref="Handle"/> or a
/// <see cref="ValueTuple"/> of 2 to 4 longs and doubles: such a delegate copies the values across the boundary
/// (spec/embedding.md §9.3). Either way a call enters the isolate like <see cref="Invoke(string, Value[])"/>: one owner
/// at a time, with the isolate's limits.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>The function <paramref name="name"/>, of no parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<TResult> GetFunction<TResult>(string name) => GetDelegate<Func<TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of one parameter and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, TResult> GetFunction<T1, TResult>(string name) => GetDelegate<Func<T1, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of two parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, TResult> GetFunction<T1, T2, TResult>(string name) => GetDelegate<Func<T1, T2, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of three parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, T3, TResult> GetFunction<T1, T2, T3, TResult>(string name) => GetDelegate<Func<T1, T2, T3, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of four parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, T3, T4, TResult> GetFunction<T1, T2, T3, T4, TResult>(string name) => GetDelegate<Func<T1, T2, T3, T4, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of five parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, T3, T4, T5, TResult> GetFunction<T1, T2, T3, T4, T5, TResult>(string name) => GetDelegate<Func<T1, T2, T3, T4, T5, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of six parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, T3, T4, T5, T6, TResult> GetFunction<T1, T2, T3, T4, T5, T6, TResult>(string name) => GetDelegate<Func<T1, T2, T3, T4, T5, T6, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of seven parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, T3, T4, T5, T6, T7, TResult> GetFunction<T1, T2, T3, T4, T5, T6, T7, TResult>(string name) => GetDelegate<Func<T1, T2, T3, T4, T5, T6, T7, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of eight parameters and one result, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Func<T1, T2, T3, T4, T5, T6, T7, T8, TResult> GetFunction<T1, T2, T3, T4, T5, T6, T7, T8, TResult>(string name) => GetDelegate<Func<T1, T2, T3, T4, T5, T6, T7, T8, TResult>>(name);

    /// <summary>The function <paramref name="name"/>, of no parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action GetAction(string name) => GetDelegate<Action>(name);

    /// <summary>The function <paramref name="name"/>, of one parameter and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1> GetAction<T1>(string name) => GetDelegate<Action<T1>>(name);

    /// <summary>The function <paramref name="name"/>, of two parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2> GetAction<T1, T2>(string name) => GetDelegate<Action<T1, T2>>(name);

    /// <summary>The function <paramref name="name"/>, of three parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2, T3> GetAction<T1, T2, T3>(string name) => GetDelegate<Action<T1, T2, T3>>(name);

    /// <summary>The function <paramref name="name"/>, of four parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2, T3, T4> GetAction<T1, T2, T3, T4>(string name) => GetDelegate<Action<T1, T2, T3, T4>>(name);

    /// <summary>The function <paramref name="name"/>, of five parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2, T3, T4, T5> GetAction<T1, T2, T3, T4, T5>(string name) => GetDelegate<Action<T1, T2, T3, T4, T5>>(name);

    /// <summary>The function <paramref name="name"/>, of six parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2, T3, T4, T5, T6> GetAction<T1, T2, T3, T4, T5, T6>(string name) => GetDelegate<Action<T1, T2, T3, T4, T5, T6>>(name);

    /// <summary>The function <paramref name="name"/>, of seven parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2, T3, T4, T5, T6, T7> GetAction<T1, T2, T3, T4, T5, T6, T7>(string name) => GetDelegate<Action<T1, T2, T3, T4, T5, T6, T7>>(name);

    /// <summary>The function <paramref name="name"/>, of eight parameters and no results, as a delegate.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public Action<T1, T2, T3, T4, T5, T6, T7, T8> GetAction<T1, T2, T3, T4, T5, T6, T7, T8>(string name) => GetDelegate<Action<T1, T2, T3, T4, T5, T6, T7, T8>>(name);

    /// <summary>
    /// The function <paramref name="name"/> as a delegate of type <typeparamref name="TDelegate"/>, whose parameters
    /// and result (or none, for a void delegate) match the function's signature: <c>long</c> is i64, <c>double</c> f64;
    /// a <c>string</c>, <c>byte[]</c>, <c>ReadOnlyMemory&lt;byte&gt;</c>, <c>long[]</c>, <c>double[]</c> or
    /// <see cref="Handle"/> parameter and a <c>string</c>, <c>byte[]</c>, <c>long[]</c>, <c>double[]</c> or
    /// <see cref="Handle"/> result are ptr; a <see cref="ValueTuple"/> result of 2 to 4 longs and doubles stands for as
    /// many results (spec/embedding.md §9.3). A string or array argument is copied into a new VM object for the call; a
    /// ptr result is copied out, or returned as a new handle the caller disposes.
    /// </summary>
    /// <exception cref="ArgumentException">No such function, a parameter or result type with no VM counterpart, or a
    /// signature that differs; the message shows both signatures. A call of the delegate throws
    /// <see cref="ArgumentNullException"/> for a null string, array or handle argument, and <see cref="TrapException"/>
    /// (<see cref="TrapCode.OutOfBounds"/>, <see cref="TrapCode.TagMismatch"/>) for a ptr result that is not a valid
    /// string or array of numbers, as <see cref="ReadString"/> and <see cref="ReadI64"/> would.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public TDelegate GetDelegate<TDelegate>(string name) where TDelegate : Delegate => (TDelegate)Bind(typeof(TDelegate), name);

    /// <summary>Like <see cref="GetDelegate{TDelegate}"/>, but returns false and the reason instead of throwing.</summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    public bool TryGetDelegate<TDelegate>(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TDelegate? function, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
        where TDelegate : Delegate
    {
        try
        {
            function = GetDelegate<TDelegate>(name);
            problem = null;
            return true;
        }
        catch (ArgumentException e)
        {
            function = null;
            problem = Printable.WithoutParameterName(e);
            return false;
        }
    }

    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "ExportInvoker's methods put no DynamicallyAccessedMembers requirement on their type parameters.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The trimmer keeps the Invoke method of every delegate type it keeps: the runtime calls the delegate through it.")]
    private Delegate Bind(Type delegateType, string name) => Bind(delegateType, name, (parameters, result) => ResolveExport(name, parameters, result), byName: true);

    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "ExportInvoker's methods put no DynamicallyAccessedMembers requirement on their type parameters.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The trimmer keeps the Invoke method of every delegate type it keeps: the runtime calls the delegate through it.")]
    private Delegate Bind(Type delegateType, string name, Func<Type[], Type?, int> resolve, bool byName = false)
    {
        var invoke = delegateType.GetMethod("Invoke") ?? throw new ArgumentException($"{delegateType.Name} is not a delegate type", nameof(name));
        var parameters = invoke.GetParameters().Select(p => p.ParameterType).ToArray();
        var result = invoke.ReturnType == typeof(void) ? null : invoke.ReturnType;
        if (byName && NeedsMarshalling(parameters, result)) return BindMarshalled(delegateType, invoke, name, parameters, result);
        var index = resolve(parameters, result);
        if (parameters.Length > MaxTypedArity)
            throw new ArgumentException($"typed exports take at most {MaxTypedArity} parameters; '{name}' has {parameters.Length}", nameof(name));
        if (!Instance.IsImport(index) && Tier != ExecutionTier.Interpreter && Jit.DynamicCode.Supported &&
            Instance.Code.Jit.Compile(Instance.Functions[index - Instance.ImportCount], Store) is { Body: not null } compiled)
            return Instance.Code.Jit.HostEntry(index, compiled, delegateType, parameters, result).CreateDelegate(delegateType, Fiber);
        var generic = typeof(ExportInvoker).GetMethod((result is null ? "Action" : "Func") + parameters.Length)!;
        var arguments = result is null ? parameters : [.. parameters, result];
        var method = arguments.Length == 0 ? generic : generic.MakeGenericMethod(arguments);
        return method.CreateDelegate(delegateType, new ExportInvoker(this, index));
    }

    /// <summary>The most parameters a typed export or typed host function takes.</summary>
    internal const int MaxTypedArity = 8;

    private int ResolveExport(string name, Type[] parameters, Type? result)
    {
        var index = Module.FindFunction(name);
        if (index < 0) throw new ArgumentException($"the module has no function named '{name}'", nameof(name));
        return CheckSignature(index, $"function '{name}'", parameters, result);
    }

    /// <summary>Checks that function <paramref name="index"/> (<paramref name="what"/> in messages) has the signature
    /// the delegate's <paramref name="parameters"/> and <paramref name="result"/> ask for; returns the index.</summary>
    private int CheckSignature(int index, string what, Type[] parameters, Type? result)
    {
        var wanted = new FunctionType(parameters.Select(p => TypedValues.TypeOf(p, $"cannot bind {what}")),
            result is null ? [] : [TypedValues.TypeOf(result, $"cannot bind {what}")]);
        var actual = Module.Definition.SignatureOf(index);
        if (!actual.Equals(wanted))
            throw new ArgumentException($"{what} has signature {actual}, but the delegate asks for {wanted}");
        return index;
    }

    /// <summary>Enters the isolate, runs the function with the arguments' bits and converts the first result, if any.</summary>
    private TResult Call<TResult>(int index, ReadOnlySpan<long> arguments)
    {
        var fiber = Fiber;
        Store.BeginEntry(fiber);
        try
        {
            var width = Math.Max(arguments.Length, 1);
            var first = fiber.EntryBase;
            fiber.EnsureSlots(first + width + 1);
            for (var i = 0; i < arguments.Length; i++) fiber.SetEntryArgument(i, arguments[i], 0);
            fiber.Execute(index, width);
            return TypedValues.FromBits<TResult>(fiber.Slots[first]);
        }
        finally
        {
            Store.EndEntry(fiber);
        }
    }

    /// <summary>The targets of typed exports that run through <see cref="Runtime.Fiber.Execute"/> (the interpreter tier).</summary>
    private sealed class ExportInvoker(Isolate isolate, int index)
    {
        public TResult Func0<TResult>() => isolate.Call<TResult>(index, []);
        public void Action0() => isolate.Call<long>(index, []);
        public TResult Func1<T1, TResult>(T1 a1) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1)]);
        public void Action1<T1>(T1 a1) => isolate.Call<long>(index, [TypedValues.ToBits(a1)]);
        public TResult Func2<T1, T2, TResult>(T1 a1, T2 a2) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2)]);
        public void Action2<T1, T2>(T1 a1, T2 a2) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2)]);
        public TResult Func3<T1, T2, T3, TResult>(T1 a1, T2 a2, T3 a3) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3)]);
        public void Action3<T1, T2, T3>(T1 a1, T2 a2, T3 a3) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3)]);
        public TResult Func4<T1, T2, T3, T4, TResult>(T1 a1, T2 a2, T3 a3, T4 a4) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4)]);
        public void Action4<T1, T2, T3, T4>(T1 a1, T2 a2, T3 a3, T4 a4) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4)]);
        public TResult Func5<T1, T2, T3, T4, T5, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5)]);
        public void Action5<T1, T2, T3, T4, T5>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5)]);
        public TResult Func6<T1, T2, T3, T4, T5, T6, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6)]);
        public void Action6<T1, T2, T3, T4, T5, T6>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6)]);
        public TResult Func7<T1, T2, T3, T4, T5, T6, T7, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7)]);
        public void Action7<T1, T2, T3, T4, T5, T6, T7>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7)]);
        public TResult Func8<T1, T2, T3, T4, T5, T6, T7, T8, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) => isolate.Call<TResult>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7), TypedValues.ToBits(a8)]);
        public void Action8<T1, T2, T3, T4, T5, T6, T7, T8>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8) => isolate.Call<long>(index, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7), TypedValues.ToBits(a8)]);
    }
}
