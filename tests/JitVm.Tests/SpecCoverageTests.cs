using System.Text.RegularExpressions;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// spec/coverage.md lists every statement of spec/ that uses a requirement key word in capitals, with the
/// conformance cases and test methods that check it. This keeps the list and the spec in step: an unlisted
/// requirement, a listed one that no longer exists, and a reference to a case or test that does not exist all fail.
/// </summary>
public sealed partial class SpecCoverageTests
{
    private sealed record Row(string Id, string Document, string Statement, string CheckedBy, List<string> References);

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    [GeneratedRegex(@"\b(MUST|SHALL|REQUIRED)\b")]
    private static partial Regex KeyWord();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex BackQuoted();

    [GeneratedRegex(@"^[A-Z]\w*\.[A-Z]\w*$")]
    private static partial Regex TestMethod();

    private static string Normalise(string text) => WhiteSpace().Replace(text, " ");

    private static string SpecDirectory => RepositoryPaths.File("spec");

    private static List<Row> Rows()
    {
        var rows = new List<Row>();
        foreach (var line in File.ReadAllLines(Path.Combine(SpecDirectory, "coverage.md")))
        {
            if (!line.StartsWith("| R", StringComparison.Ordinal)) continue;
            // The statement is quoted, and may hold '|' only inside its quotes; split around it.
            var open = line.IndexOf('"', StringComparison.Ordinal);
            var close = line.LastIndexOf('"');
            Assert.True(open > 0 && close > open, $"a row of spec/coverage.md has no quoted statement: {line}");
            var head = line[..open].Split('|', StringSplitOptions.TrimEntries);
            var tail = line[(close + 1)..].Split('|', StringSplitOptions.TrimEntries);
            Assert.True(head.Length == 4 && tail.Length == 3, $"a row of spec/coverage.md does not have four columns: {line}");
            var checkedBy = tail[1];
            var references = BackQuoted().Matches(checkedBy).Select(m => m.Groups[1].Value).ToList();
            rows.Add(new Row(head[1], head[2], Normalise(line[(open + 1)..close]), checkedBy, references));
        }
        Assert.True(rows.Count > 0, "spec/coverage.md has no rows");
        return rows;
    }

    /// <summary>The spec documents that state requirements: every one but coverage.md, which only quotes them.</summary>
    private static Dictionary<string, string> Documents() =>
        Directory.EnumerateFiles(SpecDirectory, "*.md")
            .Where(path => Path.GetFileName(path) != "coverage.md")
            .ToDictionary(path => Path.GetFileName(path), path => Normalise(File.ReadAllText(path)), StringComparer.Ordinal);

    [Fact]
    public void EveryRequirementOfTheSpecIsListed()
    {
        var rows = Rows();
        var documents = Documents();
        var missing = new List<string>();
        foreach (var (name, text) in documents.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            // The spans of text the rows for this document quote.
            var spans = rows.Where(r => r.Document == name)
                .Select(r => (Start: text.IndexOf(r.Statement, StringComparison.Ordinal), r.Statement.Length))
                .Where(s => s.Start >= 0).ToList();
            foreach (Match keyWord in KeyWord().Matches(text))
                if (!spans.Any(s => keyWord.Index >= s.Start && keyWord.Index < s.Start + s.Length))
                    missing.Add($"{name}: \"…{text[Math.Max(0, keyWord.Index - 100)..Math.Min(text.Length, keyWord.Index + 100)]}…\"");
        }
        Assert.True(missing.Count == 0, "requirements not listed in spec/coverage.md:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void EveryListedStatementStillExistsOnce()
    {
        var documents = Documents();
        var rows = Rows();
        Assert.Equal(rows.Count, rows.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count());
        foreach (var row in rows)
        {
            Assert.True(documents.TryGetValue(row.Document, out var text), $"{row.Id} names the document {row.Document}, which spec/ does not have");
            var first = text!.IndexOf(row.Statement, StringComparison.Ordinal);
            Assert.True(first >= 0, $"{row.Id}: spec/{row.Document} no longer says \"{row.Statement}\"");
            Assert.True(text.IndexOf(row.Statement, first + 1, StringComparison.Ordinal) < 0,
                $"{row.Id}: \"{row.Statement}\" occurs more than once in spec/{row.Document}; quote more of it");
            Assert.True(KeyWord().IsMatch(row.Statement), $"{row.Id}: \"{row.Statement}\" holds no requirement key word");
        }
    }

    [Fact]
    public void EveryReferenceExistsAndEveryRowSaysWhatChecksIt()
    {
        var sources = Directory.EnumerateFiles(RepositoryPaths.File("tests"), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal) &&
                           !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText).ToList();
        var conformance = RepositoryPaths.File("tests", "JitVm.Conformance");
        var problems = new List<string>();
        foreach (var row in Rows())
        {
            if (row.References.Count == 0 && !row.CheckedBy.StartsWith("not checkable: ", StringComparison.Ordinal))
                problems.Add($"{row.Id} names no case or test and does not say why it is not checkable");
            foreach (var reference in row.References)
            {
                if (reference.StartsWith("cases/", StringComparison.Ordinal))
                {
                    var path = Path.Combine(conformance, reference);
                    var exists = reference.EndsWith('/') ? Directory.Exists(path) : reference.EndsWith(".jvm", StringComparison.Ordinal) && File.Exists(path);
                    if (!exists) problems.Add($"{row.Id}: no conformance case {reference}");
                }
                else if (TestMethod().IsMatch(reference))
                {
                    if (!sources.Any(source => DeclaresTest(source, reference))) problems.Add($"{row.Id}: no test method {reference}");
                }
                else problems.Add($"{row.Id}: `{reference}` is neither a conformance case (cases/...) nor a test method (Class.Method)");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Whether <paramref name="source"/> declares class C with a [Fact] or [Theory] method M, for "C.M".</summary>
    private static bool DeclaresTest(string source, string reference)
    {
        var dot = reference.IndexOf('.', StringComparison.Ordinal);
        var (type, method) = (reference[..dot], reference[(dot + 1)..]);
        if (!Regex.IsMatch(source, $@"\bclass {type}\b")) return false;
        var declaration = Regex.Match(source, $@"public (async )?(void|Task) {method}\(");
        if (!declaration.Success) return false;
        // The attributes between the previous member's end and the declaration mark it as a test.
        var before = source[..declaration.Index];
        var previousEnd = before.LastIndexOf("\n    }", StringComparison.Ordinal);
        var attributes = before[(previousEnd < 0 ? 0 : previousEnd)..];
        return attributes.Contains("[Fact", StringComparison.Ordinal) || attributes.Contains("[Theory", StringComparison.Ordinal);
    }
}
