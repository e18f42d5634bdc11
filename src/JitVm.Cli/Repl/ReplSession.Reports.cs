using System.Globalization;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Verification;

namespace JitVm.Cli.Repl;

/// <summary>How the session shows values and errors: every error names where it is, and a caret marks the token
/// (or instruction) in what was typed whenever there is one.</summary>
internal sealed partial class ReplSession
{
    private void ReportFormatError(ModuleFormatException e, SessionText layout, string typed)
    {
        var physical = e.Location is { } location && location.StartsWith("line ", StringComparison.Ordinal) &&
                       int.TryParse(location.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        var piece = layout.PieceAt(physical);
        if (piece >= 0 && layout.Input is { } input)
        {
            _out.WriteLine($"error: {e.Detail}");
            Caret(typed, input.Pieces[piece].Column + Math.Max(e.Column, 1) - 1, 1);
            return;
        }
        if (layout.DefinitionAt(physical) is { } at)
        {
            var rows = at.Definition.Text.TrimEnd('\n').Split('\n');
            _out.WriteLine($"error: line {at.Line} of {Printable.Bare(at.Definition.Name)}: {e.Detail}");
            if (at.Line <= rows.Length && e.Column > 0) Caret(rows[at.Line - 1], e.Column, 1);
            else if (at.Line <= rows.Length) _out.WriteLine("  " + rows[at.Line - 1]);
            return;
        }
        _out.WriteLine($"error: {e.Detail}");
    }

    private void ReportVerificationError(VerificationException e, SessionText layout, InputFunctionText? input)
    {
        if (e.Function == InputFunction && input is not null)
        {
            var piece = layout.PieceOfPc(e.Pc);
            _out.WriteLine($"error: verification failed [{e.Rule}]{(e.Instruction is { } op ? $" at {op}" : "")}: {e.Detail}");
            if (piece >= 0) CaretUnder(input.Pieces[piece]);
            return;
        }
        _out.WriteLine($"error: {e.Message}");
        var definition = e.Function is null ? null : _definitionsBeingBuilt?.FirstOrDefault(d => d.Kind == DefinitionKind.Function && d.Name == e.Function);
        if (definition is null || e.Line <= 0) return;
        var rows = definition.Text.TrimEnd('\n').Split('\n');
        if (e.Line > rows.Length) return;
        var row = rows[e.Line - 1];
        var column = row.Length - row.TrimStart().Length + 1;
        Caret(row, column, Word(row.TrimStart()));
    }

    /// <summary>The line being run (for carets under verification errors and traps in it).</summary>
    private string _typedLine = "";

    /// <summary>The definitions of the version being built (for carets under verification errors in them).</summary>
    private List<Definition>? _definitionsBeingBuilt;

    private void ReportTrap(TrapException trap, SessionText layout)
    {
        _out.WriteLine(trap.Report());
        if (trap.VmStackTrace.FirstOrDefault(f => f.Function == InputFunction) is not { } frame || layout.Input is not { } input) return;
        var piece = layout.PieceOfPc(frame.Pc);
        if (piece >= 0) CaretUnder(input.Pieces[piece]);
    }

    /// <summary>A caret run under the mnemonic of an instruction of the input line.</summary>
    private void CaretUnder(Piece piece) =>
        Caret(_typedLine, piece.MnemonicColumn, Word(piece.Text[Math.Clamp(piece.MnemonicColumn - piece.Column, 0, piece.Text.Length)..]));

    private static int Word(string text)
    {
        var trimmed = text.TrimStart();
        var length = 0;
        while (length < trimmed.Length && !char.IsWhiteSpace(trimmed[length])) length++;
        return Math.Max(1, length);
    }

    /// <summary>Shows <paramref name="line"/> indented by two, and a caret run of <paramref name="width"/> under
    /// column <paramref name="column"/> (from 1). Tabs stay tabs in the caret line, so it lines up.</summary>
    private void Caret(string line, int column, int width)
    {
        // The line is shown escaped (a NUL or an escape sequence typed in it must not reach the terminal), tabs kept
        // so the caret lines up; the caret moves right by what each escape adds before it.
        var shown = new System.Text.StringBuilder();
        var pad = new System.Text.StringBuilder();
        var end = Math.Clamp(column - 1, 0, line.Length);
        for (var i = 0; i < line.Length; i++)
        {
            var piece = line[i] == '\t' ? "\t" : char.IsSurrogatePair(line, i) ? Printable.Escape(line.Substring(i++, 2)) : Printable.Escape(line[i].ToString());
            shown.Append(piece);
            if (i < end) pad.Append(piece == "\t" ? '\t' : ' ', piece == "\t" ? 1 : new System.Globalization.StringInfo(piece).LengthInTextElements);
        }
        _out.WriteLine("  " + shown);
        _out.WriteLine("  " + pad + new string('^', width));
    }

    /// <summary>The stack after an input, deepest first: <c>[i64 5] [ptr len=3]</c>, or <c>(empty stack)</c>.</summary>
    private string FormatStack(IReadOnlyList<StackEntry> stack) =>
        stack.Count == 0 ? "(empty stack)" : string.Join(" ", stack.Select(e => $"[{FormatValue(e)}]"));

    private string FormatValue(StackEntry entry) => entry.Type switch
    {
        VmType.I64 => $"i64 {entry.Bits.ToString(CultureInfo.InvariantCulture)}",
        VmType.F64 => $"f64 {Hosting.Value.FormatF64(BitConverter.Int64BitsToDouble(entry.Bits))}",
        VmType.Ptr => $"ptr len={Store.Heap.Length(entry.Current).ToString(CultureInfo.InvariantCulture)}",
        _ => entry.IsPointer
            ? $"word ptr len={Store.Heap.Length(entry.Current).ToString(CultureInfo.InvariantCulture)}"
            : $"word {entry.Bits.ToString(CultureInfo.InvariantCulture)}",
    };
}
