using System.Runtime.CompilerServices;
using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// Typed exports whose parameters or results are not all <c>long</c> and <c>double</c> (spec/embedding.md §9.3):
/// strings, byte strings and arrays are copied into new VM objects, handles pass the objects they hold, ptr results
/// are copied out (or returned as a new <see cref="Handle"/>), and a <see cref="ValueTuple"/> receives several results.
/// Such a call is an entry like <see cref="Invoke(int, Value[])"/>, whose owner protocol and checks it goes through:
/// the arguments are allocated one by one between calls, each kept by a handle while the next is allocated (an
/// allocation may collect and move the earlier ones), and passed as the handles' values.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>Binds <paramref name="delegateType"/> to function <paramref name="name"/> through the copying path.</summary>
    /// <exception cref="ArgumentException">A type with no VM counterpart, or a signature that differs from the function's.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.TypedExportsNeedDynamicCode)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "MarshalledExport's methods and TupleResult put no DynamicallyAccessedMembers requirement on their type parameters.")]
    private Delegate BindMarshalled(Type delegateType, System.Reflection.MethodInfo invoke, string name, Type[] parameters, Type? result)
    {
        var what = $"cannot bind {Printable.Quote(name)}";
        var index = Module.FindFunction(name);
        if (index < 0) throw new ArgumentException($"the module has no function named {Printable.Quote(name)}", nameof(name));
        var wanted = new FunctionType(parameters.Select(p => BoundaryTypes.ExportParameter(p, what)), BoundaryTypes.ExportResult(result, what));
        var actual = Module.Definition.SignatureOf(index);
        if (!actual.Equals(wanted))
            throw new ArgumentException($"function {Printable.Quote(name)} has signature {actual}, but the delegate asks for {wanted}", nameof(name));
        if (parameters.Length > MaxTypedArity)
            throw new ArgumentException($"typed exports take at most {MaxTypedArity} parameters; {Printable.Quote(name)} has {parameters.Length}", nameof(name));
        Delegate? tupleReader = null;
        if (result is not null && BoundaryTypes.TupleElements(result) is { } elements)
            tupleReader = typeof(MarshalledExport).GetMethod("TupleResult" + elements.Length)!
                .MakeGenericMethod(elements).CreateDelegate(typeof(Func<,>).MakeGenericType(typeof(Value[]), result));
        var export = new MarshalledExport(this, index, Printable.Quote(name), [.. invoke.GetParameters().Select(p => p.Name ?? "")], tupleReader);
        var generic = typeof(MarshalledExport).GetMethod((result is null ? "Action" : "Func") + parameters.Length)!;
        Type[] arguments = result is null ? parameters : [.. parameters, result];
        var method = arguments.Length == 0 ? generic : generic.MakeGenericMethod(arguments);
        return method.CreateDelegate(delegateType, export);
    }

    /// <summary>Whether a delegate of these parameter and result types needs the copying path: a type other than
    /// <c>long</c> and <c>double</c> (types with no VM counterpart are rejected there, with the message that lists
    /// the ones there are).</summary>
    private static bool NeedsMarshalling(Type[] parameters, Type? result) =>
        !parameters.All(BoundaryTypes.IsScalar) || (result is not null && !BoundaryTypes.IsScalar(result));

    /// <summary>A new VM string holding the UTF-8 encoding of <paramref name="text"/>, as a handle.</summary>
    internal Handle NewString(ReadOnlySpan<char> text)
    {
        var byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
        var nested = EnterHostAccess();
        try
        {
            var pointer = AllocateForHost(nested, VmObjects.StringWords(byteCount));
            VmObjects.FillString(Heap, pointer, text, byteCount);
            return Store.HandleFor(pointer);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>A new VM string holding <paramref name="bytes"/> as they are, as a handle.</summary>
    internal Handle NewByteString(ReadOnlySpan<byte> bytes)
    {
        var nested = EnterHostAccess();
        try
        {
            var pointer = AllocateForHost(nested, VmObjects.StringWords(bytes.Length));
            VmObjects.FillBytes(Heap, pointer, bytes);
            return Store.HandleFor(pointer);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>A new object of one word per element of <paramref name="words"/> (i64 or f64 bits), as a handle.</summary>
    internal Handle NewWords<T>(ReadOnlySpan<T> words) where T : unmanaged
    {
        var nested = EnterHostAccess();
        try
        {
            var pointer = AllocateForHost(nested, words.Length);
            VmObjects.FillWords(Heap, pointer, words);
            return Store.HandleFor(pointer);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>Allocates for the host: between calls it may collect; inside a host function (<paramref name="nested"/>)
    /// it must not (no frame has published its roots).</summary>
    private long AllocateForHost(bool nested, long length) => nested ? Heap.AllocateWithoutCollecting(length) : Heap.Allocate(length);

    /// <summary>Copies the ptr result <paramref name="result"/> (fresh: the entry has just ended) out as a string or array.</summary>
    private object CopyOut(Type type, Value result)
    {
        var nested = EnterHostAccess();
        try
        {
            var pointer = Store.ResolvePointer(result, "the result");
            return type == typeof(string) ? VmObjects.ReadString(Heap, pointer)
                : type == typeof(byte[]) ? VmObjects.StringBytes(Heap, pointer).ToArray()
                : type == typeof(long[]) ? VmObjects.ReadWords<long>(Heap, pointer)
                : VmObjects.ReadWords<double>(Heap, pointer);
        }
        finally
        {
            ExitHostAccess(nested);
        }
    }

    /// <summary>The result type of a void delegate's call.</summary>
    private readonly struct NoResult;

    /// <summary>The targets of typed exports that copy values across the boundary, one method per arity and shape.</summary>
    private sealed class MarshalledExport(Isolate isolate, int index, string quotedName, string[] parameterNames, Delegate? tupleReader)
    {
        public Isolate Isolate { get; } = isolate;

        public int Index { get; } = index;

        /// <summary>The function's name as messages quote it.</summary>
        public string QuotedName { get; } = quotedName;

        /// <summary>The delegate's parameter names, for an <see cref="ArgumentNullException"/>.</summary>
        public string[] ParameterNames { get; } = parameterNames;

        /// <summary>For a tuple result, the <c>Func&lt;Value[], TResult&gt;</c> that makes it from the results.</summary>
        public Delegate? TupleReader { get; } = tupleReader;

        private Call Begin() => new(this);

        public TResult Func0<TResult>()
        {
            var call = Begin();
            return call.Run<TResult>();
        }

        public void Action0()
        {
            var call = Begin();
            call.Run<NoResult>();
        }

        public TResult Func1<T1, TResult>(T1 a1)
        {
            var call = Begin();
            call.Set(0, a1);
            return call.Run<TResult>();
        }

        public void Action1<T1>(T1 a1)
        {
            var call = Begin();
            call.Set(0, a1);
            call.Run<NoResult>();
        }

        public TResult Func2<T1, T2, TResult>(T1 a1, T2 a2)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2);
            return call.Run<TResult>();
        }

        public void Action2<T1, T2>(T1 a1, T2 a2)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2);
            call.Run<NoResult>();
        }

        public TResult Func3<T1, T2, T3, TResult>(T1 a1, T2 a2, T3 a3)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3);
            return call.Run<TResult>();
        }

        public void Action3<T1, T2, T3>(T1 a1, T2 a2, T3 a3)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3);
            call.Run<NoResult>();
        }

        public TResult Func4<T1, T2, T3, T4, TResult>(T1 a1, T2 a2, T3 a3, T4 a4)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4);
            return call.Run<TResult>();
        }

        public void Action4<T1, T2, T3, T4>(T1 a1, T2 a2, T3 a3, T4 a4)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4);
            call.Run<NoResult>();
        }

        public TResult Func5<T1, T2, T3, T4, T5, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5);
            return call.Run<TResult>();
        }

        public void Action5<T1, T2, T3, T4, T5>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5);
            call.Run<NoResult>();
        }

        public TResult Func6<T1, T2, T3, T4, T5, T6, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5); call.Set(5, a6);
            return call.Run<TResult>();
        }

        public void Action6<T1, T2, T3, T4, T5, T6>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5); call.Set(5, a6);
            call.Run<NoResult>();
        }

        public TResult Func7<T1, T2, T3, T4, T5, T6, T7, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5); call.Set(5, a6); call.Set(6, a7);
            return call.Run<TResult>();
        }

        public void Action7<T1, T2, T3, T4, T5, T6, T7>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5); call.Set(5, a6); call.Set(6, a7);
            call.Run<NoResult>();
        }

        public TResult Func8<T1, T2, T3, T4, T5, T6, T7, T8, TResult>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5); call.Set(5, a6); call.Set(6, a7); call.Set(7, a8);
            return call.Run<TResult>();
        }

        public void Action8<T1, T2, T3, T4, T5, T6, T7, T8>(T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8)
        {
            var call = Begin();
            call.Set(0, a1); call.Set(1, a2); call.Set(2, a3); call.Set(3, a4); call.Set(4, a5); call.Set(5, a6); call.Set(6, a7); call.Set(7, a8);
            call.Run<NoResult>();
        }

        public static (T1, T2) TupleResult2<T1, T2>(Value[] results) =>
            (TypedValues.FromBits<T1>(results[0].Bits), TypedValues.FromBits<T2>(results[1].Bits));

        public static (T1, T2, T3) TupleResult3<T1, T2, T3>(Value[] results) =>
            (TypedValues.FromBits<T1>(results[0].Bits), TypedValues.FromBits<T2>(results[1].Bits), TypedValues.FromBits<T3>(results[2].Bits));

        public static (T1, T2, T3, T4) TupleResult4<T1, T2, T3, T4>(Value[] results) =>
            (TypedValues.FromBits<T1>(results[0].Bits), TypedValues.FromBits<T2>(results[1].Bits), TypedValues.FromBits<T3>(results[2].Bits), TypedValues.FromBits<T4>(results[3].Bits));

        /// <summary>
        /// One call's arguments. A string or array argument is copied into a new object at once, kept by a handle the
        /// call owns and disposes when it ends (or fails); a <see cref="Handle"/> argument stays the caller's. The
        /// pointer values are taken from the handles only when every argument is in place, so they are fresh.
        /// </summary>
        private sealed class Call(MarshalledExport export)
        {
            private readonly Value[] _arguments = new Value[export.ParameterNames.Length];

            private readonly Handle?[] _handles = new Handle?[export.ParameterNames.Length];

            private readonly bool[] _owned = new bool[export.ParameterNames.Length];

            public void Set<T>(int position, T value)
            {
                if (typeof(T) == typeof(long))
                {
                    _arguments[position] = Value.I64(Unsafe.As<T, long>(ref value));
                    return;
                }
                if (typeof(T) == typeof(double))
                {
                    _arguments[position] = Value.F64(Unsafe.As<T, double>(ref value));
                    return;
                }
                try
                {
                    if (typeof(T) == typeof(ReadOnlyMemory<byte>))
                        Own(position, export.Isolate.NewByteString(Unsafe.As<T, ReadOnlyMemory<byte>>(ref value).Span));
                    else
                        switch ((object?)value)
                        {
                            case null:
                                throw new ArgumentNullException(export.ParameterNames[position],
                                    $"argument {position} of {export.QuotedName} is null; pass an empty string or array for no data");
                            case Handle handle: _handles[position] = handle; break;
                            case string text: Own(position, export.Isolate.NewString(text)); break;
                            case byte[] bytes: Own(position, export.Isolate.NewByteString(bytes)); break;
                            case long[] integers: Own(position, export.Isolate.NewWords<long>(integers)); break;
                            case double[] floats: Own(position, export.Isolate.NewWords<double>(floats)); break;
                        }
                }
                catch
                {
                    Release();
                    throw;
                }
            }

            private void Own(int position, Handle handle)
            {
                _handles[position] = handle;
                _owned[position] = true;
            }

            public TResult Run<TResult>()
            {
                var isolate = export.Isolate;
                Value[] results;
                try
                {
                    for (var i = 0; i < _handles.Length; i++)
                        if (_handles[i] is { } handle) _arguments[i] = handle.Value;
                    results = isolate.Invoke(export.Index, _arguments);
                }
                finally
                {
                    Release();
                }
                if (typeof(TResult) == typeof(NoResult)) return default!;
                if (typeof(TResult) == typeof(long) || typeof(TResult) == typeof(double)) return TypedValues.FromBits<TResult>(results[0].Bits);
                if (typeof(TResult).IsValueType) return ((Func<Value[], TResult>)export.TupleReader!)(results);
                if (typeof(TResult) == typeof(Handle)) return (TResult)(object)isolate.CreateHandle(results[0]);
                return (TResult)isolate.CopyOut(typeof(TResult), results[0]);
            }

            private void Release()
            {
                for (var i = 0; i < _handles.Length; i++)
                    if (_owned[i])
                    {
                        _handles[i]!.Dispose();
                        _owned[i] = false;
                    }
            }
        }
    }
}
