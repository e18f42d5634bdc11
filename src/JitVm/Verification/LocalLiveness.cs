using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>
/// Which locals are live at each safepoint of a function: read on some path from there before being written
/// (spec/gc.md §4.1). Only live <c>ptr</c> and <c>word</c> locals are frame roots, in every tier, so a pointer left in
/// a local the function never reads again does not keep its object alive; this is the one definition the
/// interpreter's root scan and compiled code's spilling share, so the tiers agree on what is live.
/// </summary>
/// <remarks>
/// A backward union over basic blocks, at the instruction level inside each. Two cases count every local as live
/// at every pc (what the roots were before liveness): a function with exception handlers (an exception can leave
/// from any instruction of a protected range, which this analysis does not model), and a function whose
/// (blocks + safepoints) × ⌈locals / 64⌉ exceed <see cref="MaxStateWords"/> 64-bit words, so that the analysis costs
/// memory and time linear in the function with a bounded factor.
/// </remarks>
internal sealed class LocalLiveness
{
    /// <summary>The largest analysis state, in 64-bit words ((blocks + safepoints) × ⌈locals / 64⌉), before every
    /// local counts as live.</summary>
    public const long MaxStateWords = 1 << 20;

    private static readonly LocalLiveness Everything = new(null);

    /// <summary>For each pc, the live locals on entry when the instruction is a safepoint (null elsewhere); null when
    /// every local is live everywhere.</summary>
    private readonly ulong[]?[]? _liveAt;

    private LocalLiveness(ulong[]?[]? liveAt) => _liveAt = liveAt;

    /// <summary>True when every local counts as live at every pc of the function.</summary>
    public bool AllLive => _liveAt is null;

    /// <summary>True when <paramref name="local"/> is live on entry to the safepoint at <paramref name="pc"/> (also
    /// for a pc that is not a safepoint, or an unreachable one).</summary>
    public bool IsLive(int pc, int local)
    {
        if (_liveAt?[pc] is not { } live) return true;
        return (live[local >> 6] & (1UL << local)) != 0;
    }

    /// <summary>Computes the liveness of <paramref name="analysis"/>'s function.</summary>
    public static LocalLiveness Compute(FunctionAnalysis analysis)
    {
        var code = analysis.Definition.Code;
        var count = code.Length;
        var words = (analysis.LocalTypes.Length + 63) / 64;
        if (analysis.Definition.Handlers.Count > 0 || count == 0) return Everything;

        var blockOf = new int[count];
        var starts = new List<int>();
        for (var pc = 0; pc < count; pc++)
        {
            if (analysis.IsLeader[pc] || pc == 0) starts.Add(pc);
            blockOf[pc] = starts.Count - 1;
        }
        var blocks = starts.Count;
        // A state is kept per block and per safepoint.
        var safepoints = 0;
        foreach (var instruction in code)
            if (instruction.OpCode.Info().IsSafepoint) safepoints++;
        if ((long)(blocks + safepoints) * Math.Max(1, words) > MaxStateWords) return Everything;
        int End(int block) => block + 1 < blocks ? starts[block + 1] : count;

        // Successors by the block's last instruction; predecessors are the reverse.
        var predecessors = new List<int>[blocks];
        var successors = new List<int>[blocks];
        for (var b = 0; b < blocks; b++) successors[b] = [];
        for (var b = 0; b < blocks; b++) predecessors[b] = [];
        for (var b = 0; b < blocks; b++)
        {
            var last = code[End(b) - 1];
            foreach (var target in OpCodeTable.BranchTargets(last)) successors[b].Add(blockOf[target]);
            if (last.OpCode.Info().Flow is FlowKind.Next or FlowKind.ConditionalBranch or FlowKind.Call && End(b) < count)
                successors[b].Add(b + 1);
            foreach (var s in successors[b]) predecessors[s].Add(b);
        }

        var liveIn = new ulong[blocks][];
        for (var b = 0; b < blocks; b++) liveIn[b] = new ulong[words];
        var queued = new bool[blocks];
        var work = new Stack<int>();
        for (var b = 0; b < blocks; b++)
        {
            queued[b] = true;
            work.Push(b);
        }
        var state = new ulong[words];
        while (work.Count > 0)
        {
            var b = work.Pop();
            queued[b] = false;
            Walk(b, record: null);
            var changed = false;
            for (var w = 0; w < words; w++)
                if (state[w] != liveIn[b][w])
                {
                    liveIn[b][w] = state[w];
                    changed = true;
                }
            if (!changed) continue;
            foreach (var p in predecessors[b])
                if (!queued[p])
                {
                    queued[p] = true;
                    work.Push(p);
                }
        }

        var liveAt = new ulong[]?[count];
        for (var b = 0; b < blocks; b++) Walk(b, liveAt);
        return new LocalLiveness(liveAt);

        // Leaves the live-in set of block b in state; records it before each safepoint when asked.
        void Walk(int b, ulong[]?[]? record)
        {
            Array.Clear(state);
            foreach (var s in successors[b])
                for (var w = 0; w < words; w++) state[w] |= liveIn[s][w];
            for (var pc = End(b) - 1; pc >= starts[b]; pc--)
            {
                var instruction = code[pc];
                switch (instruction.OpCode)
                {
                    case OpCode.LocalGet:
                        state[instruction.Index >> 6] |= 1UL << instruction.Index;
                        break;
                    case OpCode.LocalSet:
                    case OpCode.LocalTee:
                        state[instruction.Index >> 6] &= ~(1UL << instruction.Index);
                        break;
                }
                if (record is not null && instruction.OpCode.Info().IsSafepoint) record[pc] = (ulong[])state.Clone();
            }
        }
    }
}
