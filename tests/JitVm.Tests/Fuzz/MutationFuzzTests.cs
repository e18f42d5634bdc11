// Mutation fuzzing of the loader, verifier and every tier (tests/JitVm.FuzzDriver holds the mutation engine and the
// oracle). The seeds are every example and every conformance case: the binaries of those that load for the byte
// fuzzer, every source for the token fuzzer. The driver runs in a child process, so a mutant that kills the process
// (a .NET stack overflow, a fail-fast) fails the test with the case that did it instead of crashing the test run.
//
// Oracle: each mutant is rejected with a format, verification or link error, or runs on the interpreter, jit and
// tiered tiers (and by turns, one case in four each: jit under GC stress with heap verification, jit under
// deoptimisation stress at every safepoint, tiered under it, jit under both) with fuel 10,000, a 256 KiB heap
// and a call depth of 200, to completion or to a VM trap, and all tiers agree on results, trap, output and fuel used.
// Any other exception, a disagreement, a hang or the death of the process is a finding.
//
// CI runs 50,000 cases of each kind from seed 1 (a few seconds each). Run 1,000,000 (or any number, from any seed) with
//
//     JITVM_FUZZ_CASES=1000000 JITVM_FUZZ_SEED=7 dotnet test tests/JitVm.Tests --filter MutationFuzz
//
// and reproduce one case k of a report with
//
//     dotnet tests/JitVm.Tests/bin/Debug/net10.0/JitVm.FuzzDriver.dll bytes --seed 7 --first k --cases 1 \
//         --corpus examples --corpus tests/JitVm.Conformance/cases --save /tmp/findings
//
// which writes the mutant to /tmp/findings (`JitVm.FuzzDriver.dll replay --corpus /tmp/findings` runs saved mutants
// through the oracle again). Every finding becomes a regression file: a text case under
// tests/JitVm.Conformance/cases/regression/, named after what it shows, which then runs on every tier and also
// seeds these fuzzers.

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using JitVm.FuzzDriver;
using Xunit;
using Xunit.Abstractions;

namespace JitVm.Tests.Fuzz;

public sealed partial class MutationFuzzTests(ITestOutputHelper output)
{
    private const int DefaultCases = 50_000;

    private static readonly string[] SeedFolders =
    [
        RepositoryPaths.File("examples"),
        RepositoryPaths.File("tests", "JitVm.Conformance", "cases"),
    ];

    private readonly ITestOutputHelper _output = output;

    [Fact]
    public void MutatedBinariesAreRejectedOrRunWithOnlyVmTraps() => Fuzz("bytes");

    [Fact]
    public void MutatedSourcesAreRejectedOrRunWithOnlyVmTraps() => Fuzz("tokens");

    [Fact]
    public void MutationsDependOnlyOnTheirSeed()
    {
        var corpus = Corpus.Load(SeedFolders);
        var binaries = corpus.Binaries.Select(b => b.Bytes).ToList();
        var tokens = new TokenMutator(corpus.Sources.Select(s => s.Text));
        for (var k = 0; k < 50; k++)
        {
            var binary = corpus.Binaries[k % binaries.Count].Bytes;
            Assert.Equal(ByteMutator.Mutate(binary, binaries, new Random(k)), ByteMutator.Mutate(binary, binaries, new Random(k)));
            var source = corpus.Sources[k % corpus.Sources.Count].Text;
            Assert.Equal(tokens.Mutate(source, new Random(k)), tokens.Mutate(source, new Random(k)));
        }
    }

    private void Fuzz(string mode)
    {
        var cases = EnvironmentLong("JITVM_FUZZ_CASES", DefaultCases);
        var seed = EnvironmentLong("JITVM_FUZZ_SEED", 1);
        List<string> arguments = [mode, "--cases", cases.ToString(CultureInfo.InvariantCulture), "--seed", seed.ToString(CultureInfo.InvariantCulture)];
        foreach (var folder in SeedFolders) arguments.AddRange(["--corpus", folder]);
        var report = RunDriver(arguments);
        _output.WriteLine(report.Stdout);
        var command = $"dotnet {typeof(Corpus).Assembly.Location} {string.Join(' ', arguments)}";

        Assert.True(report.ExitCode == 0, report.Describe($"{command} (add --save DIR to keep the findings' mutants)"));
        Assert.Equal(cases, report.Cases);
        // The oracle is only worth something if mutants get past the loader: some must run on every tier and some
        // must trap, or the fuzzer has silently stopped testing execution.
        Assert.True(report.Count("Completed") > 0 && report.Trapped > 0, report.Describe("no mutant ran to completion or trapped"));
    }

    private static long EnvironmentLong(string name, long fallback) =>
        long.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static DriverReport RunDriver(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Corpus).Assembly.Location);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        // The driver names each case on stderr before running it; only the last lines matter (the case it died in).
        var lastErrors = new Queue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lastErrors)
            {
                lastErrors.Enqueue(e.Data);
                if (lastErrors.Count > 20) lastErrors.Dequeue();
            }
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        lock (lastErrors) return new DriverReport(process.ExitCode, stdout, string.Join('\n', lastErrors));
    }

    [GeneratedRegex(@"^  (?<outcome>[A-Za-z ]+): (?<count>\d+)$", RegexOptions.Multiline)]
    private static partial Regex TallyLine();

    /// <summary>What the driver printed: its tally ("  Completed: 12") and findings, and the tail of its stderr.</summary>
    private sealed record DriverReport(int ExitCode, string Stdout, string StderrTail)
    {
        public long Count(string outcome) =>
            TallyLine().Matches(Stdout).Where(m => m.Groups["outcome"].Value == outcome).Sum(m => long.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture));

        public long Trapped =>
            TallyLine().Matches(Stdout).Where(m => m.Groups["outcome"].Value.StartsWith("trapped ", StringComparison.Ordinal)).Sum(m => long.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture));

        public long Cases => TallyLine().Matches(Stdout).Sum(m => long.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture));

        public string Describe(string what) =>
            $"{what}: the driver exited with code {ExitCode} (0: no findings; 1: findings; 2: bad arguments; 3: a hang; anything else: the process died)\n" +
            $"--- stdout:\n{Stdout}\n--- last lines of stderr (the case running when it died is the last 'case k'):\n{StderrTail}";
    }
}
