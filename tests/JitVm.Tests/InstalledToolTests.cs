using Xunit;

namespace JitVm.Tests;

/// <summary>
/// The <c>jitvm</c> tool as users get it — installed from its package, on Linux x64 a self-contained, trimmed,
/// composite ReadyToRun build (src/JitVm.Cli/JitVm.Cli.csproj) — behaves exactly as the tool built next to the tests:
/// the same output, errors and exit code for every example under every tier, a saved assembly, the REPL and
/// <c>compare</c>. It catches what trimming or ahead-of-time compilation of the framework could break. The
/// executable is named by <c>JITVM_INSTALLED_TOOL</c>, which .ci/run sets after installing the package; without it
/// the tests say they are skipped.
/// </summary>
public sealed partial class InstalledToolTests : IDisposable
{
    internal const string Variable = "JITVM_INSTALLED_TOOL";

    internal static string? Tool => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? path : null;

    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-installed-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    public static TheoryData<string, string> ExamplesAndTiers()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.File("examples")).Order(StringComparer.Ordinal))
        {
            if (Path.GetExtension(file) is not (".jvm" or ".lox")) continue;
            var name = Path.GetFileName(file);
            foreach (var tier in new[] { "interpreter", "jit", "tiered" })
                data.Add(name, tier);
        }
        return data;
    }

    [InstalledToolTheory]
    [MemberData(nameof(ExamplesAndTiers))]
    public void EveryExampleRunsAsWithTheBuiltTool(string example, string tier)
    {
        // --stats shows which functions were compiled and how often each was interpreted: the same under the
        // interpreter and jit policies whatever the machine does, while tiered compiles on a background thread.
        if (tier == "tiered") AssertSame("run", Path.Combine("examples", example), "--tier", tier);
        else AssertSame("run", Path.Combine("examples", example), "--tier", tier, "--stats");
    }

    [InstalledToolFact]
    public void ModuleErrorsAndUsageErrorsAreTheSame()
    {
        var broken = Path.Combine(_directory, "broken.jvm");
        File.WriteAllText(broken, ".func main () -> ()\n    i64.add\n    return\n.end\n");
        AssertSame("run", broken);
        AssertSame("run", Path.Combine(_directory, "missing.jvm"));
        AssertSame("run", "examples/fib.jvm", "--tier", "bogus");
        AssertSame("verify", "examples/fib.jvm");
        AssertSame("disasm", "examples/hello.jvm");
    }

    [InstalledToolFact]
    public void ASavedAssemblyWrittenByTheInstalledToolRunsInBoth()
    {
        var saved = Path.Combine(_directory, "trap_divide.dll");
        var (code, _, error) = ChildProcess.Run(ChildProcess.Program(Tool!, "aot", "examples/trap_divide.jvm", "-o", saved));
        Assert.True(code == 0, $"jitvm aot exited with {code}: {error}");
        AssertSame("run", saved);
    }

    [InstalledToolFact]
    public void TheReplReadingPipedInputIsTheSame() =>
        AssertSame(["repl", "--tier", "jit"], "i64.const 40\ni64.const 2\ni64.add\n.func twice (i64) -> (i64)\n    local.get 0\n    i64.const 2\n    i64.mul\n    return\n.end\ncall twice\n");

    [InstalledToolFact]
    public void TheLoxReplReadingPipedInputIsTheSame() =>
        AssertSame(["lox", "--tier", "tiered"], "fun f(n) {\n  return n * 2;\n}\nprint f(21);\nclass A { m() { return \"m\"; } }\nA().m()\nprint nil + 1;\nvar x = ;\n");

    [InstalledToolFact]
    public void CompareRunsEveryConfigurationAndTheResultsAgree()
    {
        var (code, output, error) = ChildProcess.Run(ChildProcess.Program(Tool!, "compare", "examples/fib.jvm", "--runs", "1", "--only", "interpreter,jit,tiered,saved", "--json"));
        Assert.True(code == 0, $"jitvm compare exited with {code}: {error}");
        using var json = System.Text.Json.JsonDocument.Parse(output);
        Assert.True(json.RootElement.GetProperty("agree").GetBoolean(), output);
        Assert.Equal(4, json.RootElement.GetProperty("configurations").GetArrayLength());
        Assert.All(json.RootElement.GetProperty("configurations").EnumerateArray(), row => Assert.Equal("832040", row.GetProperty("lastLine").GetString()));
    }

    private static void AssertSame(params string[] args) => AssertSame(args, "");

    /// <summary>Runs ARGS under the installed tool and under the built one and compares everything they print.</summary>
    private static void AssertSame(string[] args, string input)
    {
        var installed = ChildProcess.Run(ChildProcess.Program(Tool!, args), input);
        var built = ChildProcess.Run(ChildProcess.Cli(args), input);
        var command = "jitvm " + string.Join(' ', args);
        Assert.True(built.Code == installed.Code, $"{command}: exit code {installed.Code} installed, {built.Code} built\n{installed.Err}");
        Assert.Equal(built.Out, installed.Out);
        Assert.Equal(WithoutTimings(built.Err), WithoutTimings(installed.Err));
    }

    /// <summary>The text with every duration --stats reports (compile times, pauses) replaced by one placeholder, and
    /// runs of spaces (the table's columns, as wide as the times) made one.</summary>
    private static string WithoutTimings(string text) => Spaces().Replace(Duration().Replace(text, "TIME"), " ");

    [System.Text.RegularExpressions.GeneratedRegex(" {2,}")]
    private static partial System.Text.RegularExpressions.Regex Spaces();

    [System.Text.RegularExpressions.GeneratedRegex(@"\d+(\.\d+)? ?(ms|us|µs)\b")]
    private static partial System.Text.RegularExpressions.Regex Duration();
}

/// <summary>A fact that needs the installed tool (<see cref="InstalledToolTests.Variable"/>); skipped, saying why, without it.</summary>
public sealed class InstalledToolFactAttribute : FactAttribute
{
    public InstalledToolFactAttribute()
    {
        if (InstalledToolTests.Tool is null) Skip = $"{InstalledToolTests.Variable} is not set (.ci/run installs the tool package and sets it)";
    }
}

/// <summary>A theory that needs the installed tool; skipped, saying why, without it.</summary>
public sealed class InstalledToolTheoryAttribute : TheoryAttribute
{
    public InstalledToolTheoryAttribute()
    {
        if (InstalledToolTests.Tool is null) Skip = $"{InstalledToolTests.Variable} is not set (.ci/run installs the tool package and sets it)";
    }
}
