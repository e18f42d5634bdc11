using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// What the host pays per heap byte (spec/gc.md §5.1): the heap's own arrays stay within 1x its limit plus the
/// nursery (and 1/64 for tag bits), and within twice that while a full collection copies. Checked on the sizes of
/// the heap's arrays, not on process memory, so the result does not depend on the machine or the .NET collector.
/// </summary>
public sealed class HeapFootprintTests
{
    /// <summary>Keeps every object live: each new 2-field cell points to the previous one, until OutOfMemory.</summary>
    private const string FillWithSmallObjects = """
        .func main () -> (i64)
            .local head ptr
            .local cell ptr
            i64.const 1
            alloc
            local.set head
        top:
            i64.const 2
            alloc
            local.tee cell
            i64.const 1
            local.get head
            store.p
            local.get cell
            local.set head
            br top
        .end
        """;

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void AHeapFullOfSmallObjectsReservesAboutItsLimitAndTwiceThatWhileCopying(ExecutionTier tier)
    {
        const long limit = 16L * 1024 * 1024;
        var isolate = new Isolate(Module.FromText(FillWithSmallObjects, "fill.jvm"), [], new IsolateOptions { Tier = tier, MaxHeapBytes = limit });

        Assert.Equal(TrapCode.OutOfMemory, Assert.Throws<TrapException>(() => isolate.Invoke("main")).Code);

        var heap = isolate.Heap;
        Assert.True(heap.UsedBytes > limit - 64, $"the heap should be full: {heap.UsedBytes} of {limit} bytes used");
        Assert.True(heap.MajorCollections >= 2, $"{heap.MajorCollections} full collections");
        // One arena: nursery + old space up to the limit, one tag bit per word, a little slack for rounding.
        var arenaBound = (limit + heap.NurseryWords * 8) * 65 / 64 + 64 * 1024;
        Assert.True(heap.ReservedBytes <= arenaBound, $"reserved {heap.ReservedBytes} bytes, bound {arenaBound}");
        Assert.True(heap.PeakReservedBytes <= 2 * arenaBound, $"peak reserved {heap.PeakReservedBytes} bytes, bound {2 * arenaBound}");
        // The bound is not vacuous: a full collection really does hold two arenas at once.
        Assert.True(heap.PeakReservedBytes > limit * 3 / 2, $"peak reserved {heap.PeakReservedBytes} bytes");
    }
}
