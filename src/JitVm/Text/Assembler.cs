using System.Globalization;
using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Text;

/// <summary>
/// Turns assembly text (spec/text-format.md) into a <see cref="ModuleDefinition"/>. Names are resolved after the
/// whole text is read, so functions, globals, data and labels may be used before they are declared. Every
/// instruction records its source line for trap reports.
/// </summary>
public static class Assembler
{
    /// <summary>Assembles a module.</summary>
    /// <param name="text">The assembly text.</param>
    /// <param name="sourceName">The file name used in messages and stored as the module's source, unless the text
    /// has a <c>.source</c> directive.</param>
    /// <exception cref="ModuleFormatException">The text is malformed; the message names the line.</exception>
    public static ModuleDefinition Assemble(string text, string? sourceName = null) =>
        new Parser(Lexer.Tokenize(text, sourceName), sourceName).ParseModule();

    private sealed class PendingFunction
    {
        public required string Name;
        public required int Line;
        public required FunctionType Signature;
        public bool Exported;
        public readonly List<string> LocalNames = [];

        /// <summary>The non-empty names in <see cref="LocalNames"/>, for duplicate checks in constant time.</summary>
        public readonly HashSet<string> NamedLocals = new(StringComparer.Ordinal);
        public readonly List<VmType> LocalTypes = [];

        /// <summary>The declared locals of type <c>ref s</c> (by index in <see cref="LocalTypes"/>) with s.</summary>
        public readonly Dictionary<int, FunctionType> LocalReferences = [];
        public readonly Dictionary<string, int> Labels = new(StringComparer.Ordinal);
        public readonly Dictionary<int, string> LabelNames = [];

        /// <summary>Every label definition in text order with its physical line, so an error about a label points
        /// at the line that defines it.</summary>
        public readonly List<(string Name, int Line)> LabelLines = [];
        public readonly List<(OpCode Op, Token First, List<Token> Operands, int SourceLine)> Body = [];

        /// <summary>The .catch lines in text order: tag, start, end and handler tokens.</summary>
        public readonly List<(Token Tag, Token Start, Token End, Token Handler)> Catches = [];
    }

    /// <remarks>Every name is looked up through a hash table (never a list search), so assembling costs time
    /// linear in the text.</remarks>
    private sealed class Parser(List<Token> tokens, string? source, Dictionary<string, FunctionType>? namedTypes = null)
    {
        private int _position;
        // Source line of an instruction = its physical line + _lineDelta (long: .line N near 2^31 - 1 would overflow).
        private long _lineDelta;
        private Token? _lineDirective;
        private string? _declaredSource;
        private readonly List<(string Name, FunctionType Type, int Line)> _imports = [];
        private readonly List<PendingFunction> _functions = [];
        private readonly List<GlobalDefinition> _globals = [];
        private readonly List<GlobalImportDefinition> _globalImports = [];
        private readonly HashSet<string> _globalNames = new(StringComparer.Ordinal);
        private readonly List<DataSegment> _data = [];
        private readonly HashSet<string> _dataNames = new(StringComparer.Ordinal);
        private readonly List<TagDefinition> _tags = [];
        private readonly Dictionary<string, int> _tagIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<string, FunctionType> _namedTypes = namedTypes ?? new(StringComparer.Ordinal);
        private readonly List<FunctionType> _typeOrder = [];
        private readonly Dictionary<FunctionType, int> _typeIndex = [];

        private Token Peek => tokens[_position];

