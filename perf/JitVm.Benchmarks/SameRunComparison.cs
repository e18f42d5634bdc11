using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.ConsoleArguments;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// <c>--baseline DIR</c>: one BenchmarkDotNet run measures two builds of the library. Every benchmark case of the
/// selected classes runs in two jobs that differ only in their build: <c>current</c> (this tree, as without the
/// option) and <c>baseline</c> (built with <c>/p:JitVmSource=DIR</c>, so the benchmark project references DIR's
/// library; BenchmarkDotNet builds every distinct job separately). The benchmark code itself is this tree's in both,
/// so it must compile against both libraries.
/// </summary>
/// <remarks>
/// Ratios stay per job: the C# method of each class is the descriptor baseline and no job is marked as a baseline,
/// so BenchmarkDotNet groups by job and every VM row is divided by the C# row measured in its own process. The
/// <c>JitVm build</c> column shows the library that the benchmark process really loaded (printed by that process
/// at start-up, see <see cref="LibraryUnderTest"/>), so a baseline job that silently ran the current library shows.
/// </remarks>
internal static class SameRunComparison
{
    public const string CurrentId = "current";
    public const string BaselineId = "baseline";

    /// <summary>
    /// Benchmark classes left out of the build against another tree (JitVm.Benchmarks.csproj removes the files that
    /// use internal members then), so there is nothing to compare them with. By name: the type is absent there.
    /// </summary>
    private static readonly string[] InternalOnly = ["CompileThroughputBenchmark"];

    /// <summary>Runs the benchmarks selected by <paramref name="args"/> (which must contain --filter) in both builds.</summary>
    public static int Run(string[] args, string baselineDirectory, IConfig config)
    {
        var baseline = Path.TrimEndingDirectorySeparator(Path.GetFullPath(baselineDirectory));
        if (!File.Exists(Path.Combine(baseline, "src", "JitVm", "JitVm.csproj")))
        {
            Console.Error.WriteLine($"--baseline: '{baseline}' is not a JitVm checkout (no src/JitVm/JitVm.csproj in it).");
            return 2;
        }

        if (!args.Any(a => a is "--filter" or "-f"))
        {
            Console.Error.WriteLine("--baseline needs --filter (which benchmarks to compare), e.g. --filter '*FibBenchmark*'.");
            return 2;
        }

        // As BenchmarkSwitcher does: the parsed config holds only what the command line sets. Two builds in parallel on
        // a loaded 2-core machine can exceed BenchmarkDotNet's default 2-minute build timeout (it then retries them
        // one by one), hence the longer one.
        var globalConfig = config
            .AddColumn(LibraryColumn.Instance)
            .WithOrderer(InterleavedOrderer.Instance)
            .WithBuildTimeout(TimeSpan.FromMinutes(10));
        var (isSuccess, parsedConfig, _) = ConfigParser.Parse(args, ConsoleLogger.Default, globalConfig);
        if (!isSuccess) return 2;
        var effectiveConfig = ManualConfig.Union(globalConfig, parsedConfig);

        Console.WriteLine($"// Same-run comparison: '{CurrentId}' = library of this tree, '{BaselineId}' = library of {baseline} ({GitCommit(baseline) ?? "no git commit"})");
        var runs = new List<BenchmarkRunInfo>();
        foreach (var type in BenchmarkTypes())
        {
            var info = BenchmarkConverter.TypeToBenchmarks(type, effectiveConfig);
            if (info.BenchmarksCases.Length == 0) continue;
            if (InternalOnly.Contains(type.Name))
            {
                Console.WriteLine($"// {type.Name} is not compared: it measures internal members, which the baseline build leaves out.");
                continue;
            }

            var cases = info.BenchmarksCases
                .SelectMany(c => new[]
                {
                    BenchmarkCase.Create(c.Descriptor, Rename(c.Job, CurrentId), c.Parameters, c.Config),
                    BenchmarkCase.Create(c.Descriptor, Rename(c.Job, BaselineId).WithArguments([new MsBuildArgument($"/p:JitVmSource={baseline}")]), c.Parameters, c.Config),
                })
                .ToArray();
            runs.Add(new BenchmarkRunInfo(cases, type, info.Config));
        }

        if (runs.Count == 0)
        {
            Console.Error.WriteLine("--baseline: the filter selects no benchmark.");
            return 2;
        }

        var summaries = BenchmarkRunner.Run([.. runs]);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    /// <summary>
    /// Keeps a job's own name visible (e.g. ShortRun from --job short becomes baseline-ShortRun). The ids BenchmarkDotNet
    /// makes up ("Job-XXXXXX" for the classes' [SimpleJob]s, "IterationCount=2, WarmupCount=1" when command-line
    /// options change a job) are dropped: they say nothing the Job column does not, and with --keepFiles the id
    /// names the build directory, where commas and spaces break the build.
    /// </summary>
    private static Job Rename(Job job, string prefix)
    {
        var id = job.Id;
        var named = id != "Default" && !id.StartsWith("Job-", StringComparison.Ordinal) && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
        return job.WithId(named ? $"{prefix}-{id}" : prefix);
    }

    private static IEnumerable<Type> BenchmarkTypes() =>
        typeof(SameRunComparison).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && !t.IsGenericTypeDefinition)
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            .OrderBy(t => t.Name, StringComparer.Ordinal);

