namespace JitVm.Jit;

/// <summary>
/// What the CLR JIT measures of a method before it compiles it: IL bytes, IL instructions, basic blocks, arguments
/// and locals, and references to them. Past any of its limits (60,000 bytes, 20,000 instructions, 2,000 blocks,
/// 2,000 arguments and locals, 8,000 references: the CLR JIT's <c>DEFAULT_MIN_OPTS_*</c> constants) the CLR compiles
/// the method without optimising it ("switched to MinOpts"), and the code runs several times slower: a Lox script's
/// top level of 1,549 VM instructions (80,783 IL bytes) ran that way in the whole benchmark loop. The JIT tier keeps
/// every method it emits within <see cref="Headroom"/> of each limit by compiling a function in pieces, or in
/// smaller pieces, when its body measures over (<see cref="FunctionCompiler"/>, spec/execution.md §8.3).
/// </summary>
/// <remarks>The blocks are counted from above (every label placed and every branch, return and throw ends one), so
/// the measure errs towards splitting.</remarks>
internal readonly record struct CilShape(int IlBytes, int Instructions, int BasicBlocks, int Locals, int LocalReferences)
{
    /// <summary>The fraction of each CLR limit a method may reach: the blocks are an estimate, and the CLR may add
    /// locals of its own before it decides.</summary>
    public const double Headroom = 0.9;

    /// <summary>The largest of the measures as a fraction of its bound (<see cref="Headroom"/> of the CLR's limit):
    /// at most 1 for a method the CLR JIT optimises.</summary>
    public double Fill => Math.Max(
        Math.Max(IlBytes / (Headroom * 60_000), Instructions / (Headroom * 20_000)),
        Math.Max(Math.Max(BasicBlocks, Locals) / (Headroom * 2_000), LocalReferences / (Headroom * 8_000)));

    /// <summary>Whether the CLR JIT optimises a method of this shape (with <see cref="Headroom"/> to spare).</summary>
    public bool Optimised => Fill <= 1;
}
