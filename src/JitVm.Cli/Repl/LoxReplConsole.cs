using RadLine;
using Spectre.Console;

namespace JitVm.Cli.Repl;

/// <summary>
/// The Lox REPL on a console. On a terminal lines are read with RadLine (editing, history in
/// <c>jitvm/lox_history</c>), the prompt is <c>&gt; </c> as clox's and <c>... </c> while an input continues; with
/// standard input or output redirected lines are read plainly, with no banner or prompt, so a script's output is
/// exactly what its inputs print. Program output goes to standard output, compile and runtime errors to standard
/// error. Ctrl+C stops the input running, or drops the input being typed; Ctrl+D on an empty line, or the end of
/// input, ends the REPL with exit code 0.
/// </summary>
internal static class LoxReplConsole
{
    public static int Run(LoxReplSettings settings)
    {
        using var session = new LoxReplSession(Console.Out, Console.Error, settings);
        var interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected && LineEditor.IsSupported(AnsiConsole.Console);
        LineReader? reader = null;
        using var ctrlC = LineReader.InterruptOnCtrlC(session.Interrupt, () => reader);
        if (!interactive)
        {
            while (Console.In.ReadLine() is { } line) session.Feed(line);
            session.Finish();
            return ExitCodes.Ok;
        }

        Console.Out.WriteLine("jitvm lox: type Lox declarations and statements; an expression without ';' prints its value. Ctrl+D ends.");
        reader = new LineReader(new LineEditor(AnsiConsole.Console) { Prompt = new Prompt(session) }, ReplConsole.HistoryFile("lox_history"));
        reader.Run(session, Console.Out);
        return ExitCodes.Ok;
    }

    /// <summary><c>&gt;</c> as clox's REPL, or <c>...</c> while an input continues.</summary>
    private sealed class Prompt(LoxReplSession session) : ILineEditorPrompt
    {
        public (Markup Markup, int Margin) GetPrompt(ILineEditorState state, int line) =>
            (session.IsContinuing ? new Markup("[grey]...[/]") : new Markup("[green]>[/]"), 1);
    }
}
