namespace JitVm.Lox;

// The syntax tree the parser builds and the code generator walks. Every variable use is already resolved (local,
// captured or global), every error the book's compiler reports has been reported, and every node carries the line
// the book's compiler would record for the instruction that can fail there, so runtime errors name the same line.

/// <summary>A local variable of one function. <see cref="IsCaptured"/> becomes true when a nested function uses
/// it; such a variable lives in a heap box (one word) so the closures and the function share it.</summary>
internal sealed class LocalVariable(string name)
{
    public string Name { get; } = name;

    public bool IsCaptured { get; set; }
}

/// <summary>A global variable: one VM word global that starts as the undefined marker.</summary>
internal sealed class GlobalVariable(string name, int symbol)
{
    public string Name { get; } = name;

    /// <summary>The name's symbol, which runtime errors report.</summary>
    public int Symbol { get; } = symbol;

    /// <summary>How many declarations (<c>var</c>, <c>fun</c>, <c>class</c>) and assignments store to it.</summary>
    public int Stores { get; set; }

    /// <summary>The function of its one <c>fun</c> declaration, when that is its only store: once defined it always
    /// holds a closure of this function, so a call through it can call the function directly.</summary>
    public FunctionNode? OnlyFunction { get; set; }

    /// <summary><see cref="OnlyFunction"/> when nothing else ever stores to the variable.</summary>
    public FunctionNode? KnownFunction => Stores == 1 ? OnlyFunction : null;

    /// <summary>The class declaration that stores to it, when it is a class's global (a global class declaration
    /// runs at most once: a declaration in a block or a body declares a local).</summary>
    public ClassStmt? OnlyClass { get; set; }

    /// <summary><see cref="OnlyClass"/> when nothing else ever stores to the variable: once defined it always holds
    /// that one class object.</summary>
    public ClassStmt? KnownClass => Stores == 1 ? OnlyClass : null;
}

/// <summary>Where a variable use finds its variable.</summary>
internal abstract record VariableReference;

internal sealed record LocalUse(LocalVariable Variable) : VariableReference;

/// <summary>The <paramref name="Index"/>th captured variable of the running closure.</summary>
internal sealed record UpvalueUse(int Index) : VariableReference;

internal sealed record GlobalUse(GlobalVariable Variable) : VariableReference;

/// <summary>How a closure obtains one captured variable when it is created: a box local of the enclosing
/// function, or one of the enclosing closure's own captured boxes.</summary>
internal sealed record Upvalue(LocalVariable? Local, int EnclosingIndex);

internal enum FunctionKind { Script, Function, Method, Initializer }

internal sealed class FunctionNode(string name, FunctionKind kind)
{
    public string Name { get; } = name;

    public FunctionKind Kind { get; } = kind;

    public List<LocalVariable> Parameters { get; } = [];

    /// <summary>The receiver of a method or initialiser (clox's slot 0), null for functions and the script.</summary>
    public LocalVariable? This { get; set; }

    public List<Stmt> Body { get; } = [];

    public List<Upvalue> Upvalues { get; } = [];

    /// <summary>Every local declared in the body, parameters excluded, in declaration order.</summary>
    public List<LocalVariable> Locals { get; } = [];

    public int Line { get; set; }
}

internal abstract record Expr(int Line);

internal sealed record NumberExpr(double Value, int Line) : Expr(Line);

internal sealed record StringExpr(string Value, int Line) : Expr(Line);

internal enum LiteralKind { Nil, True, False }

internal sealed record LiteralExpr(LiteralKind Kind, int Line) : Expr(Line);

internal sealed record UnaryExpr(TokenType Operator, Expr Operand, int Line) : Expr(Line);

internal sealed record BinaryExpr(TokenType Operator, Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record LogicalExpr(bool IsAnd, Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record VariableExpr(VariableReference Variable, int Line) : Expr(Line);

internal sealed record AssignExpr(VariableReference Variable, Expr Value, int Line) : Expr(Line);

internal sealed record CallExpr(Expr Callee, List<Expr> Arguments, int Line) : Expr(Line);

internal sealed record GetExpr(Expr Target, int Symbol, int Line) : Expr(Line);

internal sealed record SetExpr(Expr Target, int Symbol, Expr Value, int Line) : Expr(Line);

/// <summary><c>super.name</c>: the method found from the superclass (read through <paramref name="Super"/>) bound
/// to the receiver (read through <paramref name="This"/>).</summary>
internal sealed record SuperExpr(int Symbol, VariableReference This, VariableReference Super, int Line) : Expr(Line);

internal abstract record Stmt(int Line);

internal sealed record PrintStmt(Expr Value, int Line) : Stmt(Line);

internal sealed record ExpressionStmt(Expr Value, int Line) : Stmt(Line);

/// <summary>Defines a variable: a global, or a local (whose box, when captured, is made here).</summary>
internal sealed record VarStmt(VariableReference Target, Expr? Initializer, int Line) : Stmt(Line);

internal sealed record BlockStmt(List<Stmt> Statements, int Line) : Stmt(Line);

internal sealed record IfStmt(Expr Condition, Stmt Then, Stmt? Else, int Line) : Stmt(Line);

/// <summary>A <c>while</c> loop, or a <c>for</c> loop's condition, body and increment.</summary>
internal sealed record WhileStmt(Expr? Condition, Stmt Body, Expr? Increment, int Line) : Stmt(Line);

internal sealed record ReturnStmt(Expr? Value, int Line) : Stmt(Line);

internal sealed record FunctionStmt(VariableReference Target, FunctionNode Function, int Line) : Stmt(Line);

/// <summary>A class declaration. With a superclass, <paramref name="SuperVariable"/> is the hidden local
/// <c>super</c> that its methods capture.</summary>
internal sealed record ClassStmt(string Name, VariableReference Target, Expr? Superclass, LocalVariable? SuperVariable,
    List<(int Symbol, FunctionNode Method)> Methods, int Line) : Stmt(Line);
