namespace JitVm.Diagnostics;

/// <summary>
/// The base of every exception the VM raises on purpose: bad input, failed verification, or a trap. Its message is
/// one line: characters that are not printable (a line break or escape sequence in a name a module chose, or in a
/// message a host passed on) are escaped (see spec/text-format.md §7).
/// </summary>
public abstract class JitVmException : Exception
{
    /// <summary>Creates the exception with a message meant for a person.</summary>
    protected JitVmException(string message, Exception? inner = null) : base(Printable.Escape(message), inner)
    {
    }
}

/// <summary>
/// A module's text or binary form is malformed: a syntax error in assembly text, or a truncated, oversized or
/// inconsistent binary. The message names the file and the line or byte offset.
/// </summary>
public sealed class ModuleFormatException : JitVmException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file or source name, or null when unknown.</param>
    /// <param name="location">Where: "line 12" or "byte 0x1f", or null.</param>
    /// <param name="detail">What was wrong, in words.</param>
    public ModuleFormatException(string? source, string? location, string detail)
        : base(Compose(source, location, detail))
    {
        Source = source;
        Location = location;
        Detail = detail;
    }

    /// <summary>The file or source name, when known.</summary>
    public new string? Source { get; }

    /// <summary>The line or byte offset of the problem, when known.</summary>
    public string? Location { get; }

    /// <summary>What was wrong, without the location prefix.</summary>
    public string Detail { get; }

    /// <summary>True when the text ended in the middle of a construct (used by the REPL to ask for more input).</summary>
    public bool IsUnexpectedEnd { get; init; }

    /// <summary>For assembly text, the column (from 1) of the token the problem is at, for a caret under it; 0 when
    /// unknown.</summary>
    internal int Column { get; init; }

    /// <summary>The same error at column <paramref name="column"/> (for the lexer, which knows where a literal
    /// started when reading it failed).</summary>
    internal ModuleFormatException WithColumn(int column) =>
        new(Source, Location, Detail) { IsUnexpectedEnd = IsUnexpectedEnd, Column = column };

    /// <summary>The one location format of every VM message (spec/text-format.md §7): <c>FILE:LINE: </c> for a
    /// line of a named file, <c>line N: </c> without a file name, <c>FILE:byte 0x1f: </c> for a binary offset.</summary>
    private static string Compose(string? source, string? location, string detail)
    {
        var where = (source, location) switch
        {
            (null, null) => "",
            (not null, null) => Printable.Escape(source) + ": ",
            (null, not null) => location + ": ",
            _ when location.StartsWith(LinePrefix, StringComparison.Ordinal) =>
                $"{Printable.Escape(source)}:{location[LinePrefix.Length..]}: ",
            _ => $"{Printable.Escape(source)}:{location}: ",
        };
        return where + detail;
    }

    private const string LinePrefix = "line ";
}
