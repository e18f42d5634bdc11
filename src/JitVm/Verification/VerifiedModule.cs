using JitVm.Bytecode;

namespace JitVm.Verification;

/// <summary>A module that passed verification, with what the verifier proved about each defined function.</summary>
internal sealed class VerifiedModule(ModuleDefinition definition, FunctionAnalysis[] functions)
{
    public ModuleDefinition Definition { get; } = definition;

    /// <summary>Analyses of the defined functions, by defined-function index (function index minus import count).</summary>
    public FunctionAnalysis[] Functions { get; } = functions;
}
