using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;
using Xunit;

namespace JitVm.Tests.PublicApi.Hostile;

/// <summary>
/// Hostile modules too large to keep as conformance data (tests/JitVm.Conformance/cases/hostile holds the rest): a
/// function with the most locals and the most instructions the format allows, one past each limit, and a million
/// nested parentheses in the text format. Each runs or is rejected cleanly, and the host then runs another module
/// with the right result.
/// </summary>
public sealed class HostileModuleTests
{
    private static readonly FunctionType NoneToI64 = new([], [VmType.I64]);

    /// <summary>Parameters plus locals of one function (spec/verification.md).</summary>
    private const int MaxLocals = 65_535;

    /// <summary>Instructions of one function (spec/binary-format.md §2.7).</summary>
    private const int MaxInstructions = 1_000_000;

    /// <summary>Declared ptr locals of one function (spec/verification.md).</summary>
    private const int MaxPointerLocals = 1_024;

    // Compiled, such a function would need more CIL locals than the CLR accepts, so under jit and tiered it stays
    // interpreted (spec/execution.md §8.3): called often enough to be hot, it still answers, and the statistics
    // say why it was not compiled.
    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void AFunctionWithTheMostLocalsRunsAndSurvivesTheBinaryFormat(ExecutionTier tier)
    {
        // Every kind of local, ptr only as many times as a function may declare it; the last one (an i64) written
        // and read: 41 + 1.
        var kinds = new[] { VmType.I64, VmType.F64, VmType.Word };
        var locals = Enumerable.Range(0, MaxLocals)
            .Select(i => i < 2 * MaxPointerLocals ? (i % 2 == 0 ? VmType.Ptr : VmType.Word) : kinds[i % 3]).ToArray();
        locals[^1] = VmType.I64;
        Instruction[] code =
        [
            new(OpCode.I64Const, 41), new(OpCode.LocalSet, MaxLocals - 1), new(OpCode.LocalGet, MaxLocals - 1),
            new(OpCode.I64Const, 1), new(OpCode.I64Add), new(OpCode.Return),
        ];
        var module = Module.FromDefinition(SingleFunction(locals, code));
        var again = Module.FromBinary(module.ToBinary(), "locals.jvmb");

        foreach (var loaded in new[] { module, again })
        {
            var isolate = new Isolate(loaded, options: new IsolateOptions { Tier = tier });
            for (var call = 0; call < 40; call++) Assert.Equal(42, isolate.Invoke("main")[0].AsI64);
            if (tier != ExecutionTier.Interpreter) Assert.Contains("not compiled: ", isolate.Statistics(), StringComparison.Ordinal);
        }
        AnotherModuleRuns(tier);
    }

    // Compiled, every safepoint would save and reload every word local: 1,000 x 1,000 spills, IL and CLR JIT work
    // that grows with the product of two things the module controls. Such a function stays interpreted.
    [Theory]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void AFunctionWhoseSafepointsWouldSpillTooMuchStaysInterpreted(ExecutionTier tier)
    {
        var locals = Enumerable.Repeat(VmType.Word, 1_000);
        var code = new List<Instruction>();
        for (var i = 0; i < 1_000; i++) code.AddRange([new(OpCode.I64Const, 1), new(OpCode.Alloc), new(OpCode.Drop)]);
        code.AddRange([new(OpCode.I64Const, 7), new(OpCode.Return)]);
        var isolate = new Isolate(Module.FromDefinition(SingleFunction(locals, code)), options: new IsolateOptions { Tier = tier });
        for (var call = 0; call < 40; call++) Assert.Equal(7, isolate.Invoke("main")[0].AsI64);
        Assert.Contains("not compiled: its safepoints could spill 1001000 values", isolate.Statistics(), StringComparison.Ordinal);
        AnotherModuleRuns(tier);
    }

    [Fact]
    public void OneLocalPastTheLimitIsRejected()
    {
        var locals = Enumerable.Repeat(VmType.I64, MaxLocals + 1);
        var error = Assert.Throws<VerificationException>(() => Module.FromDefinition(SingleFunction(locals, [new(OpCode.I64Const, 0), new(OpCode.Return)])));
        Assert.Equal(VerificationRule.TooManyLocals, error.Rule);
        AnotherModuleRuns(ExecutionTier.Jit);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void AFunctionWithTheMostInstructionsRuns(ExecutionTier tier)
    {
        var module = Module.FromDefinition(SingleFunction([], Sum(MaxInstructions)));
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, Fuel = 2 * MaxInstructions });
        Assert.Equal((MaxInstructions - 2) / 2, isolate.Invoke("main")[0].AsI64);
        AnotherModuleRuns(tier);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void AFunctionWithTheMostInstructionsStopsWhenItsFuelIsSpent(ExecutionTier tier)
    {
        var module = Module.FromDefinition(SingleFunction([], Sum(MaxInstructions)));
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, Fuel = 1000 });
        Assert.Equal(TrapCode.OutOfFuel, Assert.Throws<TrapException>(() => isolate.Invoke("main")).Code);
        AnotherModuleRuns(tier);
    }

    [Fact]
    public void OneInstructionPastTheLimitIsRejected()
    {
        var code = Sum(MaxInstructions + 1);
        var error = Assert.Throws<VerificationException>(() => Module.FromDefinition(SingleFunction([], code)));
        Assert.Equal(VerificationRule.FunctionTooLarge, error.Rule);
        AnotherModuleRuns(ExecutionTier.Tiered);
    }

    [Fact]
    public void AMillionNestedParenthesesAreOneFormatError()
    {
        var text = ".func main " + new string('(', 1_000_000) + " i64 " + new string(')', 1_000_000) + " -> ()\n    return\n.end\n";
        var error = Assert.Throws<ModuleFormatException>(() => Module.FromText(text, "nested.jvm"));
        Assert.StartsWith("nested.jvm:1: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        AnotherModuleRuns(ExecutionTier.Tiered);
    }

    /// <summary><c>i64.const 0</c>, then (<c>i64.const 1</c>, <c>i64.add</c>) pairs, then <c>return</c>: exactly
    /// <paramref name="instructions"/> instructions (an even count) that sum to (instructions - 2) / 2.</summary>
    private static Instruction[] Sum(int instructions)
    {
        var code = new Instruction[instructions];
        code[0] = new(OpCode.I64Const, 0);
        for (var pc = 1; pc < instructions - 1; pc++) code[pc] = pc % 2 == 1 ? new(OpCode.I64Const, 1) : new(OpCode.I64Add);
        if (instructions % 2 == 1) code[instructions - 2] = new(OpCode.Nop);
        code[^1] = new(OpCode.Return);
        return code;
    }

    private static ModuleDefinition SingleFunction(IEnumerable<VmType> locals, IEnumerable<Instruction> code) =>
        new([NoneToI64], [], [new FunctionDefinition("main", 0, true, locals, code)], [], []);

    /// <summary>After a hostile module, the same host runs an ordinary one on the same tier and gets its result.</summary>
    private static void AnotherModuleRuns(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .func fib (n: i64) -> (i64) export
                local.get n
                i64.const 2
                i64.lt_s
                br_if small
                local.get n
                i64.const 1
                i64.sub
                call fib
                local.get n
                i64.const 2
                i64.sub
                call fib
                i64.add
                return
            small:
                local.get n
                return
            .end
            """, "fib.jvm");
        Assert.Equal(6765, new Isolate(module, options: new IsolateOptions { Tier = tier }).Invoke("fib", Value.I64(20))[0].AsI64);
    }
}
