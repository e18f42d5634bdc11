using Xunit;
using JitVm.Hosting;
using JitVm.Memory;

namespace JitVm.Lox.Tests;

/// <summary>The book's 246 clox tests, each in every tier, in-process through the compiler and an isolate.</summary>
public sealed class SuiteTests
{
    public static TheoryData<string, ExecutionTier> Cases()
    {
        var data = new TheoryData<string, ExecutionTier>();
        // With the suite absent the theory is skipped; one placeholder row keeps xunit from reporting no data.
        if (LoxSuite.Files.Count == 0) data.Add("(suite not found)", ExecutionTier.Interpreter);
        foreach (var file in LoxSuite.Files)
            foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered })
                data.Add(file, tier);
        return data;
    }

    [LoxSuiteTheory]
    [MemberData(nameof(Cases))]
    public void Passes(string file, ExecutionTier tier)
    {
        var failures = LoxSuite.Check(file, new IsolateOptions { Tier = tier });
        Assert.True(failures.Count == 0, $"{file} ({tier}):\n  " + string.Join("\n  ", failures));
    }

    [LoxSuiteFact]
    public void TheSuiteHasTheBooksCount() => Assert.Equal(246, LoxSuite.Files.Count);

    /// <summary>The folders whose programs allocate, call and capture the most, under GC and deopt stress.</summary>
    private static readonly string[] StressFolders = ["closure/", "class/", "inheritance/", "super/", "field/", "method/", "string/", "function/"];

    public static TheoryData<string> StressCases()
    {
        var data = new TheoryData<string>();
        var files = LoxSuite.Files.Where(f => StressFolders.Any(folder => f.StartsWith(folder, StringComparison.Ordinal))).ToList();
        if (files.Count == 0) data.Add("(suite not found)");
        foreach (var file in files) data.Add(file);
        return data;
    }

    [LoxSuiteTheory]
    [MemberData(nameof(StressCases))]
    public void PassesUnderGcStress(string file)
    {
        var options = new IsolateOptions
        {
            Tier = ExecutionTier.Jit,
            Diagnostics = new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true },
        };
        var failures = LoxSuite.Check(file, options);
        Assert.True(failures.Count == 0, $"{file} (GC stress):\n  " + string.Join("\n  ", failures));
    }

    [LoxSuiteTheory]
    [MemberData(nameof(StressCases))]
    public void PassesUnderDeoptStress(string file)
    {
        var options = new IsolateOptions
        {
            Tier = ExecutionTier.Jit,
            Diagnostics = new DiagnosticOptions { DeoptStress = DeoptStressMode.EverySafepoint },
        };
        var failures = LoxSuite.Check(file, options);
        Assert.True(failures.Count == 0, $"{file} (deopt stress):\n  " + string.Join("\n  ", failures));
    }
}