    /// <summary>The commit checked out in <paramref name="directory"/>, or null when it is not a git tree.</summary>
    private static string? GitCommit(string directory)
    {
        try
        {
            using var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", ["-C", directory, "rev-parse", "--short", "HEAD"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (git is null) return null;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs each benchmark case's two builds one right after the other (current, then baseline), so that a change
    /// of machine load during the run hits both builds of a method about equally; BenchmarkDotNet's own order
    /// would run all of one job's cases first. The summary order and grouping are BenchmarkDotNet's.
    /// </summary>
    private sealed class InterleavedOrderer : IOrderer
    {
        public static readonly InterleavedOrderer Instance = new();

        private static readonly IOrderer Default = DefaultOrderer.Instance;

        public bool SeparateLogicalGroups => Default.SeparateLogicalGroups;

        public IEnumerable<BenchmarkCase> GetExecutionOrder(ImmutableArray<BenchmarkCase> benchmarksCase, IEnumerable<BenchmarkLogicalGroupRule>? order = null) =>
            Default.GetExecutionOrder(benchmarksCase, order)
                .Select((c, index) => (Case: c, Index: index))
                .GroupBy(x => (x.Case.Descriptor.WorkloadMethod.Name, x.Case.Parameters.DisplayInfo, BaseId(x.Case.Job.Id)))
                .OrderBy(g => g.Min(x => x.Index))
                .SelectMany(g => g.OrderBy(x => x.Case.Job.Id.StartsWith(BaselineId, StringComparison.Ordinal) ? 1 : 0).Select(x => x.Case));

        public IEnumerable<BenchmarkCase> GetSummaryOrder(ImmutableArray<BenchmarkCase> benchmarksCases, Summary summary) =>
            Default.GetSummaryOrder(benchmarksCases, summary);

        public string? GetHighlightGroupKey(BenchmarkCase benchmarkCase) => Default.GetHighlightGroupKey(benchmarkCase);

        public string GetLogicalGroupKey(ImmutableArray<BenchmarkCase> allBenchmarksCases, BenchmarkCase benchmarkCase) =>
            Default.GetLogicalGroupKey(allBenchmarksCases, benchmarkCase) ?? string.Empty;

        public IEnumerable<IGrouping<string, BenchmarkCase>> GetLogicalGroupOrder(IEnumerable<IGrouping<string, BenchmarkCase>> logicalGroups, IEnumerable<BenchmarkLogicalGroupRule>? order = null) =>
            Default.GetLogicalGroupOrder(logicalGroups, order);

        private static string BaseId(string id) =>
            id.StartsWith(BaselineId, StringComparison.Ordinal) ? id[BaselineId.Length..] : id.StartsWith(CurrentId, StringComparison.Ordinal) ? id[CurrentId.Length..] : id;
    }

    /// <summary>The <c>JitVm build</c> column: the library line the benchmark's own process printed (see <see cref="LibraryUnderTest"/>).</summary>
    private sealed class LibraryColumn : IColumn
    {
        public static readonly LibraryColumn Instance = new();

        public string Id => nameof(LibraryColumn);

        public string ColumnName => "JitVm build";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Job;

        public int PriorityInCategory => 100;

        public bool IsNumeric => false;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "InformationalVersion (version+commit) of the JitVm assembly loaded by the benchmark process";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            summary[benchmarkCase]?.ExecuteResults
                .SelectMany(r => r.StandardOutput)
                .Select(LibraryUnderTest.Parse)
                .FirstOrDefault(v => v is not null) ?? "?";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public override string ToString() => ColumnName;
    }
}

/// <summary>
/// Prints which JitVm assembly a benchmark process loaded (its InformationalVersion, which the SDK stamps with the
/// commit the library was built from, and its file path), once, when the benchmark assembly is first used. Only in
/// the processes BenchmarkDotNet launches to run benchmarks (whose entry assembly is the generated one), so the
/// line is in the log of every benchmark and in <c>ExecuteResult.StandardOutput</c> for the JitVm build column.
/// </summary>
internal static class LibraryUnderTest
{
    private const string Prefix = "// JitVm under test: ";

    [ModuleInitializer]
    internal static void Print()
    {
        if (Assembly.GetEntryAssembly() == typeof(LibraryUnderTest).Assembly) return;
        var library = typeof(Isolate).Assembly;
        var version = library.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "(no version)";
        Console.WriteLine($"{Prefix}{version} at {library.Location}");
    }

    /// <summary>The version part of a line printed by <see cref="Print"/>, shortened to 7 hex digits of commit; null for other lines.</summary>
    public static string? Parse(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var version = line[Prefix.Length..];
        var end = version.IndexOf(" at ", StringComparison.Ordinal);
        if (end >= 0) version = version[..end];
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 && version.Length > plus + 8 ? version[..(plus + 8)] : version;
    }
}
