using System.Text;
using JitVm.Cli;
using JitVm.Cli.Repl;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// Messages that name the wrong place or the wrong reason, each run through the <c>jitvm</c> command as a user meets
/// it: the whole stderr line is checked, so a message that loses its location fails here.
/// </summary>
public sealed class ReportedErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-errors-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private (int Code, string Out, string Err) Run(string name, string text, params string[] options)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(["run", path, .. options]);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void InvalidSignatureNamesTheFunctionDeclaredWithItAndItsLine()
    {
        var parameters = string.Join(' ', Enumerable.Repeat("i64", 256));
        var (code, _, error) = Run("wide.jvm", $".func main () -> ()\n    return\n.end\n.func wide ({parameters}) -> ()\n    return\n.end\n");
        Assert.Equal(65, code);
        Assert.Equal("error: wide.jvm:5: function 'wide': verification failed [InvalidSignature]: signature #1 has 256 parameters " +
                     "and 0 results; at most 255 of each are allowed (the signature of function 'wide')\n", error);
    }

    [Fact]
    public void InvalidSignatureUsedOnlyByCallIndirectNamesThatInstruction()
    {
        var results = string.Join(' ', Enumerable.Repeat("f64", 300));
        var (code, _, error) = Run("results.jvm", $".type many () -> ({results})\n.func main () -> ()\n    i64.const 0\n    call_indirect many\n    return\n.end\n");
        Assert.Equal(65, code);
        Assert.StartsWith("error: results.jvm:4: function 'main', pc 1 (call_indirect): verification failed [InvalidSignature]: signature #1 has 0 parameters and 300 results", error, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelAtTheEndOfAFunctionIsReportedAtTheLabelsLine()
    {
        var (code, _, error) = Run("end.jvm", ".func main () -> ()\n    br done\n    return\n\n; nothing follows\ndone:\n\n.end\n");
        Assert.Equal(65, code);
        Assert.Equal("error: end.jvm:6: label 'done' in function 'main' is at the end of the function, where no instruction follows it\n", error);
    }

    [Fact]
    public void UnderflowAfterAnUnconditionalJumpSaysTheCodeIsUnreachable()
    {
        var (code, _, error) = Run("dead.jvm", ".func main () -> ()\n    br out\n    drop\nout:\n    return\n.end\n");
        Assert.Equal(65, code);
        Assert.Equal("error: dead.jvm:3: function 'main', pc 1 (drop): verification failed [StackUnderflow]: drop needs 1 value on the stack " +
                     "but found 0; the stack is empty here because this code is unreachable: it follows br at pc 0 and no branch before it targets it\n", error);
    }

    [Fact]
    public void UnderflowInReachableCodeDoesNotBlameUnreachability()
    {
        var (_, _, error) = Run("live.jvm", ".func main () -> ()\n    br out\nout:\n    drop\n    return\n.end\n");
        Assert.Equal("error: live.jvm:4: function 'main', pc 1 (drop): verification failed [StackUnderflow]: drop needs 1 value on the stack but found 0\n", error);
    }

    [Fact]
    public void AssemblerAndVerifierShareOneLocationFormat()
    {
        var (_, _, syntax) = Run("a.jvm", ".func main () -> ()\n    i64.bogus\n    return\n.end\n");
        var (_, _, verify) = Run("b.jvm", ".func main () -> ()\n    i64.add\n    return\n.end\n");
        Assert.StartsWith("error: a.jvm:2: ", syntax, StringComparison.Ordinal);
        Assert.StartsWith("error: b.jvm:2: ", verify, StringComparison.Ordinal);
    }

    [Fact]
    public void AnObjectLongerThanAnyObjectCanBeSaysSoNotTheHeapLimit()
    {
        var (code, _, error) = Run("huge.jvm", ".func main () -> ()\n    i64.const 100000000000\n    alloc\n    drop\n    return\n.end\n", "--max-heap", "100000000000000");
        Assert.Equal(70, code);
        Assert.StartsWith("trap: OutOfMemory: an object of 100000000000 words is longer than any object can be: no object may have more than 2147483647 words", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnObjectLargerThanTheHeapLimitNamesItsSizeInBytes()
    {
        var (_, _, error) = Run("big.jvm", ".func main () -> ()\n    i64.const 1000\n    alloc\n    drop\n    return\n.end\n", "--max-heap", "4096");
        Assert.StartsWith("trap: OutOfMemory: an object of 1000 words needs 8008 bytes (8 per word plus an 8-byte header), more than the whole heap limit of 4096 bytes", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    public void PrintBytesOverAPointerWordNamesTheCall(string tier)
    {
        var (code, _, error) = Run("pointer.jvm", """
            .import print_bytes (ptr i64 i64) -> ()
            .func main () -> ()
                .local p ptr
                i64.const 2
                alloc
                local.set p
                local.get p
                i64.const 1
                local.get p
                store.p
                local.get p
                i64.const 0
                i64.const 16
                call print_bytes
                return
            .end
            """, "--tier", tier);
        Assert.Equal(70, code);
        Assert.StartsWith("trap: TagMismatch: print_bytes would touch word 1, which holds a pointer\n  at main (pointer.jvm:14, pc 10: call)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownTierListsTheTiers()
    {
        var (code, _, error) = Run("t.jvm", ".func main () -> ()\n    return\n.end\n", "--tier", "bogus");
        Assert.Equal(64, code);
        Assert.Equal("jitvm: --tier: 'bogus' is not a tier; use tiered, interpreter or jit\nRun 'jitvm --help' for usage.\n", error);
    }

    [Fact]
    public void TierNamesAreAcceptedInAnyCase()
    {
        var (code, _, _) = Run("t.jvm", ".func main () -> ()\n    return\n.end\n", "--tier", "JIT");
        Assert.Equal(0, code);
    }

    [Fact]
    public void ANulByteInASourceIsShownEscaped()
    {
        var (code, _, error) = Run("nul.jvm", ".func main () -> ()\n    return\0\n.end\n");
        Assert.Equal(65, code);
        Assert.Equal("error: nul.jvm:2: unexpected character '\\0' (U+0000)\n", error);
    }

    [Fact]
    public void ANulByteTypedInTheReplIsShownEscapedAboveTheCaret()
    {
        var output = new StringWriter { NewLine = "\n" };
        using (var session = new ReplSession(output, new ReplSettings { Tier = ExecutionTier.Interpreter }))
            session.Feed("i64.const 1\0 drop");
        var text = output.ToString();
        Assert.DoesNotContain('\0', text);
        Assert.Contains("  i64.const 1\\0 drop\n             ^\n", text, StringComparison.Ordinal);
    }
}
