using RadLine;
using Spectre.Console;

namespace JitVm.Cli.Repl;

/// <summary>
/// The REPL on a console: line editing, history, completion and colouring from RadLine when stdin and stdout are a
/// terminal, plain line input otherwise (so the REPL can be scripted). Ctrl+C stops a running program, or drops the
/// line being typed; Ctrl+D on an empty line or <c>:quit</c> ends the REPL with exit code 0.
/// </summary>
internal static class ReplConsole
{
    /// <summary>How many lines of history are kept in the history file.</summary>
    internal const int HistoryLines = 1000;

    public static int Run(ReplSettings settings)
    {
        var output = Console.Out;
        using var session = new ReplSession(output, settings);
        var interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected && LineEditor.IsSupported(AnsiConsole.Console);
        LineReader? reader = null;
        using var ctrlC = LineReader.InterruptOnCtrlC(session.Interrupt, () => reader);
        if (!interactive)
        {
            while (!session.QuitRequested && Console.In.ReadLine() is { } line) session.Feed(line);
            return ExitCodes.Ok;
        }

        output.WriteLine("jitvm repl: type instructions to run them, .func ... .end to define; :help lists the commands.");
        var editor = new LineEditor(AnsiConsole.Console)
        {
            Completion = new Completion(session),
            Highlighter = new Highlighter(session),
            Prompt = new Prompt(session),
        };
        reader = new LineReader(editor, HistoryFile());
        reader.Run(session, output);
        return ExitCodes.Ok;
    }

    /// <summary>Where history is kept: <c>JITVM_REPL_HISTORY</c> when set (empty: nowhere), else
    /// <c>jitvm/FILE</c> in the user's application data folder (~/.config on Linux), FILE <c>repl_history</c> or the
    /// Lox REPL's <c>lox_history</c>.</summary>
    internal static string? HistoryFile(string fileName = "repl_history")
    {
        var chosen = Environment.GetEnvironmentVariable("JITVM_REPL_HISTORY");
        if (chosen is not null) return chosen.Length == 0 ? null : chosen;
        var folder = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return folder.Length == 0 ? null : Path.Combine(folder, "jitvm", fileName);
    }

    /// <summary>The last <see cref="HistoryLines"/> non-empty lines of the history file (none when it cannot be read).</summary>
    internal static IEnumerable<string> LoadHistory(string? path)
    {
        try
        {
            return path is not null && File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Length > 0).TakeLast(HistoryLines) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Appends a line to the history file, keeping at most <see cref="HistoryLines"/>; a history that cannot
    /// be written is not an error worth interrupting the session for.</summary>
    internal static void AppendHistory(string? path, string line)
    {
        if (path is null || line.Trim().Length == 0) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllLines(path, [line]);
            var lines = File.ReadAllLines(path);
            if (lines.Length > 2 * HistoryLines) File.WriteAllLines(path, lines[^HistoryLines..]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary><c>jitvm&gt;</c>, or <c>...&gt;</c> while a definition is open.</summary>
    private sealed class Prompt(ReplSession session) : ILineEditorPrompt
    {
        public (Markup Markup, int Margin) GetPrompt(ILineEditorState state, int line) =>
            (session.IsContinuing ? new Markup("[grey]  ...>[/]") : new Markup("[green]jitvm>[/]"), 1);
    }

    /// <summary>Ctrl+D: ends the REPL on an empty line; elsewhere deletes the character under the cursor.</summary>
    internal sealed class EndOfInputCommand : LineEditorCommand
    {
        public bool Pressed { get; private set; }

        public override void Execute(LineEditorContext context)
        {
            if (context.Buffer.Content.Length > 0)
            {
                new DeleteCommand().Execute(context);
                return;
            }
            Pressed = true;
            context.Submit(SubmitAction.Submit);
        }
    }

    /// <summary>Tab completion: commands after a leading <c>:</c>, else mnemonics (from the instruction table),
    /// directives and the session's defined names.</summary>
    private sealed class Completion(ReplSession session) : ITextCompletion
    {
        public IEnumerable<string> GetCompletions(string prefix, string word, string suffix)
        {
            var atStart = prefix.Trim().Length == 0;
            IEnumerable<string> candidates = atStart && word.StartsWith(':')
                ? ReplSession.Commands.Select(c => c.Name)
                : Vocabulary.Mnemonics.Concat(Vocabulary.Directives).Concat(session.DefinedNames);
            return candidates.Where(c => c.StartsWith(word, StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal);
        }
    }

    /// <summary>Colours. The editor hands over words split at punctuation (<c>local.get</c> comes as <c>local</c>,
    /// <c>.</c>, <c>get</c>), so a word is coloured as a mnemonic when it is a part of one in the instruction table, as a
    /// directive or command when it is the word after the dot or colon of one.</summary>
    private sealed class Highlighter(ReplSession session) : IHighlighter
    {
        private static readonly Style Mnemonic = new(Color.DodgerBlue1);
        private static readonly Style Directive = new(Color.Magenta1);
        private static readonly Style Number = new(Color.Gold1);
        private static readonly Style Command = new(Color.Green);
        private static readonly Style Name = new(Color.Aqua);

        public Style? Highlight(string token)
        {
            if (token.Length == 0) return null;
            if (session.DefinedNames.Contains(token)) return Name;
            if (Vocabulary.IsMnemonicPart(token)) return Mnemonic;
            if (Vocabulary.IsDirectiveWord(token)) return Directive;
            if (Vocabulary.IsCommandWord(token)) return Command;
            if (char.IsAsciiDigit(token[0]) || (token.Length > 1 && token[0] is '-' or '+' && char.IsAsciiDigit(token[1]))) return Number;
            return null;
        }
    }
}
