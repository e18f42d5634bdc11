using RadLine;
using Spectre.Console;

namespace JitVm.Cli.Repl;

/// <summary>What a console REPL feeds its lines to (the assembly REPL's and the Lox REPL's sessions).</summary>
internal interface ILineSession
{
    /// <summary>True while an input spans lines and is not complete yet.</summary>
    bool IsContinuing { get; }

    /// <summary>True once the session asked to end (<c>:quit</c>).</summary>
    bool QuitRequested { get; }

    /// <summary>Drops the lines of an input not complete yet.</summary>
    void DiscardPending();

    /// <summary>Takes one line of input.</summary>
    void Feed(string line);
}

/// <summary>
/// Reads a REPL's lines on a terminal with RadLine: editing, Up and Down walking the history (each line is read on its
/// own, a multi-line input is several reads), Ctrl+D on an empty line ending the REPL, Ctrl+C (through
/// <see cref="CancelLine"/>) dropping the input being typed. Lines are kept in the history file as they are read.
/// </summary>
internal sealed class LineReader
{
    private readonly LineEditor _editor;
    private readonly string? _historyFile;
    private readonly ReplConsole.EndOfInputCommand _endOfInput = new();
    private CancellationTokenSource? _reading;

    public LineReader(LineEditor editor, string? historyFile)
    {
        _editor = editor;
        _historyFile = historyFile;
        editor.KeyBindings.Add(ConsoleKey.D, ConsoleModifiers.Control, () => _endOfInput);
        // Keys typed before the terminal left line mode (type-ahead while the REPL starts, a paste) reach us with Enter
        // turned into a line feed, which the console reports as Ctrl+J: it submits too, as in readline.
        editor.KeyBindings.Add<SubmitCommand>(ConsoleKey.J, ConsoleModifiers.Control);
        editor.KeyBindings.Add<SubmitCommand>(ConsoleKey.Enter, ConsoleModifiers.Control);
        editor.KeyBindings.Add(ConsoleKey.UpArrow, () => new PreviousHistoryCommand());
        editor.KeyBindings.Add(ConsoleKey.DownArrow, () => new NextHistoryCommand());
        foreach (var line in ReplConsole.LoadHistory(historyFile)) editor.History.Add(line);
    }

    /// <summary>
    /// Makes Ctrl+C stop what runs (<paramref name="interrupt"/>) or the line being read by the reader
    /// <paramref name="reader"/> returns (none while it returns null) instead of ending the process, until disposed.
    /// </summary>
    public static IDisposable InterruptOnCtrlC(Action interrupt, Func<LineReader?> reader)
    {
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            interrupt();
            reader()?.CancelLine();
        };
        Console.CancelKeyPress += onCancel;
        return new Unsubscribe(onCancel);
    }

    private sealed class Unsubscribe(ConsoleCancelEventHandler handler) : IDisposable
    {
        public void Dispose() => Console.CancelKeyPress -= handler;
    }

    /// <summary>Stops the line being read, if one is (from the Ctrl+C handler, on another thread).</summary>
    public void CancelLine() => _reading?.Cancel();

    /// <summary>Feeds lines to <paramref name="session"/> until Ctrl+D or the session asks to end.</summary>
    public void Run(ILineSession session, TextWriter output)
    {
        while (!session.QuitRequested)
        {
            _reading = new CancellationTokenSource();
            string? line;
            try
            {
                line = _editor.ReadLine(_reading.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                line = null;
            }
            var cancelled = _reading.IsCancellationRequested;
            _reading.Dispose();
            _reading = null;
            if (_endOfInput.Pressed) break;
            if (cancelled || line is null)
            {
                if (session.IsContinuing) output.WriteLine("(input dropped)");
                session.DiscardPending();
                continue;
            }
            ReplConsole.AppendHistory(_historyFile, line);
            session.Feed(line);
        }
    }
}
