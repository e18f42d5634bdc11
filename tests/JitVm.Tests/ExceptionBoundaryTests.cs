using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>spec/exceptions.md §5: an exception becomes the trap UncaughtException at the first boundary it would
/// cross — here a host function that called back into the isolate — and the trap, not the exception, goes on
/// through the VM frames that called the host function, whose handler for the same tag does not take it.</summary>
public sealed class ExceptionBoundaryTests
{
    private const string Program = """
        .import call_back () -> ()
        .tag oops (i64)
        .func thrower () -> () export
            i64.const 5
            throw oops
        .end
        .func main () -> (i64) export
            .catch oops start after caught
        start:
            call call_back
            i64.const 0
            return
        after:
            unreachable
        caught:
            return
        .end
        """;

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void AnExceptionDoesNotCrossAHostFunction(ExecutionTier tier)
    {
        var module = Module.FromDefinition(Assembler.Assemble(Program, "boundary.jvm"));
        Isolate? isolate = null;
        var host = new HostFunction("call_back", new FunctionType([], []), (_, _) => isolate!.Invoke("thrower"));
        isolate = new Isolate(module, [host], new IsolateOptions { Tier = tier });
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal(TrapCode.UncaughtException, trap.Code);
        Assert.Equal("thrower", trap.Location!.Function);
        Assert.Equal("throw", trap.Location.Instruction);
        Assert.Contains("exception 'oops' (5) was thrown and not caught", trap.Message, StringComparison.Ordinal);
        // The isolate stays usable, and the handler still works for an exception thrown in its own range.
        Assert.Equal(TrapCode.UncaughtException, Assert.Throws<TrapException>(() => isolate.Invoke("thrower")).Code);
    }
}

/// <summary>spec/module-builder.md: tags, throw and handler table entries from the builder.</summary>
public sealed class ExceptionBuilderTests
{
    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void TheBuilderEmitsTagsThrowsAndHandlers(ExecutionTier tier)
    {
        var builder = new ModuleBuilder("built.jvm");
        var oops = builder.Tag("oops", [VmType.I64]);
        var thrower = builder.Function("thrower", [VmType.I64], []);
        thrower.LocalGet(thrower.Parameter(0)).Throw(oops);
        var main = builder.Function("main", [], [VmType.I64], export: true);
        var start = main.DefineLabel("start");
        var after = main.DefineLabel("after");
        var caught = main.DefineLabel("caught");
        main.Catch(oops, start, after, caught);
        main.MarkLabel(start).I64Const(20).Call(thrower).I64Const(0).Return();
        main.MarkLabel(after).Emit(OpCode.Unreachable);
        main.MarkLabel(caught).I64Const(2).Emit(OpCode.I64Add).Return();
        var definition = builder.ToDefinition();
        Assert.Equal([new HandlerDefinition(0, 4, 0, 5)], definition.Functions[1].Handlers);
        Assert.Equal("oops", Assert.Single(definition.Tags).Name);
        var isolate = new Isolate(Module.FromDefinition(definition), [], new IsolateOptions { Tier = tier });
        Assert.Equal(22L, isolate.Invoke("main")[0].AsI64);
        // The text form of the built module assembles to the same tags, code and handler tables.
        var again = Assembler.Assemble(Disassembler.Disassemble(definition));
        Assert.Equal(definition.Functions[1].Handlers, again.Functions[1].Handlers);
        Assert.Equal(definition.Functions[1].Code.Select(i => (i.OpCode, i.Operand)), again.Functions[1].Code.Select(i => (i.OpCode, i.Operand)));
        Assert.Equal(definition.Tags[0].Parameters, again.Tags[0].Parameters);
    }
}
