using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>The host's access to VM memory (spec/embedding.md §9.1): objects it allocates, their words and bytes,
/// and globals by name, under the bounds and tag rules VM code obeys, on every tier.</summary>
public sealed class HostMemoryTests
{
    private const string Source = """
        .import make (i64) -> ()
        .global counter i64 = 5
        .global ratio f64 = 0.5
        .global box word = 0
        .global any word = 3
        ; The sum of an object's words, read as integers.
        .func sum (p: ptr) -> (i64)
            .local i i64
            .local total i64
        loop:
            local.get i
            local.get p
            len
            i64.lt_s
            br_ifz done
            local.get total
            local.get p
            local.get i
            load.i
            i64.add
            local.set total
            local.get i
            i64.const 1
            i64.add
            local.set i
            br loop
        done:
            local.get total
            return
        .end
        ; Follows the pointer in word 0 and reads word 1 of its target.
        .func follow (p: ptr) -> (i64)
            local.get p
            i64.const 0
            load.p
            i64.const 1
            load.i
            return
        .end
        .func byte_at (p: ptr, i: i64) -> (i64)
            local.get p
            local.get i
            load.u8
            return
        .end
        ; Asks the host to make an object holding n, then reads it back through the global the host set.
        .func via_host (n: i64) -> (i64)
            local.get n
            call make
            global.get box
            word.as_ptr
            i64.const 0
            load.i
            return
        .end
        ; Upper-cases the ASCII letters of a string (word 0: byte length, then the bytes) in place.
        .func shout (s: ptr) -> (ptr)
            .local i i64
            .local c i64
        loop:
            local.get i
            local.get s
            i64.const 0
            load.i
            i64.lt_s
            br_ifz done
            local.get s
            local.get i
            i64.const 8
            i64.add
            load.u8
            local.tee c
            i64.const 97
            i64.lt_s
            br_if next
            local.get c
            i64.const 122
            i64.gt_s
            br_if next
            local.get s
            local.get i
            i64.const 8
            i64.add
            local.get c
            i64.const 32
            i64.sub
            store.u8
        next:
            local.get i
            i64.const 1
            i64.add
            local.set i
            br loop
        done:
            local.get s
            return
        .end
        .func bump () -> (i64)
            global.get counter
            i64.const 1
            i64.add
            global.set counter
            global.get counter
            return
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static Isolate Create(ExecutionTier tier, Func<Isolate>? self = null)
    {
        Isolate? isolate = null;
        var make = HostFunction.FromAction<long>("make", n =>
        {
            // Inside a host call: the allocation must not collect, and the object reaches VM code through a global.
            using var handle = isolate!.Allocate(1);
            isolate.WriteI64(handle, 0, n);
            isolate.SetGlobal("box", handle.Value);
        });
        isolate = new Isolate(Module.FromText(Source, "memory.jvm"), [make], new IsolateOptions { Tier = tier, NurseryBytes = 4096 });
        return isolate;
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void TheHostBuildsObjectsThatVmCodeReads(ExecutionTier tier)
    {
        var isolate = Create(tier);
        using var numbers = isolate.Allocate(4);
        Assert.Equal(4, numbers.Length);
        for (var i = 0; i < 4; i++) Assert.Equal(0, isolate.ReadI64(numbers, i));
        for (var i = 0; i < 4; i++) isolate.WriteI64(numbers, i, (i + 1) * 10);
        Assert.Equal(100, isolate.Invoke("sum", numbers.Value).Single().AsI64);
        isolate.WriteF64(numbers, 3, 2.5);
        Assert.Equal(2.5, isolate.ReadF64(numbers, 3));

        using var outer = isolate.Allocate(2);
        isolate.WritePointer(outer, 0, numbers);
        Assert.True(isolate.HoldsPointer(outer, 0));
        Assert.False(isolate.HoldsPointer(outer, 1));
        Assert.Equal(20, isolate.Invoke("follow", outer.Value).Single().AsI64);
        using var again = isolate.ReadPointer(outer, 0);
        Assert.Equal(30, isolate.ReadI64(again, 2));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ObjectsFollowTheirHandlesAcrossCollections(ExecutionTier tier)
    {
        var isolate = Create(tier);
        using var outer = isolate.Allocate(1);
        using (var inner = isolate.Allocate(2))
        {
            isolate.WriteI64(inner, 1, 77);
            isolate.WritePointer(outer, 0, inner);
        }
        // Enough garbage to fill the small nursery many times over: the objects move, the handle follows.
        for (var i = 0; i < 200; i++) isolate.Allocate(30).Dispose();
        isolate.CollectGarbage();
        Assert.Equal(77, isolate.Invoke("follow", outer.Value).Single().AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void BytesRoundTripAsLoadU8SeesThem(ExecutionTier tier)
    {
        var isolate = Create(tier);
        byte[] text = [.. "héllo, VM"u8];
        using var bytes = isolate.AllocateBytes(text);
        Assert.Equal(2, bytes.Length); // 10 bytes in 2 words, padded with zeros
        for (var i = 0; i < text.Length; i++) Assert.Equal(text[i], isolate.Invoke("byte_at", bytes.Value, Value.I64(i)).Single().AsI64);
        Assert.Equal(0, isolate.Invoke("byte_at", bytes.Value, Value.I64(15)).Single().AsI64);
        var back = new byte[text.Length];
        isolate.ReadBytes(bytes, 0, back);
        Assert.Equal(text, back);
        isolate.WriteBytes(bytes, 14, [1, 2]);
        Assert.Equal(0x0201L << 48, isolate.ReadI64(bytes, 1) & unchecked((long)0xFFFF000000000000UL));
    }

    [Fact]
    public void BoundsAndTagsAreCheckedAsVmCodeChecksThem()
    {
        var isolate = Create(ExecutionTier.Interpreter);
        using var target = isolate.Allocate(2);
        using var other = isolate.Allocate(1);
        isolate.WritePointer(target, 1, other);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.ReadI64(target, 2)).Code);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.WriteI64(target, -1, 0)).Code);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.Allocate(-1)).Code);
        // A pointer's bits are never readable, as a number or as bytes, and bytes cannot overwrite one.
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.ReadI64(target, 1)).Code);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.ReadF64(target, 1)).Code);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.ReadBytes(target, 8, new byte[1])).Code);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.ReadPointer(target, 0)).Code);
        // A refused byte write changes nothing, even the bytes before the pointer word.
        isolate.WriteI64(target, 0, 0x1122334455667788);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.WriteBytes(target, 4, new byte[8])).Code);
        Assert.Equal(0x1122334455667788, isolate.ReadI64(target, 0));
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.WriteBytes(target, 15, new byte[2])).Code);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.ReadBytes(target, 16, new byte[1])).Code);
        // Overwriting the pointer with a number is a store.i, which VM code may do too.
        isolate.WriteI64(target, 1, 9);
        Assert.Equal(9, isolate.ReadI64(target, 1));
        Assert.Equal(TrapCode.OutOfMemory, Assert.Throws<TrapException>(() => isolate.Allocate(long.MaxValue / 16)).Code);
    }

    [Fact]
    public void HandlesAreCheckedForTheirIsolateAndLife()
    {
        var isolate = Create(ExecutionTier.Interpreter);
        var stranger = Create(ExecutionTier.Interpreter);
        using var foreign = stranger.Allocate(1);
        Assert.Throws<ArgumentException>(() => isolate.ReadI64(foreign, 0));
        using var mine = isolate.Allocate(1);
        Assert.Throws<ArgumentException>(() => isolate.WritePointer(mine, 0, foreign));
        var disposed = isolate.Allocate(1);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => isolate.ReadI64(disposed, 0));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void GlobalsAreReadAndWrittenByName(ExecutionTier tier)
    {
        var isolate = Create(tier);
        Assert.Equal(5, isolate.GetGlobal("counter").AsI64);
        Assert.Equal(0.5, isolate.GetGlobal("ratio").AsF64);
        Assert.Equal(3, isolate.GetGlobal("any").Bits);
        Assert.Equal(6, isolate.Invoke("bump").Single().AsI64);
        isolate.SetGlobal("counter", Value.I64(41));
        Assert.Equal(42, isolate.Invoke("bump").Single().AsI64);
        Assert.Equal(42, isolate.GetGlobal("counter").AsI64);
        isolate.SetGlobal("ratio", Value.F64(-1));
        Assert.Equal(-1.0, isolate.GetGlobal("ratio").AsF64);

        using var box = isolate.Allocate(1);
        isolate.WriteI64(box, 0, 12);
        isolate.SetGlobal("box", box.Value);
        using var fromGlobal = isolate.CreateHandle(isolate.GetGlobal("box"));
        Assert.Equal(12, isolate.ReadI64(fromGlobal, 0));
        isolate.SetGlobal("any", box.Value);
        Assert.True(isolate.GetGlobal("any").IsPointer);

        Assert.Contains("no global named 'nope'", Assert.Throws<ArgumentException>(() => isolate.GetGlobal("nope")).Message);
        Assert.Contains("is i64, but an f64 was given", Assert.Throws<ArgumentException>(() => isolate.SetGlobal("counter", Value.F64(1))).Message);
        Assert.Throws<ArgumentException>(() => isolate.SetGlobal("box", new Value(JitVm.Bytecode.VmType.Ptr, 5, true)));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AHostFunctionAllocatesWhileTheIsolateRuns(ExecutionTier tier)
    {
        var isolate = Create(tier);
        for (var n = 0; n < 50; n++) Assert.Equal(n * 3, isolate.Invoke("via_host", Value.I64(n * 3)).Single().AsI64);
    }

    [Fact]
    public void AnotherThreadCannotReachTheHeapWhileTheIsolateRuns()
    {
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Isolate? isolate = null;
        Handle? box = null;
        Exception? refused = null;
        var make = HostFunction.FromAction<long>("make", _ =>
        {
            var other = new Thread(() =>
            {
                try { isolate!.ReadI64(box!, 0); }
                catch (Exception e) { refused = e; }
            });
            other.Start();
            other.Join();
            using var handle = isolate!.Allocate(1);
            isolate.SetGlobal("box", handle.Value);
        });
        isolate = new Isolate(Module.FromText(Source, "memory.jvm"), [make]);
        box = isolate.Allocate(1);
        isolate.Invoke("via_host", Value.I64(1));
        Assert.IsType<InvalidOperationException>(refused);
        Assert.Contains("running on thread", refused!.Message);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void StringsCrossTheBoundaryAsLengthAndUtf8(ExecutionTier tier)
    {
        var isolate = Create(tier);
        foreach (var text in new[] { "", "a", "hello, wörld", "exactly8", "ünïcödé — 漢字 🎲" })
        {
            using var handle = isolate.AllocateString(text);
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), isolate.ReadI64(handle, 0));
            using var result = isolate.CreateHandle(isolate.Invoke("shout", handle.Value).Single());
            Assert.Equal(string.Concat(text.Select(c => c is >= 'a' and <= 'z' ? char.ToUpperInvariant(c) : c)), isolate.ReadString(result));
        }
        using var raw = isolate.AllocateString([0xFF, 0x41]);
        Assert.Equal([0xFF, 0x41], isolate.ReadStringBytes(raw));
        Assert.Equal("\uFFFDA", isolate.ReadString(raw));
    }

    [Fact]
    public void AStringWhoseLengthWordLiesIsRefused()
    {
        var isolate = Create(ExecutionTier.Interpreter);
        using var handle = isolate.AllocateString("four");
        isolate.WriteI64(handle, 0, 9);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.ReadString(handle)).Code);
        isolate.WriteI64(handle, 0, -1);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.ReadString(handle)).Code);
    }
}
