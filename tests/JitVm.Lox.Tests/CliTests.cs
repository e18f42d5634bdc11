using System.Diagnostics;
using Xunit;

namespace JitVm.Lox.Tests;

/// <summary><c>jitvm run x.lox</c> as a user runs it, in a child process: the front end is chosen by the
/// extension, and clox's exit codes come back.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-lox-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private (int Code, string Out, string Err) Jitvm(string source, params string[] options)
    {
        var path = Path.Combine(_directory, "script.lox");
        File.WriteAllText(path, source);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "JitVm.Cli.dll"));
        start.ArgumentList.Add("run");
        start.ArgumentList.Add(path);
        foreach (var option in options) start.ArgumentList.Add(option);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        // Only a guard against a hung child, far above any run's length.
        if (!child.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            child.Kill(entireProcessTree: true);
            throw new TimeoutException("jitvm run did not finish");
        }
        return (child.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void ARunPrintsAndExitsZero() => Assert.Equal((0, "3\n", ""), Jitvm("print 1 + 2;", "--tier", "jit"));

    [Fact]
    public void ACompileErrorExits65() =>
        Assert.Equal((65, "", "[line 1] Error at end: Expect ';' after value.\n"), Jitvm("print 1"));

    [Fact]
    public void ARuntimeErrorExits70WithTheTrace() =>
        Assert.Equal((70, "ok\n", "Operands must be numbers.\n[line 2] in f()\n[line 3] in script\n"),
            Jitvm("print \"ok\";\nfun f() { return 1 - nil; }\nf();", "--tier", "interpreter"));

    [Fact]
    public void RunOptionsApply()
    {
        var (code, _, error) = Jitvm("fun f(n) { return f(n + 1); } f(0);", "--max-depth", "50");
        Assert.Equal(70, code);
        Assert.StartsWith("Stack overflow.\n", error);
    }
}
