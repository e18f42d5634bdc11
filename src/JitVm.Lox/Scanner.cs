namespace JitVm.Lox;

/// <summary>The kinds of Lox tokens, as the book's scanner distinguishes them.</summary>
internal enum TokenType
{
    LeftParen, RightParen, LeftBrace, RightBrace, Comma, Dot, Minus, Plus, Semicolon, Slash, Star,
    Bang, BangEqual, Equal, EqualEqual, Greater, GreaterEqual, Less, LessEqual,
    Identifier, String, Number,
    And, Class, Else, False, For, Fun, If, Nil, Or, Print, Return, Super, This, True, Var, While,
    Error, Eof,
}

/// <summary>One token: its kind, its text (for an error token, the message) and the line it starts on.</summary>
internal readonly record struct Token(TokenType Type, string Text, int Line);

/// <summary>
/// Turns Lox source into tokens on demand, as the book's single-pass compiler pulls them. Errors become
/// <see cref="TokenType.Error"/> tokens whose text is the message, so the parser reports them in order.
/// </summary>
internal sealed class Scanner(string source)
{
    private static readonly Dictionary<string, TokenType> Keywords = new(StringComparer.Ordinal)
    {
        ["and"] = TokenType.And, ["class"] = TokenType.Class, ["else"] = TokenType.Else, ["false"] = TokenType.False,
        ["for"] = TokenType.For, ["fun"] = TokenType.Fun, ["if"] = TokenType.If, ["nil"] = TokenType.Nil,
        ["or"] = TokenType.Or, ["print"] = TokenType.Print, ["return"] = TokenType.Return, ["super"] = TokenType.Super,
        ["this"] = TokenType.This, ["true"] = TokenType.True, ["var"] = TokenType.Var, ["while"] = TokenType.While,
    };

    private int _start;
    private int _current;
    private int _line = 1;

    public Token Next()
    {
        SkipWhitespace();
        _start = _current;
        if (AtEnd) return Make(TokenType.Eof);
        var c = Advance();
        if (IsAlpha(c)) return Identifier();
        if (char.IsAsciiDigit(c)) return Number();
        return c switch
        {
            '(' => Make(TokenType.LeftParen),
            ')' => Make(TokenType.RightParen),
            '{' => Make(TokenType.LeftBrace),
            '}' => Make(TokenType.RightBrace),
            ';' => Make(TokenType.Semicolon),
            ',' => Make(TokenType.Comma),
            '.' => Make(TokenType.Dot),
            '-' => Make(TokenType.Minus),
            '+' => Make(TokenType.Plus),
            '/' => Make(TokenType.Slash),
            '*' => Make(TokenType.Star),
            '!' => Make(Match('=') ? TokenType.BangEqual : TokenType.Bang),
            '=' => Make(Match('=') ? TokenType.EqualEqual : TokenType.Equal),
            '<' => Make(Match('=') ? TokenType.LessEqual : TokenType.Less),
            '>' => Make(Match('=') ? TokenType.GreaterEqual : TokenType.Greater),
            '"' => String(),
            _ => new Token(TokenType.Error, "Unexpected character.", _line),
        };
    }

    private bool AtEnd => _current >= source.Length;

    private char Peek => AtEnd ? '\0' : source[_current];

    private char PeekNext => _current + 1 >= source.Length ? '\0' : source[_current + 1];

    private char Advance() => source[_current++];

    private bool Match(char expected)
    {
        if (AtEnd || source[_current] != expected) return false;
        _current++;
        return true;
    }

    private static bool IsAlpha(char c) => char.IsAsciiLetter(c) || c == '_';

    private Token Make(TokenType type) => new(type, source[_start.._current], _line);

    private void SkipWhitespace()
    {
        while (!AtEnd)
        {
            switch (Peek)
            {
                case ' ' or '\r' or '\t':
                    _current++;
                    break;
                case '\n':
                    _line++;
                    _current++;
                    break;
                case '/' when PeekNext == '/':
                    while (!AtEnd && Peek != '\n') _current++;
                    break;
                default:
                    return;
            }
        }
    }

    private Token String()
    {
        while (!AtEnd && Peek != '"')
        {
            if (Peek == '\n') _line++;
            _current++;
        }
        if (AtEnd) return new Token(TokenType.Error, "Unterminated string.", _line);
        _current++;
        return Make(TokenType.String);
    }

    private Token Number()
    {
        while (char.IsAsciiDigit(Peek)) _current++;
        if (Peek == '.' && char.IsAsciiDigit(PeekNext))
        {
            _current++;
            while (char.IsAsciiDigit(Peek)) _current++;
        }
        return Make(TokenType.Number);
    }

    private Token Identifier()
    {
        while (IsAlpha(Peek) || char.IsAsciiDigit(Peek)) _current++;
        return Make(Keywords.GetValueOrDefault(source[_start.._current], TokenType.Identifier));
    }
}
