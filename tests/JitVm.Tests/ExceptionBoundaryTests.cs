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