        public ModuleDefinition ParseModule()
        {
            PendingFunction? current = null;
            while (_position < tokens.Count)
            {
                var token = Next();
                if (token.Kind == TokenKind.EndOfLine)
                {
                    if (_position >= tokens.Count) break;
                    continue;
                }
                if (Peek.Kind == TokenKind.Colon &&
                    ((token.Kind == TokenKind.Identifier && !token.Text.StartsWith('.')) || token.Kind == TokenKind.String))
                {
                    Next();
                    var label = AsName(token);
                    if (current is null) throw Error(label, $"label {Printable.Quote(label.Text)} is outside a function");
                    if (!current.Labels.TryAdd(label.Text, current.Body.Count))
                        throw Error(label, $"label {Printable.Quote(label.Text)} is defined twice in function {Printable.Quote(current.Name)}");
                    current.LabelNames.TryAdd(current.Body.Count, label.Text);
                    current.LabelLines.Add((label.Text, label.Line));
                    continue;
                }
                if (token.Kind != TokenKind.Identifier)
                    throw Error(token, $"expected a directive, label or instruction, found {token.Describe()}");

                switch (token.Text)
                {
                    case ".source":
                        _declaredSource = SourceName(Expect(TokenKind.String, "a source file name after .source"));
                        EndOfLine();
                        break;
                    case ".line":
                        var number = Expect(TokenKind.Integer, "a line number after .line");
                        if (number.IntValue is < 0 or > int.MaxValue)
                            throw Error(number, $"line number {number.IntValue} is out of range: .line takes 0 to {int.MaxValue}");
                        EndOfLine();
                        // The next physical line is source line N (as C's #line).
                        _lineDelta = number.IntValue - (token.Line + 1L);
                        _lineDirective = number;
                        break;
                    case ".type":
                        var typeName = ExpectName("a signature name after .type");
                        var declared = ParseSignature(Peek);
                        if (!_namedTypes.TryAdd(typeName.Text, declared)) throw Error(typeName, $"signature {Printable.Quote(typeName.Text)} is declared twice");
                        EndOfLine();
                        break;
                    case ".import":
                        if (current is not null) throw Error(token, ".import must be outside a function");
                        if (IsGlobalImport())
                        {
                            ParseGlobalImport();
                            break;
                        }
                        var importName = ExpectName("the imported function's name after .import");
                        _imports.Add((importName.Text, ParseSignature(Peek), importName.Line));
                        EndOfLine();
                        break;
                    case ".global":
                        if (current is not null) throw Error(token, ".global must be outside a function");
                        ParseGlobal();
                        break;
                    case ".data":
                        if (current is not null) throw Error(token, ".data must be outside a function");
                        ParseData();
                        break;
                    case ".tag":
                        if (current is not null) throw Error(token, ".tag must be outside a function");
                        ParseTag();
                        break;
                    case ".catch":
                        if (current is null) throw Error(token, ".catch must be inside a function");
                        if (Peek.Kind == TokenKind.EndOfLine) throw Error(Peek, "expected the tag after .catch (.catch TAG START END HANDLER)");
                        var caught = Next();
                        current.Catches.Add((caught, ExpectName("the protected range's first label (.catch TAG START END HANDLER)"),
                            ExpectName("the label after the protected range (.catch TAG START END HANDLER)"), ExpectName("the handler's label (.catch TAG START END HANDLER)")));
                        EndOfLine();
                        break;
                    case ".func":
                        if (current is not null) throw Error(token, $".func inside function {Printable.Quote(current.Name)}: close it with .end first");
                        current = ParseFunctionHeader(token);
                        break;
                    case ".local":
                        if (current is null) throw Error(token, ".local must be inside a function");
                        ParseLocal(current);
                        break;
                    case ".end":
                        if (current is null) throw Error(token, ".end without a matching .func");
                        EndOfLine();
                        _functions.Add(current);
                        current = null;
                        break;
                    default:
                        if (token.Text.StartsWith('.'))
                            throw Error(token, $"unknown directive '{token.Text}'; known: .source .line .type .import .global .data .tag .func .local .catch .end");
                        if (current is null) throw Error(token, $"instruction '{token.Text}' is outside a function");
                        if (!OpCodeTable.TryGet(token.Text, out var info))
                            throw Error(token, $"unknown instruction '{token.Text}'");
                        var operands = new List<Token>();
                        while (Peek.Kind != TokenKind.EndOfLine) operands.Add(Next());
                        current.Body.Add((info.OpCode, token, operands, SourceLine(token)));
                        break;
                }
            }
            if (current is not null)
                throw new ModuleFormatException(source, $"line {current.Line}", $"function {Printable.Quote(current.Name)} is not closed with .end") { IsUnexpectedEnd = true };
            return Resolve();
        }

