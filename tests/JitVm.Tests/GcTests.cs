using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Memory;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>The collector: roots in both tiers, moving objects, reclaiming garbage and cycles, limits.</summary>
public sealed class GcTests
{
    private const string Churn = """
        .func churn (n: i64)
        again:
            i64.const 4
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
        """;

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void PointerHeldOnlyInALocalAcrossACallSurvivesAndIsUpdated(ExecutionTier tier)
    {
        var module = Module.FromText(Churn + "\n" + """
            .import peek (ptr) -> ()
            .func main () -> (i64)
                .local keep ptr
                .local before ptr
                i64.const 100
                call churn
                i64.const 5
                alloc
                local.set before
                i64.const 3
                alloc
                local.set keep
                local.get keep
                i64.const 0
                i64.const 42
                store.i
                local.get keep
                i64.const 2
                i64.const 7
                store.i
                local.get keep
                call peek
                i64.const 1
                alloc
                local.set before
                i64.const 1000
                call churn
                local.get keep
                call peek
                local.get keep
                i64.const 0
                load.i
                local.get keep
                i64.const 2
                load.i
                i64.add
                local.get keep
                len
                i64.add
                return
            .end
            """, "keep.jvm");
        var seen = new List<long>();
        var peek = new HostFunction("peek", new FunctionType([VmType.Ptr], []), (isolate, values) => seen.Add(isolate.ResolveRawToken(values[0], "peek's argument")));
        var isolate = new Isolate(module, [peek], new IsolateOptions { Tier = tier, Diagnostics = new() { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true } });
        Assert.Equal(52, isolate.Invoke("main")[0].AsI64);
        Assert.True(isolate.GcStatistics.Collections >= 1100, $"{isolate.GcStatistics.Collections} collections");
        // The object allocated before 'keep' died when 'before' was overwritten, so the collector moved 'keep'
        // down, and the local that was its only reference followed it.
        Assert.Equal(2, seen.Count);
        Assert.NotEqual(seen[0], seen[1]);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void OldObjectPointingToAYoungOneKeepsItAlive(ExecutionTier tier)
    {
        var module = Module.FromText(Churn + "\n" + """
            .func main () -> (i64)
                .local box ptr
                i64.const 1
                alloc
                local.set box
                i64.const 200
                call churn
                local.get box
                i64.const 0
                i64.const 1
                alloc
                dup
                i64.const 0
                i64.const 77
                store.i
                store.p
                i64.const 200
                call churn
                local.get box
                i64.const 0
                load.p
                i64.const 0
                load.i
                return
            .end
            """, "barrier.jvm");
        // A 64-word nursery: 'box' is promoted by the first churn, then given a young object, which only the
        // remembered set keeps alive through the second churn's minor collections (the verifier checks the set).
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, NurseryBytes = 512, Diagnostics = new() { VerifyHeap = true } });
        Assert.Equal(77, isolate.Invoke("main")[0].AsI64);
        Assert.True(isolate.GcStatistics.MinorCollections >= 10, $"{isolate.GcStatistics.MinorCollections} minor collections");
        Assert.True(isolate.GcStatistics.PromotedBytes > 0);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void HandlesKeepObjectsAliveAcrossCollectionsAndCanBePassedBackIn(ExecutionTier tier)
    {
        var module = Module.FromText(Churn + "\n" + """
            .func make (x: i64) -> (ptr)
                .local p ptr
                i64.const 2
                alloc
                local.tee p
                i64.const 0
                local.get x
                store.i
                local.get p
                return
            .end
            .func get (p: ptr) -> (i64)
                local.get p
                i64.const 0
                load.i
                return
            .end
            """, "handles.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, NurseryBytes = 512, Diagnostics = new() { VerifyHeap = true } });
        Handle kept;
        using (isolate.OpenHandleScope())
        {
            kept = isolate.CreateHandle(isolate.Invoke("make", Value.I64(7))[0]);
            var first = kept.Bits;
            isolate.Invoke("churn", Value.I64(10_000));
            Assert.NotEqual(first, kept.Bits);
            Assert.Equal(7, isolate.Invoke("get", kept.Value)[0].AsI64);
            Assert.Equal(2, kept.Length);
        }
        Assert.Throws<ObjectDisposedException>(() => kept.Value);
        isolate.CollectGarbage();
        Assert.Equal(0, isolate.HeapUsedBytes);
        Assert.Throws<ArgumentException>(() => isolate.Invoke("get", new Value(VmType.Ptr, 2, true)));
    }

    [Fact]
    public void CyclesAreCollected()
    {
        var module = Module.FromText("""
            .func main (n: i64)
                .local a ptr
                .local b ptr
            again:
                i64.const 1
                alloc
                local.set a
                i64.const 1
                alloc
                local.tee b
                i64.const 0
                local.get a
                store.p
                local.get a
                i64.const 0
                local.get b
                store.p
                local.get n
                i64.const 1
                i64.sub
                local.tee n
                br_if again
                return
            .end
            """, "cycles.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit, Diagnostics = new() { VerifyHeap = true } });
        isolate.Invoke("main", Value.I64(100_000));
        Assert.Equal(100_000L * 2 * 16, isolate.HeapAllocatedBytes);
        isolate.CollectGarbage();
        Assert.Equal(0, isolate.HeapUsedBytes);
    }

    [Fact]
    public void WordGlobalsKeepObjectsAliveAndAreUpdated()
    {
        var module = Module.FromText(Churn + "\n" + """
            .global root word
            .func main () -> (i64)
                i64.const 50
                call churn
                i64.const 2
                alloc
                dup
                i64.const 1
                i64.const 99
                store.i
                word.of_ptr
                global.set root
                i64.const 500
                call churn
                global.get root
                word.as_ptr
                i64.const 1
                load.i
                return
            .end
            """, "global.jvm");
        foreach (var tier in Enum.GetValues<ExecutionTier>())
        {
            var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier, Diagnostics = new() { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true } });
            Assert.Equal(99, isolate.Invoke("main")[0].AsI64);
            isolate.CollectGarbage();
            Assert.Equal(3 * 8, isolate.HeapUsedBytes);
        }
    }

