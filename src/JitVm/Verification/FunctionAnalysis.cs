using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>
/// What verification proved about one function, kept for the tiers and the collector: the operand-stack types
/// before every pc (so pointer maps at safepoints and value types for decoding need no re-analysis), basic blocks
/// with their fuel costs, and loop headers (targets of backward branches, candidate OSR points).
/// </summary>
internal sealed class FunctionAnalysis
{
    public required FunctionDefinition Definition { get; init; }

    public required FunctionType Signature { get; init; }

    /// <summary>Parameter types followed by declared local types.</summary>
    public required VmType[] LocalTypes { get; init; }

    /// <summary>Greatest operand-stack height anywhere in the function.</summary>
    public required int MaxStack { get; init; }

    /// <summary>The operand-stack types on entry to each pc.</summary>
    public required TypeStack?[] StackBefore { get; init; }

    /// <summary>True where a basic block starts (pc 0, branch targets, instructions after a transfer).</summary>
    public required bool[] IsLeader { get; init; }

    /// <summary>For each leader, the fuel charged on entering its block; 0 elsewhere.</summary>
    public required int[] BlockCost { get; init; }

    /// <summary>True for targets of backward (or self) branches.</summary>
    public required bool[] IsLoopHeader { get; init; }

    /// <summary>The protected ranges of the handler table as a tree (spec/exceptions.md §2).</summary>
    public required HandlerRegions Regions { get; init; }

    /// <summary>Which locals are live at each safepoint (computed on first use; the tiers and the collector share
    /// it, so they agree on a frame's roots).</summary>
    public LocalLiveness Liveness
    {
        get
        {
            // Computing it twice on two threads gives equal results, so the first one stored wins.
            if (_liveness is { } known) return known;
            Interlocked.CompareExchange(ref _liveness, LocalLiveness.Compute(this), null);
            return _liveness;
        }
    }

    private LocalLiveness? _liveness;

    public int ParameterCount => Signature.Parameters.Length;

    /// <summary>Slots a frame needs: parameters, locals and the operand stack.</summary>
    public int FrameSize => LocalTypes.Length + MaxStack;

    public int StackHeightAt(int pc) => TypeStack.HeightOf(StackBefore[pc]);
}
