using System.Globalization;
using System.Security;
using System.Text;

namespace JitVm.Cli.Compare;

/// <summary>
/// The <c>--chart FILE</c> picture: horizontal bars, one per configuration, in three panels (steady-state median
/// per call with a min–max whisker, first-call latency, and the process's wall time), each on its own linear scale
/// from zero. A row that disagrees is drawn in red; one that did not run says so instead of a bar.
/// </summary>
internal static class SvgChart
{
    private const int Width = 820, LabelWidth = 210, ValueWidth = 110, BarHeight = 18, Gap = 6, PanelGap = 34, Top = 44;

    public static string Render(CompareReport report)
    {
        var panels = new (string Title, Func<ConfigurationResult, double?> Value, Func<ConfigurationResult, (double, double)?> Whisker)[]
        {
            ("steady-state time per call, median (whisker: fastest to slowest)", r => r.Steady?.MedianMs, r => r.Steady is { } s ? (s.MinMs, s.MaxMs) : null),
            ("first call (verify and link not included)", r => r.Report?.FirstCallMs, _ => null),
            ("process wall time, start to exit", r => r.Available ? r.WallMs : null, _ => null),
        };
        var rows = report.Rows;
        var panelHeight = 22 + rows.Count * (BarHeight + Gap);
        var height = Top + panels.Length * (panelHeight + PanelGap) + 20;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">jitvm compare: {Xml(report.Title())}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"10\" y=\"38\" fill=\"#555\">{Xml(report.Summary())}</text>\n");
        var y = Top;
        foreach (var (title, value, whisker) in panels)
        {
            y += 16;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"10\" y=\"{y}\" font-weight=\"bold\">{Xml(title)}, ms</text>\n");
            y += 6;
            var scale = rows.Select(r => Math.Max(value(r) ?? 0, whisker(r)?.Item2 ?? 0)).DefaultIfEmpty(0).Max();
            var barSpace = Width - LabelWidth - ValueWidth - 10;
            foreach (var row in rows)
            {
                var textY = y + BarHeight - 5;
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{LabelWidth - 8}\" y=\"{textY}\" text-anchor=\"end\">{Xml(row.Configuration.Title)}</text>\n");
                if (value(row) is { } v)
                {
                    var length = scale > 0 ? v / scale * barSpace : 0;
                    var colour = row.Agrees == false ? "#c0392b" : "#2e6db4";
                    svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{LabelWidth}\" y=\"{y}\" width=\"{Math.Max(length, 1):0.#}\" height=\"{BarHeight}\" fill=\"{colour}\"/>\n");
                    if (whisker(row) is var (low, high) && scale > 0)
                    {
                        var x1 = LabelWidth + low / scale * barSpace;
                        var x2 = LabelWidth + high / scale * barSpace;
                        var mid = y + BarHeight / 2.0;
                        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"M{x1:0.#} {mid:0.#}H{x2:0.#}M{x1:0.#} {y + 4}V{y + BarHeight - 4}M{x2:0.#} {y + 4}V{y + BarHeight - 4}\" stroke=\"#222\" fill=\"none\"/>\n");
                    }
                    var label = CompareReport.Ms(v) + (row.Agrees == false ? " DIFFERS" : "");
                    svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{LabelWidth + barSpace + 8}\" y=\"{textY}\">{Xml(label)}</text>\n");
                }
                else
                {
                    var note = row.Available ? "not measured" : "not available";
                    svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{LabelWidth}\" y=\"{textY}\" fill=\"#888\">{note}</text>\n");
                }
                y += BarHeight + Gap;
            }
            y += PanelGap - 16;
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Xml(string text) => SecurityElement.Escape(text) ?? "";
}
