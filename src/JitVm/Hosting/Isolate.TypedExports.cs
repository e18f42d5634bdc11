using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>Typed exports: functions of the module as ordinary .NET delegates over <c>long</c> (i64) and <c>double</c> (f64).</summary>
public sealed partial class Isolate
{
    /// <summary>The function <paramref name="name"/> as a delegate with no parameters.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature is not <c>() -> (TResult)</c>; the message shows both signatures.</exception>
    public Func<TResult> GetFunction<TResult>(string name)
    {
        var index = ResolveExport(name, [], typeof(TResult));
        return () => Call<TResult>(index, []);
    }

    /// <summary>The function <paramref name="name"/> as a delegate of one parameter.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    public Func<T1, TResult> GetFunction<T1, TResult>(string name)
    {
        var index = ResolveExport(name, [typeof(T1)], typeof(TResult));
        return a => Call<TResult>(index, [TypedValues.ToBits(a)]);
    }

    /// <summary>The function <paramref name="name"/> as a delegate of two parameters.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    public Func<T1, T2, TResult> GetFunction<T1, T2, TResult>(string name)
    {
        var index = ResolveExport(name, [typeof(T1), typeof(T2)], typeof(TResult));
        return (a, b) => Call<TResult>(index, [TypedValues.ToBits(a), TypedValues.ToBits(b)]);
    }

    /// <summary>The function <paramref name="name"/> as a delegate of three parameters.</summary>
    /// <exception cref="ArgumentException">No such function, or its signature differs; the message shows both signatures.</exception>
    public Func<T1, T2, T3, TResult> GetFunction<T1, T2, T3, TResult>(string name)
    {
        var index = ResolveExport(name, [typeof(T1), typeof(T2), typeof(T3)], typeof(TResult));
        return (a, b, c) => Call<TResult>(index, [TypedValues.ToBits(a), TypedValues.ToBits(b), TypedValues.ToBits(c)]);
    }

    /// <summary>Like <see cref="GetFunction{T1, T2, TResult}"/>, but returns false (and the reason) instead of throwing.</summary>
    public bool TryGetFunction<T1, T2, TResult>(string name, out Func<T1, T2, TResult>? function, out string? problem)
    {
        try
        {
            function = GetFunction<T1, T2, TResult>(name);
            problem = null;
            return true;
        }
        catch (ArgumentException e)
        {
            function = null;
            problem = e.Message;
            return false;
        }
    }

    /// <summary>Like <see cref="GetFunction{T1, TResult}"/>, but returns false (and the reason) instead of throwing.</summary>
    public bool TryGetFunction<T1, TResult>(string name, out Func<T1, TResult>? function, out string? problem)
    {
        try
        {
            function = GetFunction<T1, TResult>(name);
            problem = null;
            return true;
        }
        catch (ArgumentException e)
        {
            function = null;
            problem = e.Message;
            return false;
        }
    }

    private int ResolveExport(string name, Type[] parameters, Type result)
    {
        var index = Module.FindFunction(name);
        if (index < 0) throw new ArgumentException($"the module has no function named '{name}'", nameof(name));
        var wanted = new FunctionType(parameters.Select(p => TypedValues.TypeOf(p, $"cannot bind '{name}'")), [TypedValues.TypeOf(result, $"cannot bind '{name}'")]);
        var actual = Module.Definition.SignatureOf(index);
        if (!actual.Equals(wanted))
            throw new ArgumentException($"function '{name}' has signature {actual}, but the delegate asks for {wanted}", nameof(name));
        return index;
    }

    /// <summary>Enters the isolate, runs the function with the arguments' bits and converts the single result.</summary>
    private TResult Call<TResult>(int index, ReadOnlySpan<long> arguments)
    {
        Enter();
        try
        {
            var width = Math.Max(arguments.Length, 1);
            EnsureSlots(width + 1);
            for (var i = 0; i < arguments.Length; i++)
            {
                Slots[i] = arguments[i];
                SlotTags[i] = 0;
            }
            Execute(index, width);
            return TypedValues.FromBits<TResult>(Slots[0]);
        }
        finally
        {
            Exit();
        }
    }
}
