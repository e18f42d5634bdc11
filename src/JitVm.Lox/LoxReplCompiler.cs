using JitVm.Bytecode;

namespace JitVm.Lox;

/// <summary>One input of a REPL session, compiled: the new version of the session module (entry
/// <see cref="LoxProgram.EntryFunction"/> runs the input) and its trap reporter.</summary>
internal sealed class LoxReplInput
{
    internal LoxReplInput(LoxProgram program, FunctionNode script, Dictionary<FunctionNode, int> functionIndices, bool printsValue)
    {
        Program = program;
        Script = script;
        FunctionIndices = functionIndices;
        PrintsValue = printsValue;
    }

    /// <summary>The session module with this input as its entry, and the translation of its traps.</summary>
    public LoxProgram Program { get; }

    /// <summary>Whether the input was an expression without its <c>;</c>, compiled as <c>print</c> of it.</summary>
    public bool PrintsValue { get; }

    internal FunctionNode Script { get; }

    internal Dictionary<FunctionNode, int> FunctionIndices { get; }
}

/// <summary>
/// Compiles the inputs of a Lox REPL session (spec/repl.md, "The Lox REPL") so that they behave as one script:
/// each input is parsed against the globals of the inputs accepted before it, and compiled into a new version of
/// the session module holding every accepted input's code and the new input as its entry. The session carries the
/// values of the Lox globals (<c>g.NAME</c>) from version to version by name.
/// </summary>
/// <remarks>
/// <para>Invariant: the VM function of every Lox function of an accepted input keeps its function index in every
/// later version, because closures made by earlier inputs hold it (<c>func.ref</c>) and live on in globals and
/// objects. The functions are declared first, input by input in source order
/// (<see cref="CodeGenerator.DeclareSessionFunctions"/>), and <see cref="Compile"/> checks the indices.</para>
/// <para>Every earlier input is compiled again in each version (into a function that never runs), so whole-program
/// decisions (a global's only <c>fun</c> called directly) are made for the whole session so far. A symbol keeps its
/// number across inputs, since field and method tables made earlier are keyed by it.</para>
/// </remarks>
internal sealed class LoxReplCompiler
{
    /// <summary>The session module's source name.</summary>
    public const string SourceName = "repl";

    private const string ClockName = "clock";

    private readonly SymbolTable _symbols = new();
    private readonly Dictionary<string, GlobalVariable> _globals = new(StringComparer.Ordinal);
    private readonly List<FunctionNode> _accepted = [];
    private Dictionary<FunctionNode, int> _functionIndices = [];
    private bool _clockDefined;

    /// <summary>The globals as they were before the input compiled last, while it is neither accepted nor rejected.</summary>
    private GlobalsState? _pending;

    public LoxReplCompiler() => _globals.Add(ClockName, new GlobalVariable(ClockName, _symbols.Intern(ClockName)));

    /// <summary>How many inputs were accepted.</summary>
    public int AcceptedInputs => _accepted.Count;

    /// <summary>
    /// Compiles <paramref name="source"/> as the next input. An input that is an expression statement lacking only
    /// its final <c>;</c> is compiled as <c>print</c> of the expression. Nothing changes in the session until
    /// <see cref="Accept"/>; a compile error (<see cref="LoxCompileException"/>, clox's lines) changes nothing.
    /// </summary>
    public LoxReplInput Compile(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_pending is { } stale) Restore(stale);
        _pending = null;
        var before = Snapshot();
        try
        {
            var script = Parse(source, out var errors);
            var printsValue = false;
            if (errors.Count > 0)
            {
                Restore(before);
                if (errors is not [var only] || !only.EndsWith("Error at end: Expect ';' after expression.", StringComparison.Ordinal))
                    throw new LoxCompileException(errors);
                var completed = Parse(source + ";", out var again);
                if (again.Count > 0 || completed.Body is not [.., ExpressionStmt last])
                {
                    Restore(before);
                    throw new LoxCompileException(errors);
                }
                completed.Body[^1] = new PrintStmt(last.Value, last.Line);
                script = completed;
                printsValue = true;
            }
            var input = Generate(script, printsValue);
            _pending = before;
            return input;
        }
        catch
        {
            Restore(before);
            throw;
        }
    }

    /// <summary>Makes <paramref name="input"/> (the last one compiled) part of the session: later inputs see its
    /// globals and functions. Call it once the input's module is linked, whatever its run does.</summary>
    public void Accept(LoxReplInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _accepted.Add(input.Script);
        _functionIndices = input.FunctionIndices;
        _clockDefined = true;
        _pending = null;
    }

    /// <summary>Drops <paramref name="input"/> (compiled but not linked): the session is as before it.</summary>
    public void Reject(LoxReplInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_pending is { } before) Restore(before);
        _pending = null;
    }

    /// <summary>Whether <paramref name="text"/> is an incomplete input: more <c>(</c> or <c>{</c> open than closed,
    /// or a string not yet closed. Strings and comments are skipped as the scanner skips them.</summary>
    public static bool IsIncomplete(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var scanner = new Scanner(text);
        var depth = 0;
        while (true)
        {
            var token = scanner.Next();
            switch (token.Type)
            {
                case TokenType.Eof:
                    return depth > 0;
                case TokenType.LeftParen or TokenType.LeftBrace:
                    depth++;
                    break;
                case TokenType.RightParen or TokenType.RightBrace:
                    depth--;
                    break;
                case TokenType.Error when token.Text == "Unterminated string.":
                    return true;
            }
        }
    }

    private FunctionNode Parse(string source, out List<string> errors)
    {
        var parser = new Parser(source, _symbols, _globals);
        var script = parser.ParseScript();
        errors = parser.Errors;
        return script;
    }

    private LoxReplInput Generate(FunctionNode script, bool printsValue)
    {
        var module = new ModuleBuilder(SourceName);
        var declared = CodeGenerator.DeclareSessionFunctions(module, [.. _accepted, script]);
        var runtime = new LoxRuntime(module, _symbols.Init);
        var generator = new CodeGenerator(module, runtime, _symbols, _globals.Values);
        generator.Adopt(declared);
        for (var i = 0; i < _accepted.Count; i++) generator.EmitEarlierInput(_accepted[i], $"$repl.input.{i + 1}");
        generator.EmitScript(script, _clockDefined ? null : _globals[ClockName]);
        var built = module.Build();
        var indices = declared.ToDictionary(entry => entry.Key, entry => entry.Value.Index);
        foreach (var (node, index) in _functionIndices)
        {
            if (indices[node] != index)
                throw new InvalidOperationException($"the REPL's function {node.Name} moved from index {index} to {indices[node]}; closures of earlier inputs would call the wrong function");
        }
        return new LoxReplInput(new LoxProgram(built, _symbols), script, indices, printsValue);
    }

    /// <summary>What parsing an input changes in the session's globals: which exist, and their store counts.</summary>
    private sealed record GlobalsState(Dictionary<string, GlobalVariable> Globals, Dictionary<GlobalVariable, (int Stores, FunctionNode? OnlyFunction)> Stores);

    private GlobalsState Snapshot() =>
        new(new Dictionary<string, GlobalVariable>(_globals, StringComparer.Ordinal),
            _globals.Values.ToDictionary(g => g, g => (g.Stores, g.OnlyFunction)));

    private void Restore(GlobalsState snapshot)
    {
        _globals.Clear();
        foreach (var (name, global) in snapshot.Globals)
        {
            _globals.Add(name, global);
            (global.Stores, global.OnlyFunction) = snapshot.Stores[global];
        }
    }
}
