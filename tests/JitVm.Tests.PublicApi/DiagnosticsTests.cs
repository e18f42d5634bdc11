using JitVm.Diagnostics;
using JitVm.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Diagnostics for hosts of many modules (spec/embedding.md §7): a log category per subsystem, trap events
/// naming the module and the isolate, and a trap of one isolate reached through another's host function surfacing
/// as the outer isolate's trap with the inner one as its cause.</summary>
public sealed class DiagnosticsTests
{
    private sealed class Recorder : ILoggerFactory
    {
        public List<(string Category, LogLevel Level, int Id, string Message)> Events { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Category(this, categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Category(Recorder recorder, string name) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (recorder.Events) recorder.Events.Add((name, logLevel, eventId.Id, formatter(state, exception)));
            }
        }
    }

    private const string Game = """
        .func churn (n: i64) -> (i64)
        loop:
            local.get n
            br_ifz done
            i64.const 100
            alloc
            drop
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br loop
        done:
            i64.const 0
            return
        .end
        .func divide (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            i64.div_s
            return
        .end
        """;

    [Fact]
    public void EachSubsystemLogsUnderItsOwnCategory()
    {
        var recorder = new Recorder();
        var engine = new Engine(new EngineOptions { LoggerFactory = recorder });
        var module = engine.LoadText(Game, "game.jvm");
        var isolate = engine.CreateIsolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit, NurseryBytes = 4096, LoggerFactory = recorder, Name = "player-7" });
        Assert.Equal("player-7", isolate.Name);
        isolate.Invoke("churn", Value.I64(200));
        Assert.Throws<TrapException>(() => isolate.Invoke("divide", Value.I64(1), Value.I64(0)));

        Assert.Contains(recorder.Events, e => e.Category == "JitVm.Engine" && e.Message.StartsWith("loaded and verified game.jvm", StringComparison.Ordinal));
        Assert.Contains(recorder.Events, e => e.Category == "JitVm.Jit" && e.Message.StartsWith("compiled ", StringComparison.Ordinal));
        Assert.Contains(recorder.Events, e => e.Category == "JitVm.Gc" && e.Message.Contains(" collection ", StringComparison.Ordinal));
        var trap = Assert.Single(recorder.Events, e => e.Category == "JitVm.Traps");
        Assert.Equal("trap DivideByZero in 'divide' at pc 2 of game.jvm in player-7: integer division by zero", trap.Message);
    }

    [Fact]
    public void AFunctionPastAJitLimitIsLoggedOnceUnderTheJitCategory()
    {
        var recorder = new Recorder();
        var text = new System.Text.StringBuilder(".func long () -> (i64)\n    i64.const 0\n");
        for (var i = 0; i < 2_500; i++) text.Append("    i64.const 1\n    i64.add\n");
        text.Append("    return\n.end\n");
        var engine = new Engine(new EngineOptions { LoggerFactory = recorder });
        var module = engine.LoadText(text.ToString(), "long.jvm");
        var isolate = engine.CreateIsolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit, LoggerFactory = recorder });
        Assert.Equal(2_500, isolate.Invoke("long")[0].AsI64);
        Assert.Equal(2_500, isolate.Invoke("long")[0].AsI64);
        var declined = Assert.Single(recorder.Events, e => e.Id == 101);
        Assert.Equal("JitVm.Jit", declined.Category);
        // Its operand stack is never empty after pc 0, so it has no place to cut it into pieces either.
        Assert.Equal("function 'long' stays interpreted: 5002 instructions exceed the JIT limit of 4000 and the operand stack is never empty " +
                     "in the 1000 instructions after pc 0, so the function cannot be compiled in pieces", declined.Message);
    }

    [Fact]
    public void IsolatesAreNamedWhenTheOptionsDoNotNameThem()
    {
        var module = Module.FromText(Game, "game.jvm");
        var first = new Isolate(module).Name;
        var second = new Isolate(module).Name;
        Assert.StartsWith("isolate ", first, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void ATrapOfAnotherIsolateSurfacesAtTheCallingInstruction(ExecutionTier tier)
    {
        var inner = new Isolate(Module.FromText(Game, "inner.jvm"), options: new IsolateOptions { Tier = tier });
        var outer = new Isolate(Module.FromText("""
            .import ask (i64) -> (i64)
            .func main () -> (i64)
                i64.const 7
                call ask
                return
            .end
            """, "outer.jvm"),
            [HostFunction.FromFunc<long, long>("ask", x => inner.Invoke("divide", Value.I64(x), Value.I64(0))[0].AsI64)],
            new IsolateOptions { Tier = tier });
        var trap = Assert.Throws<TrapException>(() => outer.Invoke("main"));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal("main", trap.Location?.Function);
        Assert.Equal("call", trap.Location?.Instruction);
        Assert.Contains("host function 'ask' called into another isolate, which trapped: integer division by zero", trap.Detail, StringComparison.Ordinal);
        var cause = Assert.IsType<TrapException>(trap.InnerException);
        Assert.Equal("divide", cause.Location?.Function);
        Assert.Equal("inner.jvm", cause.Location?.Source);
        Assert.Contains("caused by TrapException: DivideByZero: integer division by zero (at divide (inner.jvm", trap.Report(), StringComparison.Ordinal);
    }

    [Fact]
    public void ATrapAHostFunctionRaisesItselfStaysAsItIs()
    {
        var isolate = new Isolate(Module.FromText("""
            .import fail () -> ()
            .func main () -> ()
                call fail
                return
            .end
            """, "raise.jvm"), [HostFunction.FromAction("fail", () => throw new TrapException(TrapCode.HostError, "the host refuses"))]);
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal("the host refuses", trap.Detail);
        Assert.Null(trap.InnerException);
    }
}