        private PendingFunction ParseFunctionHeader(Token directive)
        {
            var name = ExpectName("the function's name after .func");
            Expect(TokenKind.LeftParen, "'(' to open the parameter list");
            var (names, types) = ParseParameters();
            var results = Peek.Kind == TokenKind.Arrow ? ParseResults() : [];
            var function = new PendingFunction { Name = name.Text, Line = directive.Line, Signature = new FunctionType(types, results) };
            function.LocalNames.AddRange(names);
            foreach (var parameter in names)
                if (parameter.Length > 0) function.NamedLocals.Add(parameter);
            if (Peek.Kind == TokenKind.Identifier && Peek.Text == "export")
            {
                Next();
                function.Exported = true;
            }
            EndOfLine();
            return function;
        }

        private List<VmType> ParseResults()
        {
            Expect(TokenKind.Arrow, "'->'");
            var results = new List<VmType>();
            if (Peek.Kind == TokenKind.LeftParen)
            {
                Next();
                while (Peek.Kind != TokenKind.RightParen)
                {
                    if (Peek.Kind == TokenKind.Comma)
                    {
                        Next();
                        continue;
                    }
                    results.Add(ParseType(ExpectIdentifier("a result type")));
                }
                Next();
            }
            else
            {
                results.Add(ParseType(ExpectIdentifier("a result type")));
            }
            return results;
        }

        /// <summary>
        /// A parameter list after its '(' up to and including ')': entries are <c>name: type</c> or <c>type</c>,
        /// optionally separated by commas. Unnamed parameters get the name "".
        /// </summary>
        private (List<string> Names, List<VmType> Types) ParseParameters()
        {
            var names = new List<string>();
            var types = new List<VmType>();
            while (Peek.Kind != TokenKind.RightParen)
            {
                if (Peek.Kind == TokenKind.Comma)
                {
                    Next();
                    continue;
                }
                var first = ExpectName("a parameter ('name: type' or 'type')");
                if (Peek.Kind == TokenKind.Colon)
                {
                    Next();
                    names.Add(first.Text);
                    types.Add(ParseType(ExpectIdentifier("the parameter's type")));
                }
                else
                {
                    names.Add("");
                    types.Add(ParseType(first));
                }
            }
            Next();
            return (names, types);
        }

        /// <summary>A signature: <c>(types) -> (types)</c>, <c>(types)</c>, or the name of a <c>.type</c>.</summary>
        private FunctionType ParseSignature(Token at)
        {
            if (Peek.Kind is TokenKind.Identifier or TokenKind.String)
            {
                var name = AsName(Next());
                return _namedTypes.TryGetValue(name.Text, out var named)
                    ? named
                    : throw Error(name, $"unknown signature {Printable.Quote(name.Text)}; declare it with .type or write it as (params) -> (results)");
            }
            Expect(TokenKind.LeftParen, "a signature '(params) -> (results)'");
            var (_, parameters) = ParseParameters();
            var results = Peek.Kind == TokenKind.Arrow ? ParseResults() : [];
            return new FunctionType(parameters, results);
        }

        private void ParseLocal(PendingFunction function)
        {
            var first = ExpectName("a local ('name type' or 'type')");
            // An unnamed typed reference: `.local ref SIGNATURE` (a local named ref is `.local ref TYPE`).
            if (first.Kind == TokenKind.Identifier && first.Text == ReferenceKeyword &&
                (Peek.Kind == TokenKind.LeftParen || (Peek.Kind is TokenKind.Identifier or TokenKind.String && !VmTypeNames.TryParse(Peek.Text, out _))))
            {
                function.LocalNames.Add("");
                function.LocalReferences[function.LocalTypes.Count] = ParseSignature(Peek);
                function.LocalTypes.Add(VmType.I64);
                EndOfLine();
                return;
            }
            if (Peek.Kind == TokenKind.Colon) Next();
            if (Peek.Kind == TokenKind.Identifier)
            {
                var typeToken = Next();
                if (first.Text.Length > 0 && !function.NamedLocals.Add(first.Text))
                    throw Error(first, $"local or parameter {Printable.Quote(first.Text)} is declared twice in function {Printable.Quote(function.Name)}");
                if (typeToken.Text == ReferenceKeyword)
                {
                    function.LocalReferences[function.LocalTypes.Count] = ParseSignature(Peek);
                    function.LocalNames.Add(first.Text);
                    function.LocalTypes.Add(VmType.I64);
                    EndOfLine();
                    return;
                }
                function.LocalNames.Add(first.Text);
                function.LocalTypes.Add(ParseType(typeToken));
            }
            else
            {
                function.LocalNames.Add("");
                function.LocalTypes.Add(ParseType(first));
            }
            EndOfLine();
        }

