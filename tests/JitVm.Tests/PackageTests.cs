using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// The JitVm package stands alone: its README is the one written for package users, every document the XML
/// documentation names (spec/NAME.md) is packed at that path, and nothing in the package README or the XML docs
/// points at a file of the repository the package does not carry.
/// </summary>
public sealed partial class PackageTests
{
    private static readonly XDocument Project = XDocument.Load(RepositoryPaths.File("src", "JitVm", "JitVm.csproj"));

    private static IEnumerable<XElement> PackedItems() =>
        Project.Descendants("None").Where(item => (string?)item.Attribute("Pack") == "true");

    [Fact]
    public void ThePackageReadmeIsThePackagesOwnAndIsPacked()
    {
        var readme = Project.Descendants("PackageReadmeFile").Single().Value;
        Assert.Equal("PACKAGE.md", readme);
        Assert.Contains(PackedItems(), item => (string?)item.Attribute("Include") == "PACKAGE.md" && (string?)item.Attribute("PackagePath") == "/");
    }

    [Fact]
    public void TheSpecificationIsPackedWhereTheDocsSayItIs()
    {
        Assert.Contains(PackedItems(), item => (string?)item.Attribute("Include") == "../../spec/*.md" && (string?)item.Attribute("PackagePath") == "spec/");
    }

    [Fact]
    public void EveryDocumentTheXmlDocsOrThePackageReadmeNameExists()
    {
        var library = RepositoryPaths.File("src", "JitVm");
        var named = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            foreach (var line in File.ReadLines(file).Where(l => l.TrimStart().StartsWith("///", StringComparison.Ordinal)))
                foreach (Match match in SpecReference().Matches(line)) named.Add(match.Value);
        foreach (Match match in SpecReference().Matches(File.ReadAllText(Path.Combine(library, "PACKAGE.md")))) named.Add(match.Value);
        Assert.NotEmpty(named);
        Assert.Equal([], named.Where(reference => !File.Exists(RepositoryPaths.File(reference.Split('/')))).ToArray());
    }

    [Fact]
    public void ThePackageReadmeLinksOnlyToWhatThePackageCarries()
    {
        var text = File.ReadAllText(RepositoryPaths.File("src", "JitVm", "PACKAGE.md"));
        // Markdown links and images: the package has no examples/, tests/ or src/ folder to point into.
        var relative = MarkdownLink().Matches(text).Select(m => m.Groups["target"].Value)
            .Where(target => !target.StartsWith("http", StringComparison.Ordinal) && !target.StartsWith('#'));
        Assert.Equal([], relative.Where(target => !target.StartsWith("spec/", StringComparison.Ordinal)).ToArray());
        Assert.DoesNotMatch(@"(?<![\w/])(examples|tests|src|perf)/", text);
    }

    [GeneratedRegex(@"spec/[a-z-]+\.md")]
    private static partial Regex SpecReference();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)")]
    private static partial Regex MarkdownLink();
}
