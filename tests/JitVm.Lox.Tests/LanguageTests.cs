using JitVm.Hosting;
using Xunit;

namespace JitVm.Lox.Tests;

/// <summary>What the book's suite does not cover: the collector reclaiming cycles through closures and
/// instances, deep recursion, long strings, the embedding API and the number format.</summary>
public sealed class LanguageTests
{
    private static (int ExitCode, string Output, string Error) Run(string source, IsolateOptions? options = null) =>
        LoxSuite.Run(source, options ?? new IsolateOptions { Tier = ExecutionTier.Tiered });

    public static TheoryData<ExecutionTier> Tiers => new() { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered };

    [Theory]
    [MemberData(nameof(Tiers))]
    public void CyclesThroughInstancesAndClosuresAreCollected(ExecutionTier tier)
    {
        // Each iteration makes an instance pair pointing at each other and a closure capturing both, about 1 KiB
        // in all; 20,000 of them are 20 MiB of garbage, in a heap limited to 2 MiB.
        const string source = """
            class Node { init() { this.other = nil; this.text = "payload payload payload"; } }
            var kept = 0;
            for (var i = 0; i < 20000; i = i + 1) {
              var a = Node();
              var b = Node();
              a.other = b;
              b.other = a;
              fun both() { return a.other == b and b.other == a; }
              a.closure = both;
              if (a.closure()) kept = kept + 1;
            }
            print kept;
            """;
        var (code, output, error) = Run(source, new IsolateOptions { Tier = tier, MaxHeapBytes = 2 << 20 });
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Equal("20000\n", output);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void DeepRecursionIsAStackOverflowWithTheTrace(ExecutionTier tier)
    {
        const string source = """
            fun down(n) {
              return down(n + 1);
            }
            down(0);
            """;
        var (code, output, error) = Run(source, new IsolateOptions { Tier = tier });
        Assert.Equal(70, code);
        Assert.Equal("", output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Stack overflow.", lines[0]);
        Assert.Equal("[line 2] in down()", lines[1]);
        Assert.Equal("[line 4] in script", lines[^1]);
    }

    [Fact]
    public void RecursionWithinTheLimitRuns()
    {
        const string source = """
            fun count(n) { if (n == 0) return 0; return 1 + count(n - 1); }
            print count(4000);
            """;
        Assert.Equal((0, "4000\n", ""), Run(source));
    }

    [Fact]
    public void LongStringsConcatenateCompareAndPrint()
    {
        // Doubling 17 times makes a string of 131,072 characters.
        const string source = """
            var s = "ab";
            for (var i = 0; i < 16; i = i + 1) s = s + s;
            var t = "ab";
            for (var i = 0; i < 16; i = i + 1) t = t + t;
            print s == t;
            print s == t + "x";
            print s + "!" == t + "!";
            """;
        Assert.Equal((0, "true\nfalse\ntrue\n", ""), Run(source));
        var (code, output, _) = Run("var s = \"xy\"; for (var i = 0; i < 12; i = i + 1) s = s + s; print s;");
        Assert.Equal(0, code);
        Assert.Equal(string.Concat(Enumerable.Repeat("xy", 4096)) + "\n", output);
    }

    [Theory]
    [InlineData("print 1;", "1")]
    [InlineData("print -0;", "-0")]
    [InlineData("print 0.1 + 0.2;", "0.3")]
    [InlineData("print 1 / 3;", "0.333333")]
    [InlineData("print 100000;", "100000")]
    [InlineData("print 1000000;", "1e+06")]
    [InlineData("print 123456789;", "1.23457e+08")]
    [InlineData("print 0.0001;", "0.0001")]
    [InlineData("print 0.00001;", "1e-05")]
    [InlineData("print 999999.5;", "1e+06")]
    [InlineData("print 2.5;", "2.5")]
    [InlineData("print 1 / 0;", "inf")]
    [InlineData("print -1 / 0;", "-inf")]
    [InlineData("print 0 / 0 == 0 / 0;", "false")]
    public void NumbersPrintAsPrintfG(string source, string expected) => Assert.Equal((0, expected + "\n", ""), Run(source));

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.EnumerateFiles(RepositoryExamples(), "*.lox").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(path));
        return data;
    }

    private static string RepositoryExamples()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "JitVm.sln"))) folder = folder.Parent;
        return Path.Combine(folder?.FullName ?? throw new InvalidOperationException("no JitVm.sln above the test binaries"), "examples");
    }

    /// <summary>examples/*.lox state their output as the suite's files do (<c>// expect:</c>).</summary>
    [Theory]
    [MemberData(nameof(Examples))]
    public void ExamplesPrintWhatTheySay(string example)
    {
        var failures = LoxSuite.Check(Path.Combine(RepositoryExamples(), example), new IsolateOptions { Tier = ExecutionTier.Tiered });
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void CompileErrorsAreClox()
    {
        var error = Assert.Throws<LoxCompileException>(() => LoxCompiler.Compile("print 1 +;\nvar 1 = 2;"));
        Assert.Equal(["[line 1] Error at ';': Expect expression.", "[line 2] Error at '1': Expect variable name."], error.Errors);
    }

    [Fact]
    public void TheEmbeddingApiRunsAProgramInAnIsolate()
    {
        var program = LoxCompiler.Compile("fun sq(x) { return x * x; } print sq(12);", "embedded.lox");
        using var output = new MemoryStream();
        var isolate = new Isolate(program.Module, LoxProgram.Imports(output), new IsolateOptions { Tier = ExecutionTier.Jit });
        isolate.Invoke(LoxProgram.EntryFunction);
        Assert.Equal("144\n", System.Text.Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void FuelLimitsApplyToLoxPrograms()
    {
        var (code, _, error) = Run("while (true) {}", new IsolateOptions { Fuel = 10_000 });
        Assert.Equal(70, code);
        Assert.StartsWith("OutOfFuel: ", error);
        Assert.Contains("[line 1] in script", error);
    }
}
