using JitVm.Bytecode;
using JitVm.Verification;

namespace JitVm.Jit;

/// <summary>
/// Which spill slots a compiled function must write at each of its safepoints (BodyEmitter.Safepoints.cs).
/// </summary>
/// <remarks>
/// The spill area holds every pointer and word local at a fixed slot, then the live pointer values of the operand
/// stack. At a safepoint the slot of each local live there (<see cref="Verification.LocalLiveness"/>) must equal the
/// local, and the slot of each dead one must be clear: the collector sees exactly the roots of spec/gc.md §4.1.
/// Invariant the plan relies on: right after a safepoint each live local's CIL copy equals its slot (it was written
/// before, and reloaded after a collection moved it). So a live local need be written only when some path since
/// the last safepoint assigned it or it was dead there: it is <em>dirty</em>; and a dead local's slot need be
/// cleared only when some path since it was cleared wrote it: it is <em>set</em>. Where control enters compiled code
/// other than from a safepoint (the function's or a piece's entries, an exception handler) every local counts as
/// dirty and set, since the slots there hold whatever an earlier frame left. An allocation spills only on its slow
/// path, so after it the states of both paths are joined. Likewise the stack part of the area: a safepoint clears
/// the stack slots an earlier one may have left set above its own, so the collector never sees a value that is no
/// longer on the stack.
/// The analysis is a forward union over the function's blocks; it costs (blocks + safepoints) × locals / 32 words, so
/// beyond a bound it gives up and every local counts as dirty everywhere (what spilling did before there was a plan).
/// </remarks>
internal sealed class SpillPlan
{
    private const long MaxStateWords = 1 << 18;

    private readonly int _first;
    private readonly ulong[]?[]? _dirtyAt;
    private readonly ulong[]?[]? _setAt;
    private readonly int[]? _stackSetAt;
    private readonly int _stackPart;

    private SpillPlan(int first, ulong[]?[]? dirtyAt, ulong[]?[]? setAt, int[]? stackSetAt, int stackPart)
    {
        _first = first;
        _dirtyAt = dirtyAt;
        _setAt = setAt;
        _stackSetAt = stackSetAt;
        _stackPart = stackPart;
    }

    /// <summary>True when spill slot <paramref name="local"/> (an index into the spilled locals) may differ from its
    /// local at the safepoint at <paramref name="pc"/>.</summary>
    public bool IsDirty(int pc, int local) => Has(_dirtyAt, pc, local);

    /// <summary>True when spill slot <paramref name="local"/> may hold a value (not be clear) at the safepoint at
    /// <paramref name="pc"/>.</summary>
    public bool MayBeSet(int pc, int local) => Has(_setAt, pc, local);

    private bool Has(ulong[]?[]? states, int pc, int local)
    {
        if (states?[pc - _first] is not { } state) return true;
        return (state[local >> 6] & (1UL << local)) != 0;
    }

    /// <summary>How many slots of the stack part may hold a value left by an earlier safepoint, at the safepoint at
    /// <paramref name="pc"/>.</summary>
    public int StackSlotsSet(int pc) => _stackSetAt is null ? _stackPart : _stackSetAt[pc - _first];

