using System.CommandLine;
using JitVm.Hosting;

namespace JitVm.Cli;

/// <summary>
/// The options of <c>jitvm run</c> that decide what a program is linked to (spec/execution.md §10): other modules
/// by name (<c>--module NAME=FILE</c>, §2.1) and the capabilities of the system interface (spec/system-interface.md).
/// One place makes the isolate, for the run and its repeats alike.
/// </summary>
internal sealed class RunSetup
{
    private readonly Option<string[]> _modules = new("--module")
    {
        Description = "Link another module under a name: NAME=FILE. The program's imports NAME.FUNCTION call FILE's exported FUNCTION. Repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string[]> _arguments = new("--arg")
    {
        Description = "An argument for the program, read with sys.arg (system interface). Repeatable, in order.",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<bool> _environment = new("--env") { Description = "Grant the program this process's environment variables (sys.env)." };
    private readonly Option<bool> _stdin = new("--stdin") { Description = "Grant the program standard input (sys.read_stdin)." };
    private readonly Option<bool> _clock = new("--clock") { Description = "Grant the program the monotonic and wall clocks (sys.clock_monotonic, sys.clock_wall)." };
    private readonly Option<bool> _random = new("--random") { Description = "Grant the program random bytes (sys.random)." };
    private readonly Option<string?> _directory = new("--dir") { Description = "Grant the program the files under this directory, and only those (sys.file_read, sys.file_write)." };

    /// <summary>Adds the options to <paramref name="run"/>.</summary>
    public void AddTo(Command run)
    {
        foreach (var option in new Option[] { _modules, _arguments, _environment, _stdin, _clock, _random, _directory }) run.Options.Add(option);
    }

    /// <summary>What the parsed options ask for; a usage error is a message (exit 64), a bad module file an
    /// exception the command's guard reports (exit 65 or 66).</summary>
    public Linked Parse(ParseResult result)
    {
        var linker = new Linker();
        foreach (var pair in result.GetValue(_modules) ?? [])
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || at == pair.Length - 1) return new Linked(null, $"--module takes NAME=FILE, not '{pair}'");
            var name = pair[..at];
            if (name.Contains(Linker.Separator, StringComparison.Ordinal)) return new Linked(null, $"--module: the module name '{name}' must not hold a '{Linker.Separator}'");
            if (linker.Modules.ContainsKey(name)) return new Linked(null, $"--module: '{name}' is given twice");
            var path = pair[(at + 1)..];
            if (!File.Exists(path)) throw new FileNotFoundException(Directory.Exists(path) ? $"'{path}' is a directory, not a module file" : $"no such file: '{path}'", path);
            linker.Define(name, AotCommand.LoadForRun(path));
        }
        var directory = result.GetValue(_directory);
        if (directory is not null && !Directory.Exists(directory)) return new Linked(null, $"--dir: no such directory: '{directory}'");
        var system = new SystemInterfaceOptions
        {
            Arguments = [.. (result.GetValue(_arguments) ?? []).Select(a => System.Text.Encoding.UTF8.GetBytes(a))],
            Environment = result.GetValue(_environment) ? EnvironmentVariables() : null,
            Stdin = result.GetValue(_stdin) ? Console.OpenStandardInput() : null,
            Clock = result.GetValue(_clock),
            Random = result.GetValue(_random),
            Directory = directory,
        };
        return new Linked(linker, null, system);
    }

    private static Dictionary<string, string> EnvironmentVariables()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            variables[(string)entry.Key] = (string?)entry.Value ?? "";
        return variables;
    }

    /// <summary>The linker of the run's modules, or the usage error that stopped it.</summary>
    internal sealed record Linked(Linker? Linker, string? UsageError, SystemInterfaceOptions? System = null)
    {
        /// <summary>An isolate of <paramref name="main"/> linked to the modules, <paramref name="hosts"/> and the
        /// system interface.</summary>
        public Isolate Create(Module main, IReadOnlyList<HostFunction> hosts, IsolateOptions options)
        {
            IReadOnlyList<HostFunction> all = System is null ? hosts : [.. hosts, .. SystemInterface.Create(System)];
            return Linker is { Modules.Count: > 0 } linker ? linker.Instantiate(main, all, options) : new Isolate(main, all, options);
        }
    }
}
