using System.CommandLine;
using JitVm.Hosting;

namespace JitVm.Cli;

/// <summary>
/// The options of <c>jitvm run</c> that decide what a program is linked to (spec/execution.md §10): other modules
/// by name (<c>--module NAME=FILE</c>, §2.1). One place makes the isolate, for the run and its repeats alike.
/// </summary>
internal sealed class RunSetup
{
    private readonly Option<string[]> _modules = new("--module")
    {
        Description = "Link another module under a name: NAME=FILE. The program's imports NAME.FUNCTION call FILE's exported FUNCTION. Repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Adds the options to <paramref name="run"/>.</summary>
    public void AddTo(Command run) => run.Options.Add(_modules);

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
        return new Linked(linker, null);
    }

    /// <summary>The linker of the run's modules, or the usage error that stopped it.</summary>
    internal sealed record Linked(Linker? Linker, string? UsageError)
    {
        /// <summary>An isolate of <paramref name="main"/> linked to the modules and <paramref name="hosts"/>.</summary>
        public Isolate Create(Module main, IReadOnlyList<HostFunction> hosts, IsolateOptions options) =>
            Linker is { Modules.Count: > 0 } linker ? linker.Instantiate(main, hosts, options) : new Isolate(main, hosts, options);
    }
}
