using JitVm.Bytecode;
using JitVm.Hosting;
using JitVm.Verification;
using Xunit;

namespace JitVm.Tests;

/// <summary>Verifier rules that are impractical to state in assembly text (sizes, limits) plus message shape.</summary>
public sealed class VerifierTests
{
    private static ModuleDefinition OneFunction(FunctionType type, IEnumerable<VmType> locals, IEnumerable<Instruction> code, IEnumerable<GlobalDefinition>? globals = null) =>
        new([type], [], [new FunctionDefinition("f", 0, true, locals, code)], globals ?? [], []);

    private static VerificationRule RuleOf(ModuleDefinition module) =>
        Assert.Throws<VerificationException>(() => Module.FromDefinition(module)).Rule;

    [Fact]
    public void StackDeeperThanTheLimitIsRejected()
    {
        var code = Enumerable.Repeat(new Instruction(OpCode.I64Const, 1), ModuleLimits.MaxStackDepth + 1).Append(new Instruction(OpCode.Unreachable));
        Assert.Equal(VerificationRule.StackTooDeep, RuleOf(OneFunction(new FunctionType([], []), [], code)));
    }

    [Fact]
    public void TooManyLocalsAreRejected()
    {
        var locals = Enumerable.Repeat(VmType.I64, ModuleLimits.MaxLocals + 1);
        Assert.Equal(VerificationRule.TooManyLocals, RuleOf(OneFunction(new FunctionType([], []), locals, [new Instruction(OpCode.Return)])));
    }

    [Fact]
    public void FunctionLargerThanTheLimitIsRejected()
    {
        var code = Enumerable.Repeat(new Instruction(OpCode.Nop), ModuleLimits.MaxInstructions).Append(new Instruction(OpCode.Return));
        Assert.Equal(VerificationRule.FunctionTooLarge, RuleOf(OneFunction(new FunctionType([], []), [], code)));
    }

    [Fact]
    public void SignatureWithTooManyParametersIsRejected()
    {
        var type = new FunctionType(Enumerable.Repeat(VmType.I64, ModuleLimits.MaxSignatureArity + 1), []);
        Assert.Equal(VerificationRule.InvalidSignature, RuleOf(OneFunction(type, [], [new Instruction(OpCode.Return)])));
    }

    [Fact]
    public void PointerGlobalIsRejected()
    {
        var globals = new[] { new GlobalDefinition("g", VmType.Ptr, 0) };
        Assert.Equal(VerificationRule.InvalidGlobal, RuleOf(OneFunction(new FunctionType([], []), [], [new Instruction(OpCode.Return)], globals)));
    }

    [Fact]
    public void FunctionSignatureIndexOutOfRangeIsRejected()
    {
        var module = new ModuleDefinition([], [], [new FunctionDefinition("f", 3, false, [], [new Instruction(OpCode.Return)])], [], []);
        Assert.Equal(VerificationRule.InvalidIndex, RuleOf(module));
    }

    [Fact]
    public void EmptyFunctionFallsOffTheEnd()
    {
        Assert.Equal(VerificationRule.FallOffEnd, RuleOf(OneFunction(new FunctionType([], []), [], [])));
    }

    [Fact]
    public void UnknownOpCodeIsRejectedNotThrown()
    {
        Assert.Equal(VerificationRule.InvalidIndex, RuleOf(OneFunction(new FunctionType([], []), [], [new Instruction((OpCode)0xFF), new Instruction(OpCode.Return)])));
    }

    [Fact]
    public void MessageNamesModuleFunctionPcInstructionRuleExpectedAndFound()
    {
        var module = Text.Assembler.Assemble(".func f () -> (i64)\n    i64.const 1\n    f64.const 2.0\n    i64.add\n    return\n.end\n", "sample.jvm");
        var error = Assert.Throws<VerificationException>(() => Module.FromDefinition(module));
        Assert.Equal("sample.jvm:4: function 'f', pc 2 (i64.add): verification failed [TypeMismatch]: i64.add expects [i64 i64] but the stack has [i64 f64]", error.Message);
        Assert.Equal(2, error.Pc);
        Assert.Equal(4, error.Line);
    }
}
