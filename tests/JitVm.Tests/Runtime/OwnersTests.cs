using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Memory;
using JitVm.Runtime;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Runtime;

/// <summary>The three owners: several fibers on one store, and instances linked to each other in one store.</summary>
public sealed class OwnersTests
{
    public static TheoryData<ExecutionTier, DeoptStressMode> Tiers()
    {
        var data = new TheoryData<ExecutionTier, DeoptStressMode>();
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered })
        foreach (var deopt in new[] { DeoptStressMode.Off, DeoptStressMode.EverySafepoint })
            data.Add(tier, deopt);
        return data;
    }

    private static IsolateOptions Options(ExecutionTier tier, DeoptStressMode deopt) => new()
    {
        Tier = tier,
        NurseryBytes = 4096,
        Diagnostics = new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true, DeoptStress = deopt },
    };

    /// <summary>Runs defined or imported function <paramref name="name"/> of <paramref name="fiber"/>'s instance as an entry.</summary>
    private static long[] Run(Fiber fiber, string name, params long[] arguments)
    {
        var store = fiber.Store;
        var index = fiber.Instance.Module.FindFunction(name);
        var signature = fiber.Instance.Module.Definition.SignatureOf(index);
        var width = Math.Max(Math.Max(arguments.Length, signature.Results.Length), 1);
        var owned = store.RunningThread == 0;
        if (owned) store.BeginEntry(fiber);
        try
        {
            fiber.EnsureSlots(width + 1);
            for (var i = 0; i < arguments.Length; i++)
            {
                fiber.Slots[i] = arguments[i];
                fiber.SlotTags[i] = 0;
            }
            fiber.Execute(index, width);
            return fiber.Slots[..signature.Results.Length];
        }
        finally
        {
            if (owned) store.EndEntry(fiber);
        }
    }

    // A list of n cells built on the heap, then summed: every cell is reachable only from the fiber's frames.
    private const string Lists = """
        .import other () -> ()
        .func build (n: i64) -> (ptr)
            .local list ptr
            .local cell ptr
            i64.const 2
            alloc
            local.set list
        again:
            local.get n
            i64.eqz
            br_if done
            i64.const 2
            alloc
            local.set cell
            local.get cell
            i64.const 0
            local.get n
            store.i
            local.get cell
            i64.const 1
            local.get list
            store.p
            local.get cell
            local.set list
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br again
        done:
            local.get list
            return
        .end
        .func sum (list: ptr, n: i64) -> (i64)
            .local total i64
        again:
            local.get n
            i64.eqz
            br_if done
            local.get total
            local.get list
            i64.const 0
            load.i
            i64.add
            local.set total
            local.get list
            i64.const 1
            load.p
            local.set list
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br again
        done:
            local.get total
            return
        .end
        .func main (n: i64) -> (i64)
            .local list ptr
            local.get n
            call build
            local.set list
            call other
            local.get list
            local.get n
            call sum
            return
        .end
        .func solo (n: i64) -> (i64)
            .local list ptr
            local.get n
            call build
            local.set list
            local.get list
            local.get n
            call sum
            return
        .end
        """;

    [Theory]
    [MemberData(nameof(Tiers))]
    public void TheCollectorSeesEveryFiberOfTheStore(ExecutionTier tier, DeoptStressMode deopt)
    {
        Fiber? second = null;
        long inner = -1;
        // While the first fiber is stopped in the host call, holding its list only in its frames, a second fiber of the
        // same store builds and sums its own list, collecting at every allocation and moving both lists.
        var other = HostFunction.FromAction("other", () => inner = Run(second!, "solo", 50)[0]);
        var isolate = new Isolate(Module.FromText(Lists), [other], Options(tier, deopt));
        second = new Fiber(isolate.Store, isolate.Instance);
        Assert.Equal(2, isolate.Store.Fibers.Count);
        Assert.Equal(new long[] { 40 * 41 / 2 }, Run(isolate.Fiber, "main", 40));
        Assert.Equal(50 * 51 / 2, inner);
        Assert.True(isolate.GcStatistics.Collections >= 92, $"{isolate.GcStatistics.Collections} collections");
        if (deopt != DeoptStressMode.Off && tier != ExecutionTier.Interpreter) Assert.True(isolate.Store.FramesDeoptimised > 0);
    }

    private const string Library = """
        .global calls i64 = 0
        .func add1 (x: i64) -> (i64)
            global.get calls
            i64.const 1
            i64.add
            global.set calls
            local.get x
            i64.const 1
            i64.add
            return
        .end
        .func first (list: ptr) -> (i64)
            local.get list
            i64.const 0
            load.i
            return
        .end
        .func fail (x: i64) -> (i64)
            local.get x
            i64.const 0
            i64.div_s
            return
        .end
        .func calls () -> (i64)
            global.get calls
            return
        .end
        """;

    private const string Client = """
        .import add1 (i64) -> (i64)
        .import first (ptr) -> (i64)
        .import fail (i64) -> (i64)
        .global calls i64 = 100
        .func twice (x: i64) -> (i64)
            local.get x
            call add1
            call add1
            return
        .end
        .func viaHeap (x: i64) -> (i64)
            .local cell ptr
            i64.const 3
            alloc
            local.set cell
            local.get cell
            i64.const 0
            local.get x
            store.i
            local.get cell
            call first
            return
        .end
        .func boom (x: i64) -> (i64)
            local.get x
            call fail
            return
        .end
        .func mine () -> (i64)
            global.get calls
            return
        .end
        """;

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AStoreLinksASecondModuleToTheFirstOnesExports(ExecutionTier tier, DeoptStressMode deopt)
    {
        var isolate = new Isolate(Module.FromText(Library, "library.jvm"), options: Options(tier, deopt));
        var client = new Instance(isolate.Store, Module.FromText(Client, "client.jvm"), null, deopt != DeoptStressMode.Off);
        var fiber = new Fiber(isolate.Store, client);

        Assert.Equal(new long[] { 12 }, Run(fiber, "twice", 10));
        Assert.Equal(new long[] { 7 }, Run(fiber, "viaHeap", 7));
        // Each instance has its own globals, in the one store: the library's counter saw both calls.
        Assert.Equal(new long[] { 100 }, Run(fiber, "mine"));
        Assert.Equal(new long[] { 2 }, Run(isolate.Fiber, "calls"));
        Assert.Equal(new Value[] { Value.I64(2) }, isolate.Invoke("calls"));

        var trap = Assert.Throws<TrapException>(() => Run(fiber, "boom", 5));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal(["fail", "boom"], trap.VmStackTrace.Select(f => f.Function));
        Assert.Equal(["library.jvm", "client.jvm"], trap.VmStackTrace.Select(f => f.Source));
        // The store is usable after the trap, in both instances.
        Assert.Equal(new long[] { 4 }, Run(fiber, "twice", 2));
        Assert.Equal(new long[] { 4 }, Run(isolate.Fiber, "calls"));
    }

    [Fact]
    public void AnImportMissingFromHostAndStoreIsALinkError()
    {
        var isolate = new Isolate(Module.FromText(Library));
        var error = Assert.Throws<LinkException>(() => new Instance(isolate.Store, Module.FromText(".import nowhere (i64) -> (i64)\n.func f () -> ()\n    return\n.end"), null));
        Assert.Contains("nowhere", error.Message);
    }

    [Fact]
    public void ALinkedExportMustHaveTheImportsSignature()
    {
        var isolate = new Isolate(Module.FromText(Library));
        var error = Assert.Throws<LinkException>(() => new Instance(isolate.Store, Module.FromText(".import add1 (f64) -> (i64)\n.func f () -> ()\n    return\n.end"), null));
        Assert.Contains("linked module provides", error.Message);
    }
}
