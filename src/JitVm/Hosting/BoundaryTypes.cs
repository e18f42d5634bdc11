using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// The .NET types typed exports and typed host functions accept, and the VM types they stand for
/// (spec/embedding.md §9.3). <c>long</c> and <c>double</c> are i64 and f64 and take the direct, boxing-free paths;
/// strings, byte strings, arrays and handles are ptr and are copied across the boundary; a <see cref="ValueTuple"/>
/// of 2 to 4 <c>long</c>s and <c>double</c>s stands for several results.
/// </summary>
internal static class BoundaryTypes
{
    private const string ExportParameters = "long (i64), double (f64), or string, byte[], ReadOnlyMemory<byte>, long[], double[] or Handle (ptr)";
    private const string ExportResults = "long (i64), double (f64), string, byte[], long[], double[] or Handle (ptr), or a ValueTuple of 2 to 4 longs and doubles (several results)";
    private const string HostParameters = "long (i64), double (f64), or Pointer, string, byte[], long[] or double[] (ptr)";
    private const string HostResults = "long (i64), double (f64), string, byte[], long[], double[] or Handle (ptr), or a ValueTuple of 2 to 4 longs and doubles (several results)";

    /// <summary>Whether values of <paramref name="type"/> are passed as their bits, with nothing to copy.</summary>
    public static bool IsScalar(Type type) => type == typeof(long) || type == typeof(double);

    /// <summary>The VM type of a typed export's parameter of <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">The type has no VM counterpart; <paramref name="what"/> opens the message.</exception>
    public static VmType ExportParameter(Type type, string what) =>
        IsScalar(type) ? TypedValues.TypeOf(type, what)
        : type == typeof(string) || type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) || type == typeof(long[]) || type == typeof(double[]) || type == typeof(Handle)
            ? VmType.Ptr
            : throw Unsupported(what, "a typed export's parameter", ExportParameters, type);

    /// <summary>The VM result types of a typed export whose delegate returns <paramref name="type"/> (null: void).</summary>
    /// <exception cref="ArgumentException">The type has no VM counterpart.</exception>
    public static VmType[] ExportResult(Type? type, string what) =>
        type is null ? []
        : IsScalar(type) ? [TypedValues.TypeOf(type, what)]
        : IsObjectResult(type) ? [VmType.Ptr]
        : TupleElements(type) is { } elements ? [.. elements.Select(e => TypedValues.TypeOf(e, what))]
        : throw Unsupported(what, "a typed export's result", ExportResults, type);

    /// <summary>The VM type of a typed host function's parameter of <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">The type has no VM counterpart.</exception>
    public static VmType HostParameter(Type type, string what) =>
        IsScalar(type) ? TypedValues.TypeOf(type, what)
        : type == typeof(Pointer) || type == typeof(string) || type == typeof(byte[]) || type == typeof(long[]) || type == typeof(double[])
            ? VmType.Ptr
            : throw Unsupported(what, "a typed host function's parameter", HostParameters, type);

    /// <summary>The VM result types of a typed host function returning <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">The type has no VM counterpart.</exception>
    public static VmType[] HostResult(Type type, string what) =>
        IsScalar(type) ? [TypedValues.TypeOf(type, what)]
        : IsObjectResult(type) ? [VmType.Ptr]
        : TupleElements(type) is { } elements ? [.. elements.Select(e => TypedValues.TypeOf(e, what))]
        : throw Unsupported(what, "a typed host function's result", HostResults, type);

    private static bool IsObjectResult(Type type) =>
        type == typeof(string) || type == typeof(byte[]) || type == typeof(long[]) || type == typeof(double[]) || type == typeof(Handle);

    /// <summary>The element types of a <see cref="ValueTuple"/> of 2 to 4 longs and doubles, else null.</summary>
    public static Type[]? TupleElements(Type type)
    {
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        if (definition != typeof(ValueTuple<,>) && definition != typeof(ValueTuple<,,>) && definition != typeof(ValueTuple<,,,>)) return null;
        var elements = type.GetGenericArguments();
        return elements.All(IsScalar) ? elements : null;
    }

    private static ArgumentException Unsupported(string what, string position, string allowed, Type type) =>
        new($"{what}: {position} is {allowed}, not {Describe(type)}");

    /// <summary>A type as C# spells the ones people use here (<c>ValueTuple`2[Int64,String]</c> says less than <c>(long, string)</c>).</summary>
    private static string Describe(Type type) =>
        type.IsGenericType && type.FullName?.StartsWith("System.ValueTuple`", StringComparison.Ordinal) == true
            ? "(" + string.Join(", ", type.GetGenericArguments().Select(Describe)) + ")"
            : type.Name;
}
