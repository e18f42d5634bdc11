using System.CommandLine;
using JitVm.Hosting;

namespace JitVm.Cli.Repl;

/// <summary>The <c>jitvm repl</c> command: its options are those of <c>run</c> that make sense for a session.</summary>
internal static class ReplCommand
{
    public static Command Build(Option<ExecutionTier> tier, Option<long?> fuel, Option<int> maxDepth, Option<long> maxHeap)
    {
        var command = new Command("repl", "Type instructions and definitions and run them at once against a persistent stack (:help inside lists the commands).")
        {
            tier, fuel, maxDepth, maxHeap,
        };
        command.SetAction(result =>
        {
            var depth = result.GetValue(maxDepth);
            if (depth is < 1 or > IsolateOptions.MaximumCallDepth)
            {
                Console.Error.WriteLine($"jitvm: --max-depth must be from 1 to {IsolateOptions.MaximumCallDepth}, not {depth}");
                return ExitCodes.Usage;
            }
            if (result.GetValue(fuel) is < 0 || result.GetValue(maxHeap) < 0)
            {
                Console.Error.WriteLine("jitvm: --fuel and --max-heap must not be negative");
                return ExitCodes.Usage;
            }
            return ReplConsole.Run(new ReplSettings
            {
                Tier = result.GetValue(tier),
                FuelPerInput = result.GetValue(fuel),
                MaxCallDepth = depth,
                MaxHeapBytes = result.GetValue(maxHeap),
            });
        });
        return command;
    }
}
