using System.Globalization;
using System.Text;
using System.Text.Json;

namespace JitVm.Cli.Compare;

/// <summary>The finished comparison and its three text forms: the cells of the terminal table and the Markdown
/// table (the same columns), and the JSON of spec/execution.md §10.3.</summary>
internal sealed class CompareReport(CompareRequest request, IReadOnlyList<ConfigurationResult> rows, bool interrupted, bool agree)
{
    public CompareRequest Request { get; } = request;

    public IReadOnlyList<ConfigurationResult> Rows { get; } = rows;

    public bool Interrupted { get; } = interrupted;

    /// <summary>Whether every row that ran agrees with the first one.</summary>
    public bool Agree { get; } = agree;

    public static readonly string[] Columns =
    [
        "configuration", "verify ms", "compile ms", "link/load ms", "first call ms", "steady ms (median ± MAD)", "min–max ms",
        ".NET alloc/call", ".NET GC 0/1/2", "VM GC minor/full", "peak memory", "wall ms", "start+exit ms", "result",
    ];

    /// <summary>The cells of one row, in <see cref="Columns"/> order; "-" where a figure was not measured.</summary>
    public static string[] Cells(ConfigurationResult row)
    {
        if (!row.Available)
            return [row.Configuration.Title, .. Enumerable.Repeat("-", Columns.Length - 2), $"not available ({row.Unavailable})"];
        var report = row.Report;
        var steady = row.Steady;
        return
        [
            row.Configuration.Title,
            Ms(report?.VerifyMs),
            row.AotMs is { } aot ? $"{Ms(aot)} (aot)" : report is { CompiledFunctions: > 0 } ? $"{Ms(report.CompileMs)} ({report.CompiledFunctions}/{report.Functions} fn)" : "-",
            Ms(report?.LinkMs),
            Ms(report?.FirstCallMs),
            steady is null ? "-" : $"{Ms(steady.MedianMs)} ± {Ms(steady.MadMs)} (n={steady.Runs})",
            steady is null ? "-" : $"{Ms(steady.MinMs)}–{Ms(steady.MaxMs)}",
            row.AllocatedBytesPerCall is { } bytes ? Bytes(bytes) : "-",
            report is null ? "-" : $"{report.Gen0}/{report.Gen1}/{report.Gen2}",
            report is null ? "-" : $"{report.VmMinor}/{report.VmFull}",
            report is null ? "-" : Bytes(report.PeakWorkingSetBytes),
            Ms(row.WallMs),
            Ms(row.StartupMs),
            Verdict(row),
        ];
    }

    /// <summary>"agrees", or what the row did differently from the reference.</summary>
    public static string Verdict(ConfigurationResult row)
    {
        if (!row.Available) return $"not available ({row.Unavailable})";
        return (row.Agrees == false ? "DIFFERS: " : "agrees: ") + Outcome(row);
    }

    /// <summary>The last line of output, or the exit code and first error line, with a note when figures are missing.</summary>
    public static string Outcome(ConfigurationResult row)
    {
        var outcome = row.ExitCode == 0 ? row.LastLine : $"exit {row.ExitCode}: {row.ErrorLine}";
        var note = row.Report is null ? "; no timings reported" : row.Report.RepeatTrap is { } trap ? $"; a repeated call trapped {trap}" : "";
        return outcome + note;
    }

    public string Summary()
    {
        var ran = Rows.Count(r => r.Available);
        var text = Agree
            ? $"{ran} configuration(s) ran; all results agree"
            : $"{Rows.Count(r => r.Agrees == false)} of {ran} configuration(s) DIFFER from {Rows.First(r => r.Available).Configuration.Title}";
        if (Rows.Count(r => !r.Available) is var missing and > 0) text += $"; {missing} not available";
        if (Interrupted) text += $"; interrupted after {Rows.Count} of {Request.Configurations.Count} configurations";
        return text;
    }

    public string Title() =>
        $"{Path.GetFileName(Request.File)} --entry {Request.Entry}{(Request.Arguments.Length > 0 ? " " + string.Join(' ', Request.Arguments) : "")}, {Request.Runs} steady-state run(s) per configuration";