        /// <summary>The word that starts a typed function reference type, <c>ref SIGNATURE</c>.</summary>
        private const string ReferenceKeyword = "ref";

        private void ParseGlobal()
        {
            var name = ExpectName("the global's name after .global");
            if (Peek.Kind == TokenKind.Colon) Next();
            var typeToken = ExpectIdentifier("the global's type");
            var type = ParseType(typeToken);
            if (type == VmType.Ptr)
                throw Error(typeToken, $"global {Printable.Quote(name.Text)} cannot have type ptr: there is no null pointer to start it with; use word");
            long bits = 0;
            if (Peek.Kind == TokenKind.Equals)
            {
                Next();
                var value = Next();
                bits = type == VmType.F64 ? F64Bits(value) : IntegerValue(value);
            }
            var exported = false;
            if (Peek.Kind == TokenKind.Identifier && Peek.Text == "export")
            {
                Next();
                exported = true;
            }
            EndOfLine();
            if (!_globalNames.Add(name.Text)) throw Error(name, $"global {Printable.Quote(name.Text)} is declared twice");
            _globals.Add(new GlobalDefinition(name.Text, type, bits) { Exported = exported });
        }

        /// <summary>Whether an <c>.import</c> directive is <c>.import global NAME [:] TYPE</c>: the word <c>global</c>
        /// then a name and more. A function import named <c>global</c> has one token after its name (a named
        /// signature) or a parenthesised signature, so the two never read alike.</summary>
        private bool IsGlobalImport()
        {
            if (Peek.Kind != TokenKind.Identifier || Peek.Text != GlobalKeyword || _position + 2 >= tokens.Count) return false;
            var name = tokens[_position + 1];
            return name.Kind is TokenKind.Identifier or TokenKind.String && tokens[_position + 2].Kind != TokenKind.EndOfLine;
        }

        /// <summary>The word after <c>.import</c> that makes it a global import.</summary>
        private const string GlobalKeyword = "global";

        /// <summary><c>.import global MODULE.GLOBAL [:] TYPE</c>: a global of another module, taking the next global index
        /// after the defined globals (however the directives interleave).</summary>
        private void ParseGlobalImport()
        {
            Next();
            var name = ExpectName("the imported global's name (MODULE.GLOBAL) after .import global");
            if (Peek.Kind == TokenKind.Colon) Next();
            var typeToken = ExpectIdentifier("the imported global's type");
            var type = ParseType(typeToken);
            if (type == VmType.Ptr)
                throw Error(typeToken, $"imported global {Printable.Quote(name.Text)} cannot have type ptr: globals hold i64, f64 or word");
            EndOfLine();
            if (Hosting.Linker.SplitImport(name.Text) is null)
                throw Error(name, $"imported global {Printable.Quote(name.Text)} must be named MODULE.GLOBAL: a global is imported only from another module");
            if (!_globalNames.Add(name.Text)) throw Error(name, $"global {Printable.Quote(name.Text)} is declared twice");
            _globalImports.Add(new GlobalImportDefinition(name.Text, type));
        }

