using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Memory;
using Microsoft.Extensions.Logging;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Host functions calling back into the isolate that called them (spec/embedding.md §3.1), on every tier,
/// with the collector running inside the callbacks and the call-depth limit and traps covering the whole chain.</summary>
public sealed class CallbackTests
{
    private const string Source = """
        .import for_each (i64, i64) -> (i64)
        .import down (i64) -> (i64)
        .import guarded_divide (i64, i64) -> (i64)
        .import untyped_twice (i64) -> (i64)
        ; Sums f(i) for i < n through the host, keeping an object alive across the host call.
        .func main (n: i64) -> (i64)
            .local keep ptr
            i64.const 2
            alloc
            local.set keep
            local.get keep
            i64.const 1
            i64.const 41
            store.i
            local.get n
            func.ref square_boxed
            call for_each
            local.get keep
            i64.const 1
            load.i
            i64.add
            return
        .end
        ; i * i, through a freshly allocated object (the collector may run in every callback).
        .func square_boxed (i: i64) -> (i64)
            .local box ptr
            i64.const 4
            alloc
            local.set box
            local.get box
            i64.const 3
            local.get i
            local.get i
            i64.mul
            store.i
            local.get box
            i64.const 3
            load.i
            return
        .end
        ; Recursion that goes through the host at every level: rec(n) = down(n), down(n) = rec(n - 1) + 1.
        .func rec (n: i64) -> (i64)
            local.get n
            i64.eqz
            br_ifz deeper
            i64.const 0
            return
        deeper:
            local.get n
            call down
            return
        .end
        .func divide (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            i64.div_s
            return
        .end
        ; The host catches the callback's trap and the program goes on.
        .func careful (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            call guarded_divide
            i64.const 1000
            i64.add
            return
        .end
        .func twice (n: i64) -> (i64)
            local.get n
            call untyped_twice
            return
        .end
        .func double (n: i64) -> (i64)
            local.get n
            i64.const 2
            i64.mul
            return
        .end
        """;

    public static TheoryData<ExecutionTier, GcStressMode> TiersAndStress()
    {
        var data = new TheoryData<ExecutionTier, GcStressMode>();
        foreach (var tier in Enum.GetValues<ExecutionTier>())
            foreach (var stress in new[] { GcStressMode.Off, GcStressMode.EveryAllocation })
                data.Add(tier, stress);
        return data;
    }

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static Isolate Create(ExecutionTier tier, GcStressMode stress = GcStressMode.Off, int maxDepth = 10_000)
    {
        Isolate? isolate = null;
        var forEach = HostFunction.FromFunc<long, long, long>("for_each", (n, reference) =>
        {
            var function = isolate!.GetDelegateForReference<Func<long, long>>(reference);
            var total = 0L;
            for (var i = 0; i < n; i++) total += function(i);
            return total;
        });
        var down = HostFunction.FromFunc<long, long>("down", n => isolate!.GetFunction<long, long>("rec")(n - 1) + 1);
        var guarded = HostFunction.FromFunc<long, long, long>("guarded_divide", (a, b) =>
        {
            try
            {
                return isolate!.Invoke("divide", Value.I64(a), Value.I64(b))[0].AsI64;
            }
            catch (TrapException trap) when (trap.Code == TrapCode.DivideByZero)
            {
                return -1;
            }
        });
        // An untyped host function: its values live in a span while the callback grows the frame stack.
        var untypedTwice = new HostFunction("untyped_twice", new FunctionType([VmType.I64], [VmType.I64]),
            (self, values) => values[0] = self.Invoke("double", Value.I64(values[0]))[0].AsI64 + self.Invoke("double", Value.I64(1))[0].AsI64);
        isolate = new Isolate(Module.FromText(Source, "callbacks.jvm"), [forEach, down, guarded, untypedTwice],
            new IsolateOptions { Tier = tier, MaxCallDepth = maxDepth, NurseryBytes = 4096, Diagnostics = new DiagnosticOptions { GcStress = stress, VerifyHeap = stress != GcStressMode.Off } });
        return isolate;
    }

