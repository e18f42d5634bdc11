using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// What the host pays per heap byte (spec/gc.md §5.1): the heap's own arrays never exceed two arenas (the arena and
/// the copy reserve) of at most its limit plus the nursery (and 1/64 for tag bits), and full collections at a steady
/// heap size reuse the same two arenas. Checked on the heap's own arrays, not on process memory, so the result does
/// not depend on the machine or the .NET collector.
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
        var arenaBound = ArenaBound(heap, limit);
        Assert.True(heap.Words.LongLength * 8 <= arenaBound, $"the arena has {heap.Words.LongLength * 8} bytes, bound {arenaBound}");
        Assert.True(heap.ReservedBytes <= 2 * arenaBound, $"reserved {heap.ReservedBytes} bytes, bound {2 * arenaBound}");
        Assert.True(heap.PeakReservedBytes <= 2 * arenaBound, $"peak reserved {heap.PeakReservedBytes} bytes, bound {2 * arenaBound}");
        // The bound is not vacuous: a full collection really does hold two arenas at once.
        Assert.True(heap.PeakReservedBytes > limit * 3 / 2, $"peak reserved {heap.PeakReservedBytes} bytes");
    }

    /// <summary>Keeps about half the heap live and drops lists too long for the nursery, so the old space fills
    /// with garbage again and again.</summary>
    private const string ChurnAtASteadySize = """
        .func build (n: i64) -> (ptr)
            .local head ptr
            .local cell ptr
            i64.const 0
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
            local.get n
            i64.const 1
            i64.sub
            local.tee n
            i64.const 0
            i64.gt_s
            br_if top
            local.get head
            return
        .end
        .func main (live: i64, rounds: i64) -> (i64)
            .local keep ptr
            local.get live
            call build
            local.set keep
        again:
            i64.const 100000
            call build
            drop
            local.get rounds
            i64.const 1
            i64.sub
            local.tee rounds
            i64.const 0
            i64.gt_s
            br_if again
            local.get keep
            len
            return
        .end
        """;

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void FullCollectionsAtASteadyHeapSizeReuseTheirArenas(ExecutionTier tier)
    {
        const long limit = 32L * 1024 * 1024;
        var isolate = new Isolate(Module.FromText(ChurnAtASteadySize, "churn.jvm"), [], new IsolateOptions { Tier = tier, MaxHeapBytes = limit });

        // 600,000 cells of 24 bytes (14.4 MB) stay live; 120 lists of 2.4 MB are promoted and dropped.
        Assert.Equal(2, isolate.Invoke("main", Value.I64(600_000), Value.I64(120))[0].AsI64);

        var heap = isolate.Heap;
        Assert.True(heap.MajorCollections >= 10, $"{heap.MajorCollections} full collections");
        // New arenas only while the heap grows to its steady size (8 MiB of old space, then doubling); after that
        // every full collection copies into the arena the previous one left.
        Assert.True(heap.ArenasAllocated <= 4, $"{heap.ArenasAllocated} arenas allocated in {heap.MajorCollections} full collections");
        Assert.True(heap.PeakReservedBytes <= 2 * ArenaBound(heap, limit), $"peak reserved {heap.PeakReservedBytes} bytes");
    }

    /// <summary>
    /// n old cells each get a young box holding the cell's index; garbage then forces minor collections, which
    /// must find every box through its cell. Returns the sum of the indexes.
    /// </summary>
    private const string ManyOldObjectsPointToYoungOnes = """
        .func garbage (n: i64)
        again:
            i64.const 2
            alloc
            drop
            local.get n
            i64.const 1
            i64.sub
            local.tee n
            i64.const 0
            i64.gt_s
            br_if again
            return
        .end
        .func main (n: i64) -> (i64)
            .local head ptr
            .local cell ptr
            .local box ptr
            .local i i64
            .local sum i64
            ; a list of n cells [slot, next]; the last cell's next is a 0-length sentinel
            i64.const 0
            alloc
            local.set head
        build:
            i64.const 2
            alloc
            local.tee cell
            i64.const 1
            local.get head
            store.p
            local.get cell
            local.set head
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if build
            ; garbage larger than the nursery: the cells are promoted to the old space
            i64.const 10000
            call garbage
            ; each old cell now gets a young box: cell[0] = box, box[0] = index
            local.get head
            local.set cell
            i64.const 0
            local.set i
        fill:
            i64.const 1
            alloc
            local.tee box
            i64.const 0
            local.get i
            store.i
            local.get cell
            i64.const 0
            local.get box
            store.p
            local.get cell
            i64.const 1
            load.p
            local.set cell
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if fill
            ; more garbage: minor collections must find every box through its cell
            i64.const 20000
            call garbage
            local.get head
            local.set cell
            i64.const 0
            local.set i
        sum:
            local.get sum
            local.get cell
            i64.const 0
            load.p
            i64.const 0
            load.i
            i64.add
            local.set sum
            local.get cell
            i64.const 1
            load.p
            local.set cell
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if sum
            local.get sum
            return
        .end
        """;

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void MoreOldObjectsPointingToYoungOnesThanTheRememberedListHoldsAreAllFound(ExecutionTier tier)
    {
        // A 64 KiB nursery lists at most 1,024 remembered objects; 5,000 overflow it, so minor collections find
        // them by their header bits. The heap is verified around every collection.
        var isolate = new Isolate(Module.FromText(ManyOldObjectsPointToYoungOnes, "remembered.jvm"), [],
            new IsolateOptions { Tier = tier, NurseryBytes = 64 * 1024, Diagnostics = new() { VerifyHeap = true } });

        Assert.Equal(5_000L * 4_999 / 2, isolate.Invoke("main", Value.I64(5_000))[0].AsI64);

        var heap = isolate.Heap;
        Assert.True(heap.MinorCollections >= 3, $"{heap.MinorCollections} minor collections");
        Assert.True(heap.RememberedListCapacity >= 1_024 && heap.RememberedListCapacity < 5_000, $"the list holds {heap.RememberedListCapacity}");
    }

    /// <summary>One arena: nursery and old space up to the limit, one tag bit per word, a little slack for rounding.</summary>
    private static long ArenaBound(Memory.Heap heap, long limit) => (limit + heap.NurseryWords * 8) * 65 / 64 + 64 * 1024;
}
