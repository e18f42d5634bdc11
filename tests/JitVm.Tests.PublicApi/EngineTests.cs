using JitVm.Hosting;
using JitVm.Verification;
using Microsoft.Extensions.Logging;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>The engine: loading modules, creating isolates with its defaults, logging; typed host functions.</summary>
public sealed class EngineTests
{
    private sealed class Recorder : ILoggerFactory, ILogger
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages) Messages.Add(formatter(state, exception));
        }
    }

    private const string Script = """
        .import damage (i64 f64) -> (f64)
        .import log (i64) -> ()
        .func update (frame: i64) -> (f64) export
            local.get frame
            call log
            local.get frame
            f64.const 1.5
            call damage
            return
        .end
        """;

    [Fact]
    public void IsolatesGetEveryLimitOfTheEngineDefaults()
    {
        using var source = new CancellationTokenSource();
        var defaults = new IsolateOptions { Fuel = 1234, Timeout = TimeSpan.FromMilliseconds(7), CancellationToken = source.Token, Tier = ExecutionTier.Interpreter };
        var engine = new Engine(new EngineOptions { IsolateDefaults = defaults });
        var isolate = engine.CreateIsolate(engine.LoadText(".func main () -> (i64) export\n i64.const 1\n return\n.end"));
        Assert.Equal(1234, isolate.Fuel);
        Assert.Equal(TimeSpan.FromMilliseconds(7), isolate.Timeout);
        Assert.Equal(source.Token, isolate.CancellationToken);
        Assert.Equal(ExecutionTier.Interpreter, isolate.Tier);
    }

    [Fact]
    public void EngineLoadsModulesFromEverySourceAndLogs()
    {
        var recorder = new Recorder();
        var engine = new Engine(new EngineOptions { LoggerFactory = recorder, IsolateDefaults = new IsolateOptions { Tier = ExecutionTier.Jit } });
        var fromText = engine.LoadText(Script, "script.jvm");
        var fromStream = engine.Load(new MemoryStream(fromText.ToBinary()), "script.jvmb");
        var fromTextStream = engine.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Script)), "script2.jvm");
        Assert.Equal(fromText.ToBinary(), fromStream.ToBinary());
        Assert.Equal(fromText.ToText().Replace("script.jvm", "script2.jvm", StringComparison.Ordinal), fromTextStream.ToText());
        Assert.Throws<VerificationException>(() => engine.LoadText(".func f () -> (i64)\n    return\n.end\n", "bad.jvm"));
        Assert.Contains(recorder.Messages, m => m.StartsWith("loaded and verified script.jvm", StringComparison.Ordinal));
        Assert.Contains(recorder.Messages, m => m.StartsWith("rejected bad.jvm", StringComparison.Ordinal));

        var logged = new List<long>();
        var isolate = engine.CreateIsolate(fromText,
        [
            HostFunction.FromFunc<long, double, double>("damage", (frame, scale) => frame * scale),
            HostFunction.FromAction<long>("log", logged.Add),
        ]);
        var update = isolate.GetFunction<long, double>("update");
        for (var frame = 0L; frame < 60; frame++) Assert.Equal(frame * 1.5, update(frame));
        Assert.Equal(60, logged.Count);
        Assert.Equal(ExecutionTier.Jit, isolate.Tier);
        Assert.Contains(recorder.Messages, m => m.StartsWith("compiled ", StringComparison.Ordinal));
    }

    [Fact]
    public void TypedHostFunctionsRejectTypesWithNoVmCounterpart()
    {
        var error = Assert.Throws<ArgumentException>(() => HostFunction.FromFunc<int, long>("f", x => x));
        Assert.Contains("a typed host function's parameter is long (i64), double (f64), or Pointer, string, byte[], long[] or double[] (ptr), not Int32", error.Message, StringComparison.Ordinal);
    }
}