    [Theory]
    [MemberData(nameof(TiersAndStress))]
    public void AHostFunctionCallsAFunctionReferenceBackForEachElement(ExecutionTier tier, GcStressMode stress)
    {
        using var isolate = Create(tier, stress);
        // sum of i*i for i < 300, plus the 41 the caller's object kept across the host call.
        Assert.Equal(8_955_050 + 41, isolate.GetFunction<long, long>("main")(300));
        Assert.Equal(41, isolate.Invoke("main", Value.I64(0))[0].AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void CallbacksNestAsDeepAsTheCallDepthLimitAllows(ExecutionTier tier)
    {
        using var isolate = Create(tier, maxDepth: 64);
        Assert.Equal(40, isolate.GetFunction<long, long>("rec")(40));
        // Each level is one VM frame (rec) below the host function: the limit counts them across the host calls.
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("rec")(1_000));
        Assert.Equal(TrapCode.CallDepthExceeded, trap.Code);
        Assert.Contains("64", trap.Detail, StringComparison.Ordinal);
        // The VM stack goes through every host call down to the entry: all rec frames, each stopped at `call down`.
        Assert.Equal(64, trap.VmStackDepth);
        Assert.All(trap.VmStackTrace, frame => Assert.Equal(("rec", "call"), (frame.Function, frame.Instruction)));
        // The isolate is usable afterwards, from the outermost level again.
        Assert.Equal(3, isolate.GetFunction<long, long>("rec")(3));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AHostFunctionCanCatchItsCallbacksTrapAndTheProgramGoesOn(ExecutionTier tier)
    {
        using var isolate = Create(tier);
        var careful = isolate.GetFunction<long, long, long>("careful");
        Assert.Equal(1004, careful(8, 2));
        Assert.Equal(999, careful(1, 0));
        Assert.Equal(1004, careful(8, 2));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AnUncaughtTrapInACallbackSurfacesWithTheWholeVmStack(ExecutionTier tier)
    {
        Isolate? isolate = null;
        var call = HostFunction.FromFunc<long, long, long>("guarded_divide", (a, b) => isolate!.GetFunction<long, long, long>("divide")(a, b));
        isolate = new Isolate(Module.FromText(Source, "callbacks.jvm"),
            [call, HostFunction.FromFunc<long, long, long>("for_each", (_, _) => 0), HostFunction.FromFunc<long, long>("down", n => n),
             HostFunction.FromFunc<long, long>("untyped_twice", n => n)],
            new IsolateOptions { Tier = tier });
        using var owned = isolate;
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long, long, long>("careful")(1, 0));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal(["divide", "careful"], trap.VmStackTrace.Select(frame => frame.Function));
        Assert.Equal("call", trap.VmStackTrace[1].Instruction);
        Assert.Equal(1004, isolate.GetFunction<long, long, long>("careful")(8, 2));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void UntypedHostFunctionsCallBackWhileTheFrameStackGrows(ExecutionTier tier)
    {
        using var isolate = Create(tier);
        Assert.Equal(2 * 21 + 2, isolate.GetFunction<long, long>("twice")(21));
    }

    [Fact]
    public void CallbacksSpendTheIsolatesFuelExactlyAsOnEveryTier()
    {
        var used = Enum.GetValues<ExecutionTier>().Select(tier =>
        {
            using var isolate = Create(tier);
            isolate.Fuel = 10_000_000;
            isolate.GetFunction<long, long>("main")(50);
            return isolate.FuelUsed;
        }).ToArray();
        Assert.All(used, fuel => Assert.Equal(used[0], fuel));
        // The callbacks' own work is counted: 50 calls of square_boxed cost more than main's few instructions.
        Assert.True(used[0] > 50 * 5, $"fuel used {used[0]}");
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AFunctionReferenceOfAnotherSignatureOrOutOfRangeIsRefused(ExecutionTier tier)
    {
        using var isolate = Create(tier);
        var wrong = Assert.Throws<ArgumentException>(() => isolate.GetDelegateForReference<Func<double, long>>(5));
        Assert.Contains("has signature (i64) -> (i64)", wrong.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<ArgumentException>(() => isolate.GetDelegateForReference<Func<long, long>>(99));
        Assert.Contains("does not name a function", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => isolate.GetDelegateForReference<Func<long, long>>(-1));
    }

    /// <summary>Tries to call back into the isolate from every log event, and records what that did.</summary>
    private sealed class ReenteringLogger(Func<Isolate> isolate) : ILogger
    {
        public List<string> Outcomes { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                Outcomes.Add($"entered: {isolate().Invoke("double", Value.I64(1))[0].AsI64}");
            }
            catch (InvalidOperationException refused)
            {
                Outcomes.Add(refused.Message);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AnEntryFromTheOwningThreadOutsideAHostCallIsRefused(ExecutionTier tier)
    {
        Isolate? isolate = null;
        var logger = new ReenteringLogger(() => isolate!);
        var failing = HostFunction.FromFunc<long, long, long>("guarded_divide", (_, _) => throw new FormatException("no"));
        isolate = new Isolate(Module.FromText(Source, "callbacks.jvm"),
            [failing, HostFunction.FromFunc<long, long, long>("for_each", (_, _) => 0), HostFunction.FromFunc<long, long>("down", n => n),
             HostFunction.FromFunc<long, long>("untyped_twice", n => n)],
            new IsolateOptions { Tier = tier, Logger = logger });
        using var owned = isolate;
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("careful", Value.I64(1), Value.I64(2)));
        Assert.Equal(TrapCode.HostError, trap.Code);
        // The trap was logged while the isolate ran, after the host call had failed: the logger's entry is refused.
        Assert.Contains(logger.Outcomes, outcome => outcome.Contains("outside any host function call", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Outcomes, outcome => outcome.StartsWith("entered", StringComparison.Ordinal));
        Assert.Equal(2, isolate.Invoke("double", Value.I64(1))[0].AsI64);
    }
}
