namespace JitVm.Cli.Compare;

/// <summary>How a configuration is run: the VM's own tiers, a saved assembly made by <c>jitvm aot</c> first, or a
/// separate host executable.</summary>
internal enum ConfigurationKind
{
    /// <summary><c>jitvm run FILE --tier T</c>.</summary>
    Tier,

    /// <summary><c>jitvm aot FILE -o OUT.dll [--r2r]</c>, then <c>jitvm run OUT.dll</c>.</summary>
    SavedAssembly,

    /// <summary>The NativeAOT-published host, <c>nativeaot-host FILE --entry NAME ARGS</c>.</summary>
    NativeAotHost,
}

/// <summary>
/// One way to run the entry (spec/execution.md §10.3). The list is fixed and ordered: the first configuration that
/// runs is the reference the others must agree with, so the interpreter, the simplest tier, comes first.
/// </summary>
/// <param name="Id">The name used in <c>--only</c>, the JSON and the chart.</param>
/// <param name="Title">The name shown in the table.</param>
/// <param name="Tier">For <see cref="ConfigurationKind.Tier"/>, the <c>--tier</c> value.</param>
/// <param name="ReadyToRun">For <see cref="ConfigurationKind.SavedAssembly"/>, whether <c>aot</c> is given <c>--r2r</c>.</param>
internal sealed record Configuration(string Id, string Title, ConfigurationKind Kind, string? Tier = null, bool ReadyToRun = false)
{
    public static IReadOnlyList<Configuration> All { get; } =
    [
        new("interpreter", "interpreter", ConfigurationKind.Tier, Tier: "interpreter"),
        new("jit", "JIT (eager)", ConfigurationKind.Tier, Tier: "jit"),
        new("tiered", "tiered", ConfigurationKind.Tier, Tier: "tiered"),
        new("saved", "saved assembly (CLR JIT)", ConfigurationKind.SavedAssembly),
        new("saved-r2r", "saved assembly + ReadyToRun", ConfigurationKind.SavedAssembly, ReadyToRun: true),
        new("nativeaot", "NativeAOT host", ConfigurationKind.NativeAotHost),
    ];

    /// <summary>Where <c>compare</c> looks for the NativeAOT host unless <c>--nativeaot-host</c> says otherwise
    /// (relative to the current directory: the repository root, where <c>dotnet publish</c> of
    /// examples/nativeaot-host puts it).</summary>
    public const string DefaultNativeAotHost = "examples/nativeaot-host/bin/publish/nativeaot-host";
}
