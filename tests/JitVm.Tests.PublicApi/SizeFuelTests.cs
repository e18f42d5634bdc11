using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>
/// Fuel bounds work whose size the program chooses: alloc and host functions pay in proportion, before the work,
/// in every tier (spec/execution.md §5.2).
/// </summary>
public sealed class SizeFuelTests
{
    private const string Programs = """
        .import work (i64) -> ()
        .import untyped_work (i64) -> ()
        .func make (n: i64) -> (i64) export
            local.get n
            alloc
            len
            return
        .end
        .func typed (n: i64) -> () export
            local.get n
            call work
            return
        .end
        .func untyped (n: i64) -> () export
            local.get n
            call untyped_work
            return
        .end
        """;

    /// <summary>Blocks of make, typed and untyped: local.get 1 + alloc 2 + len 1 + return 1; local.get 1 + call 2 + return 1.</summary>
    private const long MakeBlock = 5, CallBlock = 4;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private sealed class Host
    {
        public Isolate Isolate = null!;
        public long WorkDone;
        public bool ThrowAfterCharging;

        public void Work(long amount)
        {
            Isolate.ChargeFuel(amount);
            if (ThrowAfterCharging) throw new InvalidOperationException("the host failed after charging");
            WorkDone += amount;
        }
    }

    private static Host Create(ExecutionTier tier, long fuel)
    {
        var host = new Host();
        host.Isolate = new Isolate(Module.FromText(Programs, "size_fuel.jvm"),
            [
                HostFunction.FromAction<long>("work", host.Work),
                new HostFunction("untyped_work", new FunctionType([VmType.I64], []), (_, values) => host.Work(values[0])),
            ],
            new IsolateOptions { Tier = tier, Fuel = fuel });
        return host;
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AHugeAllocationWithTooLittleFuelTrapsBeforeAllocatingAnything(ExecutionTier tier)
    {
        var isolate = Create(tier, fuel: 1_000).Isolate;

        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("make", Value.I64(30_000_000)));

        Assert.Equal(TrapCode.OutOfFuel, trap.Code);
        Assert.Equal("alloc", trap.Location!.Instruction);
        Assert.Equal(1_000 - MakeBlock, isolate.Fuel);
        Assert.Equal(MakeBlock, isolate.FuelUsed);
        Assert.Equal(0, isolate.ObjectsAllocated);
        Assert.Equal(0, isolate.HeapAllocatedBytes);

        // With the fuel it needs (1 per 8 words), the same allocation succeeds and is charged exactly that.
        isolate.Fuel = MakeBlock + 30_000_000 / 8;
        Assert.Equal(30_000_000, isolate.Invoke("make", Value.I64(30_000_000))[0].AsI64);
        Assert.Equal(0, isolate.Fuel);
        Assert.Equal(MakeBlock + MakeBlock + 30_000_000 / 8, isolate.FuelUsed);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AllocationCostGrowsWithItsLength(ExecutionTier tier)
    {
        foreach (var length in new long[] { 0, 7, 8, 63, 64, 4_096, 1_000_000 })
        {
            var isolate = Create(tier, fuel: 10_000_000).Isolate;
            isolate.Invoke("make", Value.I64(length));
            Assert.Equal(MakeBlock + length / 8, isolate.FuelUsed);
        }
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AHostFunctionCanChargeFuelForItsWork(ExecutionTier tier)
    {
        foreach (var entry in new[] { "typed", "untyped" })
        {
            var host = Create(tier, fuel: 1_000);
            host.Isolate.Invoke(entry, Value.I64(600));
            Assert.Equal(600, host.WorkDone);
            Assert.Equal(CallBlock + 600, host.Isolate.FuelUsed);

            // 396 remain after the block: a charge of 600 cannot be paid, so the host does not do the work.
            var trap = Assert.Throws<TrapException>(() => host.Isolate.Invoke(entry, Value.I64(600)));
            Assert.Equal(TrapCode.OutOfFuel, trap.Code);
            Assert.Equal("call", trap.Location!.Instruction);
            Assert.Equal(600, host.WorkDone);
            Assert.Equal(1_000 - 2 * CallBlock - 600, host.Isolate.Fuel);
            Assert.Equal(2 * CallBlock + 600, host.Isolate.FuelUsed);
        }
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void FuelAHostChargedStaysChargedWhenTheHostThenFails(ExecutionTier tier)
    {
        foreach (var entry in new[] { "typed", "untyped" })
        {
            // More than one slice (65,536), so the charge reaches into the isolate's reserve.
            var host = Create(tier, fuel: 1_000_000);
            host.ThrowAfterCharging = true;
            var trap = Assert.Throws<TrapException>(() => host.Isolate.Invoke(entry, Value.I64(100_000)));
            Assert.Equal(TrapCode.HostError, trap.Code);
            Assert.Equal(CallBlock + 100_000, host.Isolate.FuelUsed);
            Assert.Equal(1_000_000 - CallBlock - 100_000, host.Isolate.Fuel);
        }
    }

    [Fact]
    public void ANegativeChargeIsRejected()
    {
        var isolate = Create(ExecutionTier.Interpreter, fuel: 10).Isolate;
        Assert.Throws<ArgumentOutOfRangeException>(() => isolate.ChargeFuel(-1));
        isolate.ChargeFuel(4);
        Assert.Equal(4, isolate.FuelUsed);
        Assert.Equal(TrapCode.OutOfFuel, Assert.Throws<TrapException>(() => isolate.ChargeFuel(7)).Code);
        Assert.Equal(6, isolate.Fuel);
    }
}
