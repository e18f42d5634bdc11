using JitVm.Bytecode;
using JitVm.Interpreter;

namespace JitVm.Jit;

/// <summary>
/// The limits past which a function is never compiled (it stays interpreted): shared by the JIT and by
/// <see cref="AssemblyCompiler"/>, and free of dynamic code, so <see cref="SavedCode.Load(System.Reflection.Assembly, Hosting.Module)"/> can tell a function a saved
/// assembly rightly left out from one it lacks where no code can be generated.
/// </summary>
internal static class CompileLimits
{
    /// <summary>Functions with more instructions stay interpreted: the CLR JIT is superlinear beyond a few
    /// thousand IL instructions and falls back to unoptimised code past 20,000.</summary>
    public const int MaxInstructions = 4_000;

    /// <summary>Functions whose compiled body could need more CIL locals stay interpreted: the CLR rejects a method
    /// with about 65,000 locals as an invalid program, and a frame that large would use hundreds of KiB of stack.</summary>
    public const int MaxCilLocals = 32_768;

    /// <summary>
    /// An upper bound on the CIL locals <see cref="BodyEmitter"/> declares for <paramref name="function"/>: a fixed
    /// set of runtime-state locals, one per VM local, one per operand-stack height and type, one per <c>swap</c>.
    /// </summary>
    internal static long CilLocalsBound(DecodedFunction function)
    {
        const int runtimeState = 16;
        var analysis = function.Analysis;
        return runtimeState + analysis.LocalTypes.Length + 4L * analysis.MaxStack + analysis.Definition.Code.Length;
    }

    /// <summary>Functions whose safepoints could spill and reload more values than this stay interpreted: compiled
    /// code writes every ptr and word local and stack value out and back at each safepoint, so the IL (and the CLR
    /// JIT's work) grows with their product, which a module controls.</summary>
    public const long MaxSpillWork = 262_144;

    /// <summary>
    /// An upper bound on the values <paramref name="function"/>'s compiled body spills and reloads: its safepoints
    /// times the ptr and word locals and stack slots each may have to save.
    /// </summary>
    internal static long SpillWorkBound(DecodedFunction function)
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
    internal static string? TooLargeToCompile(DecodedFunction function)
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
