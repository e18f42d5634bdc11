using System.CommandLine;

namespace JitVm.Cli.Compare;

/// <summary>
/// <c>jitvm compare FILE [--entry NAME] [ARGS...]</c> (spec/execution.md §10.3): the options, and the checks made
/// before any child starts. The work is in <see cref="CompareConsole"/>, a separate class so that Spectre.Console
/// is loaded only when <c>compare</c> runs, never for <c>run</c>.
/// </summary>
internal static class CompareCommand
{
    public static Command Create(Stream stdout, TextWriter stderr, Func<string, Func<string, int>, int> guard)
    {
        var file = new Argument<string>("file") { Description = "A module: assembly text (.jvm) or binary (.jvmb)." };
        var entry = new Option<string>("--entry") { Description = "The function to run.", DefaultValueFactory = _ => "main" };
        var runs = new Option<int>("--runs") { Description = "Steady-state calls timed per configuration, after the first call.", DefaultValueFactory = _ => 10 };
        var only = new Option<string?>("--only")
        {
            Description = "Comma-separated configurations to run, in the standard order: " + string.Join(",", Configuration.All.Select(c => c.Id)) + ".",
        };
        var host = new Option<string>("--nativeaot-host") { Description = "The NativeAOT host executable.", DefaultValueFactory = _ => Configuration.DefaultNativeAotHost };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON (spec/execution.md §10.3) instead of a table." };
        var markdown = new Option<bool>("--markdown") { Description = "Print the results as a Markdown table instead of a terminal table." };
        var chart = new Option<string?>("--chart") { Description = "Also write an SVG bar chart of the results to this file." };
        var programArgs = new Argument<string[]>("args") { Description = "Arguments for the entry function (put them after -- when negative).", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("compare", "Run one entry in every configuration (interpreter, JIT, tiered, saved assembly, ReadyToRun, NativeAOT host), each in a fresh process, and compare times, memory and results.")
        {
            file, entry, runs, only, host, json, markdown, chart, programArgs,
        };
        command.SetAction(result => guard(result.GetValue(file)!, path =>
        {
            var name = result.GetValue(entry)!;
            var count = result.GetValue(runs);
            if (count is < 0 or > 1_000_000)
                return Usage(stderr, $"--runs must be from 0 to 1000000, not {count}");
            if (result.GetValue(json) && result.GetValue(markdown)) return Usage(stderr, "--json and --markdown cannot be used together");
            var selected = Configuration.All;
            if (result.GetValue(only) is { } list)
            {
                var ids = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (ids.FirstOrDefault(id => Configuration.All.All(c => c.Id != id)) is { } unknown)
                    return Usage(stderr, $"--only: no configuration named '{unknown}'; the configurations are {string.Join(", ", Configuration.All.Select(c => c.Id))}");
                selected = [.. Configuration.All.Where(c => ids.Contains(c.Id))];
            }
            // The module is read and verified here first, so a bad module gets the usual message and exit code
            // once, instead of one failing row per configuration.
            var module = FrontEnds.LoadModule(path);
            if (module.FindFunction(name) < 0)
            {
                stderr.WriteLine($"jitvm: {Path.GetFileName(path)} has no function named '{name}'");
                return ExitCodes.DataError;
            }
            var request = new CompareRequest(path, name, result.GetValue(programArgs) ?? [], count, selected, result.GetValue(host)!);
            var format = result.GetValue(json) ? CompareFormat.Json : result.GetValue(markdown) ? CompareFormat.Markdown : CompareFormat.Table;
            return CompareConsole.Execute(request, stdout, stderr, format, result.GetValue(chart));
        }));
        return command;
    }

    private static int Usage(TextWriter stderr, string message)
    {
        stderr.WriteLine($"jitvm: {message}");
        return ExitCodes.Usage;
    }
}

/// <summary>What <c>compare</c> prints on standard output.</summary>
internal enum CompareFormat
{
    Table,
    Json,
    Markdown,
}
