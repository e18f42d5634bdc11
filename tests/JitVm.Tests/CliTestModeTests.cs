using System.Text;
using JitVm.Cli;
using JitVm.Hosting;
using JitVm.Memory;
using Xunit;

namespace JitVm.Tests;

/// <summary>The test-mode options of <c>jitvm run</c> (GC stress, heap verification, deoptimisation stress): what
/// they set, that a run under them prints what a plain run prints, and their usage errors.</summary>
public sealed class CliTestModeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-cli-modes-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    /// <summary>Allocates in a loop and calls a function from it, so collections and safepoints occur in every
    /// tier, then traps in a callee: output, trap and VM stack must not depend on a test mode.</summary>
    private const string Program = """
        .func cell (v: i64) -> (ptr)
            .local p ptr
            i64.const 2
            alloc
            local.tee p
            i64.const 1
            local.get v
            store.i
            local.get p
            return
        .end
        .func sum (n: i64) -> (i64)
            .local i i64
            .local s i64
            .local p ptr
        top:
            local.get i
            call cell
            local.set p
            local.get s
            local.get p
            i64.const 1
            load.i
            i64.add
            local.set s
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if top
            local.get s
            return
        .end
        .func main (n: i64) -> (i64)
            local.get n
            call sum
            local.get n
            i64.const 200
            i64.sub
            i64.div_s
            return
        .end
        """;

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString().ReplaceLineEndings("\n"));
    }

    private static IsolateOptions Options(params string[] args) => new CliApp(Stream.Null, TextWriter.Null).RunOptions(["program.jvm", .. args]);

    private string Write()
    {
        var path = Path.Combine(_directory, "modes.jvm");
        File.WriteAllText(path, Program);
        return path;
    }

    [Fact]
    public void TestModesAreOffByDefault()
    {
        var diagnostics = Options().Diagnostics;
        Assert.Equal(new DiagnosticOptions(), diagnostics);
        Assert.Equal(GcStressMode.Off, diagnostics.GcStress);
        Assert.Equal(DeoptStressMode.Off, diagnostics.DeoptStress);
        Assert.False(diagnostics.VerifyHeap);
        Assert.Equal(1, diagnostics.GcStressInterval);
        Assert.Equal(1, diagnostics.DeoptStressInterval);
    }

    [Fact]
    public void EachTestModeOptionSetsItsDiagnosticOption()
    {
        Assert.Equal(new DiagnosticOptions { GcStress = GcStressMode.EveryN, GcStressInterval = 7, VerifyHeap = true },
            Options("--gc-stress", "EveryN", "--gc-stress-interval", "7", "--verify-heap").Diagnostics);
        Assert.Equal(new DiagnosticOptions { DeoptStress = DeoptStressMode.EverySafepoint },
            Options("--deopt-stress", "EverySafepoint").Diagnostics);
        Assert.Equal(new DiagnosticOptions { DeoptStress = DeoptStressMode.Random, DeoptStressInterval = 5 },
            Options("--deopt-stress", "random", "--deopt-stress-interval", "5").Diagnostics);
        Assert.Equal(new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, DeoptStress = DeoptStressMode.EveryN, DeoptStressInterval = 3 },
            Options("--deopt-stress", "everyn", "--deopt-stress-interval", "3", "--gc-stress", "everyallocation").Diagnostics);
    }

    [Theory]
    [InlineData("--gc-stress", "EveryAllocation", "--verify-heap")]
    [InlineData("--gc-stress", "Random", "--gc-stress-interval", "3")]
    [InlineData("--deopt-stress", "EverySafepoint")]
    [InlineData("--deopt-stress", "EveryN", "--deopt-stress-interval", "2")]
    [InlineData("--deopt-stress", "Random", "--deopt-stress-interval", "4")]
    [InlineData("--deopt-stress", "EveryN", "--deopt-stress-interval", "3", "--gc-stress", "EveryN", "--gc-stress-interval", "2", "--verify-heap")]
    public void ARunUnderATestModePrintsWhatAPlainRunPrints(params string[] modes)
    {
        var path = Write();
        foreach (var tier in new[] { "interpreter", "jit", "tiered" })
        {
            foreach (var (argument, expected) in new[] { ("300", "448\n"), ("200", "") })
            {
                var plain = Run("run", path, "--tier", tier, "--", argument);
                var stressed = Run(["run", path, "--tier", tier, .. modes, "--", argument]);
                Assert.Equal(plain, stressed);
                Assert.Equal(expected, stressed.Out);
            }
        }
        var (code, _, error) = Run(["run", path, .. modes, "--", "200"]);
        Assert.Equal(70, code);
        Assert.StartsWith("trap: DivideByZero", error, StringComparison.Ordinal);
        Assert.Contains("  at main", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--gc-stress-interval")]
    [InlineData("--deopt-stress-interval")]
    public void AnIntervalBelowOneIsAUsageError(string option)
    {
        foreach (var value in new[] { "0", "-3" })
        {
            var (code, output, error) = Run("run", Write(), option, value, "--", "1");
            Assert.Equal(64, code);
            Assert.Equal("", output);
            Assert.Equal($"jitvm: {option} must be at least 1\n", error);
        }
    }

    [Theory]
    [InlineData("--gc-stress", "sometimes")]
    [InlineData("--deopt-stress", "sometimes")]
    [InlineData("--deopt-stress", "EveryAllocation")]
    [InlineData("--gc-stress", "EverySafepoint")]
    [InlineData("--deopt-stress-interval", "many")]
    public void AModeOrIntervalThatDoesNotParseIsAUsageError(string option, string value)
    {
        var (code, output, error) = Run("run", Write(), option, value, "--", "1");
        Assert.Equal(64, code);
        Assert.Equal("", output);
        Assert.StartsWith("jitvm: ", error, StringComparison.Ordinal);
        Assert.Contains(value, error, StringComparison.Ordinal);
        Assert.EndsWith("Run 'jitvm --help' for usage.\n", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpDescribesTheTestModes()
    {
        var (code, output, _) = Run("run", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--gc-stress", "--gc-stress-interval", "--verify-heap", "--deopt-stress", "--deopt-stress-interval" })
            Assert.Contains(option, output, StringComparison.Ordinal);
        Assert.Contains("EverySafepoint", output, StringComparison.Ordinal);
    }
}