    /// <summary>Plans the safepoints of code [<paramref name="first"/>, <paramref name="end"/>).</summary>
    /// <param name="analysis">The function's verification analysis.</param>
    /// <param name="first">The first pc compiled (a piece's start, or 0).</param>
    /// <param name="end">The pc after the last one compiled.</param>
    /// <param name="slotOfLocal">For each VM local, its spill slot, or -1 when it has none.</param>
    /// <param name="spilledLocals">How many locals have slots (they come first in the area).</param>
    /// <param name="stackPart">How many slots follow them for operand-stack values.</param>
    /// <param name="isEntry">True for pcs where control comes in from outside this code (a piece's entries).</param>
    /// <param name="safepointStack">For a safepoint, how many stack values it spills; -1 for other instructions.</param>
    /// <param name="isLive">Whether spilled local k (an index into the spilled locals) is live at a safepoint pc.</param>
    public static SpillPlan Make(FunctionAnalysis analysis, int first, int end, int[] slotOfLocal, int spilledLocals,
        int stackPart, Func<int, bool> isEntry, Func<int, int> safepointStack, Func<int, int, bool> isLive)
    {
        var code = analysis.Definition.Code;
        var words = (spilledLocals + 63) / 64;
        var isStart = new bool[end - first];
        var blocks = 0;
        for (var pc = first; pc < end; pc++)
            if (pc == first || analysis.IsLeader[pc] || isEntry(pc))
            {
                isStart[pc - first] = true;
                blocks++;
            }
        // States are kept per block entry and per safepoint.
        var safepoints = 0;
        for (var pc = first; pc < end; pc++)
            if (code[pc].OpCode.Info().IsSafepoint) safepoints++;
        if ((long)(blocks + safepoints) * (2 * words + 1) > MaxStateWords) return new SpillPlan(first, null, null, null, stackPart);

        // A block's entry state: dirty locals in words [0, words), set ones in [words, 2 * words).
        var width = 2 * words;
        var entryDirty = new ulong[end - first][];
        var entryStack = new int[end - first];
        var queued = new bool[end - first];
        var work = new Stack<int>();
        void Enter(int pc, ulong[] dirty, int stackSet)
        {
            if (pc < first || pc >= end) return;
            var at = pc - first;
            var changed = false;
            if (entryDirty[at] is not { } known)
            {
                entryDirty[at] = (ulong[])dirty.Clone();
                entryStack[at] = stackSet;
                changed = true;
            }
            else
            {
                for (var w = 0; w < width; w++)
                    if ((known[w] | dirty[w]) != known[w])
                    {
                        known[w] |= dirty[w];
                        changed = true;
                    }
                if (stackSet > entryStack[at])
                {
                    entryStack[at] = stackSet;
                    changed = true;
                }
            }
            if (changed && !queued[at])
            {
                queued[at] = true;
                work.Push(pc);
            }
        }

        var everything = new ulong[width];
        for (var i = 0; i < spilledLocals; i++)
        {
            everything[i >> 6] |= 1UL << i;
            everything[words + (i >> 6)] |= 1UL << i;
        }
        Enter(first, everything, stackPart);
        for (var pc = first; pc < end; pc++)
            if (pc != first && isEntry(pc)) Enter(pc, everything, stackPart);
        foreach (var handler in analysis.Definition.Handlers) Enter(handler.Handler, everything, stackPart);

        var dirtyAt = new ulong[end - first][];
        var setAt = new ulong[end - first][];
        var stackSetAt = new int[end - first];
        var state = new ulong[width];
        var after = new ulong[width];
        while (work.Count > 0)
        {
            var start = work.Pop();
            queued[start - first] = false;
            Array.Copy(entryDirty[start - first], state, width);
            var stackSet = entryStack[start - first];
            for (var pc = start; pc < end; pc++)
            {
                if (pc != start && isStart[pc - first])
                {
                    Enter(pc, state, stackSet);
                    break;
                }
                var instruction = code[pc];
                var spilled = safepointStack(pc);
                if (spilled >= 0)
                {
                    dirtyAt[pc - first] = state[..words];
                    setAt[pc - first] = state[words..];
                    stackSetAt[pc - first] = stackSet;
                    // After the safepoint a live local equals its slot and is set; a dead one's slot is clear.
                    Array.Clear(after);
                    for (var k = 0; k < spilledLocals; k++)
                        if (isLive(pc, k)) after[words + (k >> 6)] |= 1UL << k;
                        else after[k >> 6] |= 1UL << k;
                    if (instruction.OpCode == OpCode.Alloc)
                    {
                        // The fast path spills nothing: join both paths' states.
                        for (var w = 0; w < width; w++) state[w] |= after[w];
                        stackSet = Math.Max(stackSet, spilled);
                    }
                    else
                    {
                        Array.Copy(after, state, width);
                        stackSet = spilled;
                    }
                }
                else if (instruction.OpCode is OpCode.LocalSet or OpCode.LocalTee && slotOfLocal[instruction.Index] is var slot and >= 0)
                    state[slot >> 6] |= 1UL << slot;
                foreach (var target in OpCodeTable.BranchTargets(instruction)) Enter(target, state, stackSet);
                if (instruction.OpCode.Info().Flow is FlowKind.Branch or FlowKind.Table or FlowKind.Return or FlowKind.Trap) break;
            }
        }
        return new SpillPlan(first, dirtyAt, setAt, stackSetAt, stackPart);
    }
}
