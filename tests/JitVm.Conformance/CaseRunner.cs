using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;

namespace JitVm.Conformance;

/// <summary>The execution tiers every case runs on; each must give the same observable behaviour.</summary>
public enum Tier
{
    /// <summary>The interpreter over the decoded form.</summary>
    Interpreter,

    /// <summary>Every function compiled to CIL before running.</summary>
    Jit,

    /// <summary>Interpreter first, tiering up after two calls (or at once for loops), so mixed stacks occur.</summary>
    Tiered,
}

/// <summary>What one run of a case produced, in a form that can be compared across tiers.</summary>
internal sealed record CaseOutcome(string Output, string? Trap, string? TrapLocation, long FuelUsed, string? LoadError, VerificationRule? Rule)
{
    public override string ToString() =>
        LoadError is not null ? $"load error: {LoadError}" : $"output: {Output.Replace("\n", "\\n", StringComparison.Ordinal)}; trap: {Trap ?? "none"} at {TrapLocation ?? "-"}; fuel used: {FuelUsed}";
}

internal static class CaseRunner
{
    public static CaseOutcome Run(ConformanceCase testCase, Tier tier)
    {
        Module module;
        try
        {
            module = Module.FromText(testCase.Text, Path.GetFileName(testCase.Path));
        }
        catch (ModuleFormatException e)
        {
            return new CaseOutcome("", null, null, 0, e.Message, null);
        }
        catch (VerificationException e)
        {
            return new CaseOutcome("", null, null, 0, e.Message, e.Rule);
        }

        var output = new MemoryStream();
        var options = new IsolateOptions
        {
            Fuel = testCase.Fuel,
            MaxCallDepth = testCase.MaxDepth ?? IsolateOptions.DefaultMaxCallDepth,
            MaxHeapBytes = testCase.MaxHeap ?? IsolateOptions.DefaultMaxHeapBytes,
            Tier = tier switch { Tier.Jit => ExecutionTier.Jit, Tier.Tiered => ExecutionTier.Tiered, _ => ExecutionTier.Interpreter },
            TierUpCalls = 2,
        };
        Isolate isolate;
        try
        {
            isolate = new Isolate(module, StandardImports.Create(output), options);
        }
        catch (LinkException e)
        {
            return new CaseOutcome("", null, null, 0, e.Message, null);
        }
        var index = module.FindFunction(testCase.Entry);
        if (index < 0) throw new InvalidOperationException($"{testCase.Name}: no entry function '{testCase.Entry}'");
        var signature = module.Definition.SignatureOf(index);
        var arguments = new Value[testCase.Arguments.Count];
        for (var i = 0; i < arguments.Length; i++)
            if (!Value.TryParse(testCase.Arguments[i], signature.Parameters[i], out arguments[i]))
                throw new InvalidOperationException($"{testCase.Name}: bad argument '{testCase.Arguments[i]}'");
        string? trap = null;
        string? location = null;
        try
        {
            foreach (var result in isolate.Invoke(index, arguments))
                output.Write(Encoding.UTF8.GetBytes(isolate.Describe(result) + "\n"));
        }
        catch (TrapException e)
        {
            trap = e.Code.ToString();
            location = e.Location is { } frame ? $"{frame.Function}:{frame.Line}" : null;
        }
        return new CaseOutcome(Encoding.UTF8.GetString(output.ToArray()), trap, location, isolate.FuelUsed, null, null);
    }
}
