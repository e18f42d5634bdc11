using System.Text.Json;
using System.Xml.Linq;
using JitVm.Cli.Compare;
using Xunit;

namespace JitVm.Tests.Compare;

/// <summary><c>jitvm compare</c> run as a user runs it, in a child process: each output format, with
/// configurations that run and ones that are not available here.</summary>
public sealed class CompareOutputTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-compare-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static string Hello => RepositoryPaths.File("examples", "hello.jvm");

    [Fact]
    public void JsonHasTheFieldsAndTypesTheSpecListsAndTheChartIsSvg()
    {
        var chart = Path.Combine(_directory, "chart.svg");
        var missingHost = Path.Combine(_directory, "no-such-host");
        var (code, output, error) = CompareProcess.Run("compare", Hello, "--runs", "2", "--only", "interpreter,jit,saved,nativeaot",
            "--nativeaot-host", missingHost, "--json", "--chart", chart);
        Assert.True(code == 0, error);

        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        JsonFieldTable.FromSpec("Compare JSON fields").Check(root);
        Assert.Equal("jitvm-compare/1", root.GetProperty("schema").GetString());
        Assert.False(root.GetProperty("interrupted").GetBoolean());
        Assert.True(root.GetProperty("agree").GetBoolean());
        var rows = root.GetProperty("configurations").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.Equal(["interpreter", "jit", "saved", "nativeaot"], rows.Keys);
        foreach (var id in new[] { "interpreter", "jit" })
        {
            var row = rows[id];
            Assert.True(row.GetProperty("available").GetBoolean());
            Assert.True(row.GetProperty("agrees").GetBoolean());
            Assert.Equal("Hello, world!", row.GetProperty("lastLine").GetString());
            Assert.Equal(0, row.GetProperty("exitCode").GetInt32());
            Assert.Equal(2, row.GetProperty("steady").GetProperty("runs").GetInt32());
            Assert.True(row.GetProperty("peakMemoryBytes").GetInt64() > 0);
            Assert.True(row.GetProperty("firstCallMs").GetDouble() > 0);
        }
        Assert.Equal(JsonValueKind.Null, rows["interpreter"].GetProperty("aotMs").ValueKind);
        Assert.True(rows["jit"].GetProperty("compiledFunctions").GetInt32() >= 1);
        // The saved-assembly row runs once jitvm has an aot command; until then it must say why it did not run.
        var saved = rows["saved"];
        if (saved.GetProperty("available").GetBoolean()) Assert.True(saved.GetProperty("agrees").GetBoolean());
        else Assert.Contains("aot", saved.GetProperty("reason").GetString());
        var host = rows["nativeaot"];
        Assert.False(host.GetProperty("available").GetBoolean());
        Assert.Contains(missingHost, host.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, host.GetProperty("agrees").ValueKind);

        var svg = XDocument.Load(chart).Root!;
        Assert.Equal("svg", svg.Name.LocalName);
        var texts = svg.Elements().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        foreach (var title in new[] { "interpreter", "JIT (eager)", "saved assembly (CLR JIT)", "NativeAOT host" }) Assert.Contains(title, texts);
        // Every configuration that ran has one bar in each of the three panels.
        var ran = rows.Values.Count(r => r.GetProperty("available").GetBoolean());
        Assert.Equal(3 * ran, svg.Elements().Count(e => e.Name.LocalName == "rect" && e.Attribute("fill")?.Value != "white"));
    }

    [Fact]
    public void MarkdownHasEveryColumnAndOneRowPerConfiguration()
    {
        var (code, output, error) = CompareProcess.Run("compare", Hello, "--runs", "1", "--only", "interpreter,tiered,nativeaot",
            "--nativeaot-host", Path.Combine(_directory, "absent"), "--markdown");
        Assert.True(code == 0, error);
        var lines = output.Split('\n');
        var header = Array.FindIndex(lines, l => l.StartsWith("| configuration", StringComparison.Ordinal));
        Assert.True(header >= 0, output);
        Assert.Equal(CompareReport.Columns, lines[header].Trim('|', ' ').Split(" | "));
        Assert.Matches(@"^\|(---\|)+$", lines[header + 1]);
        var rows = lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.Equal(3, rows.Count);
        Assert.StartsWith("| interpreter |", rows[0]);
        Assert.StartsWith("| tiered |", rows[1]);
        Assert.StartsWith("| NativeAOT host |", rows[2]);
        Assert.Contains("agrees: Hello, world!", rows[0]);
        Assert.Contains("not available (no host at", rows[2]);
        Assert.All(rows, r => Assert.Equal(CompareReport.Columns.Length, r.Trim('|', ' ').Split(" | ").Length));
    }

    [Fact]
    public void TableShowsEachConfigurationItsFiguresAndVerdict()
    {
        var (code, output, error) = CompareProcess.Run("compare", Hello, "--runs", "1", "--only", "interpreter,jit,nativeaot",
            "--nativeaot-host", Path.Combine(_directory, "absent"));
        Assert.True(code == 0, error);
        Assert.Contains("jitvm compare: hello.jvm --entry main", output);
        Assert.Contains("interpreter", output);
        Assert.Contains("JIT (eager)", output);
        foreach (var figure in CompareReport.Columns[1..^1]) Assert.Contains(figure.Split(' ')[0], output);
        Assert.Contains("agrees", output);
        Assert.Contains("Hello, world!", output);
        Assert.Contains("2 configuration(s) ran; all results agree; 1 not available", output);
        Assert.Contains("NativeAOT host: not available", output);
        // Progress went to standard error, one line as each configuration started and ended.
        Assert.Contains("compare: [1/3] interpreter: running", error);
        Assert.Contains("compare: [3/3] nativeaot: not available", error);
    }

    [Fact]
    public void UsageAndInputErrorsStopBeforeAnyChildStarts()
    {
        Assert.Equal(64, CompareProcess.Run("compare", Hello, "--json", "--markdown").Code);
        var unknown = CompareProcess.Run("compare", Hello, "--only", "interpreter,warp");
        Assert.Equal(64, unknown.Code);
        Assert.Contains("no configuration named 'warp'", unknown.Err);
        Assert.Equal(64, CompareProcess.Run("compare", Hello, "--runs", "-1").Code);
        Assert.Equal(66, CompareProcess.Run("compare", Path.Combine(_directory, "missing.jvm")).Code);
        var entry = CompareProcess.Run("compare", Hello, "--entry", "nope");
        Assert.Equal(65, entry.Code);
        Assert.Contains("no function named 'nope'", entry.Err);
        Assert.DoesNotContain("running", entry.Err);
        // An argument the entry does not take is the reference run's usage error, reported once.
        var arguments = CompareProcess.Run("compare", Hello, "--only", "interpreter,jit", "--", "5");
        Assert.Equal(64, arguments.Code);
        Assert.Contains("the interpreter run rejected the command", arguments.Err);
    }
}
