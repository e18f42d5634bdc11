using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>
/// An immutable operand-stack type, shared between program points: pushing makes a new node above the old one,
/// so recording the stack at every pc costs one reference per pc. Null is the empty stack.
/// </summary>
internal sealed class TypeStack(VmType top, TypeStack? below)
{
    public VmType Top { get; } = top;

    public TypeStack? Below { get; } = below;

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
            if (a.Top != b!.Top) return false;
        }
        return true;
    }

    /// <summary>The top <paramref name="count"/> types as the spec writes a stack: <c>[i64 f64]</c>, deepest first.</summary>
    public static string Describe(TypeStack? stack, int count)
    {
        var all = ToArray(stack);
        var shown = all.AsSpan(Math.Max(0, all.Length - count));
        var prefix = all.Length > count ? "... " : "";
        return $"[{prefix}{string.Join(' ', shown.ToArray().Select(t => t.Name()))}]";
    }
}
