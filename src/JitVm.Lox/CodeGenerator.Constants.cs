namespace JitVm.Lox;

// What the code generator can decide without running anything: expressions whose value is known (literals, and
// equality and `!` of known values, which can neither fail nor have effects), and expressions that have no effect
// at all, whose statement needs no code. Folding them changes neither output nor errors: no instruction that could
// fail, allocate observably or print is left out.
internal sealed partial class CodeGenerator
{
    /// <summary>A value known at compile time: a number, a string, a boolean, or nil.</summary>
    private readonly record struct Known(LiteralKind? Literal, double Number, string? Text)
    {
        public bool IsNumber => Literal is null && Text is null;

        public bool Truthy => Literal is not (LiteralKind.Nil or LiteralKind.False);

        /// <summary>Lox's <c>==</c>: numbers by value (NaN unequal to itself), strings by content, the rest by kind.</summary>
        public bool EqualTo(Known other) =>
            IsNumber ? other.IsNumber && Number == other.Number
            : Text is not null ? other.Text is not null && string.Equals(Text, other.Text, StringComparison.Ordinal)
            : Literal == other.Literal;

        public static Known Of(bool value) => new(value ? LiteralKind.True : LiteralKind.False, 0, null);
    }

    /// <summary>The expression's value when it is known without running it.</summary>
    private static Known? KnownValue(Expr expression) => expression switch
    {
        NumberExpr number => new Known(null, number.Value, null),
        StringExpr text => new Known(null, 0, text.Value),
        LiteralExpr literal => new Known(literal.Kind, 0, null),
        UnaryExpr { Operator: TokenType.Bang } not when KnownValue(not.Operand) is { } operand => Known.Of(!operand.Truthy),
        BinaryExpr { Operator: TokenType.EqualEqual or TokenType.BangEqual } equality
            when KnownValue(equality.Left) is { } left && KnownValue(equality.Right) is { } right =>
            Known.Of(left.EqualTo(right) == (equality.Operator == TokenType.EqualEqual)),
        _ => null,
    };

    /// <summary>Pushes a known boolean, nil or number; false for a string, which needs its object.</summary>
    private static bool TryEmitKnown(Context context, Expr expression)
    {
        if (expression is NumberExpr or StringExpr or LiteralExpr || KnownValue(expression) is not { } known) return false;
        if (known.Text is not null) return false;
        context.F.Word(known.IsNumber ? BitConverter.DoubleToInt64Bits(known.Number)
            : known.Literal switch { LiteralKind.True => Representation.True, LiteralKind.False => Representation.False, _ => Representation.Nil });
        return true;
    }

    /// <summary>True when evaluating the expression can have no effect and cannot fail: reading a literal or a
    /// local, and <c>==</c>, <c>!=</c>, <c>!</c>, <c>and</c>, <c>or</c> of such expressions (they never fail).
    /// A global is left out: reading one that is not defined is an error.</summary>
    private static bool IsPure(Expr expression) => expression switch
    {
        NumberExpr or StringExpr or LiteralExpr => true,
        VariableExpr { Variable: LocalUse or UpvalueUse } => true,
        UnaryExpr { Operator: TokenType.Bang } not => IsPure(not.Operand),
        BinaryExpr { Operator: TokenType.EqualEqual or TokenType.BangEqual } equality => IsPure(equality.Left) && IsPure(equality.Right),
        LogicalExpr logical => IsPure(logical.Left) && IsPure(logical.Right),
        _ => false,
    };
}
