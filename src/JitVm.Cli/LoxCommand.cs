using System.CommandLine;
using JitVm.Cli.Repl;
using JitVm.Hosting;

namespace JitVm.Cli;

/// <summary>
/// <c>jitvm lox [FILE]</c>: with no file the Lox REPL (spec/repl.md, "The Lox REPL"); with a file, runs it as
/// <c>jitvm run FILE</c> does. Its options are those of <c>run</c> that make sense for both.
/// </summary>
internal static class LoxCommand
{
    /// <param name="runFile">Runs a script as <c>jitvm run</c> would, with these options; returns the exit code.</param>
    public static Command Build(Option<ExecutionTier> tier, Option<long?> fuel, Option<int> maxDepth, Option<long> maxHeap,
        TextWriter stderr, Func<string, IsolateOptions, int> runFile)
    {
        var file = new Argument<string?>("file") { Description = "A Lox script to run; without one, the REPL starts.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("lox", "Start the Lox REPL, or run a Lox script (.lox); --fuel is then the fuel of each input.")
        {
            file, tier, fuel, maxDepth, maxHeap,
        };
        command.SetAction(result =>
        {
            var depth = result.GetValue(maxDepth);
            if (depth is < 1 or > IsolateOptions.MaximumCallDepth)
            {
                stderr.WriteLine($"jitvm: --max-depth must be from 1 to {IsolateOptions.MaximumCallDepth}, not {depth}");
                return ExitCodes.Usage;
            }
            if (result.GetValue(fuel) is < 0 || result.GetValue(maxHeap) < 0)
            {
                stderr.WriteLine("jitvm: --fuel and --max-heap must not be negative");
                return ExitCodes.Usage;
            }
            var options = new IsolateOptions { Tier = result.GetValue(tier), MaxCallDepth = depth, MaxHeapBytes = result.GetValue(maxHeap) };
            if (result.GetValue(file) is { } path)
            {
                if (FrontEnds.For(path) is not LoxFrontEnd)
                {
                    stderr.WriteLine($"jitvm: '{path}' is not a Lox script (.lox)");
                    return ExitCodes.Usage;
                }
                return runFile(path, options with { Fuel = result.GetValue(fuel) });
            }
            return LoxReplConsole.Run(new LoxReplSettings { Options = options, FuelPerInput = result.GetValue(fuel) });
        });
        return command;
    }
}
