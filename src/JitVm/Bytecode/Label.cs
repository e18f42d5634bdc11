using System.Globalization;

namespace JitVm.Bytecode;

/// <summary>
/// A branch target inside one function, created by <see cref="FunctionBuilder.DefineLabel"/> and placed by
/// <see cref="FunctionBuilder.MarkLabel"/>. Branches may use a label before it is marked; it must be marked by the
/// time the module is built.
/// </summary>
public sealed class CodeLabel
{
    private readonly int _ordinal;

    internal CodeLabel(FunctionBuilder function, string? name, int ordinal)
    {
        Function = function;
        Name = name;
        _ordinal = ordinal;
    }

    /// <summary>The function the label belongs to; only that function's branches may use it.</summary>
    public FunctionBuilder Function { get; }

    /// <summary>The label's name, or null for an unnamed label.</summary>
    public string? Name { get; }

    /// <summary>True once the label has been placed with <see cref="FunctionBuilder.MarkLabel"/>.</summary>
    public bool IsMarked => Position >= 0;

    /// <summary>The index of the instruction the label names, or -1 while it is unmarked.</summary>
    public int Position { get; internal set; } = -1;

    /// <summary>How messages name the label: <c>label 'done'</c>, or <c>unnamed label #2</c> (the third label the
    /// function defined).</summary>
    internal string Describe() =>
        Name is null ? "unnamed label #" + _ordinal.ToString(CultureInfo.InvariantCulture) : $"label '{Name}'";

    /// <inheritdoc />
    public override string ToString() => $"{Describe()} of {Function.Name}" + (IsMarked ? $" at {Position}" : " (unmarked)");
}
