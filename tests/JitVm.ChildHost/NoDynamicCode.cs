using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.ChildHost;

/// <summary>
/// <c>JitVm.ChildHost --no-dynamic-code SAVED.dll MODULE</c>: sets the library's switch that makes it behave as if
/// the runtime could not generate code (as under NativeAOT) before any JitVm code runs, then runs the saved
/// assembly's module and the module file's <c>main</c> on every tier policy and prints, per run, the results (or
/// trap) and the tier each function ran in. The switch is read once per process, hence a process of its own.
/// </summary>
internal static class NoDynamicCode
{
    public const string Flag = "--no-dynamic-code";

    public static int Run(string saved, string file)
    {
        AppContext.SetSwitch("JitVm.DisableDynamicCode", true);
        var engine = new Engine();
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered })
        {
            Console.WriteLine($"saved {tier.ToString().ToLowerInvariant()}: {Describe(engine.LoadAssembly(saved), tier)}");
            Console.WriteLine($"file {tier.ToString().ToLowerInvariant()}: {Describe(engine.LoadFile(file), tier)}");
        }
        return 0;
    }

    private static string Describe(Module module, ExecutionTier tier)
    {
        var output = new MemoryStream();
        var isolate = Create(module, output, tier);
        string outcome;
        try
        {
            outcome = "results " + string.Join(",", isolate.Invoke("main").Select(isolate.Describe)) + $", fuel {isolate.FuelUsed}";
        }
        catch (TrapException trap)
        {
            // Where the trap was thrown tells which code ran: the saved assembly's methods are on the .NET stack
            // only when its code, not the interpreter, ran the trapping function.
            var saved = trap.StackTrace?.Contains("JitVmGenerated.Functions", StringComparison.Ordinal) == true;
            outcome = $"trap {trap.Code} at {string.Join(" < ", trap.VmStackTrace.Select(f => $"{f.Function}:{f.Pc}"))}, fuel {isolate.FuelUsed}, thrown in {(saved ? "saved code" : "the interpreter")}";
        }
        // The statistics' function table: each function's name, the code it has (aot, jit or none: interpreter) and
        // how many calls the interpreter made to it.
        var tiers = isolate.Statistics().Split('\n').Skip(3).Where(line => line.Length > 0 && !line.StartsWith(' '))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(c => $"{c[0]} {c[1]} {c[^1]}");
        return $"policy {isolate.Tier.ToString().ToLowerInvariant()}; precompiled {module.IsPrecompiled}; output {System.Text.Encoding.UTF8.GetString(output.ToArray()).Trim()}; {outcome}; {string.Join(", ", tiers)}";
    }

    private static Isolate Create(Module module, Stream output, ExecutionTier tier) =>
        new(module, StandardImports.Create(output), new IsolateOptions { Tier = tier, LoggerFactory = WarningsToStderr.Instance });

    /// <summary>Writes warnings, with their category, to stderr: the JIT's absence is one.</summary>
    private sealed class WarningsToStderr : Microsoft.Extensions.Logging.ILoggerFactory
    {
        public static readonly WarningsToStderr Instance = new();

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Category(categoryName);

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Category(string name) : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

            public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) Console.Error.WriteLine($"{name} {logLevel} {eventId.Id}: {formatter(state, exception)}");
            }
        }
    }
}
