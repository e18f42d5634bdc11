using System.Globalization;
using System.Text;

namespace JitVm.Diagnostics;

/// <summary>
/// Renders text that a module controls (names of functions, imports, globals, data segments, locals, labels and
/// signatures, source names, the characters of an assembly source) for a message meant for a person. Every
/// message that embeds such text goes through here, so no message can hold a raw control character: a name can
/// neither split a one-line error, forge lines of a trap report, nor send escape sequences to a terminal.
/// </summary>
/// <remarks>
/// Printable characters (any script, symbols, spaces) are kept. Escaped are: every control character (C0, DEL,
/// C1), format characters (bidirectional overrides and isolates, zero-width characters, the byte order mark),
/// the line and paragraph separators U+2028 and U+2029, unassigned code points and lone surrogates. The escapes
/// are C-like: <c>\n</c> <c>\r</c> <c>\t</c> <c>\0</c>, <c>\xHH</c> for other code points up to U+00FF, and
/// <c>\u{HHHH}</c> above. spec/text-format.md §7 describes the rendering.
/// </remarks>
internal static class Printable
{
    /// <summary>The message for a call from the host with the wrong number of arguments: "'f' takes 2 arguments
    /// (i64 i64) -> (i64), but 1 was given".</summary>
    public static string ArgumentCountMismatch(string quotedName, Bytecode.FunctionType signature, int given) =>
        $"{quotedName} takes {Count(signature.Parameters.Length, "argument")} {signature}, but {given} {(given == 1 ? "was" : "were")} given";

    /// <summary>The message for a host's argument of the wrong type: "argument 0 of 'f' must be i64, but an f64 was given".</summary>
    public static string ArgumentTypeMismatch(int index, string quotedName, Bytecode.VmType wanted, Bytecode.VmType given) =>
        $"argument {index} of {quotedName} must be {Bytecode.VmTypeNames.Name(wanted)}, but {WithArticle(given)} was given";

    /// <summary>"1 argument", "2 arguments".</summary>
    public static string Count(long count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    /// <summary>A type's name after "a" or "an" as English wants it: "an i64", "an f64", "a ptr", "a word".</summary>
    public static string WithArticle(Bytecode.VmType type) => type is Bytecode.VmType.I64 or Bytecode.VmType.F64
        ? "an " + Bytecode.VmTypeNames.Name(type)
        : "a " + Bytecode.VmTypeNames.Name(type);

    /// <summary>An argument exception's message without the " (Parameter 'x')" .NET adds: for a reason handed back
    /// as text rather than thrown.</summary>
    public static string WithoutParameterName(ArgumentException exception) =>
        exception.ParamName is { } name && exception.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? exception.Message[..^$" (Parameter '{name}')".Length]
            : exception.Message;

    /// <summary>The text in single quotes, as messages show names: <c>'fib'</c>, <c>'a\nb'</c>, <c>'it\'s'</c>.
    /// Backslashes and single quotes are escaped too, so the rendering is unambiguous.</summary>
    public static string Quote(string text) => "'" + Render(text, Mode.QuoteAndBackslash) + "'";

    /// <summary>A name where a report or table shows it without quotes (<c>at fib (...)</c>): bare when it is not
    /// empty, printable and free of spaces, quotes, backslashes and parentheses, as <see cref="Quote"/> gives it
    /// otherwise, so no name can pass for more than one.</summary>
    public static string Bare(string name) =>
        name.Length > 0 && !NeedsWork(name, quoteAndBackslash: true) && name.AsSpan().IndexOfAny(" ()") < 0 ? name : Quote(name);

    /// <summary>
    /// The text with every character that is not printable escaped, without quotes, and backslashes and quotes
    /// left alone: for source names in locations (<c>fib.jvm:12</c>, where a Windows path keeps its backslashes)
    /// and for whole messages whose parts may come from a host (a host function's exception message). Text that
    /// is already escaped is left unchanged, so escaping twice does no harm.
    /// </summary>
    public static string Escape(string text) => Render(text, Mode.ControlsOnly);

    /// <summary>True when <paramref name="text"/> holds a character that <see cref="Escape"/> would escape.</summary>
    public static bool HasUnprintable(string text) => NeedsWork(text, quoteAndBackslash: false);

    /// <summary>True when the code point must be escaped: controls, format characters, line and paragraph
    /// separators, surrogates and unassigned code points.</summary>
    public static bool IsUnprintable(int codePoint) =>
        codePoint is < 0x20 or (>= 0x7F and <= 0x9F) ||
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate
            or UnicodeCategory.OtherNotAssigned;

    /// <summary>The escape for one unprintable code point (a lone surrogate is its own code point).</summary>
    public static string EscapeCodePoint(int codePoint) => codePoint switch
    {
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        0 => "\\0",
        <= 0xFF => "\\x" + codePoint.ToString("x2", CultureInfo.InvariantCulture),
        _ => "\\u{" + codePoint.ToString("x4", CultureInfo.InvariantCulture) + "}",
    };

    private enum Mode
    {
        ControlsOnly,
        QuoteAndBackslash,
    }

    private static string Render(string text, Mode mode)
    {
        var escapeQuoteAndBackslash = mode == Mode.QuoteAndBackslash;
        if (!NeedsWork(text, escapeQuoteAndBackslash)) return text;
        var builder = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && escapeQuoteAndBackslash)
            {
                builder.Append("\\\\");
                continue;
            }
            if (c == '\'' && escapeQuoteAndBackslash)
            {
                builder.Append("\\'");
                continue;
            }
            if (IsPrintableAt(text, i, out var width)) builder.Append(text, i, width);
            else builder.Append(EscapeCodePoint(CodePointAt(text, i, width)));
            i += width - 1;
        }
        return builder.ToString();
    }

    private static bool NeedsWork(string text, bool quoteAndBackslash)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\\' or '\'' && quoteAndBackslash) return true;
            // Printable ASCII is the common case; only look further for anything else.
            if (c is >= ' ' and < '\x7f') continue;
            if (!IsPrintableAt(text, i, out var width)) return true;
            i += width - 1;
        }
        return false;
    }

    /// <summary>Whether the character (or surrogate pair) at <paramref name="i"/> is printable; <paramref name="width"/>
    /// is 2 for a well-formed surrogate pair, 1 otherwise.</summary>
    private static bool IsPrintableAt(string text, int i, out int width)
    {
        var c = text[i];
        width = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
        return !IsUnprintable(CodePointAt(text, i, width));
    }

    private static int CodePointAt(string text, int i, int width) =>
        width == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
}
