using JitVm.Bytecode;
using JitVm.Hosting;
using JitVm.Interpreter;
using JitVm.Text;
using JitVm.Verification;
using Xunit;

namespace JitVm.Tests.Hostile;

/// <summary>
/// Modules of shapes that once made loading, verifying or decoding quadratic in their size (minutes or gigabytes
/// at the sizes used here) now load, verify, decode and run; where the work shows in allocation (deterministic,
/// unlike time) it grows at most linearly between a size and ten times that size.
/// </summary>
public sealed class LinearLoadingTests
{
    /// <summary>Quadratic growth gives 100 between n and 10n; linear gives 10, plus fixed costs.</summary>
    private const double LinearRatioBound = 25;

    private static long AllocatedBy(Action action)
    {
        action(); // warm up code paths and caches so the measured run allocates only for the input
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void AssertGrowsLinearly(Func<int, Action> workAtSize, int size)
    {
        var small = AllocatedBy(workAtSize(size));
        var large = AllocatedBy(workAtSize(size * 10));
        Assert.True(large <= LinearRatioBound * small,
            $"allocation grew from {small} bytes at size {size} to {large} at size {size * 10} ({(double)large / small:0.0}x)");
    }

    [Fact]
    public void AMillionInstructionsWithSixtyFiveThousandLocalsAndAJoinEveryFourVerifyAndDecode()
    {
        var definition = PathologicalModules.PointerLocalJoins(249_999);
        Assert.Equal(999_999, definition.Functions[0].Code.Length);
        Assert.Equal(ModuleLimits.MaxLocals - 1, definition.Functions[0].Locals.Length);
        var module = Module.FromDefinition(definition);
        var decoded = module.Decoded(0);
        Assert.Equal(999_998, decoded.SourcePc[^1]);
        Assert.Equal(ModuleLimits.MaxLocals, decoded.LocalCount);
    }

    [Fact]
    public void VerifierAllocationGrowsLinearlyWhenInstructionsAndLocalsGrowTogether() =>
        AssertGrowsLinearly(size =>
        {
            var definition = PathologicalModules.PointerLocalJoins(size);
            return () => Verifier.Verify(definition);
        }, 5_000);

    [Fact]
    public void MorePointerLocalsThanTheLimitAreRejectedWithTooManyLocals()
    {
        var definition = PathologicalModules.PointerLocalJoins(2_000, ModuleLimits.MaxPointerLocals + 1);
        var error = Assert.Throws<VerificationException>(() => Module.FromDefinition(definition));
        Assert.Equal(VerificationRule.TooManyLocals, error.Rule);
        Assert.Contains($"{ModuleLimits.MaxPointerLocals + 1} declared ptr and ref locals exceed the limit of {ModuleLimits.MaxPointerLocals}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePointerLocalLimitIsAccepted() =>
        Module.FromDefinition(PathologicalModules.PointerLocalJoins(2_000, ModuleLimits.MaxPointerLocals));

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Tiered)]
    public void ABlockOfTwoHundredThousandFoldableInstructionsDecodesAndRuns(ExecutionTier tier)
    {
        var depth = ModuleLimits.MaxStackDepth;
        var module = Module.FromDefinition(PathologicalModules.LongFoldingBlock(depth));
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier });
        Assert.Equal(PathologicalModules.LongFoldingBlockResult(depth), isolate.Invoke("main", Value.I64(5))[0].AsI64);
    }

    [Fact]
    public void DecoderAllocationGrowsLinearlyWithTheLengthOfABlock() =>
        AssertGrowsLinearly(size =>
        {
            var verified = Verifier.Verify(PathologicalModules.LongFoldingBlock(size));
            return () => Decoder.Decode(verified, 0);
        }, 5_000);

    [Fact]
    public void TwoHundredThousandGlobalsAssembleAndRun()
    {
        var module = Module.FromText(PathologicalModules.ManyGlobals(200_000), "globals.jvm");
        Assert.Equal(200_000, module.Definition.Globals.Count);
        Assert.Equal(199_999, new Isolate(module).Invoke("main")[0].AsI64);
    }

    [Fact]
    public void TwentyThousandSignaturesAliasesAndCallIndirectSitesAssembleAndRun()
    {
        var module = Module.FromText(PathologicalModules.ManySignatures(20_000), "signatures.jvm");
        Assert.Equal(20_001, module.Definition.Types.Count); // the functions' and main's
        Assert.Equal(20_000, new Isolate(module).Invoke("main")[0].AsI64);
    }

    [Fact]
    public void AssemblerAllocationGrowsLinearlyWithSignaturesAndCallIndirectSites() =>
        AssertGrowsLinearly(size =>
        {
            var text = PathologicalModules.ManySignatures(size);
            return () => Assembler.Assemble(text);
        }, 2_000);

    [Fact]
    public void AModuleBuilderFunctionWithSixtyFiveThousandNamedLocalsBuildsAndRuns()
    {
        var builder = new ModuleBuilder();
        var main = builder.Function("main", [], [VmType.I64], export: true);
        LocalReference last = null!;
        for (var i = 0; i < ModuleLimits.MaxLocals; i++) last = main.DeclareLocal(VmType.I64, $"x{i}");
        main.I64Const(1).LocalSet(last).LocalGet(last).Return();
        Assert.Throws<ArgumentException>(() => main.DeclareLocal(VmType.I64, "x0"));
        Assert.Equal(1, new Isolate(builder.Build()).Invoke("main")[0].AsI64);
    }

    [Fact]
    public void SixtyFiveThousandNamedLocalsAssembleAndRun()
    {
        var module = Module.FromText(PathologicalModules.ManyNamedLocals(ModuleLimits.MaxLocals), "locals.jvm");
        Assert.Equal(1, new Isolate(module).Invoke("main")[0].AsI64);
    }
}
