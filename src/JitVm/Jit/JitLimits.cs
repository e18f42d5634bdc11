using JitVm.Bytecode;
using JitVm.Interpreter;

namespace JitVm.Jit;

/// <summary>
/// The limits beyond which the JIT never compiles a function, under any policy: the function always runs in the
/// interpreter. spec/execution.md §8.3 lists them (with the per-isolate compile budget and the per-call stack
/// room), and a test compares that list with these constants and checks each limit at its boundary.
/// </summary>
/// <remarks>Each bound is computed from the verifier's analysis alone, in time linear in the function, so the
/// decision is made before any IL is emitted. A function exactly at a limit is compiled; one unit over is not.</remarks>
internal static class JitLimits
{
    /// <summary>Functions with more instructions stay interpreted: the CLR JIT is superlinear beyond a few
    /// thousand IL instructions and falls back to unoptimised code past 20,000.</summary>
    public const int MaxInstructions = 4_000;

    /// <summary>The largest piece of a function compiled in pieces (<see cref="PlanPieces(DecodedFunction, out string?)"/>): past about 2,000 VM
    /// instructions the CLR JIT compiles a method without optimising it (its limits on IL instructions, basic blocks
    /// and local references), and such a piece ran slower than the interpreter; at 1,000 it is optimised and compile
    /// time stays linear in the function (perf/RESULTS.md, "Functions compiled in pieces").</summary>
    public const int MaxPieceInstructions = 1_000;

    /// <summary>Functions whose compiled body could need more CIL locals stay interpreted: the CLR rejects a method
    /// with about 65,000 locals as an invalid program, and a frame that large would use hundreds of KiB of stack.</summary>
    public const int MaxCilLocals = 32_768;

    /// <summary>Functions whose safepoints could spill and reload more values than this stay interpreted: compiled
    /// code writes every ptr and word local and stack value out and back at each safepoint, so the IL (and the CLR
    /// JIT's work) grows with their product, which a module controls.</summary>
    public const long MaxSpillWork = 262_144;

    /// <summary>The CIL locals <see cref="BodyEmitter"/> declares for runtime state (fiber, depth, fuel, limits and
    /// scratch), counted by <see cref="CilLocalsBound(DecodedFunction)"/> on top of those that depend on the function.</summary>
    public const int RuntimeStateLocals = 16;

    /// <summary>
    /// An upper bound on the CIL locals <see cref="BodyEmitter"/> declares for <paramref name="function"/>: a fixed
    /// set of runtime-state locals, one per VM parameter and local, four per operand-stack height (one per type),
    /// and one per instruction (a <c>swap</c>'s temporary at most).
    /// </summary>
    public static long CilLocalsBound(DecodedFunction function) => CilLocalsBound(function, 0, function.Analysis.Definition.Code.Length);

    /// <summary><see cref="CilLocalsBound(DecodedFunction)"/> of the body covering the pcs [<paramref name="first"/>,
    /// <paramref name="end"/>) (a piece declares one more, the pc it leaves to).</summary>
    public static long CilLocalsBound(DecodedFunction function, int first, int end)
    {
        var analysis = function.Analysis;
        return RuntimeStateLocals + analysis.LocalTypes.Length + 4L * analysis.MaxStack + (end - first);
    }

    /// <summary>
    /// An upper bound on the values <paramref name="function"/>'s compiled body spills and reloads: its safepoints
    /// times the ptr and word parameters and locals plus the operand-stack slots each may have to save.
    /// </summary>
    public static long SpillWorkBound(DecodedFunction function) => SpillWorkBound(function, 0, function.Analysis.Definition.Code.Length, null);

    /// <summary><see cref="SpillWorkBound(DecodedFunction)"/> of the body covering the pcs [<paramref name="first"/>,
    /// <paramref name="end"/>) that keeps <paramref name="locals"/> (null: all) in CIL locals.</summary>
    public static long SpillWorkBound(DecodedFunction function, int first, int end, int[]? locals)
    {
        var analysis = function.Analysis;
        long safepoints = 0;
        var code = analysis.Definition.Code;
        for (var pc = first; pc < end; pc++)
            if (code[pc].OpCode.Info().IsSafepoint) safepoints++;
        long spillable = analysis.MaxStack;
        foreach (var local in locals ?? Enumerable.Range(0, analysis.LocalTypes.Length))
            if (analysis.LocalTypes[local] is VmType.Ptr or VmType.Word) spillable++;
        return safepoints * spillable;
    }

    /// <summary>
    /// How a function over <see cref="MaxInstructions"/> is compiled in pieces of at most
    /// <see cref="MaxPieceInstructions"/> (see <see cref="PiecePlan"/>), each within every other limit here; null, with the reason it stays interpreted, when it cannot be, and null with no
    /// reason for a function small enough to compile whole. Saved assemblies keep such functions interpreted (they
    /// use <see cref="WhyNeverCompiled"/> alone).
    /// </summary>
    public static PiecePlan? PlanPieces(DecodedFunction function, out string? reason)
    {
        reason = null;
        return function.Analysis.Definition.Code.Length <= MaxInstructions ? null : PlanPieces(function, MaxPieceInstructions, out reason);
    }

    /// <summary>
    /// How <paramref name="function"/> (of any size) is compiled in pieces of at most
    /// <paramref name="maxPieceInstructions"/>, each within every other limit here; null, with the reason, when it
    /// cannot be. The JIT uses it for a function whose body, or whose pieces, would be larger than the CLR JIT
    /// optimises (<see cref="CilShape"/>).
    /// </summary>
    public static PiecePlan? PlanPieces(DecodedFunction function, int maxPieceInstructions, out string? reason)
    {
        var plan = PiecePlan.Make(function, maxPieceInstructions, out reason);
        if (plan is null) return null;
        for (var k = 0; k < plan.Count; k++)
        {
            var (first, end) = (plan.Starts[k], plan.Starts[k + 1]);
            // A piece declares CIL locals for the VM locals it uses only, and one for the pc it leaves to.
            var locals = CilLocalsBound(function, first, end) - function.Analysis.LocalTypes.Length + plan.Locals[k].Length + 1;
            if (locals > MaxCilLocals)
            {
                reason = $"{plan.Locals[k].Length} locals and {function.Analysis.MaxStack} stack slots could need {locals} CIL locals in a piece of it, over the JIT limit of {MaxCilLocals}";
                return null;
            }
            var spills = SpillWorkBound(function, first, end, plan.Locals[k]);
            if (spills > MaxSpillWork)
            {
                reason = $"the safepoints of a piece of it (pcs {first} to {end - 1}) could spill {spills} values, over the JIT limit of {MaxSpillWork}";
                return null;
            }
        }
        return plan;
    }

    /// <summary>Why <paramref name="function"/> can never be compiled whole, or null when it can.</summary>
    public static string? WhyNeverCompiled(DecodedFunction function)
    {
        var instructions = function.Analysis.Definition.Code.Length;
        if (instructions > MaxInstructions)
            return $"{instructions} instructions exceed the JIT limit of {MaxInstructions}";
        var locals = CilLocalsBound(function);
        if (locals > MaxCilLocals)
            return $"{function.Analysis.LocalTypes.Length} locals and {function.Analysis.MaxStack} stack slots could need {locals} CIL locals, over the JIT limit of {MaxCilLocals}";
        var spills = SpillWorkBound(function);
        return spills > MaxSpillWork
            ? $"its safepoints could spill {spills} values, over the JIT limit of {MaxSpillWork}"
            : null;
    }
}
