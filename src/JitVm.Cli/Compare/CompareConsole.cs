using System.Text;
using Spectre.Console;

namespace JitVm.Cli.Compare;

/// <summary>
/// Runs the comparison with progress on standard error (a live Spectre.Console progress display on a terminal, one
/// line per configuration otherwise) and writes the results on standard output. Ctrl+C (SIGINT) cancels: the
/// running child is killed, and the rows finished so far are written as usual, marked as interrupted.
/// </summary>
internal static class CompareConsole
{
    public static int Execute(CompareRequest request, Stream stdout, TextWriter stderr, CompareFormat format, string? chartPath)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // Keep the process alive: the rows so far are still to be written.
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            List<ConfigurationResult> rows;
            bool interrupted;
            if (!Console.IsErrorRedirected && ReferenceEquals(stderr, Console.Error))
            {
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                (List<ConfigurationResult> Rows, bool Interrupted) outcome = ([], true);
                console.Progress()
                    .AutoClear(true)
                    .Columns(new SpinnerColumn(), new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
                    .Start(context =>
                    {
                        var tasks = request.Configurations.ToDictionary(c => c.Id, c => context.AddTask(Markup.Escape(c.Title), autoStart: false, maxValue: 1));
                        outcome = new CompareRunner(request, new LiveProgress(tasks)).Run(cancel.Token);
                    });
                (rows, interrupted) = outcome;
            }
            else
            {
                (rows, interrupted) = new CompareRunner(request, new LineProgress(stderr, request.Configurations.Count)).Run(cancel.Token);
            }

            var agree = Agreement.Decide(rows);
            var report = new CompareReport(request, rows, interrupted, agree);
            // The one early exit: the reference run rejected the command line itself (say, an argument of the
            // wrong type), which every other configuration would repeat.
            if (rows.FirstOrDefault(r => r.Available) is { ExitCode: ExitCodes.Usage } rejected)
            {
                stderr.WriteLine($"jitvm: the {rejected.Configuration.Title} run rejected the command: {rejected.ErrorLine}");
                return ExitCodes.Usage;
            }
            Write(report, stdout, format);
            if (chartPath is not null)
            {
                try
                {
                    File.WriteAllText(chartPath, SvgChart.Render(report));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"jitvm: cannot write '{chartPath}': {e.Message}");
                    return ExitCodes.CannotCreate;
                }
            }
            if (interrupted)
            {
                stderr.WriteLine($"jitvm: compare interrupted; {rows.Count} of {request.Configurations.Count} configurations finished");
                return ExitCodes.Interrupted;
            }
            return agree ? ExitCodes.Ok : ExitCodes.Disagree;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static void Write(CompareReport report, Stream stdout, CompareFormat format)
    {
        switch (format)
        {
            case CompareFormat.Json:
                stdout.Write(report.Json());
                break;
            case CompareFormat.Markdown:
                stdout.Write(Encoding.UTF8.GetBytes(report.Markdown()));
                break;
            default:
                WriteTable(report, stdout);
                break;
        }
        stdout.Flush();
    }

    private static void WriteTable(CompareReport report, Stream stdout)
    {
        var terminal = !Console.IsOutputRedirected;
        using var writer = new StreamWriter(stdout, new UTF8Encoding(false), leaveOpen: true);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(terminal ? Console.Out : writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        // Redirected output has no window width; wide enough that rows do not wrap in a file or a pipe.
        if (!terminal) console.Profile.Width = 200;
        // One column per configuration that ran and one row per figure: six configurations fit a terminal's
        // width where fourteen figures side by side would not. Configurations that did not run are listed below.
        var ran = report.Rows.Where(r => r.Available).ToList();
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape("jitvm compare: " + report.Title()));
        table.AddColumn(new TableColumn(""));
        foreach (var row in ran) table.AddColumn(new TableColumn(Markup.Escape(row.Configuration.Title)).RightAligned());
        var cells = ran.Select(CompareReport.Cells).ToList();
        for (var i = 1; i < CompareReport.Columns.Length - 1; i++)
            table.AddRow([Markup.Escape(CompareReport.Columns[i]), .. cells.Select(c => Markup.Escape(c[i]))]);
        table.AddRow(["result", .. ran.Select(r => r.Agrees == false ? "[red bold]DIFFERS[/]" : "[green]agrees[/]")]);
        table.AddRow(["output", .. ran.Select(r => Markup.Escape(CompareReport.Outcome(r)))]);
        var notes = report.Rows.Where(r => !r.Available).Select(r => $"[grey]{Markup.Escape(r.Configuration.Title)}: not available ({Markup.Escape(r.Unavailable!)})[/]");
        table.Caption(string.Join("\n", [Markup.Escape(report.Summary()), .. notes]));
        console.Write(table);
        writer.Flush();
    }

    private sealed class LiveProgress(Dictionary<string, ProgressTask> tasks) : ICompareProgress
    {
        public void Starting(Configuration configuration) => tasks[configuration.Id].StartTask();

        public void Finished(ConfigurationResult result)
        {
            var task = tasks[result.Configuration.Id];
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }

    /// <summary>Progress for a log or a pipe: a line as each configuration starts and ends.</summary>
    private sealed class LineProgress(TextWriter stderr, int count) : ICompareProgress
    {
        private int _index;

        public void Starting(Configuration configuration) => stderr.WriteLine($"compare: [{++_index}/{count}] {configuration.Id}: running");

        public void Finished(ConfigurationResult result) =>
            stderr.WriteLine($"compare: [{_index}/{count}] {result.Configuration.Id}: {(result.Available ? "done" : "not available")}");
    }
}
