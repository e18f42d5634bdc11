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
                return CompareCommand.Interrupted;
            }
            return agree ? ExitCodes.Ok : CompareCommand.Disagree;
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
        if (!terminal) console.Profile.Width = 260;
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape("jitvm compare: " + report.Title()));
        for (var i = 0; i < CompareReport.Columns.Length; i++)
        {
            var column = new TableColumn(Markup.Escape(CompareReport.Columns[i]));
            if (i is > 0 and < 13) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in report.Rows)
        {
            var cells = CompareReport.Cells(row).Select(Markup.Escape).ToArray();
            var colour = !row.Available ? "grey" : row.Agrees == false ? "red bold" : "green";
            cells[^1] = $"[{colour}]{cells[^1]}[/]";
            table.AddRow(cells);
        }
        table.Caption(Markup.Escape(report.Summary()));
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
