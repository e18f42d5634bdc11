using JitVm.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Hostile;

/// <summary>
/// Compilation is work a module makes the host do: an isolate's compile budget bounds it under the tiered and jit
/// policies, functions beyond it stay interpreted with the same results, and the log and statistics say so.
/// </summary>
public sealed class CompileBudgetTests
{
    private const long LoopFunctionCost = PathologicalModules.LoopingFunctionInstructions + IsolateOptions.CompileCostPerFunction;

    private sealed class ListLogger : ILogger
    {
        public List<(int Id, string Message)> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Events.Add((eventId.Id, formatter(state, exception)));
    }

    private static int CompiledFunctions(Module module) =>
        Enumerable.Range(0, module.Definition.Functions.Count).Count(i => module.Decoded(i).Compiled is not null);

    [Theory]
    [InlineData(ExecutionTier.Tiered)]
    [InlineData(ExecutionTier.Jit)]
    public void FunctionsBeyondTheCompileBudgetStayInterpretedAndGiveTheSameResult(ExecutionTier tier)
    {
        const int functions = 300;
        var budget = 20 * LoopFunctionCost + 2_000;
        var module = Module.FromText(PathologicalModules.ManyLoopingFunctions(functions), "loops.jvm");
        var logger = new ListLogger();
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, CompileBudget = budget, Logger = logger });

        Assert.Equal(PathologicalModules.ManyLoopingFunctionsResult(functions), isolate.Invoke("main")[0].AsI64);

        Assert.InRange(isolate.CompileBudgetUsed, 1, budget);
        var compiled = CompiledFunctions(module);
        Assert.InRange(compiled, 1, (int)(budget / LoopFunctionCost));
        Assert.Single(logger.Events, e => e.Id == 103);
        Assert.Contains(logger.Events, e => e.Id == 103 && e.Message.Contains($"of {budget} units used", StringComparison.Ordinal));
        var statistics = isolate.Statistics();
        var summary = System.Text.RegularExpressions.Regex.Match(statistics,
            $@"compile budget: {isolate.CompileBudgetUsed} of {budget} units used, spent \((\d+) function\(s\) left interpreted\)");
        Assert.True(summary.Success, statistics);
        var declined = int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(declined, functions - compiled, functions + 1 - compiled); // main is declined only if it was a candidate
        Assert.Equal(declined, System.Text.RegularExpressions.Regex.Matches(statistics, "not compiled: this isolate's compile budget is spent").Count);
    }

    [Theory]
    [InlineData(ExecutionTier.Tiered)]
    [InlineData(ExecutionTier.Jit)]
    public void AZeroCompileBudgetRunsEverythingInTheInterpreter(ExecutionTier tier)
    {
        var module = Module.FromText(PathologicalModules.ManyLoopingFunctions(50), "loops.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, CompileBudget = 0 });
        Assert.Equal(PathologicalModules.ManyLoopingFunctionsResult(50), isolate.Invoke("main")[0].AsI64);
        Assert.Equal(PathologicalModules.ManyLoopingFunctionsResult(50), isolate.Invoke("main")[0].AsI64);
        Assert.Equal(0, isolate.CompileBudgetUsed);
        Assert.Equal(0, CompiledFunctions(module));
    }

    [Fact]
    public void AnotherIsolateWithBudgetLeftCompilesWhatTheFirstCouldNot()
    {
        var module = Module.FromText(PathologicalModules.ManyLoopingFunctions(40), "loops.jvm");
        var first = new Isolate(module, options: new IsolateOptions { CompileBudget = 10 * LoopFunctionCost });
        first.Invoke("main");
        Assert.Equal(10, CompiledFunctions(module));

        var second = new Isolate(module, options: new IsolateOptions { CompileBudget = null });
        Assert.Equal(PathologicalModules.ManyLoopingFunctionsResult(40), second.Invoke("main")[0].AsI64);
        Assert.Equal(40, CompiledFunctions(module)); // main has no loop and was called once: still interpreted
        Assert.Equal(30 * LoopFunctionCost, second.CompileBudgetUsed);
        Assert.Contains($"compile budget: {30 * LoopFunctionCost} of unlimited units used", second.Statistics(), StringComparison.Ordinal);
    }

    [Fact]
    public void AnIsolateGetsTheDefaultCompileBudgetUnlessTheOptionsSayOtherwise()
    {
        var module = Module.FromText(PathologicalModules.ManyLoopingFunctions(1), "loops.jvm");
        Assert.Contains($"compile budget: 0 of {IsolateOptions.DefaultCompileBudget} units used", new Isolate(module).Statistics(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheCommandLineCompileBudgetKeepsFunctionsInTheInterpreterAndMustNotBeNegative()
    {
        var directory = Directory.CreateTempSubdirectory("jitvm-budget-").FullName;
        try
        {
            var path = Path.Combine(directory, "loops.jvm");
            File.WriteAllText(path, PathologicalModules.ManyLoopingFunctions(5));
            (int Code, string Out, string Err) Run(params string[] args)
            {
                var stdout = new MemoryStream();
                var stderr = new StringWriter();
                var code = new JitVm.Cli.CliApp(stdout, stderr).Run(args);
                return (code, System.Text.Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
            }

            var (code, output, error) = Run("run", path, "--tier", "jit", "--compile-budget", "0", "--stats");
            Assert.Equal(0, code);
            Assert.Equal($"{PathologicalModules.ManyLoopingFunctionsResult(5)}\n", output);
            Assert.Contains("compile budget: 0 of 0 units used, spent (6 function(s) left interpreted)", error, StringComparison.Ordinal);

            var (negative, _, usage) = Run("run", path, "--compile-budget", "-1");
            Assert.Equal(64, negative);
            Assert.Contains("--compile-budget must not be negative", usage, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void ANegativeCompileBudgetIsRejected()
    {
        var module = Module.FromText(PathologicalModules.ManyLoopingFunctions(1), "loops.jvm");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Isolate(module, options: new IsolateOptions { CompileBudget = -1 }));
    }
}
