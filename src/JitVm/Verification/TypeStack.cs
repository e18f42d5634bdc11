using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>
/// An immutable operand-stack type, shared between program points: pushing makes a new node above the old one,
/// so recording the stack at every pc costs one reference per pc. Null is the empty stack.
/// </summary>
/// <remarks>
/// A typed function reference <c>ref s</c> (spec/values.md §2.1) is an <see cref="VmType.I64"/> node whose
/// <see cref="Reference"/> is the canonical index of s (the first signature of the module equal to s): every tier
/// sees the i64 it is at run time, and only the verifier's reference rules read <see cref="Reference"/>.
/// </remarks>
internal sealed class TypeStack(VmType top, TypeStack? below, int reference = TypeStack.NoReference)
{
    /// <summary>The <see cref="Reference"/> of a value that is not a typed function reference.</summary>
    public const int NoReference = -1;

    public VmType Top { get; } = top;

    /// <summary>For a typed function reference, the canonical index of its signature; else <see cref="NoReference"/>.</summary>
    public int Reference { get; } = reference;

    public TypeStack? Below { get; } = below;

    /// <summary>This node's number among the nodes its verifier made (from 1): the verifier's key for the nodes pushed
    /// on it.</summary>
    public int Id { get; init; }

    public int Height { get; } = (below?.Height ?? 0) + 1;

    public static int HeightOf(TypeStack? stack) => stack?.Height ?? 0;

    /// <summary>The type of the value <paramref name="depth"/> below the top (0 = top).</summary>
    public VmType Peek(int depth)
    {
        var node = this;
        for (var i = 0; i < depth; i++) node = node.Below!;
        return node.Top;
    }

    /// <summary>Types from the bottom of the stack to the top.</summary>
    public static VmType[] ToArray(TypeStack? stack)
    {
        var result = new VmType[HeightOf(stack)];
        for (var i = result.Length - 1; i >= 0; i--, stack = stack!.Below) result[i] = stack!.Top;
        return result;
    }

    public static bool SameTypes(TypeStack? a, TypeStack? b)
    {
        if (HeightOf(a) != HeightOf(b)) return false;
        for (; a is not null; a = a.Below, b = b!.Below)
        {
            if (ReferenceEquals(a, b)) return true;
            if (a.Top != b!.Top || a.Reference != b.Reference) return false;
        }
        return true;
    }

    /// <summary>The top <paramref name="count"/> types as the spec writes a stack: <c>[i64 f64]</c>, deepest first;
    /// a typed reference is written <c>ref (params) -> (results)</c> with its signature from <paramref name="types"/>.</summary>
    public static string Describe(TypeStack? stack, int count, IReadOnlyList<FunctionType>? types = null)
    {
        var names = new List<string>();
        for (var node = stack; node is not null && names.Count < count; node = node.Below) names.Add(node.Name(types));
        names.Reverse();
        var prefix = HeightOf(stack) > count ? "... " : "";
        return $"[{prefix}{string.Join(' ', names)}]";
    }

    /// <summary>The top type's name: its value type's, or <c>ref (params) -> (results)</c> for a typed reference.</summary>
    public string Name(IReadOnlyList<FunctionType>? types) =>
        Reference == NoReference ? Top.Name() : ReferenceName(Reference, types);

    /// <summary>How the text format writes the type <c>ref s</c> for signature index <paramref name="signature"/>.</summary>
    public static string ReferenceName(int signature, IReadOnlyList<FunctionType>? types) =>
        types is not null && (uint)signature < (uint)types.Count ? $"ref {types[signature]}" : $"ref #{signature}";
}