    [Fact]
    public void HeapLimitBoundsLiveDataNotTotalAllocation()
    {
        var module = Module.FromText(Churn + "\n" + """
            .func hoard (n: i64) -> (ptr)
                .local head ptr
                i64.const 1
                alloc
                local.set head
            again:
                i64.const 2
                alloc
                dup
                i64.const 0
                local.get head
                store.p
                local.set head
                local.get n
                i64.const 1
                i64.sub
                local.tee n
                br_if again
                local.get head
                return
            .end
            """, "limit.jvm");
        var options = new IsolateOptions { Tier = ExecutionTier.Jit, MaxHeapBytes = 1 << 20 };
        var isolate = new Isolate(module, options: options);
        isolate.Invoke("churn", Value.I64(1_000_000));
        Assert.Equal(40_000_000, isolate.HeapAllocatedBytes);
        var trap = Assert.Throws<TrapException>(() => new Isolate(module, options: options).Invoke("hoard", Value.I64(1_000_000)));
        Assert.Equal(TrapCode.OutOfMemory, trap.Code);
        Assert.Equal("hoard", trap.Location!.Function);
    }

    /// <summary>A linked structure of ten million nodes survives repeated collections in compiled code.</summary>
    [Fact]
    public void TenMillionNodeListSurvivesRepeatedCollections()
    {
        var module = Module.FromText("""
            .func main (n: i64) -> (i64 i64)
                .local head word
                .local node ptr
                .local i i64
                .local sum i64
                .local count i64
            build:
                i64.const 2
                alloc
                local.tee node
                i64.const 0
                local.get i
                store.i
                local.get node
                i64.const 1
                local.get head
                store.w
                local.get node
                word.of_ptr
                local.set head
                local.get i
                i64.const 1
                i64.add
                local.tee i
                local.get n
                i64.lt_s
                br_if build
            walk:
                local.get head
                isptr
                br_ifz done
                local.get head
                word.as_ptr
                local.tee node
                i64.const 0
                load.i
                local.get sum
                i64.add
                local.set sum
                local.get count
                i64.const 1
                i64.add
                local.set count
                local.get node
                i64.const 1
                load.w
                local.set head
                br walk
            done:
                local.get sum
                local.get count
                return
            .end
            """, "ten-million.jvm");
        const long n = 10_000_000;
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit, MaxHeapBytes = 1L << 30 });
        var results = isolate.Invoke("main", Value.I64(n));
        Assert.Equal(n * (n - 1) / 2, results[0].AsI64);
        Assert.Equal(n, results[1].AsI64);
        Assert.True(isolate.GcStatistics.Collections >= 3, $"{isolate.GcStatistics.Collections} collections");
        Assert.Equal(n * 24, isolate.GcStatistics.LiveBytes is var live && live > 0 ? isolate.HeapUsedBytes : 0);
    }
}
