using System.Globalization;
using System.Text;
using JitVm.Diagnostics;

namespace JitVm.Text;

/// <summary>Kinds of tokens of the assembly language.</summary>
internal enum TokenKind
{
    Identifier,
    Integer,
    Float,
    String,
    LeftParen,
    RightParen,
    Colon,
    Comma,
    Arrow,
    Equals,
    EndOfLine,
}

/// <summary>
/// One token, with the physical line it came from. <c>Quoted</c> is true for an identifier the parser made from a
/// string written where a name is expected (a quoted name, spec/text-format.md §5); its text is the decoded name.
/// </summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Line, long IntValue = 0, byte[]? Bytes = null, bool Quoted = false)
{
    /// <summary>The token's first character on its line, counted in UTF-16 code units from 1 (for carets under
    /// errors); 0 when unknown.</summary>
    public int Column { get; init; }

    public string Describe() => Kind switch
    {
        TokenKind.EndOfLine => "end of line",
        TokenKind.String => "a string",
        // A quoted name may hold anything; other tokens are as written, which only a character literal could
        // make unprintable.
        _ => Quoted ? Printable.Quote(Text) : $"'{Printable.Escape(Text)}'",
    };
}

/// <summary>
/// Splits assembly text into tokens line by line. Comments run from <c>;</c> to the end of the line. Identifiers
/// may contain letters, digits, <c>_</c>, <c>.</c> and <c>$</c> (so mnemonics such as <c>i64.add</c> are one token).
/// </summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string text, string? source)
    {
        var tokens = new List<Token>();
        var line = 1;
        var i = 0;
        var lineStart = 0;
        // Each pass adds at most one token; the next pass (or the end) stamps it with the column it started at.
        var stamped = 0;
        var column = 0;
        while (i < text.Length)
        {
            if (tokens.Count > stamped) tokens[^1] = tokens[^1] with { Column = column };
            stamped = tokens.Count;
            column = i - lineStart + 1;
            var c = text[i];
            if (c == '\n')
            {
                tokens.Add(new Token(TokenKind.EndOfLine, "\n", line));
                line++;
                i++;
                lineStart = i;
                continue;
            }
            if (c is ' ' or '\t' or '\r')
            {
                i++;
                continue;
            }
            if (c == ';')
            {
                while (i < text.Length && text[i] != '\n') i++;
                continue;
            }
            switch (c)
            {
                case '(':
                    tokens.Add(new Token(TokenKind.LeftParen, "(", line)); i++; continue;
                case ')':
                    tokens.Add(new Token(TokenKind.RightParen, ")", line)); i++; continue;
                case ':':
                    tokens.Add(new Token(TokenKind.Colon, ":", line)); i++; continue;
                case ',':
                    tokens.Add(new Token(TokenKind.Comma, ",", line)); i++; continue;
                case '=':
                    tokens.Add(new Token(TokenKind.Equals, "=", line)); i++; continue;
                case '"':
                    try
                    {
                        tokens.Add(ReadString(text, ref i, line, source));
                    }
                    catch (ModuleFormatException e) when (e.Column == 0)
                    {
                        throw e.WithColumn(column);
                    }
                    continue;
                case '\'':
                    try
                    {
                        tokens.Add(ReadChar(text, ref i, line, source));
                    }
                    catch (ModuleFormatException e) when (e.Column == 0)
                    {
                        throw e.WithColumn(column);
                    }
                    continue;
            }
            if (c == '-' && i + 1 < text.Length && text[i + 1] == '>')
            {
                tokens.Add(new Token(TokenKind.Arrow, "->", line));
                i += 2;
                continue;
            }
            if (char.IsAsciiDigit(c) || ((c == '-' || c == '+') && i + 1 < text.Length && (char.IsAsciiDigit(text[i + 1]) || IsWordAt(text, i + 1))))
            {
                try
                {
                    tokens.Add(ReadNumber(text, ref i, line, source));
                }
                catch (ModuleFormatException e) when (e.Column == 0)
                {
                    throw e.WithColumn(column);
                }
                continue;
            }
            if (IsIdentifierStart(c))
            {
                var start = i;
                while (i < text.Length && IsIdentifierPart(text[i])) i++;
                if (text[start..i] == "nan" && i < text.Length && text[i] == ':')
                {
                    // nan:0x7ff8000000000001 is one float literal (a NaN with an explicit payload).
                    i++;
                    while (i < text.Length && char.IsAsciiLetterOrDigit(text[i])) i++;
                    tokens.Add(new Token(TokenKind.Float, text[start..i], line));
                    continue;
                }
                tokens.Add(new Token(TokenKind.Identifier, text[start..i], line));
                continue;
            }
            throw new ModuleFormatException(source, $"line {line}", $"unexpected character {DescribeCharacter(text, i)}") { Column = column };
        }
        if (tokens.Count > stamped) tokens[^1] = tokens[^1] with { Column = column };
        tokens.Add(new Token(TokenKind.EndOfLine, "", line) { Column = i - lineStart + 1 });
        return tokens;
    }

    /// <summary>The character at <paramref name="i"/> for a message: quoted with escapes (a control character must
    /// not split the one-line error), followed by its code point unless it is printable ASCII.</summary>
    private static string DescribeCharacter(string text, int i)
    {
        var width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
        var codePoint = width == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
        var quoted = Printable.Quote(text.Substring(i, width));
        return codePoint is >= 0x20 and < 0x7F ? quoted : $"{quoted} (U+{codePoint:X4})";
    }

    /// <summary>Whether <paramref name="body"/> (a float's text after its sign) is a decimal of the text format and
    /// the command line: digits [. digits*] [(e|E) sign? digits], ASCII only (spec/text-format.md §2.3). .NET's
    /// parser alone would also take "infinity", ".5" and spaces, which neither format lists.</summary>
    public static bool IsDecimalFloat(string body)
    {
        var i = 0;
        while (i < body.Length && char.IsAsciiDigit(body[i])) i++;
        if (i == 0) return false;
        if (i < body.Length && body[i] == '.')
            for (i++; i < body.Length && char.IsAsciiDigit(body[i]);) i++;
        if (i < body.Length && body[i] is 'e' or 'E')
        {
            i++;
            if (i < body.Length && body[i] is '-' or '+') i++;
            var digits = i;
            while (i < body.Length && char.IsAsciiDigit(body[i])) i++;
            if (i == digits) return false;
        }
        return i == body.Length;
    }

    private static bool IsWordAt(string text, int i) =>
        string.CompareOrdinal(text, i, "inf", 0, 3) == 0 || string.CompareOrdinal(text, i, "nan", 0, 3) == 0;

    public static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c is '_' or '.' or '$';

    public static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$';

    private static Token ReadNumber(string text, ref int i, int line, string? source)
    {
        var start = i;
        if (text[i] is '-' or '+') i++;
        // inf, nan and nan:0x... are float literals; allow a sign before them.
        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '.' or '_' or ':' ||
                                   ((text[i] is '-' or '+') && text[i - 1] is 'e' or 'E' && !IsHexLiteral(text, start))))
            i++;
        var raw = text[start..i];
        var literal = raw.Replace("_", "", StringComparison.Ordinal);
        var negative = literal.StartsWith('-');
        var body = literal.TrimStart('-', '+');
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (ulong.TryParse(body.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) && body.Length > 2)
            {
                if (negative && hex > 1UL << 63) throw OutOfRange();
                return new Token(TokenKind.Integer, raw, line, negative ? -(long)hex : (long)hex);
            }
            throw Bad();
        }
        if (body.All(char.IsAsciiDigit) && body.Length > 0)
        {
            if (!ulong.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out var magnitude)) throw OutOfRange();
            if (negative ? magnitude > 1UL << 63 : magnitude > long.MaxValue) throw OutOfRange();
            return new Token(TokenKind.Integer, raw, line, negative ? (long)(0 - magnitude) : (long)magnitude);
        }
        return new Token(TokenKind.Float, literal, line);

        ModuleFormatException Bad() => new(source, $"line {line}", $"malformed number '{raw}'");
        ModuleFormatException OutOfRange() => new(source, $"line {line}", $"integer '{raw}' does not fit in 64 bits");
    }

    private static bool IsHexLiteral(string text, int start)
    {
        var j = start;
        if (text[j] is '-' or '+') j++;
        return j + 1 < text.Length && text[j] == '0' && text[j + 1] is 'x' or 'X';
    }

    private static Token ReadString(string text, ref int i, int line, string? source)
    {
        var bytes = new List<byte>();
        var start = i;
        i++;
        while (true)
        {
            if (i >= text.Length || text[i] == '\n')
                throw new ModuleFormatException(source, $"line {line}", "string is not closed before the end of the line") { IsUnexpectedEnd = i >= text.Length };
            var c = text[i];
            if (c == '"')
            {
                i++;
                break;
            }
            if (c == '\\')
            {
                bytes.Add(ReadEscape(text, ref i, line, source));
                continue;
            }
            var length = char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1;
            bytes.AddRange(Encoding.UTF8.GetBytes(text.Substring(i, length)));
            i += length;
        }
        return new Token(TokenKind.String, text[start..i], line, 0, [.. bytes]);
    }

    private static Token ReadChar(string text, ref int i, int line, string? source)
    {
        var start = i;
        i++;
        if (i >= text.Length || text[i] is '\n' or '\'')
            throw new ModuleFormatException(source, $"line {line}", "empty or unclosed character literal");
        long value;
        if (text[i] == '\\') value = ReadEscape(text, ref i, line, source);
        else
        {
            if (text[i] > 0x7F) throw new ModuleFormatException(source, $"line {line}", "character literals must be ASCII; use a number for other bytes");
            value = text[i++];
        }
        if (i >= text.Length || text[i] != '\'')
            throw new ModuleFormatException(source, $"line {line}", "character literal must hold exactly one character");
        i++;
        return new Token(TokenKind.Integer, text[start..i], line, value);
    }

    private static byte ReadEscape(string text, ref int i, int line, string? source)
    {
        i++; // backslash
        if (i >= text.Length) throw new ModuleFormatException(source, $"line {line}", "escape sequence at end of input");
        var e = text[i++];
        switch (e)
        {
            case 'n': return (byte)'\n';
            case 't': return (byte)'\t';
            case 'r': return (byte)'\r';
            case '0': return 0;
            case '\\': return (byte)'\\';
            case '"': return (byte)'"';
            case '\'': return (byte)'\'';
            case 'x':
                if (i + 2 <= text.Length && byte.TryParse(text.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                {
                    i += 2;
                    return b;
                }
                throw new ModuleFormatException(source, $"line {line}", "\\x must be followed by two hex digits");
            default:
                var found = e is >= ' ' and < '\x7f' ? $"'\\{e}'" : $"'\\' followed by {DescribeCharacter(text, i - 1)}";
                throw new ModuleFormatException(source, $"line {line}", $"unknown escape sequence {found}; known: \\n \\t \\r \\0 \\\\ \\\" \\' \\xHH");
        }
    }
}
