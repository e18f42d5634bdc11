using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Text;

namespace JitVm.Cli.Repl;

/// <summary>What a definition defines: functions and imports share one namespace (spec/text-format.md §5).</summary>
internal enum DefinitionKind { Function, Global, Data, Type }

/// <summary>One definition of the session: its kind and name, its text as typed (a <c>.func</c> block or one
/// directive line, with any comment lines before it), and the input that made it.</summary>
internal sealed record Definition(DefinitionKind Kind, string Name, string Text, int Input, string Directive);

/// <summary>One instruction typed at the prompt: its text and the column (from 1) where it starts on the line.</summary>
internal readonly record struct Piece(string Text, int Column, bool IsInstruction)
{
    /// <summary>Where the mnemonic starts (after any labels), for a caret under the instruction.</summary>
    public int MnemonicColumn { get; init; }
}

/// <summary>
/// How the REPL reads what is typed: whether an input is a definition and is complete, how a definition input
/// splits into named definitions, and how a line of instructions splits into one instruction per line of the
/// module text. Everything is read with the assembler's own lexer, so names, strings and comments are what the
/// text format says they are.
/// </summary>
internal static class InputText
{
    private static readonly Dictionary<string, DefinitionKind> Directives = new(StringComparer.Ordinal)
    {
        [".func"] = DefinitionKind.Function,
        [".import"] = DefinitionKind.Function,
        [".global"] = DefinitionKind.Global,
        [".data"] = DefinitionKind.Data,
        [".type"] = DefinitionKind.Type,
    };

    /// <summary>Whether <paramref name="text"/> (an input so far) starts with a definition directive.</summary>
    public static bool IsDefinition(string text)
    {
        var first = FirstToken(text);
        return first is { Kind: TokenKind.Identifier } token && (Directives.ContainsKey(token.Text) || token.Text is ".end" or ".local" or ".source" or ".line");
    }

    /// <summary>Whether a definition input still has a <c>.func</c> block open (so the prompt asks for more).</summary>
    public static bool IsIncomplete(string text)
    {
        List<Token> tokens;
        try
        {
            tokens = Lexer.Tokenize(text, null);
        }
        catch (ModuleFormatException)
        {
            return false; // a lexical error is reported when the input is taken, not waited on
        }
        var open = false;
        var atLineStart = true;
        foreach (var token in tokens)
        {
            if (token.Kind == TokenKind.EndOfLine) { atLineStart = true; continue; }
            if (atLineStart && token.Kind == TokenKind.Identifier)
            {
                if (token.Text == ".func") open = true;
                else if (token.Text == ".end") open = false;
            }
            atLineStart = false;
        }
        return open;
    }

    private static Token? FirstToken(string text)
    {
        try
        {
            foreach (var token in Lexer.Tokenize(text, null))
                if (token.Kind != TokenKind.EndOfLine) return token;
        }
        catch (ModuleFormatException)
        {
        }
        return null;
    }

