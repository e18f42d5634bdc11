using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>
/// A function's protected ranges as a tree (spec/exceptions.md §3): each distinct [start, end) of its handler table
/// is one region, with the handler entries for it in table order; regions nest properly, so each has one parent
/// (-1 for the function's top level). Both tiers read it: the interpreter to find a handler, the JIT to open a CIL
/// try block per region.
/// </summary>
internal sealed class HandlerRegions
{
    /// <summary>Regions ordered by start, outer before inner at the same start (the order CIL try blocks open in).</summary>
    public required (int Start, int End, int Parent, int[] Entries)[] Regions { get; init; }

    /// <summary>For each pc, the innermost region holding the instruction there, or -1.</summary>
    public required int[] InnermostAt { get; init; }

    private int[] _preorder = [];
    private int[] _last = [];

    /// <summary>No handler table: every pc is at the top level.</summary>
    public static HandlerRegions None(int codeLength)
    {
        var innermost = new int[codeLength];
        Array.Fill(innermost, -1);
        return new HandlerRegions { Regions = [], InnermostAt = innermost };
    }

    /// <summary>True when the function has a handler table.</summary>
    public bool Any => Regions.Length > 0;

    /// <summary>The region a label at <paramref name="pc"/> belongs to: the innermost region holding it other than at
    /// its first instruction (a region's first instruction is where it is entered, so a label there is outside it).</summary>
    public int LabelContext(int pc)
    {
        var region = InnermostAt[pc];
        while (region >= 0 && Regions[region].Start == pc) region = Regions[region].Parent;
        return region;
    }

    /// <summary>True when <paramref name="outer"/> is <paramref name="inner"/> or contains it (-1 is the top level, which contains every region).</summary>
    public bool Contains(int outer, int inner) =>
        outer < 0 || (inner >= 0 && _preorder[outer] <= _preorder[inner] && _preorder[inner] <= _last[outer]);

    /// <summary>Builds the tree from a handler table whose entries are in range (0 &lt;= start &lt; end &lt;= length);
    /// null with the two offending entries when two ranges overlap without one containing the other.</summary>
    public static (HandlerRegions? Regions, int First, int Second) Build(IReadOnlyList<HandlerDefinition> handlers, int codeLength)
    {
        var byRange = new Dictionary<(int, int), List<int>>();
        for (var k = 0; k < handlers.Count; k++)
        {
            var key = (handlers[k].Start, handlers[k].End);
            if (!byRange.TryGetValue(key, out var list)) byRange[key] = list = [];
            list.Add(k);
        }
        var ranges = byRange.Keys.OrderBy(r => r.Item1).ThenByDescending(r => r.Item2).ToArray();
        var regions = new (int Start, int End, int Parent, int[] Entries)[ranges.Length];
        var open = new Stack<int>();
        for (var i = 0; i < ranges.Length; i++)
        {
            var (start, end) = ranges[i];
            while (open.Count > 0 && regions[open.Peek()].End <= start) open.Pop();
            var parent = open.Count > 0 ? open.Peek() : -1;
            if (parent >= 0 && end > regions[parent].End)
                return (null, byRange[ranges[parent]][0], byRange[(start, end)][0]);
            regions[i] = (start, end, parent, [.. byRange[(start, end)]]);
            open.Push(i);
        }
        // Preorder numbers and the last descendant of each region make "contains" a constant-time test.
        // Sorted by start, outer first, the regions are in preorder of the tree.
        var preorder = new int[regions.Length];
        var last = new int[regions.Length];
        for (var i = 0; i < regions.Length; i++) preorder[i] = i;
        for (var i = regions.Length - 1; i >= 0; i--)
        {
            last[i] = Math.Max(last[i], i);
            if (regions[i].Parent >= 0) last[regions[i].Parent] = Math.Max(last[regions[i].Parent], last[i]);
        }
        // One sweep: the open regions form a stack whose top is the innermost.
        var innermost = new int[codeLength];
        open.Clear();
        var next = 0;
        for (var pc = 0; pc < codeLength; pc++)
        {
            while (open.Count > 0 && regions[open.Peek()].End <= pc) open.Pop();
            while (next < regions.Length && regions[next].Start == pc) open.Push(next++);
            innermost[pc] = open.Count > 0 ? open.Peek() : -1;
        }
        return (new HandlerRegions { Regions = regions, InnermostAt = innermost, _preorder = preorder, _last = last }, -1, -1);
    }
}
