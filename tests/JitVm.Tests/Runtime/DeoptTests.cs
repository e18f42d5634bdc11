using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Runtime;

/// <summary>Deoptimisation through every way into compiled code: Invoke, typed exports, interpreted callers.</summary>
public sealed class DeoptTests
{
    private const string Program = """
        .import note (i64) -> ()
        .func fib (n: i64) -> (i64)
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
            call note
            local.get n
            return
        .end
        .func fails (n: i64) -> (i64)
            local.get n
            call fib
            local.get n
            i64.const 10
            i64.sub
            i64.div_s
            return
        .end
        """;

    private static (Isolate Isolate, List<long> Notes) Make(ExecutionTier tier, DeoptStressMode mode, int interval = 1)
    {
        var notes = new List<long>();
        var note = HostFunction.FromAction<long>("note", n =>
        {
            notes.Add(n);
        });
        var isolate = new Isolate(Module.FromText(Program, "deopt.jvm"), [note], new IsolateOptions
        {
            Tier = tier,
            TierUpCalls = 2,
            Diagnostics = new DiagnosticOptions { DeoptStress = mode, DeoptStressInterval = interval },
        });
        return (isolate, notes);
    }

    public static TheoryData<ExecutionTier, DeoptStressMode, int> Modes() => new()
    {
        { ExecutionTier.Jit, DeoptStressMode.EverySafepoint, 1 },
        { ExecutionTier.Jit, DeoptStressMode.EveryN, 3 },
        { ExecutionTier.Jit, DeoptStressMode.Random, 4 },
        { ExecutionTier.Tiered, DeoptStressMode.EverySafepoint, 1 },
        { ExecutionTier.Tiered, DeoptStressMode.EveryN, 5 },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public void ATypedExportDeoptimisesAndFinishesInTheInterpreter(ExecutionTier tier, DeoptStressMode mode, int interval)
    {
        var (plain, plainNotes) = Make(tier, DeoptStressMode.Off);
        var (stressed, stressedNotes) = Make(tier, mode, interval);
        var expected = plain.GetFunction<long, long>("fib");
        var actual = stressed.GetFunction<long, long>("fib");
        for (var n = 0; n <= 12; n++) Assert.Equal(expected(n), actual(n));
        Assert.Equal(plainNotes, stressedNotes);
        Assert.Equal(plain.FuelUsed, stressed.FuelUsed);
        Assert.Equal(0, plain.Store.FramesDeoptimised);
        Assert.True(stressed.Store.FramesDeoptimised > 0);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void ATrapAfterADeoptimisationHasThePlainRunsStackAndFuel(ExecutionTier tier, DeoptStressMode mode, int interval)
    {
        var (plain, _) = Make(tier, DeoptStressMode.Off);
        var (stressed, _) = Make(tier, mode, interval);
        var expected = Assert.Throws<TrapException>(() => plain.GetFunction<long, long>("fails")(10));
        var actual = Assert.Throws<TrapException>(() => stressed.GetFunction<long, long>("fails")(10));
        Assert.Equal(expected.Code, actual.Code);
        Assert.Equal(expected.VmStackTrace, actual.VmStackTrace);
        Assert.Equal(plain.FuelUsed, stressed.FuelUsed);
        // The isolate is usable afterwards, through both ways in.
        Assert.Equal(plain.Invoke("fib", Value.I64(9)), stressed.Invoke("fib", Value.I64(9)));
        Assert.Equal(plain.GetFunction<long, long>("fib")(11), stressed.GetFunction<long, long>("fib")(11));
    }

    [Fact]
    public void CompiledCodeRunsAgainAtTheNextCallAfterADeoptimisation()
    {
        // fib(20) reaches about 21,900 safepoints. Every 50th deoptimises the compiled frames from there out to the
        // entry, at most 21 of them. Only compiled code counts safepoints, so if calls made by the deoptimised frames
        // stayed interpreted, the first deoptimisation would be the only one; each of the ~430 events deoptimises at
        // least one frame only if the interpreter's calls take the compiled entry again.
        var (isolate, _) = Make(ExecutionTier.Jit, DeoptStressMode.EveryN, 50);
        Assert.Equal(Value.I64(6765), isolate.Invoke("fib", Value.I64(20))[0]);
        Assert.True(isolate.Store.FramesDeoptimised > 400, $"{isolate.Store.FramesDeoptimised} frames deoptimised");
    }
}
