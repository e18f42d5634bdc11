// The mutation fuzzers' driver: runs many mutants in one process and reports. The tests run it as a child process
// (tests/JitVm.Tests/Fuzz/MutationFuzzTests.cs), so a mutant that kills the process (a .NET stack overflow, a fail
// fast) is seen as a failed test, not as a crashed test run.
//
//     dotnet tests/JitVm.FuzzDriver/bin/Debug/net10.0/JitVm.FuzzDriver.dll bytes|tokens
//         [--cases N] [--seed S] [--first K] [--corpus DIR]... [--save DIR] [--hang-seconds N]
//     dotnet .../JitVm.FuzzDriver.dll replay --corpus DIR...
//
// bytes and tokens mutate the .jvm seeds found below the --corpus folders; replay runs every .jvm and .jvmb file
// directly in the folders unmutated through the same oracle (the saved mutants of earlier findings).
// Case k (K <= k < K + N) mutates seed file k mod (number of seeds) with the random stream of (S, k), so
// `--first k --cases 1 --seed S` reproduces one case exactly, and `--save DIR` writes each finding's mutant there.
// Before each case the driver writes "case k" to stderr: when the process dies, the last such line names the case.
// Exit codes: 0 no findings, 1 findings (listed on stdout), 2 bad arguments, 3 a case ran longer than
// --hang-seconds (default 300; a safety net for a hang, far above what any case needs).

using System.Globalization;
using JitVm.Diagnostics;
using JitVm.FuzzDriver;

var arguments = new Queue<string>(args);
if (arguments.Count == 0 || arguments.Peek() is not ("bytes" or "tokens" or "replay")) return Usage("the first argument must be 'bytes', 'tokens' or 'replay'");
var mode = arguments.Dequeue();
long cases = 1000;
long first = 0;
var seed = 1;
var hangSeconds = 300;
string? save = null;
var folders = new List<string>();
while (arguments.Count > 0)
{
    var option = arguments.Dequeue();
    if (arguments.Count == 0) return Usage($"{option} needs a value");
    var value = arguments.Dequeue();
    var parsed = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number);
    switch (option)
    {
        case "--cases" when parsed && number >= 0: cases = number; break;
        case "--first" when parsed && number >= 0: first = number; break;
        case "--seed" when parsed && number is >= int.MinValue and <= int.MaxValue: seed = (int)number; break;
        case "--hang-seconds" when parsed && number is > 0 and <= int.MaxValue: hangSeconds = (int)number; break;
        case "--save": save = value; break;
        case "--corpus": folders.Add(value); break;
        default: return Usage($"bad option or value: {option} {value}");
    }
}
if (folders.Count == 0) return Usage("give at least one --corpus folder");
if (mode == "replay") return Replay(folders);

var corpus = Corpus.Load(folders);
var tokens = new TokenMutator(corpus.Sources.Select(s => s.Text));
var binaries = corpus.Binaries.Select(b => b.Bytes).ToList();
var seedCount = mode == "bytes" ? corpus.Binaries.Count : corpus.Sources.Count;
if (seedCount == 0) return Usage("the corpus folders hold no usable seed");
if (save is not null) Directory.CreateDirectory(save);

var tally = new SortedDictionary<string, long>(StringComparer.Ordinal);
var findings = new List<string>();
var running = -1L;
var started = Environment.TickCount64;
using var watchdog = new Timer(_ =>
{
    var current = Interlocked.Read(ref running);
    if (current >= 0 && Environment.TickCount64 - Interlocked.Read(ref started) > hangSeconds * 1000L)
    {
        Console.Out.WriteLine($"FINDING case {current}: still running after {hangSeconds} s (a hang); reproduce with --first {current} --cases 1 --seed {seed}");
        Console.Out.Flush();
        Environment.Exit(3);
    }
}, null, 1000, 1000);

