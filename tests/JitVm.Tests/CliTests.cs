using System.Text;
using JitVm.Cli;
using Xunit;

namespace JitVm.Tests;

/// <summary>The jitvm command, run in-process: outputs and exit codes.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Example(string name) => RepositoryPaths.File("examples", name);

    [Fact]
    public void RunPrintsOutputAndExitsZero()
    {
        var (code, output, error) = Run("run", Example("fib.jvm"));
        Assert.Equal(0, code);
        Assert.Equal("832040\n", output);
        Assert.Equal("", error);
    }

    [Fact]
    public void RunPassesTypedArgumentsAndPrintsResults()
    {
        var path = Write("args.jvm", """
            .func pair (a: i64, x: f64) -> (i64 f64)
                local.get a
                local.get x
                return
            .end
            """);
        var (code, output, _) = Run("run", path, "--entry", "pair", "--", "-7", "2.5");
        Assert.Equal(0, code);
        Assert.Equal("-7\n2.5\n", output);
    }

    /// <summary>The f64 argument spellings of spec/execution.md §10 and the bits each gives: <c>nan</c> is the text
    /// format's canonical NaN, whatever its case or a <c>+</c>; only <c>-nan</c> has the sign bit.</summary>
    [Theory]
    [InlineData("nan", "9221120237041090560")]             // 0x7FF8000000000000
    [InlineData("NaN", "9221120237041090560")]
    [InlineData("+nan", "9221120237041090560")]
    [InlineData("NAN", "9221120237041090560")]
    [InlineData("-nan", "-2251799813685248")]              // 0xFFF8000000000000
    [InlineData("-NaN", "-2251799813685248")]
    [InlineData("nan:0x7ff8000000000001", "9221120237041090561")]
    [InlineData("-nan:0x7ff8000000000001", "9221120237041090561")] // the sign before nan: is ignored
    [InlineData("nan:0xFFF0000000000123", "-4503599627370205")]
    [InlineData("inf", "9218868437227405312")]             // 0x7FF0000000000000
    [InlineData("+Inf", "9218868437227405312")]
    [InlineData("-inf", "-4503599627370496")]              // 0xFFF0000000000000
    [InlineData("1e400", "9218868437227405312")]           // too large: +inf
    [InlineData("-0.0", "-9223372036854775808")]
    [InlineData("2.5", "4612811918334230528")]
    [InlineData("3", "4613937818241073152")]
    [InlineData("1.", "4607182418800017408")]
    [InlineData("+1.5E-3", "4564560351926583034")]
    public void F64ArgumentsGiveTheSpecifiedBits(string argument, string bits)
    {
        var path = Write("bits.jvm", ".func bits (x: f64) -> (i64)\n    local.get x\n    i64.reinterpret_f64\n    return\n.end\n");
        var (code, output, error) = Run("run", path, "--entry", "bits", "--", argument);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Equal(bits + "\n", output);
    }

    /// <summary>Spellings .NET would parse but spec/execution.md §10 does not list are usage errors.</summary>
    [Theory]
    [InlineData("Infinity")]
    [InlineData("-infinity")]
    [InlineData(".5")]
    [InlineData(" 5")]
    [InlineData("5 ")]
    [InlineData("1e")]
    [InlineData("1_000.0")]
    [InlineData("0x10")]
    [InlineData("nan:0x7ff0000000000000")]                 // infinity's bits, not a NaN
    [InlineData("nan:0x")]
    [InlineData("nan:0x17ff8000000000000")]                // 17 hex digits
    [InlineData("\u0665")]                                 // a non-ASCII digit
    public void UnlistedF64SpellingsAreUsageErrors(string argument)
    {
        var path = Write("bits.jvm", ".func bits (x: f64) -> (i64)\n    local.get x\n    i64.reinterpret_f64\n    return\n.end\n");
        var (code, output, error) = Run("run", path, "--entry", "bits", "--", argument);
        Assert.Equal(64, code);
        Assert.Equal("", output);
        Assert.Contains("argument 1 of 'bits' must be a number (f64)", error, StringComparison.Ordinal);
    }

    /// <summary><c>--fuel-used</c> (spec/execution.md §10.1): exactly one stderr line <c>fuel used: N</c> after the
    /// results, the same in every tier.</summary>
    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    public void FuelUsedIsOneLineOnStandardErrorAfterAReturn(string tier)
    {
        // Blocks {pc 0-1} (2 units), {pc 2} (0, skipped by the branch) and {pc 3-4} (2): 4 units.
        var path = Write("blocks.jvm", ".func main () -> (i64)\n    i64.const 1\n    br_if l\n    nop\nl:\n    i64.const 7\n    return\n.end\n");
        var (code, output, error) = Run("run", path, "--tier", tier, "--fuel-used");
        Assert.Equal(0, code);
        Assert.Equal("7\n", output);
        Assert.Equal("fuel used: 4\n", error.ReplaceLineEndings("\n"));

        var fib = Run("run", Example("fib.jvm"), "--tier", tier, "--fuel-used", "true");
        Assert.Equal("832040\n", fib.Out);
        Assert.Equal("fuel used: 29617908\n", fib.Err.ReplaceLineEndings("\n"));
    }

    /// <summary>On a trap the fuel line follows the trap report; with <c>--stats</c> it precedes the statistics.</summary>
    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    [InlineData("jit", "--gc-stress", "EveryAllocation", "--verify-heap", "--deopt-stress", "EverySafepoint")]
    [InlineData("tiered", "--gc-stress", "EveryAllocation", "--deopt-stress", "EveryN", "--deopt-stress-interval", "2")]
    public void FuelUsedFollowsTheTrapReport(string tier, params string[] testModes)
    {
        // The second example of spec/execution.md §5.2: with 125,004 units the block is paid, alloc traps, 5 used.
        var path = Write("alloc.jvm", ".func main () -> (i64)\n    i64.const 1000000\n    alloc\n    len\n    return\n.end\n");
        var (code, output, error) = Run(["run", path, "--tier", tier, "--fuel", "125004", "--fuel-used", "--stats", .. testModes]);
        Assert.Equal(70, code);
        Assert.Equal("", output);
        var lines = error.ReplaceLineEndings("\n").Split('\n');
        Assert.StartsWith("trap: OutOfFuel: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("  at main (alloc.jvm:3, pc 1: alloc)", lines[1], StringComparison.Ordinal);
        Assert.Equal("fuel used: 5", lines[2]);
        Assert.StartsWith("tier policy: ", lines[3], StringComparison.Ordinal);
        Assert.Single(lines, line => line.StartsWith("fuel used: ", StringComparison.Ordinal));

        var enough = Run(["run", path, "--tier", tier, "--fuel", "125005", "--fuel-used", .. testModes]);
        Assert.Equal((0, "1000000\n", "fuel used: 125005\n"), (enough.Code, enough.Out, enough.Err.ReplaceLineEndings("\n")));
    }

    /// <summary>Without the flag there is no fuel line, and a run that never started prints none.</summary>
    [Fact]
    public void FuelUsedIsPrintedOnlyWhenAskedAndOnlyForARun()
    {
        Assert.Equal("", Run("run", Example("fib.jvm")).Err);
        var bad = Run("run", Write("bad.jvm", ".func main () -> ()\n    i64.add\n    return\n.end\n"), "--fuel-used");
        Assert.Equal(65, bad.Code);
        Assert.DoesNotContain("fuel used", bad.Err, StringComparison.Ordinal);
        var usage = Run("run", Example("fib.jvm"), "--fuel-used", "--", "1");
        Assert.Equal(64, usage.Code);
        Assert.DoesNotContain("fuel used", usage.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void TrapPrintsKindAndVmStackAndExits70()
    {
        var trapExample = Directory.EnumerateFiles(RepositoryPaths.File("examples"), "*trap*.jvm").First();
        var (code, _, error) = Run("run", trapExample);
        Assert.Equal(70, code);
        Assert.StartsWith("trap: ", error, StringComparison.Ordinal);
        Assert.Contains("  at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SyntaxErrorExits65WithOneMessage()
    {
        var path = Write("bad.jvm", ".func main () -> ()\n    i64.frobnicate\n    return\n.end\n");
        var (code, _, error) = Run("run", path);
        Assert.Equal(65, code);
        Assert.Equal("error: bad.jvm:2: unknown instruction 'i64.frobnicate'\n", error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void VerificationErrorExits65()
    {
        var path = Write("underflow.jvm", ".func main () -> ()\n    i64.add\n    return\n.end\n");
        var (code, _, error) = Run("verify", path);
        Assert.Equal(65, code);
        Assert.Contains("[StackUnderflow]", error, StringComparison.Ordinal);
    }

    [Fact]
    public void GarbageBinaryExits65()
    {
        var path = Path.Combine(_directory, "garbage.jvmb");
        File.WriteAllBytes(path, [0x00, (byte)'j', (byte)'v', (byte)'m', 1, 0, 0, 0, 6, 0xFF, 0xFF]);
        var (code, _, error) = Run("run", path);
        Assert.Equal(65, code);
        Assert.StartsWith("error: garbage.jvmb:byte 0x", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UsageErrorsExit64()
    {
        Assert.Equal(64, Run("run").Code);
        Assert.Equal(64, Run("frobnicate").Code);
        Assert.Equal(64, Run("run", Example("fib.jvm"), "--entry", "fib").Code);
        Assert.Equal(64, Run("run", Example("fib.jvm"), "--entry", "fib", "abc").Code);
        Assert.Equal(64, Run("run", Example("fib.jvm"), "--fuel", "-1").Code);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1000001")]
    [InlineData("1000000000")]
    [InlineData("2147483645")]
    [InlineData("2147483647")]
    public void MaxDepthOutsideOneToAMillionIsAUsageErrorNotAnInternalError(string depth)
    {
        var (code, output, error) = Run("run", Example("fib.jvm"), "--max-depth", depth);
        Assert.Equal(64, code);
        Assert.Equal("", output);
        Assert.Equal($"jitvm: --max-depth must be from 1 to 1000000, not {depth}\n", error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void MaxDepthBeyondAnIntIsAUsageError()
    {
        var (code, _, error) = Run("run", Example("fib.jvm"), "--max-depth", "2147483648");
        Assert.Equal(64, code);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    [Fact]
    public void RecursionAtTheLargestMaxDepthTrapsWithAShortReport()
    {
        var path = Write("down.jvm", ".func main () -> (i64)\n    call main\n    return\n.end\n");
        var (code, _, error) = Run("run", path, "--max-depth", "1000000", "--tier", "interpreter");
        Assert.Equal(70, code);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal("trap: CallDepthExceeded: call depth limit of 1000000 frames exceeded when calling 'main'", lines[0]);
        Assert.Contains("  ... 999975 more frames ...", lines);
        Assert.Equal(1 + 20 + 1 + 5, lines.Length);
    }

    [Fact]
    public void MissingFileExits66()
    {
        var (code, _, error) = Run("run", Path.Combine(_directory, "nope.jvm"));
        Assert.Equal(66, code);
        Assert.Contains("no such file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void FuelLimitTrapsOutOfFuel()
    {
        var (code, _, error) = Run("run", Example("fib.jvm"), "--fuel", "1000");
        Assert.Equal(70, code);
        Assert.StartsWith("trap: OutOfFuel", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AsmThenDisasmThenAsmIsByteIdentical()
    {
        var binary = Path.Combine(_directory, "fib.jvmb");
        Assert.Equal(0, Run("asm", Example("fib.jvm"), "-o", binary).Code);
        var (code, text, _) = Run("disasm", binary);
        Assert.Equal(0, code);
        var again = Path.Combine(_directory, "again.jvmb");
        Assert.Equal(0, Run("asm", Write("fib.dis.jvm", text), "-o", again).Code);
        Assert.Equal(File.ReadAllBytes(binary), File.ReadAllBytes(again));
        Assert.Equal("832040\n", Run("run", binary).Out);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    [InlineData("verify", "--help")]
    [InlineData("asm", "--help")]
    [InlineData("disasm", "--help")]
    public void HelpExitsZero(params string[] args)
    {
        var (code, output, _) = Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage", output, StringComparison.Ordinal);
    }
}
