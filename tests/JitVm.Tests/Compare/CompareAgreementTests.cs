using JitVm.Cli;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using JitVm.Cli.Compare;
using Xunit;

namespace JitVm.Tests.Compare;

/// <summary>
/// A configuration whose results differ is flagged, and Ctrl+C stops <c>compare</c> cleanly. The VM's own tiers
/// never disagree (that is what the conformance suite checks), so the disagreeing configuration here is a stand-in
/// NativeAOT host, a shell script given with <c>--nativeaot-host</c>: compare runs it like any host and judges
/// only what it printed and how it exited.
/// </summary>
public sealed class CompareAgreementTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-compare-agree-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static string Hello => RepositoryPaths.File("examples", "hello.jvm");

    [Theory]
    [InlineData("printf 'Hello, world!\\n'", true)]
    [InlineData("printf 'Hello, world?\\n'", false)]
    [InlineData("printf 'Hello, world!\\n'; echo 'trap: DivideByZero: integer division by zero' >&2; exit 70", false)]
    [InlineData("printf 'Hello, world!'", false)]
    public void AHostThatPrintsOrExitsDifferentlyIsFlagged(string hostBody, bool agrees)
    {
        var host = CompareProcess.Script(_directory, "host", hostBody);
        var (code, output, error) = CompareProcess.Run("compare", Hello, "--runs", "1", "--only", "interpreter,nativeaot", "--nativeaot-host", host, "--json");
        Assert.True(code == (agrees ? 0 : ExitCodes.Disagree), $"exit {code}: {error}");
        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        Assert.Equal(agrees, root.GetProperty("agree").GetBoolean());
        var rows = root.GetProperty("configurations").EnumerateArray().ToArray();
        Assert.True(rows[0].GetProperty("agrees").GetBoolean());
        Assert.Equal(agrees, rows[1].GetProperty("agrees").GetBoolean());
        Assert.True(rows[1].GetProperty("available").GetBoolean());
        // A host reports no timings: only its wall time and what it printed.
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("steady").ValueKind);
        Assert.True(rows[1].GetProperty("wallMs").GetDouble() > 0);
    }

    [Fact]
    public void TheTableSaysWhichConfigurationDiffers()
    {
        var host = CompareProcess.Script(_directory, "host", "echo 42");
        var (code, output, _) = CompareProcess.Run("compare", Hello, "--runs", "0", "--only", "interpreter,nativeaot", "--nativeaot-host", host);
        Assert.Equal(ExitCodes.Disagree, code);
        Assert.Contains("DIFFERS", output);
        Assert.Contains("1 of 2 configuration(s) DIFFER from interpreter", output);
    }

    [Fact]
    public void RowsAgreeOnlyWithTheSameExitCodeOutputAndErrorLine()
    {
        static ConfigurationResult Row(string id, int code, string stdout, string error = "") =>
            new(Configuration.All.First(c => c.Id == id)) { ExitCode = code, Stdout = System.Text.Encoding.UTF8.GetBytes(stdout), ErrorLine = error };
        var same = new[] { Row("interpreter", 70, "20\n", "trap: DivideByZero: x"), Row("jit", 70, "20\n", "trap: DivideByZero: x") };
        Assert.True(Agreement.Decide(same));
        var otherTrap = new[] { Row("interpreter", 70, "20\n", "trap: DivideByZero: x"), Row("jit", 70, "20\n", "trap: OutOfFuel: y") };
        Assert.False(Agreement.Decide(otherTrap));
        Assert.Equal([true, false], otherTrap.Select(r => r.Agrees));
        var unavailable = new ConfigurationResult(Configuration.All.First(c => c.Id == "saved")) { Unavailable = "no aot" };
        var withGap = new[] { unavailable, Row("jit", 0, "1\n"), Row("tiered", 0, "1\n") };
        Assert.True(Agreement.Decide(withGap));
        Assert.Null(unavailable.Agrees);
        Assert.Equal([null, true, true], withGap.Select(r => r.Agrees));
    }

    [Fact]
    public async Task CtrlCStopsWithTheRowsFinishedSoFarAndKillsTheRunningChild()
    {
        var pidFile = Path.Combine(_directory, "host.pid");
        // A host that never finishes: the comparison can only end by being interrupted while it runs.
        var host = CompareProcess.Script(_directory, "host", $"echo $$ > '{pidFile}'\nexec sleep 600");
        using var child = Process.Start(WithSigIntAtDefault(CompareProcess.StartInfo("compare", Hello, "--runs", "1", "--only", "interpreter,jit,nativeaot",
            "--nativeaot-host", host, "--json")))!;
        child.StandardInput.Close();
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        // The host writes its pid once the two jitvm rows have finished and it has started.
        var guard = Stopwatch.StartNew();
        while (!File.Exists(pidFile) || new FileInfo(pidFile).Length == 0)
        {
            if (child.HasExited) Assert.Fail("compare ended before the host started: " + await error);
            Assert.True(guard.Elapsed < TimeSpan.FromMinutes(10), "the host never started");
            await Task.Delay(20);
        }
        var hostPid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, Kill(child.Id, SigInt));
        Assert.True(child.WaitForExit(TimeSpan.FromMinutes(5)), "compare did not stop after SIGINT");

        Assert.Equal(ExitCodes.Interrupted, child.ExitCode);
        Assert.Contains("jitvm: compare interrupted; 2 of 3 configurations finished", await error);
        using var document = JsonDocument.Parse(await output);
        var root = document.RootElement;
        JsonFieldTable.FromSpec("Compare JSON fields").Check(root);
        Assert.True(root.GetProperty("interrupted").GetBoolean());
        var rows = root.GetProperty("configurations").EnumerateArray().ToArray();
        Assert.Equal(["interpreter", "jit"], rows.Select(r => r.GetProperty("id").GetString()));
        Assert.All(rows, r => Assert.True(r.GetProperty("agrees").GetBoolean()));
        // The host was killed, not left running: its process is gone (signal 0 only checks it exists).
        Assert.NotEqual(0, Kill(hostPid, 0));
    }

    private const int SigInt = 2;

    /// <summary>
    /// A process that starts with SIGINT ignored keeps ignoring it (.NET raises no Ctrl+C event then, as a shell's
    /// background job expects), and the disposition is inherited: when this test runs in such a job (a CI script
    /// started with <c>&amp;</c>), the child is started through <c>env --default-signal=INT</c> so that it can be
    /// interrupted the way a terminal's Ctrl+C interrupts it.
    /// </summary>
    private static ProcessStartInfo WithSigIntAtDefault(ProcessStartInfo start)
    {
        var ignored = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (ignored is null || (Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << (SigInt - 1))) == 0) return start;
        var arguments = start.ArgumentList.ToList();
        start.ArgumentList.Clear();
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add(start.FileName);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.FileName = "env";
        return start;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
