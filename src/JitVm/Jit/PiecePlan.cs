using JitVm.Bytecode;
using JitVm.Interpreter;
using JitVm.Verification;

namespace JitVm.Jit;

/// <summary>
/// How a function over <see cref="JitLimits.MaxInstructions"/> is cut into pieces (of at most
/// <see cref="JitLimits.MaxPieceInstructions"/>) that are compiled one method each
/// (spec/internals.md §4.2, spec/execution.md §8.3). Piece k covers the pcs [<see cref="Starts"/>[k],
/// <see cref="Starts"/>[k + 1]); each begins where the operand stack is empty, so the fall-through from one piece
/// into the next carries nothing but the locals. A piece is entered at one of its <see cref="Entries"/>: its first pc,
/// and every pc of it that a branch of another piece targets (pc 0 for a self tail call is piece 0's first pc).
/// </summary>
/// <remarks>Made in time linear in the function: one pass finds, for every pc, the last pc at or before it with an
/// empty stack, and the greedy cut takes the last such pc within <see cref="JitLimits.MaxInstructions"/> of the
/// piece's start.</remarks>
internal sealed class PiecePlan
{
    private PiecePlan(int[] starts, int[] pieceAt, int[] entryAt, int[][] entries, int[][] locals)
    {
        Starts = starts;
        PieceAt = pieceAt;
        EntryAt = entryAt;
        Entries = entries;
        Locals = locals;
    }

    /// <summary>The parameters and locals each piece reads or writes (local.get, local.set, local.tee), in
    /// increasing order: only these are loaded into the piece's CIL locals and written back, so the work of a piece's
    /// entry and exits is bounded by its own size, not the function's locals.</summary>
    public int[][] Locals { get; }

    /// <summary>The first pc of each piece, then the function's length.</summary>
    public int[] Starts { get; }

    /// <summary>The piece holding each pc.</summary>
    public int[] PieceAt { get; }

    /// <summary>For each pc, its entry number in its piece, or -1 when no other piece jumps to it.</summary>
    public int[] EntryAt { get; }

    /// <summary>Each piece's entry pcs, by entry number; entry 0 is the piece's first pc.</summary>
    public int[][] Entries { get; }

    public int Count => Starts.Length - 1;

    /// <summary>The instructions of the largest piece.</summary>
    public int LargestPiece => Enumerable.Range(0, Count).Max(k => Starts[k + 1] - Starts[k]);

    /// <summary>Cuts <paramref name="function"/> into pieces of at most <paramref name="maxInstructions"/>, or returns
    /// null with the reason it cannot be (then it stays interpreted).</summary>
    public static PiecePlan? Make(DecodedFunction function, int maxInstructions, out string? reason)
    {
        var analysis = function.Analysis;
        var code = analysis.Definition.Code;
        reason = null;
        var over = $"{code.Length} instructions exceed the JIT limit of {JitLimits.MaxInstructions}";
        if (analysis.Definition.Handlers.Count > 0)
        {
            reason = $"{over} and a function with exception handlers is not compiled in pieces";
            return null;
        }
        // lastCut[pc]: the last pc <= pc where the operand stack is empty (0 always is).
        var lastCut = new int[code.Length + 1];
        for (var pc = 0; pc < code.Length; pc++)
            lastCut[pc] = analysis.StackBefore[pc] is null ? pc : pc == 0 ? 0 : lastCut[pc - 1];
        lastCut[code.Length] = code.Length;
        var starts = new List<int> { 0 };
        var start = 0;
        while (code.Length - start > maxInstructions)
        {
            var cut = lastCut[start + maxInstructions];
            if (cut <= start)
            {
                reason = $"{over} and the operand stack is never empty in the {maxInstructions} instructions after pc {start}, " +
                         "so the function cannot be compiled in pieces";
                return null;
            }
            starts.Add(cut);
            start = cut;
        }
        starts.Add(code.Length);

        var pieceAt = new int[code.Length];
        for (var k = 0; k + 1 < starts.Count; k++)
            for (var pc = starts[k]; pc < starts[k + 1]; pc++) pieceAt[pc] = k;
        var entryAt = new int[code.Length];
        Array.Fill(entryAt, -1);
        var entries = new List<int>[starts.Count - 1];
        for (var k = 0; k < entries.Length; k++)
        {
            entries[k] = [starts[k]];
            entryAt[starts[k]] = 0;
        }
        for (var pc = 0; pc < code.Length; pc++)
            foreach (var target in OpCodeTable.BranchTargets(code[pc]))
                if (pieceAt[target] != pieceAt[pc] && entryAt[target] < 0)
                {
                    entryAt[target] = entries[pieceAt[target]].Count;
                    entries[pieceAt[target]].Add(target);
                }
        var locals = new int[entries.Length][];
        var seenIn = new int[analysis.LocalTypes.Length];
        Array.Fill(seenIn, -1);
        for (var k = 0; k < entries.Length; k++)
        {
            var touched = new List<int>();
            for (var pc = starts[k]; pc < starts[k + 1]; pc++)
                if (code[pc].OpCode is OpCode.LocalGet or OpCode.LocalSet or OpCode.LocalTee && seenIn[code[pc].Index] != k)
                {
                    seenIn[code[pc].Index] = k;
                    touched.Add(code[pc].Index);
                }
            touched.Sort();
            locals[k] = [.. touched];
        }
        return new PiecePlan([.. starts], pieceAt, entryAt, [.. entries.Select(e => e.ToArray())], locals);
    }
}
