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

    /// <summary>Functions whose compiled body could need more CIL locals stay interpreted: the CLR rejects a method
    /// with about 65,000 locals as an invalid program, and a frame that large would use hundreds of KiB of stack.</summary>
    public const int MaxCilLocals = 32_768;

    /// <summary>Functions whose safepoints could spill and reload more values than this stay interpreted: compiled
    /// code writes every ptr and word local and stack value out and back at each safepoint, so the IL (and the CLR
    /// JIT's work) grows with their product, which a module controls.</summary>
    public const long MaxSpillWork = 262_144;

    /// <summary>The CIL locals <see cref="BodyEmitter"/> declares for runtime state (fiber, depth, fuel, limits and
    /// scratch), counted by <see cref="CilLocalsBound"/> on top of those that depend on the function.</summary>
    public const int RuntimeStateLocals = 16;

    /// <summary>
    /// An upper bound on the CIL locals <see cref="BodyEmitter"/> declares for <paramref name="function"/>: a fixed
    /// set of runtime-state locals, one per VM parameter and local, four per operand-stack height (one per type),
    /// and one per instruction (a <c>swap</c>'s temporary at most).
    /// </summary>
    public static long CilLocalsBound(DecodedFunction function)
    {
        var analysis = function.Analysis;
        return RuntimeStateLocals + analysis.LocalTypes.Length + 4L * analysis.MaxStack + analysis.Definition.Code.Length;
    }

    /// <summary>
    /// An upper bound on the values <paramref name="function"/>'s compiled body spills and reloads: its safepoints
    /// times the ptr and word parameters and locals plus the operand-stack slots each may have to save.
    /// </summary>
    public static long SpillWorkBound(DecodedFunction function)
    {
        var analysis = function.Analysis;
        long safepoints = 0;
        foreach (var instruction in analysis.Definition.Code)
            if (instruction.OpCode.Info().IsSafepoint) safepoints++;
        long spillable = analysis.MaxStack;
        foreach (var type in analysis.LocalTypes)
            if (type is VmType.Ptr or VmType.Word) spillable++;
        return safepoints * spillable;
    }

    /// <summary>Why <paramref name="function"/> can never be compiled, or null when it can.</summary>
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
