using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.FuzzDriver;

/// <summary>
/// The seeds the fuzzers mutate: every <c>.jvm</c> file under the corpus folders (the examples and the conformance
/// cases), as text for the token fuzzer, and as binaries (assembled through the library) for those that load.
/// </summary>
public sealed class Corpus
{
    private Corpus(List<(string Name, string Text)> sources, List<(string Name, byte[] Bytes)> binaries, int notLoading)
    {
        Sources = sources;
        Binaries = binaries;
        NotLoading = notLoading;
    }

    /// <summary>Every seed source, in ordinal order of its path.</summary>
    public IReadOnlyList<(string Name, string Text)> Sources { get; }

    /// <summary>The binary form of every seed source that assembles and verifies.</summary>
    public IReadOnlyList<(string Name, byte[] Bytes)> Binaries { get; }

    /// <summary>How many sources do not load (format and verification cases); they seed only the token fuzzer.</summary>
    public int NotLoading { get; }

    /// <summary>Reads every <c>.jvm</c> file below the folders, in a fixed order so a seed always means the same cases.</summary>
    public static Corpus Load(IEnumerable<string> folders)
    {
        var sources = new List<(string Name, string Text)>();
        var binaries = new List<(string, byte[])>();
        var notLoading = 0;
        foreach (var folder in folders)
        {
            var root = Path.GetFullPath(folder);
            foreach (var file in Directory.EnumerateFiles(root, "*.jvm", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(root) + "/" + Path.GetRelativePath(root, file).Replace('\\', '/');
                var text = File.ReadAllText(file);
                sources.Add((name, text));
                try
                {
                    binaries.Add((name, Module.FromText(text, Path.GetFileName(file)).ToBinary()));
                }
                catch (JitVmException)
                {
                    notLoading++;
                }
            }
        }
        return new Corpus(sources, binaries, notLoading);
    }
}
