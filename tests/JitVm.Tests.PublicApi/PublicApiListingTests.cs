using PublicApiGenerator;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>
/// The library's whole public surface, every type and member with its signature, is listed in
/// src/JitVm/PublicAPI.txt: the public API changes only on purpose, and a change shows in review as a diff of that
/// file. When the surface changes deliberately, run this test with JITVM_UPDATE_API=1 to rewrite the listing.
/// </summary>
public sealed class PublicApiListingTests
{
    private static readonly string ListingPath = RepositoryPaths.File("src", "JitVm", "PublicAPI.txt");

    [Fact]
    public void ThePublicSurfaceIsTheListedOne()
    {
        var actual = Normalise(typeof(JitVm.Hosting.Isolate).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // Attributes that only describe the build, not the API a user calls.
            ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"],
        }));
        if (Environment.GetEnvironmentVariable("JITVM_UPDATE_API") == "1") File.WriteAllText(ListingPath, actual);
        var listed = File.Exists(ListingPath) ? Normalise(File.ReadAllText(ListingPath)) : "";
        if (listed == actual) return;
        var listedLines = listed.Split('\n');
        var actualLines = actual.Split('\n');
        var added = actualLines.Except(listedLines).Take(20);
        var removed = listedLines.Except(actualLines).Take(20);
        Assert.Fail($"the public API differs from {ListingPath}; if the change is deliberate, rerun with JITVM_UPDATE_API=1 and commit the listing.\n" +
            $"added:\n  {string.Join("\n  ", added)}\nremoved:\n  {string.Join("\n  ", removed)}");
    }

    private static string Normalise(string text) => text.ReplaceLineEndings("\n").TrimEnd() + "\n";
}
