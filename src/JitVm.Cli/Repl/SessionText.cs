using System.Globalization;
using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Cli.Repl;

/// <summary>
/// The input function of an instruction line: parameters for the stack's values, the line's instructions, and its
/// results. A probe (<see cref="Results"/> null and <see cref="Probe"/> set) ends in <c>i64.const 0; unreachable</c>,
/// which verifies whatever the line leaves, so the verifier's stack types there say what the results are; a real
/// input function whose end is never reached (the line loops or traps) has no results and ends in
/// <c>unreachable</c>.
/// </summary>
internal sealed record InputFunctionText(VmType[] Parameters, VmType[]? Results, List<Piece> Pieces, bool Probe);

/// <summary>
/// The text of one version of the session module, and where each of its lines came from so that errors point at
/// what was typed. Each definition is preceded by <c>.line 1</c>, so its source lines (in trap reports and
/// verification errors) count from its own first line; every instruction of an input line is on source line 1.
/// </summary>
internal sealed class SessionText
{
    /// <summary>The physical line (from 1) of each definition's first line.</summary>
    private readonly List<(int FirstLine, Definition Definition)> _definitions = [];

    /// <summary>The physical line of each piece of the input line.</summary>
    private readonly List<int> _pieceLines = [];

    public SessionText(IReadOnlyList<Definition> definitions, InputFunctionText? input)
    {
        var text = new StringBuilder();
        var line = 1;
        void Line(string content)
        {
            text.Append(content).Append('\n');
            line++;
        }
        foreach (var definition in definitions)
        {
            Line(".line 1");
            _definitions.Add((line, definition));
            foreach (var row in definition.Text.TrimEnd('\n').Split('\n')) Line(row);
        }
        if (input is not null)
        {
            Input = input;
            Line(".line 1");
            var parameters = string.Join(", ", input.Parameters.Select((t, i) => $"__s{i}: {t.Name()}"));
            var results = input.Results is { Length: > 0 } r ? $" -> ({string.Join(' ', r.Select(t => t.Name()))})" : "";
            Line($".func \"{ReplSession.InputFunction}\" ({parameters}){results}");
            for (var i = 0; i < input.Parameters.Length; i++) Line($"    local.get __s{i.ToString(CultureInfo.InvariantCulture)}");
            foreach (var piece in input.Pieces)
            {
                Line(".line 1");
                _pieceLines.Add(line);
                Line(piece.Text);
            }
            Line(".line 1");
            if (input.Probe) Line("i64.const 0");
            Line(input.Results is null ? "unreachable" : "return");
            Line(".end");
        }
        Text = text.ToString();
    }

    public string Text { get; }

    public InputFunctionText? Input { get; }

    /// <summary>Which piece of the input line a physical line holds, or -1.</summary>
    public int PieceAt(int physicalLine) => _pieceLines.IndexOf(physicalLine);

    /// <summary>Which definition a physical line belongs to, and the line's number within it (from 1).</summary>
    public (Definition Definition, int Line)? DefinitionAt(int physicalLine)
    {
        for (var i = _definitions.Count - 1; i >= 0; i--)
            if (_definitions[i].FirstLine <= physicalLine)
                return (_definitions[i].Definition, physicalLine - _definitions[i].FirstLine + 1);
        return null;
    }

    /// <summary>
    /// The piece an instruction of the input function comes from: <paramref name="pc"/> counts the prologue that
    /// pushes the stack's values; -1 for the prologue or the terminator.
    /// </summary>
    public int PieceOfPc(int pc)
    {
        if (Input is null) return -1;
        var index = pc - Input.Parameters.Length;
        for (var i = 0; i < Input.Pieces.Count; i++)
        {
            if (!Input.Pieces[i].IsInstruction) continue;
            if (index-- == 0) return i;
        }
        return -1;
    }
}
