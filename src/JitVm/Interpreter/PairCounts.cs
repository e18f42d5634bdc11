#if JITVM_COUNT_PAIRS
using System.Text;

namespace JitVm.Interpreter;

/// <summary>
/// A measuring build's counts of dispatched operations and of consecutive pairs of them, the data the decoder's
/// fused forms are chosen from. Only a build with <c>-p:DefineConstants=JITVM_COUNT_PAIRS</c> has it; the counts are
/// process-wide and unsynchronised (one thread is what it measures), and are written to standard error at exit,
/// the most frequent first.
/// </summary>
internal static class PairCounts
{
    private const int Kinds = 256;
    private static readonly long[] Singles = new long[Kinds];
    private static readonly long[] Pairs = new long[Kinds * Kinds];
    private static int _previous;

    static PairCounts() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Console.Error.Write(Report());

    /// <summary>Counts one dispatch of <paramref name="kind"/>, and the pair it makes with the dispatch before it.</summary>
    public static void Record(OpKind kind)
    {
        var current = (int)kind;
        Singles[current]++;
        Pairs[_previous * Kinds + current]++;
        _previous = current;
    }

    private static string Report()
    {
        var total = Singles.Sum();
        var text = new StringBuilder($"dispatches: {total}\n");
        foreach (var (kind, count) in Singles.Select((c, k) => (k, c)).Where(e => e.c > 0).OrderByDescending(e => e.c).Take(30))
            text.Append($"  {(OpKind)kind,-16} {count,14} {100.0 * count / total,6:F2}%\n");
        text.Append("pairs:\n");
        foreach (var (pair, count) in Pairs.Select((c, p) => (p, c)).Where(e => e.c > 0).OrderByDescending(e => e.c).Take(40))
            text.Append($"  {(OpKind)(pair / Kinds),-16} {(OpKind)(pair % Kinds),-16} {count,14} {100.0 * count / total,6:F2}%\n");
        return text.ToString();
    }
}
#endif
