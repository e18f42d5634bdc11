using System.Text;
using System.Text.Json;
using JitVm.Cli;
using Xunit;

namespace JitVm.Tests.Compare;

/// <summary><c>jitvm run --report-json FILE [--repeat N]</c>, in-process: the fields spec/execution.md §10.3 lists,
/// repeated calls that are timed but print nothing, and the usage errors.</summary>
public sealed class RunReportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-report-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    public void ReportHasTheSpecFieldsAndRepeatsPrintNothing(string tier)
    {
        var report = Path.Combine(_directory, "report.json");
        var (code, output, error) = Run("run", RepositoryPaths.File("examples", "hello.jvm"), "--tier", tier, "--report-json", report, "--repeat", "4");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal("Hello, world!\n", output);
        using var document = JsonDocument.Parse(File.ReadAllBytes(report));
        var root = document.RootElement;
        JsonFieldTable.FromSpec("Run report fields").Check(root);
        Assert.Equal("ok", root.GetProperty("outcome").GetString());
        Assert.Equal(tier, root.GetProperty("tier").GetString());
        Assert.Equal(4, root.GetProperty("steadyMs").GetArrayLength());
        Assert.Equal(4, root.GetProperty("steadyAllocatedBytes").GetArrayLength());
        Assert.True(root.GetProperty("vmAllocatedBytes").GetInt64() > 0, "hello copies its data segment to the heap");
        Assert.Equal(tier == "jit", root.GetProperty("compiledFunctions").GetInt32() == root.GetProperty("functions").GetInt32());
    }

    [Fact]
    public void ATrapIsTheOutcomeAndNothingIsRepeated()
    {
        var report = Path.Combine(_directory, "trap.json");
        var (code, output, error) = Run("run", RepositoryPaths.File("examples", "trap_divide.jvm"), "--report-json", report, "--repeat", "3");
        Assert.Equal(70, code);
        Assert.Equal("20\n", output);
        Assert.StartsWith("trap: DivideByZero", error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(report));
        Assert.Equal("trap DivideByZero", document.RootElement.GetProperty("outcome").GetString());
        Assert.Equal(0, document.RootElement.GetProperty("steadyMs").GetArrayLength());
    }

    [Fact]
    public void RepeatNeedsAReportAndMustNotBeNegative()
    {
        var hello = RepositoryPaths.File("examples", "hello.jvm");
        var (code, _, error) = Run("run", hello, "--repeat", "2");
        Assert.Equal(64, code);
        Assert.Contains("--repeat needs --report-json", error);
        Assert.Equal(64, Run("run", hello, "--report-json", Path.Combine(_directory, "r.json"), "--repeat", "-1").Code);
        Assert.False(File.Exists(Path.Combine(_directory, "r.json")));
    }

    [Fact]
    public void AReportThatCannotBeWrittenIsReportedWithoutChangingTheExitCode()
    {
        var (code, output, error) = Run("run", RepositoryPaths.File("examples", "hello.jvm"), "--report-json", Path.Combine(_directory, "no", "such", "dir", "r.json"));
        Assert.Equal(0, code);
        Assert.Equal("Hello, world!\n", output);
        Assert.Contains("jitvm: cannot write the report", error);
    }
}
