using System.Text;
using System.Text.RegularExpressions;
using JitVm.Cli.Repl;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Tests.Repl;

/// <summary>
/// REPL transcripts (Repl/transcripts/*.txt), each fed to a session on every tier. A line <c>&gt; text</c> is typed
/// (<c>&gt;</c> alone types an empty line); a line starting <c>##</c> is a comment; every other line is the output
/// expected, in order, where <c>{...}</c> stands for any text (timings) and <c>$TMP</c> for a fresh temporary folder.
/// The whole output must match: a missing, extra or different line fails the case, naming the line.
/// <c>JITVM_UPDATE_TRANSCRIPTS=1</c> rewrites each file from its interpreter run, every input followed by its output;
/// an output line that an old <c>{...}</c> line at the same place still matches keeps the pattern.
/// </summary>
public sealed class TranscriptTests
{
    public static TheoryData<string, ExecutionTier> Cases()
    {
        var data = new TheoryData<string, ExecutionTier>();
        foreach (var file in Directory.GetFiles(Folder, "*.txt").Order(StringComparer.Ordinal))
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered })
            data.Add(Path.GetFileName(file), tier);
        return data;
    }

    private static string Folder => RepositoryPaths.File("tests", "JitVm.Tests", "Repl", "transcripts");

    [Fact]
    public void ThereAreTranscripts() => Assert.True(Directory.GetFiles(Folder, "*.txt").Length >= 5);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TranscriptMatches(string name, ExecutionTier tier)
    {
        var temp = Directory.CreateTempSubdirectory("jitvm-repl-");
        try
        {
            var lines = File.ReadAllLines(Path.Combine(Folder, name)).Select(l => l.Replace("$TMP", temp.FullName)).ToList();
            var output = new StringWriter { NewLine = "\n" };
            var interleaved = new List<string>();
            var expected = lines.Where(l => !l.StartsWith('>') && !l.StartsWith("##", StringComparison.Ordinal)).ToList();
            using (var session = new ReplSession(output, new ReplSettings { Tier = tier }))
            {
                foreach (var line in lines)
                {
                    if (line.StartsWith("##", StringComparison.Ordinal)) interleaved.Add(line);
                    if (!line.StartsWith('>')) continue;
                    interleaved.Add(line);
                    if (session.QuitRequested) break;
                    var before = output.GetStringBuilder().Length;
                    session.Feed(line.Length > 1 ? line[2..] : "");
                    var said = output.GetStringBuilder().ToString(before, output.GetStringBuilder().Length - before);
                    if (said.Length > 0) interleaved.AddRange(said.TrimEnd('\n').Split('\n'));
                }
            }
            if (Environment.GetEnvironmentVariable("JITVM_UPDATE_TRANSCRIPTS") == "1" && tier == ExecutionTier.Interpreter)
            {
                var outputs = 0;
                for (var i = 0; i < interleaved.Count; i++)
                {
                    if (interleaved[i].StartsWith('>') || interleaved[i].StartsWith("##", StringComparison.Ordinal)) continue;
                    if (outputs < expected.Count && expected[outputs].Contains("{...}", StringComparison.Ordinal) && Matches(expected[outputs], interleaved[i]))
                        interleaved[i] = expected[outputs];
                    outputs++;
                }
                File.WriteAllLines(Path.Combine(Folder, name), interleaved.Select(l => l.Replace(temp.FullName, "$TMP")));
                return;
            }
            var actual = output.ToString().TrimEnd('\n').Split('\n').ToList();
            if (actual is [""]) actual.Clear();
            for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
            {
                var want = i < expected.Count ? expected[i] : null;
                var got = i < actual.Count ? actual[i] : null;
                if (want is not null && got is not null && Matches(want, got)) continue;
                Assert.Fail($"{name} on {tier}: output line {i + 1} differs\n expected: {want ?? "(end of output)"}\n found:    {got ?? "(end of output)"}\n\nwhole output:\n{output}");
            }
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    private static bool Matches(string pattern, string line)
    {
        if (!pattern.Contains("{...}", StringComparison.Ordinal)) return pattern == line;
        var regex = new StringBuilder("^");
        foreach (var (part, i) in pattern.Split("{...}").Select((p, i) => (p, i)))
        {
            if (i > 0) regex.Append(".*");
            regex.Append(Regex.Escape(part));
        }
        return Regex.IsMatch(line, regex.Append('$').ToString());
    }
}