    public string Markdown()
    {
        var text = new StringBuilder();
        text.Append("**").Append(Escape(Title())).Append("**\n\n");
        text.Append("| ").Append(string.Join(" | ", Columns)).Append(" |\n");
        text.Append('|').Append(string.Concat(Columns.Select(_ => "---|"))).Append('\n');
        foreach (var row in Rows) text.Append("| ").Append(string.Join(" | ", Cells(row).Select(Escape))).Append(" |\n");
        text.Append('\n').Append(Escape(Summary())).Append('\n');
        return text.ToString();
    }

    private static string Escape(string cell) => cell.Replace("\\", "\\\\").Replace("|", "\\|").Replace("\n", " ");

    /// <summary>The JSON form; its fields are listed in spec/execution.md §10.3 and checked against that list by a test.</summary>
    public byte[] Json()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("schema", "jitvm-compare/1");
            json.WriteString("tool", ChildProcess.ToolVersion());
            json.WriteString("file", Request.File);
            json.WriteString("entry", Request.Entry);
            json.WriteStartArray("arguments");
            foreach (var argument in Request.Arguments) json.WriteStringValue(argument);
            json.WriteEndArray();
            json.WriteNumber("runs", Request.Runs);
            json.WriteBoolean("interrupted", Interrupted);
            json.WriteBoolean("agree", Agree);
            json.WriteStartArray("configurations");
            foreach (var row in Rows) WriteRow(json, row);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void WriteRow(Utf8JsonWriter json, ConfigurationResult row)
    {
        json.WriteStartObject();
        json.WriteString("id", row.Configuration.Id);
        json.WriteString("title", row.Configuration.Title);
        json.WriteBoolean("available", row.Available);
        if (row.Unavailable is null) json.WriteNull("reason");
        else json.WriteString("reason", row.Unavailable);
        if (row.Available)
        {
            json.WriteBoolean("agrees", row.Agrees == true);
            json.WriteNumber("exitCode", row.ExitCode);
            json.WriteString("outputSha256", row.OutputSha256);
            json.WriteString("lastLine", row.LastLine);
            json.WriteString("error", row.ErrorLine);
            json.WriteNumber("wallMs", Round(row.WallMs));
        }
        else
        {
            json.WriteNull("agrees");
            json.WriteNull("exitCode");
            json.WriteNull("outputSha256");
            json.WriteNull("lastLine");
            json.WriteNull("error");
            json.WriteNull("wallMs");
        }
        var report = row.Report;
        Number(json, "startupMs", row.StartupMs);
        Number(json, "aotMs", row.AotMs);
        Number(json, "verifyMs", report?.VerifyMs);
        Number(json, "compileMs", report?.CompileMs);
        Number(json, "compiledFunctions", report?.CompiledFunctions);
        Number(json, "linkMs", report?.LinkMs);
        Number(json, "firstCallMs", report?.FirstCallMs);
        if (row.Steady is { } steady)
        {
            json.WriteStartObject("steady");
            json.WriteNumber("runs", steady.Runs);
            json.WriteNumber("medianMs", Round(steady.MedianMs));
            json.WriteNumber("madMs", Round(steady.MadMs));
            json.WriteNumber("minMs", Round(steady.MinMs));
            json.WriteNumber("maxMs", Round(steady.MaxMs));
            json.WriteEndObject();
        }
        else json.WriteNull("steady");
        Number(json, "allocatedBytesPerCall", row.AllocatedBytesPerCall);
        Number(json, "gen0Collections", report?.Gen0);
        Number(json, "gen1Collections", report?.Gen1);
        Number(json, "gen2Collections", report?.Gen2);
        Number(json, "vmMinorCollections", report?.VmMinor);
        Number(json, "vmFullCollections", report?.VmFull);
        Number(json, "peakMemoryBytes", report?.PeakWorkingSetBytes);
        json.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v) json.WriteNumber(name, Round(v));
        else json.WriteNull(name);
    }

    private static double Round(double value) => Math.Round(value, 4);

    public static string Ms(double? ms) => ms switch
    {
        null => "-",
        < 1 => ms.Value.ToString("0.000", CultureInfo.InvariantCulture),
        < 100 => ms.Value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => ms.Value.ToString("0", CultureInfo.InvariantCulture),
    };

    public static string Bytes(double bytes) => bytes switch
    {
        < 10_000 => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
        < 10_000_000 => (bytes / 1024).ToString("0", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / (1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
    };
}
