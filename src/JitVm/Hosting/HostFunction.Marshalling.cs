using System.Runtime.CompilerServices;
using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// How a typed host function's arguments and results cross the boundary (spec/embedding.md §9.3). Its
/// <see cref="Callback"/> is called with the raw values of the frame (a ptr argument is the object's heap index,
/// not a token), and only during the call, while the collector cannot run: a string or array argument is copied
/// out of the object, and a string or array result is copied into an object allocated without collecting, whose
/// index is the ptr result. Every conversion is specialised per type by the CLR, so <c>long</c> and <c>double</c>
/// values are never boxed.
/// </summary>
public sealed partial class HostFunction
{
    private static VmType Parameter<T>() => BoundaryTypes.HostParameter(typeof(T), "cannot make a typed host function");

    private static VmType[] Results<T>() => BoundaryTypes.HostResult(typeof(T), "cannot make a typed host function");

    /// <summary>Argument <paramref name="bits"/> (a raw frame value) as a <typeparamref name="T"/>.</summary>
    private static T From<T>(Isolate isolate, long bits)
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(double)) return TypedValues.FromBits<T>(bits);
        if (typeof(T) == typeof(Pointer))
        {
            var pointer = new Pointer(isolate, bits);
            return Unsafe.As<Pointer, T>(ref pointer);
        }
        var heap = isolate.Heap;
        object copy = typeof(T) == typeof(string) ? VmObjects.ReadString(heap, bits)
            : typeof(T) == typeof(byte[]) ? VmObjects.StringBytes(heap, bits).ToArray()
            : typeof(T) == typeof(long[]) ? VmObjects.ReadWords<long>(heap, bits)
            : VmObjects.ReadWords<double>(heap, bits);
        return (T)copy;
    }

    /// <summary>Writes <paramref name="result"/> into <paramref name="values"/> as the raw results of the call.</summary>
    private static void Write<T>(Isolate isolate, Span<long> values, T result)
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(double))
        {
            values[0] = TypedValues.ToBits(result);
            return;
        }
        if (typeof(T).IsValueType)
        {
            TupleWriter<T>.Write(values, result);
            return;
        }
        var heap = isolate.Heap;
        switch ((object?)result)
        {
            case null:
                throw new InvalidOperationException($"the typed host function returned null as its {typeof(T).Name} result; a ptr result is always an object, so return an empty one for no data");
            case Handle handle:
                values[0] = handle.TargetIn(isolate, "the result");
                return;
            case string text:
            {
                var byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
                var pointer = heap.AllocateWithoutCollecting(VmObjects.StringWords(byteCount));
                VmObjects.FillString(heap, pointer, text, byteCount);
                values[0] = pointer;
                return;
            }
            case byte[] bytes:
            {
                var pointer = heap.AllocateWithoutCollecting(VmObjects.StringWords(bytes.Length));
                VmObjects.FillBytes(heap, pointer, bytes);
                values[0] = pointer;
                return;
            }
            case long[] integers:
                values[0] = NewWords<long>(heap, integers);
                return;
            case double[] floats:
                values[0] = NewWords<double>(heap, floats);
                return;
        }
    }

    private static long NewWords<T>(Memory.Heap heap, T[] words) where T : unmanaged
    {
        var pointer = heap.AllocateWithoutCollecting(words.Length);
        VmObjects.FillWords<T>(heap, pointer, words);
        return pointer;
    }

    /// <summary>Writes the elements of a <see cref="ValueTuple"/> of longs and doubles as results 0, 1, ...</summary>
    private delegate void TupleWrite<in T>(Span<long> values, T tuple);

    /// <summary>The writer of tuples of type <typeparamref name="T"/>, made once per type: a method specialised to the
    /// element types where code can be generated, else one that reads the elements through <see cref="ITuple"/>
    /// (which boxes them).</summary>
    private static class TupleWriter<T>
    {
        public static readonly TupleWrite<T> Write = Make();

        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "The WriteN methods put no DynamicallyAccessedMembers requirement on their type parameters.")]
        private static TupleWrite<T> Make()
        {
            var elements = BoundaryTypes.TupleElements(typeof(T))!;
            if (RuntimeFeature.IsDynamicCodeSupported)
                return typeof(TupleWriter<T>).GetMethod("Write" + elements.Length, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                    .MakeGenericMethod(elements).CreateDelegate<TupleWrite<T>>();
            return (values, tuple) =>
            {
                var items = (ITuple)tuple!;
                for (var i = 0; i < items.Length; i++)
                    values[i] = items[i] is double number ? BitConverter.DoubleToInt64Bits(number) : (long)items[i]!;
            };
        }

        private static void Write2<T1, T2>(Span<long> values, (T1, T2) tuple)
        {
            values[0] = TypedValues.ToBits(tuple.Item1);
            values[1] = TypedValues.ToBits(tuple.Item2);
        }

        private static void Write3<T1, T2, T3>(Span<long> values, (T1, T2, T3) tuple)
        {
            values[0] = TypedValues.ToBits(tuple.Item1);
            values[1] = TypedValues.ToBits(tuple.Item2);
            values[2] = TypedValues.ToBits(tuple.Item3);
        }

        private static void Write4<T1, T2, T3, T4>(Span<long> values, (T1, T2, T3, T4) tuple)
        {
            values[0] = TypedValues.ToBits(tuple.Item1);
            values[1] = TypedValues.ToBits(tuple.Item2);
            values[2] = TypedValues.ToBits(tuple.Item3);
            values[3] = TypedValues.ToBits(tuple.Item4);
        }
    }
}
