using JitVm.Bytecode;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>An object's byte length (spec/values.md §2.4) at the host boundary (spec/embedding.md §9.1, §10): objects
/// the host makes with <see cref="Isolate.AllocateBytes"/> record it, <see cref="Handle.ByteLength"/> and
/// <see cref="Pointer.ByteLength"/> read it as <c>len.bytes</c> does, and it survives collections and channels, on
/// every tier.</summary>
public sealed class ByteLengthTests
{
    private const string Source = """
        .import made (ptr) -> (i64)
        .import make (i64) -> ()
        .global box word = 0
        .func byte_length (p: ptr) -> (i64)
            local.get p
            len.bytes
            return
        .end
        ; A 13-byte object whose last byte is 7, given to the host while the host function runs.
        .func give () -> (i64)
            i64.const 13
            alloc.bytes
            dup
            i64.const 12
            i64.const 7
            store.u8
            call made
            return
        .end
        ; Asks the host to make an object of n bytes inside its call (no collection there), then reads its byte length.
        .func via_host (n: i64) -> (i64)
            local.get n
            call make
            global.get box
            word.as_ptr
            len.bytes
            return
        .end
        ; Receives an object from the channel and answers its byte length.
        .func receive (c: ptr) -> (i64)
            local.get c
            chan.recv
            drop
            word.as_ptr
            len.bytes
            return
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static Isolate Create(ExecutionTier tier, List<long>? seen = null)
    {
        Isolate? isolate = null;
        var made = HostFunction.FromFunc<Pointer, long>("made", p =>
        {
            seen?.Add(p.Length);
            seen?.Add(p.Bytes.Length);
            return p.ByteLength;
        });
        var make = HostFunction.FromAction<long>("make", n =>
        {
            using var handle = isolate!.AllocateBytes(new byte[n]);
            isolate.SetGlobal("box", handle.Value);
        });
        isolate = new Isolate(Module.FromText(Source, "bytes.jvm"), [made, make], new IsolateOptions { Tier = tier, NurseryBytes = 4096 });
        return isolate;
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AllocateBytesRecordsTheByteLengthThatLenBytesReads(ExecutionTier tier)
    {
        var isolate = Create(tier);
        using var text = isolate.AllocateBytes("hello, bytes!"u8);
        Assert.Equal(2, text.Length);
        Assert.Equal(13, text.ByteLength);
        Assert.Equal(13, isolate.Invoke("byte_length", text.Value).Single().AsI64);
        // Bytes past the byte length, inside the last word, are zero and still addressable (bounds are words).
        Span<byte> tail = stackalloc byte[3];
        isolate.ReadBytes(text, 13, tail);
        Assert.Equal<byte>([0, 0, 0], tail.ToArray());
        using var empty = isolate.AllocateBytes([]);
        Assert.Equal(0, empty.ByteLength);
        using var words = isolate.Allocate(3);
        Assert.Equal(24, words.ByteLength);
        Assert.Equal(24, isolate.Invoke("byte_length", words.Value).Single().AsI64);
        for (var i = 0; i < 3; i++) isolate.CollectGarbage();
        Assert.Equal(13, text.ByteLength);
        Assert.Equal(13, isolate.Invoke("byte_length", text.Value).Single().AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AnObjectMadeInsideAHostCallAndAPointerToOneKnowTheirByteLength(ExecutionTier tier)
    {
        var seen = new List<long>();
        var isolate = Create(tier, seen);
        Assert.Equal(21, isolate.Invoke("via_host", Value.I64(21)).Single().AsI64);
        Assert.Equal(13, isolate.Invoke("give").Single().AsI64);
        // The Pointer's words and byte view span 2 words, 16 bytes; its byte length is the 13 it was made with.
        Assert.Equal([2L, 16L], seen);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public async Task BytesSentByTheHostArriveWithTheirByteLength(ExecutionTier tier)
    {
        var isolate = Create(tier);
        using var channel = isolate.CreateChannel(1);
        var task = isolate.Spawn("receive", channel.Value);
        await channel.SendAsync(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 });
        Assert.Equal(11, (await task.Completion).Single().AsI64);
    }

    [Fact]
    public void TheModuleBuilderEmitsTheByteLengthInstructionsInAVersion5Module()
    {
        var builder = new ModuleBuilder();
        var main = builder.Function("main", [], [VmType.I64]);
        main.I64Const(29).Emit(OpCode.AllocBytes).Emit(OpCode.LenBytes).Return();
        var definition = builder.ToDefinition();
        Assert.Equal(5, ModuleWriter.Write(definition)[4]);
        Assert.Equal(29, new Isolate(Module.FromDefinition(definition)).Invoke("main").Single().AsI64);
    }
}