    /// <summary>
    /// Splits a definition input into its definitions, each a top-level directive (a whole <c>.func</c> block) with
    /// the comment and blank lines before it. Returns an error message instead when the input holds something
    /// else at the top level (an instruction, or a directive the REPL owns, such as <c>.source</c>).
    /// </summary>
    public static (List<Definition> Definitions, string? Error) SplitDefinitions(string text, int input)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var definitions = new List<Definition>();
        var current = new StringBuilder();
        (DefinitionKind Kind, string Name, string Directive)? head = null;
        var inFunction = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var first = LineTokens(line);
            if (!inFunction && first.Count > 0)
            {
                var directive = first[0];
                if (directive.Kind != TokenKind.Identifier || !Directives.TryGetValue(directive.Text, out var kind))
                {
                    var what = directive.Kind == TokenKind.Identifier && directive.Text.StartsWith('.')
                        ? $"{directive.Text} is not a definition the REPL takes (definitions are .func, .import, .global, .data and .type)"
                        : $"line {i + 1} of the definition is outside any .func block; type instructions on their own at the prompt";
                    return ([], what);
                }
                if (first.Count < 2) return ([], $"{directive.Text} needs a name");
                if (head is not null) Flush();
                head = (kind, NameOf(first[1]), directive.Text);
                inFunction = directive.Text == ".func";
            }
            else if (inFunction && first.Count > 0 && first[0] is { Kind: TokenKind.Identifier, Text: ".end" }) inFunction = false;
            current.Append(line).Append('\n');
        }
        if (head is not null) Flush();
        return (definitions, null);

        void Flush()
        {
            definitions.Add(new Definition(head!.Value.Kind, head.Value.Name, current.ToString().TrimEnd('\n') + "\n", input, head.Value.Directive));
            current.Clear();
        }
    }

    /// <summary>The name a token declares: an identifier as written, a quoted name as its text.</summary>
    private static string NameOf(Token token) =>
        token.Kind == TokenKind.String && token.Bytes is { } bytes ? Encoding.UTF8.GetString(bytes) : token.Text;

    /// <summary>The tokens of one line without its end; none when it is blank, a comment or unreadable.</summary>
    private static List<Token> LineTokens(string line)
    {
        try
        {
            return [.. Lexer.Tokenize(line, null).Where(t => t.Kind != TokenKind.EndOfLine)];
        }
        catch (ModuleFormatException)
        {
            return [];
        }
    }

    /// <summary>
    /// Splits a line of instructions into one piece per instruction, in order: a piece starts at each mnemonic of
    /// the instruction table, together with any label definitions right before it, unless the token is the operand
    /// of the instruction before it (so <c>call drop</c> calls a function named <c>drop</c>). Text before the first
    /// mnemonic is a piece of its own. A lexical error leaves the line whole, for the assembler to report.
    /// </summary>
    public static List<Piece> SplitInstructions(string line)
    {
        List<Token> tokens;
        try
        {
            tokens = [.. Lexer.Tokenize(line, null).Where(t => t.Kind != TokenKind.EndOfLine)];
        }
        catch (ModuleFormatException)
        {
            return [new Piece(line, 1, true)];
        }
        var starts = new List<(int Column, bool Instruction, int Mnemonic)>();
        var operandNext = false;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Kind == TokenKind.Identifier && !operandNext && OpCodeTable.TryGet(token.Text, out var info))
            {
                // Labels right before the mnemonic ("top: br top") start the piece.
                var start = i;
                while (start >= 2 && tokens[start - 1].Kind == TokenKind.Colon && IsLabelToken(tokens[start - 2]) && !IsStartAt(starts, tokens[start].Column)) start -= 2;
                starts.Add((tokens[start].Column, true, token.Column));
                operandNext = info.Operand != OperandKind.None;
                continue;
            }
            operandNext = false;
        }
        var pieces = new List<Piece>();
        if (tokens.Count == 0) return pieces;
        if (starts.Count == 0 || starts[0].Column > tokens[0].Column) starts.Insert(0, (tokens[0].Column, false, tokens[0].Column));
        for (var i = 0; i < starts.Count; i++)
        {
            var from = starts[i].Column - 1;
            var to = i + 1 < starts.Count ? starts[i + 1].Column - 1 : line.Length;
            pieces.Add(new Piece(line[from..to].TrimEnd(), starts[i].Column, starts[i].Instruction) { MnemonicColumn = starts[i].Mnemonic });
        }
        return pieces;
    }

    private static bool IsLabelToken(Token token) =>
        (token.Kind == TokenKind.Identifier && !token.Text.StartsWith('.')) || token.Kind == TokenKind.String;

    private static bool IsStartAt(List<(int Column, bool Instruction, int Mnemonic)> starts, int column) => starts.Count > 0 && starts[^1].Column == column;
}
