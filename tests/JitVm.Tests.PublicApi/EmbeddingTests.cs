using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>What an embedder does with the public API: load, link, call, limit, and handle failures.</summary>
public sealed class EmbeddingTests
{
    private const string Arithmetic = """
        .func add (a: i64, b: i64) -> (i64) export
            local.get a
            local.get b
            i64.add
            return
        .end
        .func scale (x: f64, k: i64) -> (f64) export
            local.get x
            local.get k
            f64.convert_i64_s
            f64.mul
            return
        .end
        .func spin () -> (i64) export
        again:
            br again
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    [Theory]
    [MemberData(nameof(Tiers))]
    public void TypedExportsCallTheModule(ExecutionTier tier)
    {
        var isolate = new Isolate(Module.FromText(Arithmetic, "arith.jvm"), options: new IsolateOptions { Tier = tier });
        var add = isolate.GetFunction<long, long, long>("add");
        var scale = isolate.GetFunction<double, long, double>("scale");
        for (var i = 0; i < 100; i++) Assert.Equal(i + 40, add(i, 40));
        Assert.Equal(7.5, scale(2.5, 3));
    }

    [Fact]
    public void SignatureMismatchNamesBothSignaturesAndTryReportsIt()
    {
        var isolate = new Isolate(Module.FromText(Arithmetic, "arith.jvm"));
        var error = Assert.Throws<ArgumentException>(() => isolate.GetFunction<long, double, long>("add"));
        Assert.Contains("has signature (i64 i64) -> (i64), but the delegate asks for (i64 f64) -> (i64)", error.Message, StringComparison.Ordinal);
        Assert.False(isolate.TryGetDelegate<Func<long, double, long>>("add", out var function, out var problem));
        Assert.Null(function);
        Assert.Contains("(i64 f64)", problem, StringComparison.Ordinal);
        Assert.True(isolate.TryGetDelegate<Func<long, long, long>>("add", out var ok, out _));
        Assert.Equal(3, ok!(1, 2));
        Assert.Contains("no function named 'sub'", Assert.Throws<ArgumentException>(() => isolate.GetFunction<long, long, long>("sub")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModulesLoadFromTextBinaryAndFilesAlike()
    {
        var text = Module.FromText(Arithmetic, "arith.jvm");
        var binary = Module.FromBinary(text.ToBinary(), "arith.jvmb");
        var path = Path.Combine(Directory.CreateTempSubdirectory("jitvm-api-").FullName, "arith.jvmb");
        File.WriteAllBytes(path, text.ToBinary());
        foreach (var module in new[] { text, binary, Module.FromFile(path) })
            Assert.Equal(5, new Isolate(module).GetFunction<long, long, long>("add")(2, 3));
        Assert.Equal(text.ToText(), binary.ToText());
    }

    [Fact]
    public void BadInputGetsPreciseExceptions()
    {
        var format = Assert.Throws<ModuleFormatException>(() => Module.FromText(".func f ()\n    i64.nope\n    return\n.end\n", "bad.jvm"));
        Assert.Equal("bad.jvm:2: unknown instruction 'i64.nope'", format.Message);
        var verification = Assert.Throws<VerificationException>(() => Module.FromText(".func f () -> (i64)\n    f64.const 1.0\n    return\n.end\n", "types.jvm"));
        Assert.Equal(VerificationRule.ResultMismatch, verification.Rule);
        Assert.Equal(("f", 1, 3), (verification.Function, verification.Pc, verification.Line));
        Assert.Throws<ModuleFormatException>(() => Module.FromBinary([0, 1, 2, 3]));
        Assert.IsAssignableFrom<JitVmException>(format);
        Assert.IsAssignableFrom<JitVmException>(verification);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void FuelStopsRunawayCodeAndTheIsolateStaysUsable(ExecutionTier tier)
    {
        var isolate = new Isolate(Module.FromText(Arithmetic, "arith.jvm"), options: new IsolateOptions { Tier = tier, Fuel = 10_000 });
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long>("spin")());
        Assert.Equal(TrapCode.OutOfFuel, trap.Code);
        Assert.Equal(10_000, isolate.FuelUsed);
        Assert.Equal(("spin", 0), (trap.Location!.Function, trap.Location.Pc));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void HostFunctionsAreCalledAndTheirExceptionsBecomeTraps(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .import twice (i64) -> (i64)
            .import fail () -> ()
            .func main (x: i64) -> (i64)
                local.get x
                call twice
                return
            .end
            .func broken () -> (i64)
                call fail
                i64.const 0
                return
            .end
            """, "host.jvm");
        var failure = new InvalidOperationException("no");
        HostFunction[] host =
        [
            new("twice", new FunctionType([VmType.I64], [VmType.I64]), (_, values) => values[0] *= 2),
            new("fail", new FunctionType([], []), (_, _) => throw failure),
        ];
        var isolate = new Isolate(module, host, new IsolateOptions { Tier = tier });
        Assert.Equal(42, isolate.GetFunction<long, long>("main")(21));
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long>("broken")());
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Same(failure, trap.InnerException);
        Assert.Equal("broken", trap.VmStackTrace[0].Function);

        // The same through typed host functions, which compiled code calls directly.
        HostFunction[] typed =
        [
            HostFunction.FromFunc<long, long>("twice", x => x > 100 ? throw new TrapException(TrapCode.OutOfBounds, "too big") : x * 2),
            HostFunction.FromAction("fail", () => throw failure),
        ];
        isolate = new Isolate(module, typed, new IsolateOptions { Tier = tier });
        Assert.Equal(42, isolate.GetFunction<long, long>("main")(21));
        var raised = Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("main")(101));
        Assert.Equal(TrapCode.OutOfBounds, raised.Code);
        Assert.Equal(("main", "call"), (raised.VmStackTrace[0].Function, raised.VmStackTrace[0].Instruction));
        trap = Assert.Throws<TrapException>(() => isolate.GetFunction<long>("broken")());
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Same(failure, trap.InnerException);
        Assert.Equal("broken", trap.VmStackTrace[0].Function);
    }

    [Fact]
    public void MissingOrMismatchedImportsAreLinkErrors()
    {
        var module = Module.FromText(".import log (i64) -> ()\n.func f ()\n    return\n.end\n", "link.jvm");
        Assert.Contains("import 'log'", Assert.Throws<LinkException>(() => new Isolate(module)).Message, StringComparison.Ordinal);
        var wrong = new HostFunction("log", new FunctionType([VmType.F64], []), (_, _) => { });
        Assert.Contains("declared as (i64) -> () but the host provides (f64) -> ()", Assert.Throws<LinkException>(() => new Isolate(module, [wrong])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void HeapLimitAndCallDepthTrapWithoutHarmingTheHost(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .func hoard (n: i64) -> (i64)
                .local keep word
            again:
                i64.const 2
                alloc
                dup
                i64.const 0
                local.get keep
                store.w
                word.of_ptr
                local.set keep
                local.get n
                i64.const 1
                i64.sub
                local.tee n
                br_if again
                i64.const 0
                return
            .end
            .func down (n: i64) -> (i64)
                local.get n
                call down
                return
            .end
            """, "limits.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, MaxHeapBytes = 1 << 20, MaxCallDepth = 300 });
        Assert.Equal(TrapCode.OutOfMemory, Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("hoard")(1_000_000)).Code);
        var depth = Assert.Throws<TrapException>(() => isolate.GetFunction<long, long>("down")(0));
        Assert.Equal(TrapCode.CallDepthExceeded, depth.Code);
        Assert.Equal(300, depth.VmStackDepth);
        Assert.Equal(256, depth.VmStackTrace.Count);
        Assert.Equal(0, isolate.GetFunction<long, long>("hoard")(10));
    }

    [Fact]
    public void ModulesAreSharedAcrossThreadsWithOneIsolateEach()
    {
        var module = Module.FromText(Arithmetic, "arith.jvm");
        Parallel.For(0, 8, i =>
        {
            var add = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Tiered, TierUpCalls = 5 }).GetFunction<long, long, long>("add");
            for (var k = 0; k < 1000; k++) Assert.Equal(i + k, add(i, k));
        });
    }
}
