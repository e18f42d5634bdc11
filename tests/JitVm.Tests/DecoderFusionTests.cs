using JitVm.Interpreter;
using JitVm.Text;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// The decoder's fused forms are made where the conformance cases of cases/interp expect them, so those cases
/// (which check results, trap locations and fuel on every tier) really run the fused operations in the
/// interpreter; and they are not made where folding would be wrong.
/// </summary>
public sealed class DecoderFusionTests
{
    private static Dictionary<string, Op[]> DecodeCase(string name)
    {
        var path = RepositoryPaths.File("tests", "JitVm.Conformance", "cases", "interp", name);
        var module = Module.FromDefinition(Assembler.Assemble(File.ReadAllText(path), name));
        var definition = module.Verified.Definition;
        return Enumerable.Range(0, definition.Functions.Count)
            .ToDictionary(i => definition.Functions[i].Name, i => Decoder.Decode(module.Verified, i).Code);
    }

    [Theory]
    [InlineData("up_lt", "StepJumpIfLtS")]
    [InlineData("up_le", "StepJumpIfLeS")]
    [InlineData("down_gt", "StepJumpIfGtS")]
    [InlineData("down_ge_k", "StepJumpIfGeSK")]
    [InlineData("ne_k_ifz", "StepJumpIfNeK")]
    [InlineData("lt_k_ifz", "StepJumpIfLeSK")]
    [InlineData("ne_local", "StepJumpIfNe")]
    [InlineData("self_compare", "StepJumpIfLtS")]
    public void ALoopsStepAndTestBecomeOneOperation(string function, string expected)
    {
        var code = DecodeCase("step_branch.jvm")[function];
        Assert.Contains(code, op => op.Kind == Enum.Parse<OpKind>(expected));
        Assert.DoesNotContain(code, op => op.Kind == OpKind.AddK);
    }

    [Fact]
    public void TheFuelCasesLoopRunsTheFusedBranch()
    {
        foreach (var name in new[] { "step_branch_exact_limit.jvm", "step_branch_one_short_at_exit.jvm", "step_branch_one_short_at_loop.jvm" })
            Assert.Contains(DecodeCase(name)["main"], op => op.Kind == OpKind.StepJumpIfLtS);
    }

    [Theory]
    [InlineData("first", "Charge,Return")]
    [InlineData("second", "Charge,Move,Return")]
    [InlineData("sum", "Charge,Add,Return")]
    [InlineData("less", "Charge,LtS,Return")]
    [InlineData("keep", "Charge,Return")]
    [InlineData("answer", "Charge,Const,Return")]
    public void ASingleResultIsWrittenStraightToTheFrameBase(string function, string expected)
    {
        var code = DecodeCase("return_fold.jvm")[function];
        Assert.Equal(expected.Split(',').Select(Enum.Parse<OpKind>), code.Select(op => op.Kind));
        Assert.All(code.Skip(1), op => Assert.Equal(0, op.A));
    }

    [Fact]
    public void AWordResultKeepsItsCopy()
    {
        var code = DecodeCase("return_fold.jvm")["boxed"];
        var ret = code.Single(op => op.Kind == OpKind.Return);
        Assert.NotEqual(0, ret.A);
    }

    [Fact]
    public void ATrappingProducerKeepsItsOwnInstruction()
    {
        var code = DecodeCase("return_fold_trap.jvm")["quotient"];
        Assert.Equal(new[] { OpKind.Charge, OpKind.DivS, OpKind.Return }, code.Select(op => op.Kind));
        Assert.Equal(0, code[1].A);
    }
}