for (var k = first; k < first + cases; k++)
{
    var random = new Random(CaseSeed(seed, k));
    var index = (int)(k % seedCount);
    Console.Error.WriteLine(Environment.GetEnvironmentVariable("JITVM_FUZZ_TRACE") == "1" ? $"case {k} ({(mode == "bytes" ? corpus.Binaries[index].Name : corpus.Sources[index].Name)})" : $"case {k}");
    Interlocked.Exchange(ref started, Environment.TickCount64);
    Interlocked.Exchange(ref running, k);
    string seedName;
    byte[] mutant;
    Func<JitVm.Hosting.Module> load;
    if (mode == "bytes")
    {
        seedName = corpus.Binaries[index].Name;
        var bytes = ByteMutator.Mutate(corpus.Binaries[index].Bytes, binaries, random);
        mutant = bytes;
        load = () => JitVm.Hosting.Module.FromBinary(bytes, "mutant.jvmb");
    }
    else
    {
        seedName = corpus.Sources[index].Name;
        var text = tokens.Mutate(corpus.Sources[index].Text, random);
        mutant = System.Text.Encoding.UTF8.GetBytes(text);
        load = () => JitVm.Hosting.Module.FromText(text, "mutant.jvm");
    }
    if (Environment.GetEnvironmentVariable("JITVM_FUZZ_TRACE") == "1") File.WriteAllBytes(Path.Combine(Path.GetTempPath(), $"jitvm-fuzz-case-{k}"), mutant);
    var result = Oracle.Check(load, (int)(k % int.MaxValue), random);
    Interlocked.Exchange(ref running, -1);
    var key = result.Trap is { } code ? $"trapped {code}" : result.Verdict.ToString();
    tally[key] = tally.GetValueOrDefault(key) + 1;
    if (result.Verdict != Verdict.Finding) continue;
    var line = $"FINDING case {k} (seed file {seedName}; reproduce with {mode} --seed {seed} --first {k} --cases 1): {result.Problem}";
    if (save is not null)
    {
        var path = Path.Combine(save, $"{mode}-seed{seed}-case{k}{(mode == "bytes" ? ".jvmb" : ".jvm")}");
        File.WriteAllBytes(path, mutant);
        line += $" [saved as {path}]";
    }
    findings.Add(line);
}

Console.Out.WriteLine($"jitvm fuzz {mode}: seed {seed}, cases {first}..{first + cases - 1}, {seedCount} seed modules " +
                      $"({corpus.Sources.Count} sources, {corpus.NotLoading} of them do not load), fuel {Oracle.Fuel}, " +
                      $"max heap {Oracle.MaxHeapBytes} bytes, max depth {Oracle.MaxCallDepth}");
foreach (var (outcome, count) in tally) Console.Out.WriteLine($"  {outcome}: {count}");
Console.Out.WriteLine($"findings: {findings.Count}");
foreach (var finding in findings) Console.Out.WriteLine(finding);
return findings.Count == 0 ? 0 : 1;

// Runs every .jvm and .jvmb file of the folders, unmutated, through the oracle: the regression mutants.
static int Replay(List<string> folders)
{
    var files = folders.SelectMany(folder => Directory.EnumerateFiles(folder))
        .Where(f => f.EndsWith(".jvm", StringComparison.Ordinal) || f.EndsWith(".jvmb", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal).ToList();
    var findings = new List<string>();
    var tally = new SortedDictionary<string, long>(StringComparer.Ordinal);
    for (var k = 0; k < files.Count; k++)
    {
        var file = files[k];
        Console.Error.WriteLine($"case {k} {file}");
        Func<JitVm.Hosting.Module> load = file.EndsWith(".jvmb", StringComparison.Ordinal)
            ? () => JitVm.Hosting.Module.FromBinary(File.ReadAllBytes(file), Path.GetFileName(file))
            : () => JitVm.Hosting.Module.FromText(File.ReadAllText(file), Path.GetFileName(file));
        var result = Oracle.Check(load, k, new Random(k));
        var key = result.Trap is { } code ? $"trapped {code}" : result.Verdict.ToString();
        tally[key] = tally.GetValueOrDefault(key) + 1;
        if (result.Verdict == Verdict.Finding) findings.Add($"FINDING {file}: {result.Problem}");
    }
    Console.Out.WriteLine($"jitvm fuzz replay: {files.Count} files");
    foreach (var (outcome, count) in tally) Console.Out.WriteLine($"  {outcome}: {count}");
    Console.Out.WriteLine($"findings: {findings.Count}");
    foreach (var finding in findings) Console.Out.WriteLine(finding);
    return findings.Count == 0 ? 0 : 1;
}

static int CaseSeed(int seed, long k)
{
    // SplitMix64 of (seed, k): neighbouring cases get unrelated streams.
    var z = unchecked(((ulong)(uint)seed << 32) ^ (ulong)k) + 0x9E3779B97F4A7C15UL;
    z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
    z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
    return (int)(z ^ (z >> 31));
}

static int Usage(string problem)
{
    Console.Error.WriteLine($"JitVm.FuzzDriver: {problem}");
    Console.Error.WriteLine("usage: JitVm.FuzzDriver bytes|tokens|replay [--cases N] [--seed S] [--first K] --corpus DIR... [--save DIR] [--hang-seconds N]");
    return 2;
}