        /// <summary><c>.tag NAME (types)</c>: an exception tag and its payload's types.</summary>
        private void ParseTag()
        {
            var name = ExpectName("the tag's name after .tag");
            Expect(TokenKind.LeftParen, "'(' to open the tag's payload types");
            var (_, types) = ParseParameters();
            EndOfLine();
            if (!_tagIndex.TryAdd(name.Text, _tags.Count)) throw Error(name, $"tag {Printable.Quote(name.Text)} is declared twice");
            _tags.Add(new TagDefinition(name.Text, types));
        }

        private void ParseData()
        {
            var name = ExpectName("the data segment's name after .data");
            var bytes = new List<byte>();
            while (Peek.Kind != TokenKind.EndOfLine)
            {
                var part = Next();
                if (part.Kind == TokenKind.String) bytes.AddRange(part.Bytes!);
                else if (part.Kind == TokenKind.Integer && part.IntValue is >= 0 and <= 255) bytes.Add((byte)part.IntValue);
                else if (part.Kind != TokenKind.Comma) throw Error(part, $"expected strings or byte values (0..255) in .data, found {part.Describe()}");
            }
            EndOfLine();
            if (!_dataNames.Add(name.Text)) throw Error(name, $"data segment {Printable.Quote(name.Text)} is declared twice");
            if (bytes.Count > ModuleLimits.MaxDataBytes) throw Error(name, $"data segment {Printable.Quote(name.Text)} exceeds {ModuleLimits.MaxDataBytes} bytes");
            _data.Add(new DataSegment(name.Text, [.. bytes]));
        }

        private ModuleDefinition Resolve()
        {
            var functionIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (name, _, line) in _imports)
                if (!functionIndex.TryAdd(name, functionIndex.Count))
                    throw new ModuleFormatException(source, $"line {line}", $"function {Printable.Quote(name)} is declared twice");
            foreach (var function in _functions)
                if (!functionIndex.TryAdd(function.Name, functionIndex.Count))
                    throw new ModuleFormatException(source, $"line {function.Line}", $"function {Printable.Quote(function.Name)} is declared twice");

            // Signatures are numbered in a canonical order (imports, then functions, then call_indirect sites in
            // code order; a .type name is only an alias) so that disassembling and reassembling gives identical bytes.
            foreach (var (_, type, _) in _imports) Intern(type);
            foreach (var function in _functions) Intern(function.Signature);

            var globalIndex = new Dictionary<string, int>(_globals.Count, StringComparer.Ordinal);
            foreach (var global in _globals) globalIndex.Add(global.Name, globalIndex.Count);
            foreach (var import in _globalImports) globalIndex.Add(import.Name, globalIndex.Count);
            var dataIndex = new Dictionary<string, int>(_data.Count, StringComparer.Ordinal);
            foreach (var segment in _data) dataIndex.Add(segment.Name, dataIndex.Count);

            var functions = new List<FunctionDefinition>();
            foreach (var function in _functions)
            {
                var code = new List<Instruction>(function.Body.Count);
                var lines = new List<int>(function.Body.Count);
                // The first label (in text order) that names no instruction is reported at its own line.
                foreach (var (name, line) in function.LabelLines)
                    if (function.Labels[name] == function.Body.Count)
                        throw new ModuleFormatException(source, $"line {line}",
                            $"label {Printable.Quote(name)} in function {Printable.Quote(function.Name)} is at the end of the function, where no instruction follows it");
                var localIndex = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < function.LocalNames.Count; i++)
                    if (function.LocalNames[i].Length > 0 && !localIndex.TryAdd(function.LocalNames[i], i))
                        throw new ModuleFormatException(source, $"line {function.Line}",
                            $"local or parameter {Printable.Quote(function.LocalNames[i])} is declared twice in function {Printable.Quote(function.Name)}");

