using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi.Hostile;

/// <summary>
/// A careless or hostile host at the boundary (spec/embedding.md §9): forged and stale pointers, views kept after
/// their host call, byte views of objects that hold pointers. Each fails with a clear exception, never touches
/// another object, and the isolate keeps working afterwards.
/// </summary>
public sealed class HostBoundaryTests
{
    private const string Program = """
        .import keep (ptr) -> ()
        .import peek (ptr) -> (i64)
        .import poke () -> ()
        .global table word = 0
        ; An object of 1000 words of 64,000 each, kept in a global: its sum is 64,000,000.
        .func fill_table () -> () export
            .local t ptr
            .local i i64
            i64.const 1000
            alloc
            local.set t
        loop:
            local.get i
            i64.const 1000
            i64.ge_s
            br_if done
            local.get t
            local.get i
            i64.const 64000
            store.i
            local.get i
            i64.const 1
            i64.add
            local.set i
            br loop
        done:
            local.get t
            word.of_ptr
            global.set table
            return
        .end
        .func table_sum () -> (i64) export
            .local t ptr
            .local i i64
            .local sum i64
            global.get table
            word.as_ptr
            local.set t
        loop:
            local.get i
            local.get t
            len
            i64.ge_s
            br_if done
            local.get sum
            local.get t
            local.get i
            load.i
            i64.add
            local.set sum
            local.get i
            i64.const 1
            i64.add
            local.set i
            br loop
        done:
            local.get sum
            return
        .end
        ; A garbage object of n words: dead as soon as the call returns.
        .func make (n: i64) -> (ptr) export
            local.get n
            alloc
            return
        .end
        .func length (p: ptr) -> (i64) export
            local.get p
            len
            return
        .end
        .func add (a: i64, b: i64) -> (i64) export
            local.get a
            local.get b
            i64.add
            return
        .end
        ; Passes a 3-word object of bytes 1, 2, 3 (one per word) to keep, then calls poke, then returns the bytes' sum.
        .func keep_then_poke () -> (i64) export
            .local b ptr
            i64.const 3
            alloc
            local.set b
            local.get b
            i64.const 0
            i64.const 1
            store.i
            local.get b
            i64.const 1
            i64.const 2
            store.i
            local.get b
            i64.const 2
            i64.const 3
            store.i
            local.get b
            call keep
            call poke
            local.get b
            i64.const 0
            load.i
            local.get b
            i64.const 1
            load.i
            i64.add
            local.get b
            i64.const 2
            load.i
            i64.add
            return
        .end
        ; Passes peek an object whose word 1 holds a pointer.
        .func peek_at_pointers () -> (i64) export
            .local box ptr
            i64.const 2
            alloc
            local.set box
            local.get box
            i64.const 1
            local.get box
            store.p
            local.get box
            call peek
            return
        .end
        .func peek_at_numbers () -> (i64) export
            .local box ptr
            i64.const 2
            alloc
            local.set box
            local.get box
            i64.const 0
            i64.const 258
            store.i
            local.get box
            call peek
            return
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private sealed class Host
    {
        public Pointer Kept;
        public Action? Poke;

        public Isolate Create(ExecutionTier tier) => new(Module.FromText(Program, "boundary.jvm"),
        [
            HostFunction.FromAction<Pointer>("keep", pointer => Kept = pointer),
            HostFunction.FromFunc<Pointer, long>("peek", pointer => pointer.Bytes[0] + pointer.Bytes.Length),
            HostFunction.FromAction("poke", () => Poke?.Invoke()),
        ], new IsolateOptions { Tier = tier });
    }

    /// <summary>The isolate still runs code and returns the right answer.</summary>
    private static void StillWorks(Isolate isolate) => Assert.Equal(42, isolate.Invoke("add", Value.I64(40), Value.I64(2))[0].AsI64);

    [Theory]
    [InlineData(5L)]
    [InlineData(1L << 40)]
    [InlineData(2L)]
    [InlineData(-1L)]
    public void AHandleCannotBeMadeFromAPointerValueTheHostMadeUp(long bits)
    {
        var isolate = new Host().Create(ExecutionTier.Tiered);
        isolate.Invoke("fill_table");
        var forged = new Value(VmType.Ptr, bits, true);
        var error = Assert.Throws<ArgumentException>(() => isolate.CreateHandle(forged));
        Assert.Contains("was not given out by the VM", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => isolate.CreateHandle(new Value(VmType.Word, bits, true)));
        Assert.Throws<ArgumentException>(() => isolate.Invoke("length", forged));
        Assert.Throws<ArgumentException>(() => isolate.Describe(forged));
        StillWorks(isolate);
        Assert.Equal(64_000_000, isolate.Invoke("table_sum")[0].AsI64);
    }

    [Fact]
    public void APointerValueWhoseBitsWereChangedIsRefused()
    {
        var isolate = new Host().Create(ExecutionTier.Jit);
        var genuine = isolate.Invoke("make", Value.I64(4))[0];
        Assert.Contains("was altered", Assert.Throws<ArgumentException>(() => isolate.CreateHandle(genuine with { Bits = genuine.Bits + 1 })).Message, StringComparison.Ordinal);
        using var handle = isolate.CreateHandle(genuine);
        Assert.Equal(4, handle.Length);
        // A pointer relabelled as a number cannot carry the pointer into the program either.
        Assert.Throws<ArgumentException>(() => isolate.Invoke("add", handle.Value with { Type = VmType.I64 }, Value.I64(0)));
        Assert.Equal(4, isolate.Invoke("length", handle.Value)[0].AsI64);
        StillWorks(isolate);
    }

    [Fact]
    public void APointerValueFromAnotherIsolateIsRefused()
    {
        var first = new Host().Create(ExecutionTier.Interpreter);
        var second = new Host().Create(ExecutionTier.Interpreter);
        var pointer = first.Invoke("make", Value.I64(3))[0];
        Assert.Contains("another isolate", Assert.Throws<ArgumentException>(() => second.CreateHandle(pointer)).Message, StringComparison.Ordinal);
        StillWorks(second);
        Assert.Equal(3, first.CreateHandle(pointer).Length);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void APointerKeptAcrossACollectionCannotBecomeAHandle(ExecutionTier tier)
    {
        var isolate = new Host().Create(tier);
        var stale = isolate.Invoke("make", Value.I64(1_000_000))[0];
        Assert.Equal("<ptr len=1000000>", isolate.Describe(stale));
        isolate.CollectGarbage();
        var error = Assert.Throws<InvalidOperationException>(() => isolate.CreateHandle(stale));
        Assert.Contains("is stale", error.Message, StringComparison.Ordinal);
        Assert.Contains("Handle", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => isolate.Describe(stale));
        StillWorks(isolate);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void APointerKeptAcrossAnotherRunIsStale(ExecutionTier tier)
    {
        var isolate = new Host().Create(tier);
        var pointer = isolate.Invoke("make", Value.I64(2))[0];
        StillWorks(isolate);
        Assert.Throws<InvalidOperationException>(() => isolate.CreateHandle(pointer));
        // A typed export is a run too.
        var fresh = isolate.Invoke("make", Value.I64(2))[0];
        Assert.Equal(5, isolate.GetFunction<long, long, long>("add")(2, 3));
        Assert.Throws<InvalidOperationException>(() => isolate.CreateHandle(fresh));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AStalePointerCannotCorruptAnotherObject(ExecutionTier tier)
    {
        var isolate = new Host().Create(tier);
        // The big object dies at once; the table is allocated where it was and survives every collection.
        var stale = isolate.Invoke("make", Value.I64(1_000_000))[0];
        isolate.CollectGarbage();
        isolate.Invoke("fill_table");
        Assert.Equal(64_000_000, isolate.Invoke("table_sum")[0].AsI64);
        Assert.Throws<InvalidOperationException>(() => isolate.CreateHandle(stale));
        Assert.Throws<InvalidOperationException>(() => isolate.Describe(stale));
        isolate.CollectGarbage();
        isolate.CollectGarbage();
        Assert.Equal(64_000_000, isolate.Invoke("table_sum")[0].AsI64);
        StillWorks(isolate);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void APointerKeptAfterItsHostCallReturnsCannotBeReadOrWritten(ExecutionTier tier)
    {
        var host = new Host();
        var isolate = host.Create(tier);
        Assert.Equal(6, isolate.Invoke("keep_then_poke")[0].AsI64);
        var kept = host.Kept;
        foreach (var use in new Action[]
                 {
                     () => _ = kept.Length, () => _ = kept.ByteLength, () => _ = kept.Bytes.Length, () => kept.WritableBytes[0] = 9,
                     () => _ = kept.Value, () => kept.ToHandle().Dispose(),
                 })
            Assert.Contains("has returned", Assert.Throws<InvalidOperationException>(use).Message, StringComparison.Ordinal);
        StillWorks(isolate);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void APointerFromAnEarlierHostCallCannotWriteDuringALaterOne(ExecutionTier tier)
    {
        var host = new Host();
        var isolate = host.Create(tier);
        isolate.Invoke("fill_table");
        // keep sees the 3-word buffer; poke runs after keep returned and tries to write through it.
        host.Poke = () => host.Kept.WritableBytes[0] = 100;
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("keep_then_poke"));
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.IsType<InvalidOperationException>(trap.InnerException);
        host.Poke = null;
        Assert.Equal(6, isolate.Invoke("keep_then_poke")[0].AsI64);
        Assert.Equal(64_000_000, isolate.Invoke("table_sum")[0].AsI64);
    }

    [Fact]
    public void ADefaultPointerNamesNoObject()
    {
        var pointer = default(Pointer);
        Assert.Contains("default(Pointer)", Assert.Throws<InvalidOperationException>(() => pointer.Length).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => pointer.Bytes.Length);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void PointerBytesRefusesAnObjectHoldingPointers(ExecutionTier tier)
    {
        var isolate = new Host().Create(tier);
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("peek_at_pointers"));
        Assert.Equal(TrapCode.TagMismatch, trap.Code);
        Assert.Contains("word 1 of the object holds a pointer", trap.Detail, StringComparison.Ordinal);
        // The same host function reads an object of numbers: byte 0 of 258 is 2, and the object has 16 bytes.
        Assert.Equal(18, isolate.Invoke("peek_at_numbers")[0].AsI64);
        StillWorks(isolate);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AnUntypedHostFunctionCannotReturnAPointerItMadeUp(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .import forge () -> (ptr)
            .import pass (ptr) -> (ptr)
            .func forged () -> (i64) export
                call forge
                len
                return
            .end
            .func passed () -> (i64) export
                i64.const 7
                alloc
                call pass
                len
                return
            .end
            """, "forge.jvm");
        var forgedBits = 5L;
        var isolate = new Isolate(module,
        [
            new HostFunction("forge", new FunctionType([], [VmType.Ptr]), (_, values) => values[0] = forgedBits),
            new HostFunction("pass", new FunctionType([VmType.Ptr], [VmType.Ptr]), (_, _) => { }),
        ], new IsolateOptions { Tier = tier });
        foreach (var bits in new[] { 5L, 1L << 40, 0L, -1L })
        {
            forgedBits = bits;
            var trap = Assert.Throws<TrapException>(() => isolate.Invoke("forged"));
            Assert.Equal(TrapCode.HostError, trap.Code);
            Assert.Contains("a host function cannot make pointers", trap.Detail, StringComparison.Ordinal);
        }
        // Returning the pointer it was given is allowed.
        Assert.Equal(7, isolate.Invoke("passed")[0].AsI64);
    }

    [Fact]
    public void ReadBytesRefusesAPointerFromAnEarlierCall()
    {
        var module = Module.FromText("""
            .import show (ptr) -> ()
            .func main () -> () export
                i64.const 1
                alloc
                call show
                return
            .end
            """, "show.jvm");
        long kept = 0;
        var isolate = new Isolate(module, [new HostFunction("show", new FunctionType([VmType.Ptr], []), (_, values) => kept = values[0])]);
        isolate.Invoke("main");
        Assert.Throws<ArgumentException>(() => isolate.ReadBytes(kept, 0, new byte[8]));
        Assert.Throws<ArgumentException>(() => isolate.ReadBytes(2, 0, new byte[8]));
        isolate.Invoke("main");
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ChangingABranchTableAfterVerificationChangesNothing(ExecutionTier tier)
    {
        // Case 999 of the table goes to 'zero'. Sent instead to 'len' (whose stack holds a ptr), it would treat
        // the selector 999 as a pointer; the module keeps the targets it was verified with. (The default, 'big',
        // makes 'len' reachable.)
        var cases = string.Join(' ', Enumerable.Repeat("zero", 1000));
        var module = Module.FromText($$"""
            .func main (sel: i64) -> (i64) export
                local.get sel
                br_table ({{cases}}) big
            zero:
                i64.const 0
                return
            big:
                i64.const 1
                alloc
                len
                return
            .end
            """, "table.jvm");
        var code = module.Definition.Functions[0].Code;
        var lenPc = code.IndexOf(code.First(instruction => instruction.OpCode == OpCode.Len));
        code[1].Targets![999] = lenPc;
        Assert.Equal(2, code[1].Targets![999]);
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier });
        Assert.Equal(0, isolate.Invoke("main", Value.I64(999))[0].AsI64);
    }
}
