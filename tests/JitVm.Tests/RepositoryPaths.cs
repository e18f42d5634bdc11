namespace JitVm.Tests;

/// <summary>Finds files of the repository (spec/, examples/) from the test binaries' location.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "JitVm.sln"))) return directory.FullName;
        throw new InvalidOperationException("cannot find the repository root (JitVm.sln) above " + AppContext.BaseDirectory);
    }
}
