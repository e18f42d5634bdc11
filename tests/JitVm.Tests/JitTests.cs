using System.Text;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>Tier policies, tier-up, compile limits and their logging, and limits enforced by compiled code.</summary>
public sealed class JitTests
{
    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }

    /// <summary>A function of about <paramref name="additions"/> * 3 instructions that adds 1 that many times.</summary>
    private static string BigFunction(int additions)
    {
        var text = new StringBuilder(".func big (x: i64) -> (i64)\n    local.get x\n");
        for (var i = 0; i < additions; i++) text.Append("    i64.const 1\n    i64.add\n");
        return text.Append("    return\n.end\n").ToString();
    }

    [Fact]
    public void TooLargeFunctionStaysInterpretedAndTheLogSaysSo()
    {
        var module = Module.FromText(BigFunction(3000) + """
            .func main () -> (i64)
                i64.const 5
                call big
                return
            .end
            """, "big.jvm");
        var logger = new ListLogger();
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit, Logger = logger });
        Assert.Equal(3005, isolate.Invoke("main")[0].AsI64);
        Assert.Contains(logger.Messages, m => m.Contains("'big' stays interpreted", StringComparison.Ordinal) && m.Contains("exceed the JIT limit", StringComparison.Ordinal));
        Assert.Contains("not compiled:", isolate.Statistics(), StringComparison.Ordinal);
        Assert.Matches(@"main\s+jit", isolate.Statistics());
    }

    [Fact]
    public void FunctionCalledOnceWithALongLoopRunsCompiled()
    {
        var module = Module.FromText("""
            .func main () -> (i64)
                .local i i64
                .local sum i64
            top:
                local.get sum
                local.get i
                i64.add
                local.set sum
                local.get i
                i64.const 1
                i64.add
                local.tee i
                i64.const 1000000
                i64.lt_s
                br_if top
                local.get sum
                return
            .end
            """, "loop.jvm");
        var logger = new ListLogger();
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Tiered, Logger = logger });
        Assert.Equal(499999500000, isolate.Invoke("main")[0].AsI64);
        Assert.Contains(logger.Messages, m => m.Contains("tier-up: 'main'", StringComparison.Ordinal) && m.Contains("loop", StringComparison.Ordinal));
        Assert.Matches(@"main\s+jit", isolate.Statistics());
    }

    [Fact]
    public void HotFunctionTiersUpAfterTheConfiguredNumberOfCalls()
    {
        var module = Module.FromText("""
            .func inc (x: i64) -> (i64)
                local.get x
                i64.const 1
                i64.add
                return
            .end
            """, "inc.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Tiered, TierUpCalls = 3 });
        for (var i = 0; i < 2; i++) isolate.Invoke("inc", Value.I64(i));
        Assert.Matches(@"inc\s+interpreter", isolate.Statistics());
        isolate.Invoke("inc", Value.I64(2));
        Assert.Matches(@"inc\s+jit", isolate.Statistics());
        Assert.Equal(42, isolate.Invoke("inc", Value.I64(41))[0].AsI64);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void DeepRecursionTrapsInEveryTierWithTheSameStack(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .func down (n: i64) -> (i64)
                local.get n
                i64.const 1
                i64.add
                call down
                return
            .end
            """, "down.jvm");
        var trap = Assert.Throws<TrapException>(() => new Isolate(module, options: new IsolateOptions { Tier = tier, MaxCallDepth = 5000 }).Invoke("down", Value.I64(0)));
        Assert.Equal(TrapCode.CallDepthExceeded, trap.Code);
        Assert.Equal(5000, trap.VmStackDepth);
        Assert.All(trap.VmStackTrace, frame => Assert.Equal(("down", 3, 5), (frame.Function, frame.Pc, frame.Line)));
    }

    /// <summary>
    /// Compiled calls use the .NET stack, which would overflow (killing the process) long before a million VM
    /// frames: near the stack budget, calls continue in the interpreter, so the VM limit still decides.
    /// </summary>
    [Theory]
    [InlineData(ExecutionTier.Interpreter, 0)]
    [InlineData(ExecutionTier.Jit, 0)]
    [InlineData(ExecutionTier.Tiered, 0)]
    [InlineData(ExecutionTier.Jit, 40)]
    [InlineData(ExecutionTier.Tiered, 40)]
    public void RecursionAMillionDeepTrapsInsteadOfOverflowingTheHostStack(ExecutionTier tier, int extraLocals)
    {
        var locals = string.Concat(Enumerable.Range(0, extraLocals).Select(i => $"    .local l{i} i64\n"));
        var module = Module.FromText(".func down (n: i64) -> (i64)\n" + locals + """
                local.get n
                i64.const 1
                i64.add
                call down
                return
            .end
            """, "deep.jvm");
        var trap = Assert.Throws<TrapException>(() =>
            new Isolate(module, options: new IsolateOptions { Tier = tier, MaxCallDepth = 1_000_000 }).Invoke("down", Value.I64(0)));
        Assert.Equal(TrapCode.CallDepthExceeded, trap.Code);
        Assert.Equal(1_000_000, trap.VmStackDepth);
    }

    /// <summary>A trap a million frames deep keeps only the innermost 192 and outermost 64 frames, and counts the rest.</summary>
    [Fact]
    public void ATrapsVmStackIsBoundedHoweverDeepTheProgramWent()
    {
        var module = Module.FromText("""
            .func down (n: i64) -> (i64)
                local.get n
                call down
                return
            .end
            .func main () -> (i64)
                i64.const 0
                call down
                return
            .end
            """, "deep.jvm");
        var trap = Assert.Throws<TrapException>(() =>
            new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Interpreter, MaxCallDepth = IsolateOptions.MaximumCallDepth }).Invoke("main"));
        Assert.Equal(TrapCode.CallDepthExceeded, trap.Code);
        Assert.Equal(256, trap.VmStackTrace.Count);
        Assert.Equal(1_000_000 - 256, trap.ElidedFrames);
        Assert.Equal(1_000_000, trap.VmStackDepth);
        Assert.All(trap.VmStackTrace.Take(255), frame => Assert.Equal(("down", 1), (frame.Function, frame.Pc)));
        Assert.Equal(("main", 1), (trap.VmStackTrace[^1].Function, trap.VmStackTrace[^1].Pc));
        Assert.Contains($"... {1_000_000 - 25} more frames ...", trap.Report(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(IsolateOptions.MaximumCallDepth + 1)]
    [InlineData(int.MaxValue)]
    public void ACallDepthLimitOutsideOneToTheMaximumIsRejected(int limit)
    {
        var module = Module.FromText(".func main () -> ()\n    return\n.end\n", "empty.jvm");
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Isolate(module, options: new IsolateOptions { MaxCallDepth = limit }));
        Assert.Contains("from 1 to 1,000,000", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void InfiniteLoopInCompiledCodeRunsOutOfFuel(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .func main () -> ()
            spin:
                br spin
            .end
            """, "spin.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, Fuel = 1_000_000 });
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal(TrapCode.OutOfFuel, trap.Code);
        Assert.Equal(1_000_000, isolate.FuelUsed);
        Assert.Matches(@"main\s+jit", isolate.Statistics());
    }
}
