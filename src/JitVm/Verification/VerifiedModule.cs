using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>A module that passed verification, with what the verifier proved about each defined function.</summary>
internal sealed class VerifiedModule
{
    private readonly FunctionAnalysis?[] _analyses;

    /// <summary>A module whose every function the verifier has just checked.</summary>
    public VerifiedModule(ModuleDefinition definition, FunctionAnalysis[] functions)
    {
        Definition = definition;
        _analyses = functions;
        Functions = new Analyses(this);
    }

    /// <summary>A module that passed verification before (the one a saved assembly carries, whose hash matches the
    /// stamp made when it was verified and compiled): each function's analysis is computed on first use, by the
    /// same per-function pass.</summary>
    private VerifiedModule(ModuleDefinition definition)
    {
        Definition = definition;
        _analyses = new FunctionAnalysis?[definition.Functions.Count];
        Functions = new Analyses(this);
    }

    /// <summary>See <see cref="VerifiedModule(ModuleDefinition)"/>; <see cref="Verifier.VerifyCarried"/> makes these.</summary>
    internal static VerifiedModule Deferred(ModuleDefinition definition) => new(definition);

    public ModuleDefinition Definition { get; }

    private int[]? _signatureIds;

    /// <summary>A number for signature <paramref name="typeIndex"/> that equals another's exactly when the two
    /// signatures are equal: the index of the first type equal to it (computed once, in time linear in the types).</summary>
    public int SignatureId(int typeIndex)
    {
        if (_signatureIds is { } ids) return ids[typeIndex];
        var first = new Dictionary<FunctionType, int>();
        ids = new int[Definition.Types.Count];
        for (var i = 0; i < ids.Length; i++) ids[i] = first.TryAdd(Definition.Types[i], i) ? i : first[Definition.Types[i]];
        return (_signatureIds = ids)[typeIndex];
    }

    /// <summary>Analyses of the defined functions, by defined-function index (function index minus import count).</summary>
    public Analyses Functions { get; }

    /// <summary>The analyses, indexed like an array; one not computed yet is computed (and kept) when read. Two
    /// threads may both compute one: the pass is deterministic, and the first result published is the one kept.</summary>
    internal readonly struct Analyses(VerifiedModule module)
    {
        public int Length => module._analyses.Length;

        public FunctionAnalysis this[int definedIndex] =>
            Volatile.Read(ref module._analyses[definedIndex]) ??
            (Interlocked.CompareExchange(ref module._analyses[definedIndex], Verifier.VerifyFunction(module.Definition, definedIndex), null)
             ?? module._analyses[definedIndex]!);
    }
}
