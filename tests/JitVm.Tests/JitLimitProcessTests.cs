using System.Text;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// Functions past the JIT's limits (spec/execution.md §8.3) run by the <c>jitvm</c> command under the jit policy, in a
/// child process because a method the CLR cannot take could take the process down: each runs to its result in the
/// interpreter, exit code 0, and <c>--stats</c> says why it stayed interpreted; never an internal error.
/// </summary>
public sealed class JitLimitProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-limits-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    /// <summary>A main with <paramref name="locals"/> declared i64 locals that sets and prints the last one.</summary>
    private static string ManyLocals(int locals)
    {
        var text = new StringBuilder(".import print_i64 (i64) -> ()\n.func main () -> ()\n");
        for (var i = 0; i < locals; i++) text.Append("    .local l").Append(i).Append(" i64\n");
        return text.Append($"    i64.const 7\n    local.set l{locals - 1}\n    local.get l{locals - 1}\n    call print_i64\n    return\n.end\n").ToString();
    }

    /// <summary>A main of about <paramref name="instructions"/> instructions summing ones, printing the sum.</summary>
    private static string ManyInstructions(int instructions)
    {
        var text = new StringBuilder(".import print_i64 (i64) -> ()\n.func main () -> ()\n    i64.const 0\n");
        for (var i = 0; i < (instructions - 3) / 2; i++) text.Append("    i64.const 1\n    i64.add\n");
        return text.Append("    call print_i64\n    return\n.end\n").ToString();
    }

    [Theory]
    [InlineData(65_524)]   // the CLR rejects a method this large with InvalidProgramException
    [InlineData(65_535)]   // the verifier's largest function
    public void AFunctionWithMoreLocalsThanTheClrAllowsRunsInterpreted(int locals)
    {
        var (code, output, error) = RunJit("locals.jvm", ManyLocals(locals));
        Assert.True(code == 0, $"exit code {code}: {error}");
        Assert.Equal("7\n", output);
        Assert.Contains($"not compiled: {locals} locals and 1 stack slots could need", error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AFunctionOverTheInstructionLimitRunsInterpreted()
    {
        var (code, output, error) = RunJit("long.jvm", ManyInstructions(20_001));
        Assert.True(code == 0, $"exit code {code}: {error}");
        Assert.Equal("9999\n", output);
        Assert.Contains("not compiled: 20001 instructions exceed the JIT limit of 4000", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AFunctionOfSixtyFourThousandInstructionsRunsCompiledInPieces()
    {
        // Sums whose stack empties after every addition: 64,005 instructions cut every 1,000 or fewer.
        var text = new StringBuilder(".import print_i64 (i64) -> ()\n.func main () -> ()\n    .local sum i64\n");
        for (var i = 0; i < 16_000; i++) text.Append("    local.get sum\n    i64.const 1\n    i64.add\n    local.set sum\n");
        text.Append("    local.get sum\n    call print_i64\n    return\n.end\n");
        var (code, output, error) = RunJit("pieces.jvm", text.ToString());
        Assert.True(code == 0, $"exit code {code}: {error}");
        Assert.Equal("16000\n", output);
        Assert.Matches(@"\nmain +jit .*\n  compiled in 65 pieces, entered 65 times\n", error);
    }

    private (int Code, string Out, string Err) RunJit(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return ChildProcess.Run(ChildProcess.Cli("run", path, "--tier", "jit", "--stats"));
    }
}
