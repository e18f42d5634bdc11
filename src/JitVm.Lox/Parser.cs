using System.Globalization;

namespace JitVm.Lox;

/// <summary>
/// The book's single-pass compiler front half: parses Lox, resolves every variable as it goes (so scope errors
/// are found in the same order and with the same panic-mode recovery as clox), and counts what clox would count
/// (locals, upvalues, constants per function) to report clox's limits. Its output is a syntax tree for
/// <see cref="CodeGenerator"/>, or the error lines.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>clox's limit on locals and on captured variables per function (a byte operand: 256).</summary>
    private const int ByteCount = 256;

    private readonly Scanner _scanner;
    private readonly SymbolTable _symbols;
    private Token _current;
    private Token _previous;
    private bool _panicMode;
    private FunctionState _function = null!;
    private ClassState? _class;

    /// <summary>A parser of <paramref name="source"/>; <paramref name="globals"/>, when given, are the globals of the
    /// inputs before it (a REPL session), which this one resolves to and adds to.</summary>
    public Parser(string source, SymbolTable symbols, Dictionary<string, GlobalVariable>? globals = null)
    {
        _scanner = new Scanner(source);
        _symbols = symbols;
        Globals = globals ?? new(StringComparer.Ordinal);
    }

    public List<string> Errors { get; } = [];

    public Dictionary<string, GlobalVariable> Globals { get; }

    /// <summary>Parses the whole script; the result is meaningful only when <see cref="Errors"/> is empty.</summary>
    public FunctionNode ParseScript()
    {
        var script = new FunctionNode("script", FunctionKind.Script) { Line = 1 };
        _function = new FunctionState(null, script);
        Advance();
        while (!Match(TokenType.Eof)) Declaration(script.Body);
        return script;
    }

    private sealed class FunctionState(FunctionState? enclosing, FunctionNode node)
    {
        public FunctionState? Enclosing { get; } = enclosing;

        public FunctionNode Node { get; } = node;

        /// <summary>The locals in scope, innermost last; <c>Depth</c> -1 marks a declared, not yet initialised one.
        /// clox's slot 0 (the function itself, or <c>this</c>) is the first entry.</summary>
        public List<(string Name, int Depth, LocalVariable Variable)> Locals { get; } = [];

        public int ScopeDepth { get; set; }

        /// <summary>How many constants clox's chunk for this function would hold (no constant is ever shared).</summary>
        public int Constants { get; set; }

        /// <summary>About how many bytes of bytecode clox would have emitted for this function so far: enough to
        /// report its 16-bit jump limits ("Loop body too large.") where clox does.</summary>
        public int CodeSize { get; set; }
    }

    private sealed class ClassState(ClassState? enclosing)
    {
        public ClassState? Enclosing { get; } = enclosing;

        public bool HasSuperclass { get; set; }
    }

    // ---- tokens and errors ----

    private void Advance()
    {
        _previous = _current;
        while (true)
        {
            _current = _scanner.Next();
            if (_current.Type != TokenType.Error) break;
            ErrorAt(_current, _current.Text);
        }
    }

    private void Consume(TokenType type, string message)
    {
        if (_current.Type == type)
        {
            Advance();
            return;
        }
        ErrorAtCurrent(message);
    }

    private bool Check(TokenType type) => _current.Type == type;

    private bool Match(TokenType type)
    {
        if (!Check(type)) return false;
        Advance();
        return true;
    }

    private void Error(string message) => ErrorAt(_previous, message);

    private void ErrorAtCurrent(string message) => ErrorAt(_current, message);

    private void ErrorAt(Token token, string message)
    {
        if (_panicMode) return;
        _panicMode = true;
        var where = token.Type switch
        {
            TokenType.Eof => " at end",
            TokenType.Error => "",
            _ => $" at '{token.Text}'",
        };
        Errors.Add($"[line {token.Line}] Error{where}: {message}");
    }

    private void Synchronize()
    {
        _panicMode = false;
        while (_current.Type != TokenType.Eof)
        {
            if (_previous.Type == TokenType.Semicolon) return;
            switch (_current.Type)
            {
                case TokenType.Class or TokenType.Fun or TokenType.Var or TokenType.For or TokenType.If
                    or TokenType.While or TokenType.Print or TokenType.Return:
                    return;
            }
            Advance();
        }
    }

    /// <summary>Counts one constant of clox's chunk for the current function, reporting the overflow as clox does.</summary>
    private void Constant()
    {
        if (_function.Constants++ > byte.MaxValue) Error("Too many constants in one chunk.");
    }

    /// <summary>Counts bytes clox would emit here.</summary>
    private void Code(int bytes) => _function.CodeSize += bytes;

    /// <summary>clox's emitLoop: the backward jump's offset must fit in 16 bits.</summary>
    private void Loop(int loopStart)
    {
        Code(1);
        if (_function.CodeSize - loopStart + 2 > ushort.MaxValue) Error("Loop body too large.");
        Code(2);
    }

    // ---- scopes and variables ----

    private void BeginScope() => _function.ScopeDepth++;

    private void EndScope()
    {
        _function.ScopeDepth--;
        var locals = _function.Locals;
        while (locals.Count > 0 && locals[^1].Depth > _function.ScopeDepth)
        {
            locals.RemoveAt(locals.Count - 1);
            Code(1);
        }
    }

    private LocalVariable AddLocal(string name)
    {
        var variable = new LocalVariable(name);
        if (_function.Locals.Count == ByteCount)
        {
            Error("Too many local variables in function.");
            return variable;
        }
        _function.Locals.Add((name, -1, variable));
        _function.Node.Locals.Add(variable);
        return variable;
    }

    /// <summary>Declares the variable just named by <see cref="_previous"/>: a new local in a scope, else nothing
    /// (a global is bound by name when it is defined).</summary>
    private LocalVariable? DeclareVariable()
    {
        if (_function.ScopeDepth == 0) return null;
        var name = _previous.Text;
        for (var i = _function.Locals.Count - 1; i >= 0; i--)
        {
            var local = _function.Locals[i];
            if (local.Depth != -1 && local.Depth < _function.ScopeDepth) break;
            if (local.Name == name) Error("Already a variable with this name in this scope.");
        }
        return AddLocal(name);
    }

    /// <summary>Parses a variable name being declared; returns where its definition stores.</summary>
    private VariableReference ParseVariable(string message)
    {
        Consume(TokenType.Identifier, message);
        var local = DeclareVariable();
        if (local is not null) return new LocalUse(local);
        Constant();
        return new GlobalUse(Global(_previous.Text));
    }

    private GlobalVariable Global(string name)
    {
        if (!Globals.TryGetValue(name, out var global))
        {
            global = new GlobalVariable(name, _symbols.Intern(name));
            Globals.Add(name, global);
        }
        return global;
    }

    private void MarkInitialized()
    {
        if (_function.ScopeDepth == 0) return;
        var locals = _function.Locals;
        if (locals.Count > 0 && locals[^1].Depth == -1) locals[^1] = locals[^1] with { Depth = _function.ScopeDepth };
    }

    private static LocalVariable? ResolveLocal(FunctionState function, string name, Action<string> error)
    {
        for (var i = function.Locals.Count - 1; i >= 0; i--)
        {
            var local = function.Locals[i];
            if (local.Name != name) continue;
            if (local.Depth == -1) error("Can't read local variable in its own initializer.");
            return local.Variable;
        }
        return null;
    }

    private int ResolveUpvalue(FunctionState function, string name)
    {
        if (function.Enclosing is null) return -1;
        var local = ResolveLocal(function.Enclosing, name, Error);
        if (local is not null)
        {
            local.IsCaptured = true;
            return AddUpvalue(function, new Upvalue(local, -1));
        }
        var enclosingIndex = ResolveUpvalue(function.Enclosing, name);
        return enclosingIndex < 0 ? -1 : AddUpvalue(function, new Upvalue(null, enclosingIndex));
    }

    private int AddUpvalue(FunctionState function, Upvalue upvalue)
    {
        var upvalues = function.Node.Upvalues;
        var existing = upvalues.IndexOf(upvalue);
        if (existing >= 0) return existing;
        if (upvalues.Count == ByteCount)
        {
            Error("Too many closure variables in function.");
            return 0;
        }
        upvalues.Add(upvalue);
        return upvalues.Count - 1;
    }

    /// <summary>Resolves a use of <paramref name="name"/> as clox's namedVariable does: local, then captured, then
    /// global (which costs a constant).</summary>
    private VariableReference ResolveName(string name)
    {
        Code(2);
        var local = ResolveLocal(_function, name, Error);
        if (local is not null) return new LocalUse(local);
        var upvalue = ResolveUpvalue(_function, name);
        if (upvalue >= 0) return new UpvalueUse(upvalue);
        Constant();
        return new GlobalUse(Global(name));
    }

    private static double ParseNumber(string text) => double.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
}