                // A typed reference local's signature is interned before the function's code, in declaration order.
                var referenceLocals = function.LocalReferences.Count == 0 ? null
                    : function.LocalReferences.OrderBy(r => r.Key).ToDictionary(r => r.Key, r => Intern(r.Value));
                foreach (var (op, first, operands, sourceLine) in function.Body)
                {
                    var reader = new OperandReader(this, first, operands);
                    code.Add(op.Info().Operand switch
                    {
                        OperandKind.None => new Instruction(op),
                        OperandKind.I64 => new Instruction(op, IntegerValue(reader.Take("an integer constant"))),
                        OperandKind.F64 => new Instruction(op, F64Bits(reader.Take("a float constant"))),
                        OperandKind.Local => new Instruction(op, Lookup(reader.Take("a local name or index"), localIndex, "local", function.Name)),
                        OperandKind.Global => new Instruction(op, Lookup(reader.Take("a global name or index"), globalIndex, "global", null)),
                        OperandKind.Function => new Instruction(op, Lookup(reader.Take("a function name or index"), functionIndex, "function", null)),
                        OperandKind.Data => new Instruction(op, Lookup(reader.Take("a data segment name or index"), dataIndex, "data segment", null)),
                        OperandKind.Label => new Instruction(op, Label(reader.Take("a label"), function)),
                        OperandKind.LabelTable => BranchTable(op, reader, function),
                        OperandKind.Signature => new Instruction(op, SignatureOperand(reader)),
                        OperandKind.Tag => new Instruction(op, Lookup(reader.Take("a tag name or index"), _tagIndex, "tag", null)),
                        _ => throw new InvalidOperationException(),
                    });
                    reader.End();
                    lines.Add(sourceLine);
                }
                var signatureIndex = _typeIndex[function.Signature];
                var names = function.LocalNames.Any(n => n.Length > 0) ? function.LocalNames.ToArray() : null;
                functions.Add(new FunctionDefinition(function.Name, signatureIndex, function.Exported, function.LocalTypes, code)
                {
                    ReferenceLocals = referenceLocals,
                    LocalNames = names,
                    Lines = lines,
                    LabelNames = function.LabelNames.Count > 0 ? new Dictionary<int, string>(function.LabelNames) : null,
                    Handlers = Handlers(function),
                });
            }
            var imports = new List<ImportDefinition>(_imports.Count);
            foreach (var (name, type, _) in _imports) imports.Add(new ImportDefinition(name, _typeIndex[type]));
            return new ModuleDefinition(_typeOrder, imports, functions, _globals, _data, _declaredSource ?? source) { Tags = _tags, GlobalImports = _globalImports };
        }

        // Loops rather than LINQ here and above: the path every module load takes stays free of generic
        // instantiations over value types, which the runtime would JIT-compile at start-up (perf/RESULTS.md).
        private HandlerDefinition[] Handlers(PendingFunction function)
        {
            if (function.Catches.Count == 0) return [];
            var handlers = new HandlerDefinition[function.Catches.Count];
            for (var i = 0; i < handlers.Length; i++)
            {
                var (tag, start, end, handler) = function.Catches[i];
                handlers[i] = new HandlerDefinition(Label(start, function), Label(end, function), Lookup(tag, _tagIndex, "tag", null), Label(handler, function));
            }
            return handlers;
        }

        private int SignatureOperand(OperandReader reader)
        {
            // Signatures are parsed from the operand tokens by a nested parser over them.
            var operandTokens = reader.Rest();
            var nested = new Parser([.. operandTokens, new Token(TokenKind.EndOfLine, "", reader.Line)], source, _namedTypes);
            var signature = nested.ParseSignature(reader.First);
            if (nested.Peek.Kind != TokenKind.EndOfLine) throw Error(nested.Peek, $"unexpected {nested.Peek.Describe()} after the signature");
            return Intern(signature);
        }

        private Instruction BranchTable(OpCode op, OperandReader reader, PendingFunction function)
        {
            var open = reader.Take("'(' to open the br_table case list");
            if (open.Kind != TokenKind.LeftParen) throw Error(open, $"expected '(' to open the br_table case list, found {open.Describe()}");
            var targets = new List<int>();
            while (true)
            {
                var token = reader.Take("a case label or ')'");
                if (token.Kind == TokenKind.RightParen) break;
                if (token.Kind == TokenKind.Comma) continue;
                targets.Add(Label(token, function));
            }
            if (targets.Count > ModuleLimits.MaxBranchTableSize) throw Error(open, $"br_table has more than {ModuleLimits.MaxBranchTableSize} cases");
            var fallback = Label(reader.Take("the default label after the case list"), function);
            return new Instruction(op, fallback, [.. targets]);
        }

        private int Label(Token token, PendingFunction function)
        {
            token = AsName(token);
            if (token.Kind != TokenKind.Identifier) throw Error(token, $"expected a label, found {token.Describe()}");
            return function.Labels.TryGetValue(token.Text, out var pc)
                ? pc
                : throw Error(token, $"unknown label {Printable.Quote(token.Text)} in function {Printable.Quote(function.Name)}");
        }

        private int Lookup(Token token, Dictionary<string, int> names, string what, string? function)
        {
            if (token.Kind == TokenKind.Integer)
                return token.IntValue is >= 0 and <= int.MaxValue ? (int)token.IntValue : throw Error(token, $"{what} index {token.Text} is out of range");
            token = AsName(token);
            if (token.Kind != TokenKind.Identifier) throw Error(token, $"expected a {what} name or index, found {token.Describe()}");
            if (names.TryGetValue(token.Text, out var index)) return index;
            var scope = function is null ? "" : $" in function {Printable.Quote(function)}";
            throw Error(token, $"unknown {what} {Printable.Quote(token.Text)}{scope}");
        }

        private int Intern(FunctionType type)
        {
            if (_typeIndex.TryGetValue(type, out var index)) return index;
            _typeOrder.Add(type);
            _typeIndex.Add(type, _typeOrder.Count - 1);
            return _typeOrder.Count - 1;
        }

        private long IntegerValue(Token token) =>
            token.Kind == TokenKind.Integer ? token.IntValue : throw Error(token, $"expected an integer, found {token.Describe()}");

        private long F64Bits(Token token)
        {
            if (token.Kind == TokenKind.Integer)
                return token.IntValue == 0 && token.Text.StartsWith('-') ? BitConverter.DoubleToInt64Bits(-0.0) : BitConverter.DoubleToInt64Bits(token.IntValue);
            var text = token.Text;
            if (token.Kind is TokenKind.Float or TokenKind.Identifier)
            {
                var negative = text.StartsWith('-');
                var body = text.TrimStart('-', '+');
                if (body == "inf") return BitConverter.DoubleToInt64Bits(negative ? double.NegativeInfinity : double.PositiveInfinity);
                // The canonical quiet NaN, positive unless written -nan (.NET's double.NaN has the sign bit set).
                if (body == "nan") return negative ? Semantics.Arithmetic.CanonicalNaNBits | long.MinValue : Semantics.Arithmetic.CanonicalNaNBits;
                if (body.StartsWith("nan:0x", StringComparison.Ordinal) &&
                    ulong.TryParse(body.AsSpan(6), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var bits) &&
                    double.IsNaN(BitConverter.UInt64BitsToDouble(bits)))
                    return (long)bits;
                if (token.Kind == TokenKind.Float && Lexer.IsDecimalFloat(body) &&
                    double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                    return BitConverter.DoubleToInt64Bits(value);
            }
            throw Error(token, $"expected a float constant (1.5, -2e10, inf, nan, nan:0x7ff8000000000001), found {token.Describe()}");
        }

        private static VmType ParseTypeStatic(Token token, string? source)
        {
            if (token.Quoted)
                throw new ModuleFormatException(source, $"line {token.Line}",
                    $"expected a type, found the quoted name {token.Describe()}; types are written as identifiers: i64, f64, ptr and word") { Column = token.Column };
            return VmTypeNames.TryParse(token.Text, out var type)
                ? type
                : throw new ModuleFormatException(source, $"line {token.Line}", $"unknown type {token.Describe()}; the types are i64, f64, ptr and word") { Column = token.Column };
        }

        private VmType ParseType(Token token) => ParseTypeStatic(token, source);

        private Token Next() => _position < tokens.Count ? tokens[_position++] : tokens[^1];

        private Token Expect(TokenKind kind, string what)
        {
            var token = Next();
            if (token.Kind != kind)
                throw new ModuleFormatException(source, $"line {token.Line}", $"expected {what}, found {token.Describe()}")
                {
                    IsUnexpectedEnd = _position >= tokens.Count,
                    Column = token.Column,
                };
            return token;
        }

        private Token ExpectIdentifier(string what)
        {
            var token = Expect(TokenKind.Identifier, what);
            if (System.Text.Encoding.UTF8.GetByteCount(token.Text) > ModuleLimits.MaxNameBytes)
                throw Error(token, $"name is longer than {ModuleLimits.MaxNameBytes} bytes");
            return token;
        }

        /// <summary>A name being declared: an identifier or a quoted name.</summary>
        private Token ExpectName(string what) =>
            Peek.Kind == TokenKind.String ? AsName(Next()) : ExpectIdentifier(what);

        /// <summary>
        /// A string written where a name is expected becomes an identifier token holding the decoded name (marked
        /// <see cref="Token.Quoted"/>); other tokens are returned as they are. A quoted name, like a name in the
        /// binary format, must be well-formed UTF-8 of at most <see cref="ModuleLimits.MaxNameBytes"/> bytes.
        /// </summary>
        private Token AsName(Token token)
        {
            if (token.Kind != TokenKind.String) return token;
            return new Token(TokenKind.Identifier, DecodeName(token, "a quoted name"), token.Line, Quoted: true);
        }

        /// <summary>The name a <c>.source</c> string gives; the empty string means "unknown", as in the binary format.</summary>
        private string SourceName(Token token) => DecodeName(token, "the source name of .source");

        private string DecodeName(Token token, string what)
        {
            var bytes = token.Bytes!;
            if (bytes.Length > ModuleLimits.MaxNameBytes)
                throw Error(token, $"{what} is {bytes.Length} bytes long; names are at most {ModuleLimits.MaxNameBytes} bytes");
            try
            {
                return StrictUtf8.GetString(bytes);
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw Error(token, $"{what} is not valid UTF-8 (names are UTF-8 text; a \\x escape may not make a partial or invalid sequence)");
            }
        }

        private static readonly System.Text.UTF8Encoding StrictUtf8 = new(false, true);

        /// <summary>The source line of an instruction whose mnemonic is <paramref name="token"/> (§6): its physical line,
        /// shifted by the last <c>.line</c>. Lines past 2^31 - 1 cannot be stored in the binary format, so they are an error.</summary>
        private int SourceLine(Token token)
        {
            var line = token.Line + _lineDelta;
            if (line > int.MaxValue)
                throw Error(token, $"this instruction would be source line {line}, past the largest line number {int.MaxValue} " +
                                   $"(.line {_lineDirective!.Value.IntValue} on line {_lineDirective.Value.Line} numbers the lines after it)");
            return (int)line;
        }

        private void EndOfLine()
        {
            var token = Next();
            if (token.Kind != TokenKind.EndOfLine) throw Error(token, $"unexpected {token.Describe()} at the end of the line");
        }

        private ModuleFormatException Error(Token token, string detail) => new(source, $"line {token.Line}", detail) { Column = token.Column };

        /// <summary>Hands out one instruction's operand tokens and complains about missing or extra ones.</summary>
        private sealed class OperandReader(Parser parser, Token first, List<Token> operands)
        {
            private int _next;

            public Token First => first;

            public int Line => first.Line;

            public Token Take(string what)
            {
                if (_next < operands.Count) return operands[_next++];
                throw parser.Error(first, $"'{first.Text}' needs {what}");
            }

            public List<Token> Rest()
            {
                var rest = operands.GetRange(_next, operands.Count - _next);
                _next = operands.Count;
                return rest;
            }

            public void End()
            {
                if (_next < operands.Count)
                    throw parser.Error(operands[_next], $"unexpected {operands[_next].Describe()} after '{first.Text}'" +
                        (first.Text.Length > 0 && OpCodeTable.TryGet(first.Text, out var info) && info.Operand == OperandKind.None ? $" ('{first.Text}' takes no operand)" : ""));
            }
        }
    }
}
