using System.Diagnostics;
using Xunit;

namespace JitVm.Tests.Repl;

/// <summary>A theory that needs tmux: reported skipped (never passed) where tmux is not installed.</summary>
public sealed class TmuxTheoryAttribute : TheoryAttribute
{
    public TmuxTheoryAttribute()
    {
        if (ReplTerminalTests.Tmux is null) Skip = "tmux is not installed (.ci/run installs it with apt-get)";
    }
}

/// <summary>
/// The real <c>jitvm repl</c> as a child process: once in a terminal (tmux), typing, completing with Tab, stopping a
/// loop with Ctrl+C and reading the screen; once with stdin redirected, as a script runs it. The waits are guards
/// against a hung child, far above any normal run; nothing here measures speed.
/// </summary>
public sealed class ReplTerminalTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(5);

    public static string? Tmux { get; } = FindTmux();

    private static string? FindTmux()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/bin"))
        {
            var candidate = Path.Combine(folder, "tmux");
            if (folder.Length > 0 && File.Exists(candidate)) return candidate;
        }
        return null;
    }

    [TmuxTheory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    public void TheInteractiveReplCompletesRunsAndSurvivesCtrlC(string tier)
    {
        var socket = $"jitvm-repl-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var folder = Directory.CreateTempSubdirectory("jitvm-repl-tty-");
        var history = Path.Combine(folder.FullName, "history");
        try
        {
            var command = $"JITVM_REPL_HISTORY='{history}' '{ChildProcess.DotnetHost()}' '{ChildProcess.CliDll}' repl --tier {tier}; echo \"EXIT=$?\"; sleep 600";
            TmuxRun(socket, "-f", "/dev/null", "new-session", "-d", "-s", "repl", "-x", "120", "-y", "40", command);
            WaitForScreen(socket, s => s.Contains("jitvm>"), "the first prompt");

            Type(socket, "i64.const 40");
            Keys(socket, "Enter");
            WaitForScreen(socket, s => s.Contains("[i64 40]"), "the stack after the first line");

            // Tab completes a mnemonic from the instruction table.
            Type(socket, "i64.const 2 i64.ad");
            Keys(socket, "Tab");
            WaitForScreen(socket, s => s.Contains("i64.const 2 i64.add"), "i64.ad completed to i64.add");
            Keys(socket, "Enter");
            WaitForScreen(socket, s => s.Contains("[i64 42]"), "the sum");

            // A block asks for more with the continuation prompt.
            Type(socket, ".func spin () -> ()");
            Keys(socket, "Enter");
            WaitForScreen(socket, s => s.Contains("...>"), "the continuation prompt");
            foreach (var line in new[] { "top:", "    br top", ".end" })
            {
                Type(socket, line);
                Keys(socket, "Enter");
            }
            WaitForScreen(socket, s => s.Contains("defined function spin () -> ()"), "the definition");

            // Tab completes a defined name; the call loops until Ctrl+C stops it, and the REPL goes on.
            Type(socket, "call sp");
            Keys(socket, "Tab");
            WaitForScreen(socket, s => s.Contains("call spin"), "spin completed");
            Keys(socket, "Enter");
            WaitForScreen(socket, s => LastLine(s) == "jitvm> call spin", "the call to be taken (no prompt while it runs)");
            Thread.Sleep(500);
            Assert.DoesNotContain("Cancelled", Screen(socket));
            Keys(socket, "C-c");
            WaitForScreen(socket, s => s.Contains("trap: Cancelled") && LastLine(s).StartsWith("jitvm>", StringComparison.Ordinal), "the loop cancelled and a new prompt");

            Type(socket, ":stack");
            Keys(socket, "Enter");
            WaitForScreen(socket, s => s.Contains("0: i64 42"), "the stack kept across the cancelled run");

            // Ctrl+D on an empty line leaves with exit code 0.
            Keys(socket, "C-d");
            var screen = WaitForScreen(socket, s => s.Contains("EXIT="), "the REPL to exit");
            Assert.Contains("EXIT=0", screen);
            var saved = File.ReadAllLines(history);
            Assert.Contains("i64.const 2 i64.add", saved);
            Assert.Contains(":stack", saved);
        }
        finally
        {
            try { TmuxRun(socket, "kill-server"); } catch (InvalidOperationException) { }
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Lines typed before the REPL reads its first key (while it starts, or pasted) reach it through the terminal's
    /// line mode, Enter turned into a line feed: they still run, in order. Whichever side of the start the keys land
    /// on, the same screen must follow.
    /// </summary>
    [TmuxTheory]
    [InlineData("jit")]
    public void LinesTypedWhileTheReplStartsStillRun(string tier)
    {
        var socket = $"jitvm-repl-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            var command = $"JITVM_REPL_HISTORY= '{ChildProcess.DotnetHost()}' '{ChildProcess.CliDll}' repl --tier {tier}; echo \"EXIT=$?\"; sleep 600";
            TmuxRun(socket, "-f", "/dev/null", "new-session", "-d", "-s", "repl", "-x", "120", "-y", "40", command);
            Type(socket, "i64.const 40");
            Keys(socket, "Enter");
            Type(socket, "i64.const 2 i64.add");
            Keys(socket, "Enter");
            WaitForScreen(socket, s => s.Contains("[i64 42]"), "both typed-ahead lines to run");
            Keys(socket, "C-d");
            Assert.Contains("EXIT=0", WaitForScreen(socket, s => s.Contains("EXIT="), "the REPL to exit"));
        }
        finally
        {
            try { TmuxRun(socket, "kill-server"); } catch (InvalidOperationException) { }
        }
    }

    [Fact]
    public async Task WithStdinRedirectedTheReplReadsPlainLinesAndExitsZeroAtTheEnd()
    {
        var start = new ProcessStartInfo(ChildProcess.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ChildProcess.CliDll);
        start.ArgumentList.Add("repl");
        start.ArgumentList.Add("--tier");
        start.ArgumentList.Add("jit");
        start.Environment["JITVM_REPL_HISTORY"] = "";
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        child.StandardInput.Write(".func inc (x: i64) -> (i64)\n    local.get x\n    i64.const 1\n    i64.add\n    return\n.end\ni64.const 41 call inc\ni64.const 0 i64.div_s\n:tier\n");
        child.StandardInput.Close();
        if (!child.WaitForExit(Guard))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail("jitvm repl did not exit at the end of its input");
        }
        Assert.Equal("", await error);
        Assert.Equal(0, child.ExitCode);
        Assert.Equal(
            "defined function inc (i64) -> (i64)\n[i64 42]\ntrap: DivideByZero: integer division by zero\n  at <input> (repl:1, pc 2: i64.div_s)\n" +
            "  i64.const 0 i64.div_s\n              ^^^^^^^^^\ntier: jit\n",
            (await output).ReplaceLineEndings("\n"));
    }

    private static string LastLine(string screen) => screen.TrimEnd('\n').Split('\n')[^1].TrimEnd();

    private static void Type(string socket, string text) => TmuxRun(socket, "send-keys", "-t", "repl", "-l", text);

    private static void Keys(string socket, string keys) => TmuxRun(socket, "send-keys", "-t", "repl", keys);

    private static string Screen(string socket) => TmuxRun(socket, "capture-pane", "-t", "repl", "-p");

    private static string WaitForScreen(string socket, Func<string, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        string screen;
        while (!done(screen = Screen(socket)))
        {
            if (clock.Elapsed > Guard) Assert.Fail($"waited for {what}; the screen is:\n{screen}");
            Thread.Sleep(100);
        }
        return screen;
    }

    private static string TmuxRun(string socket, params string[] arguments)
    {
        var start = new ProcessStartInfo(Tmux!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(socket);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} failed: {error}");
        return output.ReplaceLineEndings("\n");
    }
}
