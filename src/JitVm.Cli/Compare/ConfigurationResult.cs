using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace JitVm.Cli.Compare;

/// <summary>The figures a child <c>jitvm run --report-json</c> wrote (src/JitVm.Cli/RunReport.cs), read back.</summary>
internal sealed record ChildReport(
    string Tier, double? VerifyMs, double? LinkMs, double? FirstCallMs, long FirstCallAllocatedBytes, double CompileMs,
    int CompiledFunctions, int Functions, double[] SteadyMs, long[] SteadyAllocatedBytes, string? RepeatTrap,
    int Gen0, int Gen1, int Gen2, long VmMinor, long VmFull, long VmAllocatedBytes, long PeakWorkingSetBytes, double? InProcessMs)
{
    /// <summary>Reads a report, or gives null when the file is missing or is not a report of this version (a child
    /// that does not report timings is not an error: its row shows what the parent measured).</summary>
    public static ChildReport? TryRead(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.GetProperty("schema").GetString() != "jitvm-run-report/1") return null;
            return new ChildReport(
                root.GetProperty("tier").GetString() ?? "",
                Number(root, "verifyMs"), Number(root, "linkMs"), Number(root, "firstCallMs"),
                root.GetProperty("firstCallAllocatedBytes").GetInt64(), root.GetProperty("compileMs").GetDouble(),
                root.GetProperty("compiledFunctions").GetInt32(), root.GetProperty("functions").GetInt32(),
                [.. root.GetProperty("steadyMs").EnumerateArray().Select(e => e.GetDouble())],
                [.. root.GetProperty("steadyAllocatedBytes").EnumerateArray().Select(e => e.GetInt64())],
                root.GetProperty("repeatTrap").ValueKind == JsonValueKind.String ? root.GetProperty("repeatTrap").GetString() : null,
                root.GetProperty("gen0Collections").GetInt32(), root.GetProperty("gen1Collections").GetInt32(),
                root.GetProperty("gen2Collections").GetInt32(), root.GetProperty("vmMinorCollections").GetInt64(),
                root.GetProperty("vmFullCollections").GetInt64(), root.GetProperty("vmAllocatedBytes").GetInt64(),
                root.GetProperty("peakWorkingSetBytes").GetInt64(), Number(root, "inProcessMs"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static double? Number(JsonElement root, string name) =>
        root.GetProperty(name).ValueKind == JsonValueKind.Number ? root.GetProperty(name).GetDouble() : null;
}

/// <summary>Median and spread of the steady-state calls: the median, the median absolute deviation from it, and
/// the fastest and slowest call.</summary>
internal sealed record Spread(int Runs, double MedianMs, double MadMs, double MinMs, double MaxMs)
{
    public static Spread? Of(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0) return null;
        var median = Median(samples);
        return new Spread(samples.Count, median, Median([.. samples.Select(s => Math.Abs(s - median))]), samples.Min(), samples.Max());
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>One row of the comparison: a configuration that could not run, with the reason, or one that ran,
/// with what it printed and what it measured.</summary>
internal sealed class ConfigurationResult(Configuration configuration)
{
    public Configuration Configuration { get; } = configuration;

    /// <summary>Why the configuration could not run here; null when it ran.</summary>
    public string? Unavailable { get; init; }

    /// <summary>The run's exit code, standard output and first line of standard error.</summary>
    public int ExitCode { get; init; }

    public byte[] Stdout { get; init; } = [];

    public string ErrorLine { get; init; } = "";

    /// <summary>Wall time of the run's process, start to exit.</summary>
    public double WallMs { get; init; }

    /// <summary>For saved assemblies, the wall time of the <c>jitvm aot</c> process that made the assembly.</summary>
    public double? AotMs { get; init; }

    /// <summary>What the child reported about itself; null for a host that does not report.</summary>
    public ChildReport? Report { get; init; }

    /// <summary>Set by <see cref="Agreement.Decide"/>: whether this row printed and exited as the reference did.</summary>
    public bool? Agrees { get; set; }

    public bool Available => Unavailable is null;

    public Spread? Steady => Report is null ? null : Spread.Of(Report.SteadyMs);

    /// <summary>.NET bytes allocated per steady-state call (median), or by the first call when there were no repeats.</summary>
    public double? AllocatedBytesPerCall => Report switch
    {
        null => null,
        { SteadyAllocatedBytes.Length: > 0 } r => r.SteadyAllocatedBytes.Order().ElementAt(r.SteadyAllocatedBytes.Length / 2),
        var r => r.FirstCallAllocatedBytes,
    };

    /// <summary>Time in the process outside what the child measured itself: runtime start-up, argument parsing and exit.</summary>
    public double? StartupMs => Report?.InProcessMs is { } inside ? Math.Max(0, WallMs - inside) : null;

    /// <summary>What must be equal between configurations: exit code, standard output, and the first line of the
    /// trap report (or other error) when the run failed.</summary>
    public string AgreementKey => $"{ExitCode}\n{(ExitCode == 0 ? "" : ErrorLine)}\n{Convert.ToHexString(SHA256.HashData(Stdout))}";

    public string OutputSha256 => Convert.ToHexString(SHA256.HashData(Stdout)).ToLowerInvariant();

    /// <summary>The last non-empty line of standard output (the entry's last result, as a reminder in the table).</summary>
    public string LastLine
    {
        get
        {
            var lines = Encoding.UTF8.GetString(Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return lines.Length == 0 ? "" : lines[^1];
        }
    }
}

/// <summary>Decides which rows agree: the first row that ran is the reference; every other row that ran agrees
/// when its <see cref="ConfigurationResult.AgreementKey"/> is the reference's. Rows that did not run get no verdict.</summary>
internal static class Agreement
{
    /// <summary>Marks every row and returns true when all rows that ran agree (vacuously for none or one).</summary>
    public static bool Decide(IReadOnlyList<ConfigurationResult> rows)
    {
        var ran = rows.Where(r => r.Available).ToList();
        if (ran.Count == 0) return true;
        var reference = ran[0].AgreementKey;
        foreach (var row in ran) row.Agrees = row.AgreementKey == reference;
        return ran.All(r => r.Agrees == true);
    }
}
