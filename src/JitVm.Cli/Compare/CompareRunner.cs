using System.ComponentModel;
using System.Globalization;

namespace JitVm.Cli.Compare;

/// <summary>What <c>jitvm compare</c> was asked to do.</summary>
internal sealed record CompareRequest(
    string File, string Entry, string[] Arguments, int Runs, IReadOnlyList<Configuration> Configurations, string NativeAotHost);

/// <summary>Told as each configuration starts and ends, to show progress.</summary>
internal interface ICompareProgress
{
    void Starting(Configuration configuration);

    void Finished(ConfigurationResult result);
}

/// <summary>
/// Runs every requested configuration, one after the other, each in fresh processes (a saved-assembly
/// configuration first runs <c>jitvm aot</c>). Cancelling stops at once: the running child is killed and its row
/// is left out, and the rows finished so far are returned.
/// </summary>
internal sealed class CompareRunner(CompareRequest request, ICompareProgress progress)
{
    private readonly (string FileName, string[] Prefix) _self = ChildProcess.Self();

    /// <summary>The finished rows and whether the run was interrupted before all of them finished.</summary>
    public (List<ConfigurationResult> Rows, bool Interrupted) Run(CancellationToken cancel)
    {
        var rows = new List<ConfigurationResult>();
        var work = Directory.CreateTempSubdirectory("jitvm-compare-");
        try
        {
            foreach (var configuration in request.Configurations)
            {
                if (cancel.IsCancellationRequested) return (rows, true);
                progress.Starting(configuration);
                ConfigurationResult row;
                try
                {
                    row = RunOne(configuration, work.FullName, cancel);
                }
                catch (OperationCanceledException)
                {
                    return (rows, true);
                }
                rows.Add(row);
                progress.Finished(row);
            }
            return (rows, false);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private ConfigurationResult RunOne(Configuration configuration, string work, CancellationToken cancel)
    {
        var report = Path.Combine(work, configuration.Id + ".report.json");
        var measured = new List<string> { "--entry", request.Entry, "--report-json", report, "--repeat", request.Runs.ToString(CultureInfo.InvariantCulture) };
        switch (configuration.Kind)
        {
            case ConfigurationKind.Tier:
                return Finish(configuration, Self(["run", request.File, "--tier", configuration.Tier!, .. measured, "--", .. request.Arguments], cancel), report, null);

            case ConfigurationKind.SavedAssembly:
            {
                var assembly = Path.Combine(work, configuration.Id + ".dll");
                var aot = Self(["aot", request.File, "-o", assembly, .. configuration.ReadyToRun ? new[] { "--r2r" } : []], cancel);
                if (aot.ExitCode == ExitCodes.Usage)
                    return Unavailable(configuration, "this jitvm has no 'aot' command" + (configuration.ReadyToRun ? " with --r2r" : ""));
                if (aot.ExitCode != 0)
                    return Unavailable(configuration, $"jitvm aot exited with {aot.ExitCode}: {FirstLine(aot.Stderr)}");
                if (!File.Exists(assembly)) return Unavailable(configuration, "jitvm aot exited with 0 but wrote no assembly");
                return Finish(configuration, Self(["run", assembly, .. measured, "--", .. request.Arguments], cancel), report, aot.WallMs);
            }

            case ConfigurationKind.NativeAotHost:
            {
                var host = request.NativeAotHost;
                if (!File.Exists(host)) return Unavailable(configuration, $"no host at '{host}' (publish examples/nativeaot-host, or give --nativeaot-host)");
                ChildResult result;
                try
                {
                    result = ChildProcess.Run(host, [request.File, "--entry", request.Entry, .. request.Arguments], cancel);
                }
                catch (Win32Exception e)
                {
                    return Unavailable(configuration, $"cannot start '{host}': {e.Message}");
                }
                return Finish(configuration, result, report, null);
            }

            default:
                throw new InvalidOperationException($"unknown configuration kind {configuration.Kind}");
        }
    }

    private ChildResult Self(IEnumerable<string> arguments, CancellationToken cancel) =>
        ChildProcess.Run(_self.FileName, [.. _self.Prefix, .. arguments], cancel);

    private static ConfigurationResult Finish(Configuration configuration, ChildResult result, string report, double? aotMs) =>
        new(configuration)
        {
            ExitCode = result.ExitCode,
            Stdout = result.Stdout,
            ErrorLine = FirstLine(result.Stderr),
            WallMs = result.WallMs,
            AotMs = aotMs,
            Report = ChildReport.TryRead(report),
        };

    private static ConfigurationResult Unavailable(Configuration configuration, string reason) => new(configuration) { Unavailable = reason };

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].TrimEnd('\r');
        return line.Length <= 300 ? line : line[..300] + "…";
    }
}
