using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using JitVm.Cli;
using Xunit;

namespace JitVm.Tests;

/// <summary>The jitvm command's exit codes: a guest trap and a defect of the VM or tool are told apart, and the
/// table in spec/execution.md §10.2 lists exactly the codes the command uses.</summary>
public sealed partial class CliExitCodeTests
{
    private static (int Code, string Err) Run(Stream stdout, params string[] args)
    {
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, stderr.ToString());
    }

    private static string Example(string name) => RepositoryPaths.File("examples", name);

    [Fact]
    public void AGuestTrapExits70()
    {
        var (code, error) = Run(new MemoryStream(), "run", Example("trap_divide.jvm"));
        Assert.Equal(70, code);
        Assert.StartsWith("trap: DivideByZero", error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnexpectedExceptionBelowTheCommandIsAnInternalErrorThatExits69()
    {
        // The command's output stream stands in for any component that fails in a way no command expects: the
        // exception reaches the top of the command as a defect would.
        var (code, error) = Run(new FailingStream(), "run", Example("fib.jvm"));
        Assert.Equal(69, code);
        Assert.Equal("jitvm: internal error (InvalidOperationException: the output device failed); please report it with the module that caused it\n",
            error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void TheSpecTableListsEveryExitCodeOnceAndNoOther()
    {
        var spec = File.ReadAllText(RepositoryPaths.File("spec", "execution.md"));
        var start = spec.IndexOf("### 10.2 Exit codes", StringComparison.Ordinal);
        Assert.True(start >= 0, "spec/execution.md has no §10.2 Exit codes");
        var end = spec.IndexOf("\n#", start + 1, StringComparison.Ordinal);
        var documented = TableRow().Matches(spec[start..(end < 0 ? spec.Length : end)]).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var used = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static | BindingFlags.NonPublic)
            .Where(f => f.IsLiteral).Select(f => (int)f.GetRawConstantValue()!).ToList();
        Assert.Equal(used.Count, used.Distinct().Count());
        Assert.Equal(documented.Count, documented.Distinct().Count());
        Assert.Equal(used.Order(), documented.Order());
    }

    [GeneratedRegex(@"^\| (\d+) \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    /// <summary>An output stream whose writes fail with an exception that is not an I/O error.</summary>
    private sealed class FailingStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("the output device failed");
    }
}
