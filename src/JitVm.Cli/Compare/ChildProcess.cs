using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;

namespace JitVm.Cli.Compare;

/// <summary>What a finished child process left: its exit code, everything it wrote, and its wall time measured
/// from just before it was started to just after it exited.</summary>
internal sealed record ChildResult(int ExitCode, byte[] Stdout, string Stderr, double WallMs);

/// <summary>Starts the child processes <c>compare</c> measures, each fresh, so every configuration pays its own
/// start-up. Output is read concurrently so a chatty child never blocks on a full pipe.</summary>
internal static class ChildProcess
{
    /// <summary>The command that starts this same <c>jitvm</c>: the apphost when the tool runs from one (an
    /// installed tool, <c>dotnet run</c>), else <c>dotnet</c> with this assembly (<c>dotnet jitvm.dll</c>).</summary>
    public static (string FileName, string[] Prefix) Self()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        var assembly = typeof(ChildProcess).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase) && assembly.Length > 0
            ? (process, [assembly])
            : (process, []);
    }

    /// <summary>Runs <paramref name="fileName"/> to its end. On cancellation the child and its descendants are
    /// killed and <see cref="OperationCanceledException"/> propagates; a program that cannot be started gives
    /// <see cref="Win32Exception"/>.</summary>
    public static ChildResult Run(string fileName, IEnumerable<string> arguments, CancellationToken cancel)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // The children must not inherit a debugging switch that changes how errors are reported.
        start.Environment.Remove("JITVM_DEBUG");
        var began = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new Win32Exception($"cannot start '{fileName}'");
        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, CancellationToken.None);
        var readErr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            process.WaitForExitAsync(cancel).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited on its own in the meantime (a Ctrl+C in a terminal reaches the child too).
            }
            process.WaitForExit();
            throw;
        }
        var wall = Stopwatch.GetElapsedTime(began).TotalMilliseconds;
        copyOut.GetAwaiter().GetResult();
        return new ChildResult(process.ExitCode, stdout.ToArray(), readErr.GetAwaiter().GetResult(), wall);
    }

    /// <summary>The version of this tool, for the report's header.</summary>
    public static string ToolVersion() =>
        typeof(ChildProcess).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";
}
