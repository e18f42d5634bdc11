using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Strings, byte strings, arrays, handles and tuples through typed exports and typed host functions
/// (spec/embedding.md §9.3), on every tier: round trips, large arrays, arrays under GC pressure, null arguments,
/// results that are not what the delegate reads them as, and signatures that do not match.</summary>
public sealed class BoundaryValueTests
{
    private const string Source = """
        .import host_upper (ptr) -> (ptr)
        .import host_reverse (ptr) -> (ptr)
        .import host_scale (ptr f64) -> (ptr)
        .import host_bytes (ptr) -> (ptr)
        .import host_minmax (ptr) -> (i64 i64)
        .import host_split (f64) -> (i64 f64)
        .import host_keep (ptr) -> (i64)
        .import host_kept () -> (ptr)
        .import host_null () -> (ptr)
        .import host_log (ptr ptr ptr) -> ()
        .func echo (s: ptr) -> (ptr)
            local.get s
            return
        .end
        .func byte_length (s: ptr) -> (i64)
            local.get s
            i64.const 0
            load.i
            return
        .end
        .func words (p: ptr) -> (i64)
            local.get p
            len
            return
        .end
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
        .func fsum (p: ptr) -> (f64)
            .local i i64
            .local total f64
        loop:
            local.get i
            local.get p
            len
            i64.lt_s
            br_ifz done
            local.get total
            local.get p
            local.get i
            load.f
            f64.add
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
        ; A new object holding the words of p.
        .func copy (p: ptr) -> (ptr)
            .local r ptr
            local.get p
            len
            alloc
            local.set r
            local.get r
            i64.const 0
            local.get p
            i64.const 0
            local.get p
            len
            mem.copy
            local.get r
            return
        .end
        ; Returns a or b: with several ptr arguments, each allocated while the others are held.
        .func pick (a: ptr, b: ptr, which: i64) -> (ptr)
            local.get a
            local.get b
            local.get which
            select
            return
        .end
        .func shout (s: ptr) -> (ptr)
            local.get s
            call host_upper
            return
        .end
        ; Calls host_upper n times, allocating a little between calls so the collector runs meanwhile.
        .func shout_many (s: ptr, n: i64) -> (i64)
            .local total i64
        loop:
            local.get n
            br_ifz done
            local.get total
            local.get s
            call host_upper
            i64.const 0
            load.i
            i64.add
            local.set total
            i64.const 3
            alloc
            drop
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br loop
        done:
            local.get total
            return
        .end
        .func reverse (p: ptr) -> (ptr)
            local.get p
            call host_reverse
            return
        .end
        .func scale (p: ptr, k: f64) -> (ptr)
            local.get p
            local.get k
            call host_scale
            return
        .end
        .func mirror (p: ptr) -> (ptr)
            local.get p
            call host_bytes
            return
        .end
        .func minmax (p: ptr) -> (i64 i64)
            local.get p
            call host_minmax
            return
        .end
        .func split (x: f64) -> (i64 f64)
            local.get x
            call host_split
            return
        .end
        .func keep (p: ptr) -> (i64)
            local.get p
            call host_keep
            return
        .end
        .func kept () -> (ptr)
            call host_kept
            return
        .end
        .func null_result () -> (ptr)
            call host_null
            return
        .end
        .func log (s: ptr, b: ptr, p: ptr) -> ()
            local.get s
            local.get b
            local.get p
            call host_log
            return
        .end
        .func divmod (a: i64, b: i64) -> (i64 i64)
            local.get a
            local.get b
            i64.div_s
            local.get a
            local.get b
            i64.rem_s
            return
        .end
        .func four (a: i64) -> (i64 f64 i64 f64)
            local.get a
            local.get a
            f64.convert_i64_s
            f64.const 0.5
            f64.add
            local.get a
            i64.const 2
            i64.mul
            f64.const 1.5
            return
        .end
        ; A string whose length word claims more bytes than the object holds.
        .func bad_length () -> (ptr)
            i64.const 1
            alloc
            dup
            i64.const 0
            i64.const 100
            store.i
            return
        .end
        .func shout_bad () -> (ptr)
            call bad_length
            call host_upper
            return
        .end
        ; Puts a pointer into word 1 of p, so neither its bytes nor its words are numbers any more.
        .func pointer_in (p: ptr) -> (ptr)
            local.get p
            i64.const 1
            local.get p
            store.p
            local.get p
            return
        .end
        """;

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static readonly string[] Texts = ["", "hello, VM", "héllo wörld: ✓ 𝄞 😀 (surrogate pairs)", new string('é', 1000) + "😀"];

    private sealed class Host
    {
        public Handle? Kept;

        public List<string> Log { get; } = [];
    }

    private static Isolate Create(ExecutionTier tier, IsolateOptions? options = null) => Create(tier, new Host(), options);

    private static Isolate Create(ExecutionTier tier, Host host, IsolateOptions? options = null)
    {
        Isolate? isolate = null;
        HostFunction[] functions =
        [
            HostFunction.FromFunc<string, string>("host_upper", text => text.ToUpperInvariant()),
            HostFunction.FromFunc<long[], long[]>("host_reverse", numbers => [.. numbers.Reverse()]),
            HostFunction.FromFunc<double[], double, double[]>("host_scale", (numbers, k) => [.. numbers.Select(x => x * k)]),
            HostFunction.FromFunc<byte[], byte[]>("host_bytes", bytes => [.. bytes.Reverse()]),
            HostFunction.FromFunc<long[], (long, long)>("host_minmax", numbers => (numbers.Min(), numbers.Max())),
            HostFunction.FromFunc<double, (long, double)>("host_split", x => ((long)Math.Floor(x), x - Math.Floor(x))),
            HostFunction.FromFunc<Pointer, long>("host_keep", pointer =>
            {
                host.Kept?.Dispose();
                host.Kept = pointer.ToHandle();
                return pointer.Length;
            }),
            HostFunction.FromFunc<Handle>("host_kept", () => host.Kept!),
            HostFunction.FromFunc<string>("host_null", () => null!),
            HostFunction.FromAction<string, byte[], double[]>("host_log", (text, bytes, numbers) => host.Log.Add($"{text}|{Convert.ToHexString(bytes)}|{string.Join(",", numbers)}")),
        ];
        isolate = new Isolate(Module.FromText(Source, "boundary.jvm"), functions, (options ?? new IsolateOptions()) with { Tier = tier });
        return isolate;
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void StringsRoundTripThroughExportsAndHostFunctions(ExecutionTier tier)
    {
        var isolate = Create(tier);
        var echo = isolate.GetFunction<string, string>("echo");
        var byteLength = isolate.GetFunction<string, long>("byte_length");
        var shout = isolate.GetFunction<string, string>("shout");
        foreach (var text in Texts)
        {
            Assert.Equal(text, echo(text));
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), byteLength(text));
            Assert.Equal(text.ToUpperInvariant(), shout(text));
        }
        // An unpaired surrogate has no UTF-8 encoding: it crosses as U+FFFD, as Encoding.UTF8 encodes it.
        Assert.Equal("a\uFFFDb", echo("a\uD800b"));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ActionsTakeStringsAndArraysOnBothSides(ExecutionTier tier)
    {
        var host = new Host();
        var isolate = Create(tier, host);
        var log = isolate.GetAction<string, byte[], double[]>("log");
        log("𝄞 clef", [0xAB, 0x01], [0.5, -2]);
        log("", [], []);
        Assert.Equal(["𝄞 clef|AB01|0.5,-2", "||"], host.Log);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ByteStringsRoundTripAsTheyAre(ExecutionTier tier)
    {
        var isolate = Create(tier);
        byte[] bytes = [0, 1, 2, 0xFF, 0xC3, 0x28, 7, 8, 9];
        Assert.Equal(bytes, isolate.GetFunction<byte[], byte[]>("echo")(bytes));
        Assert.Equal(bytes, isolate.GetFunction<ReadOnlyMemory<byte>, byte[]>("echo")(bytes.AsMemory()));
        Assert.Equal(4, isolate.GetFunction<ReadOnlyMemory<byte>, long>("byte_length")(bytes.AsMemory(2, 4)));
        Assert.Equal([.. bytes.Reverse()], isolate.GetFunction<byte[], byte[]>("mirror")(bytes));
        Assert.Empty(isolate.GetFunction<byte[], byte[]>("mirror")([]));
        // Invalid UTF-8 read as a string decodes to U+FFFD.
        Assert.Equal("\uFFFD(", isolate.GetFunction<byte[], string>("echo")([0xC3, 0x28]));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void LargeArraysRoundTrip(ExecutionTier tier)
    {
        var isolate = Create(tier);
        var integers = Enumerable.Range(0, 100_000).Select(i => (long)i * 3 - 7).ToArray();
        Assert.Equal(integers.Sum(), isolate.GetFunction<long[], long>("sum")(integers));
        Assert.Equal(integers, isolate.GetFunction<long[], long[]>("copy")(integers));
        Assert.Equal([.. integers.Reverse()], isolate.GetFunction<long[], long[]>("reverse")(integers));
        Assert.Equal((integers.Min(), integers.Max()), isolate.GetFunction<long[], (long, long)>("minmax")(integers));
        Assert.Empty(isolate.GetFunction<long[], long[]>("copy")([]));

        var floats = Enumerable.Range(0, 50_000).Select(i => i * 0.25).ToArray();
        Assert.Equal(floats.Sum(), isolate.GetFunction<double[], double>("fsum")(floats));
        Assert.Equal(floats, isolate.GetFunction<double[], double[]>("copy")(floats));
        Assert.Equal(floats.Select(x => x * -2), isolate.GetFunction<double[], double, double[]>("scale")(floats, -2));
        Assert.Equal([double.NaN, double.NegativeInfinity, -0.0], isolate.GetFunction<double[], double[]>("copy")([double.NaN, double.NegativeInfinity, -0.0]));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ArgumentsSurviveCollectionsBetweenTheirAllocations(ExecutionTier tier)
    {
        // A 4 KiB nursery fills every few calls, so arguments are collected and moved while later ones are
        // allocated; the 1 MiB heap would run out within the loop if a call kept its arguments alive.
        var isolate = Create(tier, new IsolateOptions { NurseryBytes = 4096, MaxHeapBytes = 1 << 20 });
        var pick = isolate.GetFunction<string, long[], long, long[]>("pick");
        var pickText = isolate.GetFunction<string, string, long, string>("pick");
        for (var i = 0; i < 4000; i++)
        {
            var text = $"call {i}: " + new string('x', i % 90);
            long[] numbers = [i, i + 1, i + 2, i * 5];
            Assert.Equal(text, pickText(text, $"other {i}", 1));
            Assert.Equal($"other {i}", pickText(text, $"other {i}", 0));
            Assert.Equal(numbers, isolate.GetFunction<long[], long[]>("copy")(numbers));
            Assert.Equal(numbers, pick(text, numbers, 0));
            // The string read as words: its length word, then its bytes.
            Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), pick(text, numbers, 1)[0]);
        }
        Assert.True(isolate.GcStatistics.MinorCollections > 100, $"only {isolate.GcStatistics.MinorCollections} minor collections");
        // Host functions allocate their results without collecting; the program's own allocations collect them.
        Assert.Equal(5000 * 3, isolate.GetFunction<string, long, long>("shout_many")("abc", 5000));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void TuplesCarrySeveralResults(ExecutionTier tier)
    {
        var isolate = Create(tier);
        Assert.Equal((3L, 2L), isolate.GetFunction<long, long, (long, long)>("divmod")(17, 5));
        Assert.Equal((-3L, -2L), isolate.GetDelegate<Func<long, long, ValueTuple<long, long>>>("divmod")(-17, 5));
        Assert.Equal((7L, 7.5, 14L, 1.5), isolate.GetFunction<long, (long, double, long, double)>("four")(7));
        Assert.Equal((2L, 0.75), isolate.GetFunction<double, (long, double)>("split")(2.75));
        Assert.Equal((-3L, 0.25), isolate.GetFunction<double, (long, double)>("split")(-2.75));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void HandlesPassObjectsAndPtrResultsBecomeHandles(ExecutionTier tier)
    {
        var isolate = Create(tier);
        using var numbers = isolate.Allocate(3);
        isolate.WriteI64(numbers, 2, 40);
        Assert.Equal(40, isolate.GetFunction<Handle, long>("sum")(numbers));
        using (var same = isolate.GetFunction<Handle, Handle>("echo")(numbers))
        {
            Assert.NotSame(numbers, same);
            isolate.WriteI64(same, 0, 2);
            Assert.Equal(2, isolate.ReadI64(numbers, 0));
        }
        using var copy = isolate.GetFunction<long[], Handle>("copy")([5, 6]);
        isolate.CollectGarbage();
        Assert.Equal(11, isolate.GetFunction<Handle, long>("sum")(copy));
        Assert.Equal([5L, 6L], isolate.GetFunction<Handle, long[]>("copy")(copy));

        // A host function keeps an object by a handle and returns it later as its ptr result.
        Assert.Equal(2, isolate.GetFunction<string, long>("keep")("kept!"));
        isolate.CollectGarbage();
        Assert.Equal("kept!", isolate.GetFunction<string>("kept")());

        using var text = isolate.AllocateString("héllo");
        Assert.Equal("HÉLLO", isolate.GetFunction<Handle, string>("shout")(text));
        Assert.Equal("héllo", isolate.ReadString(text));
        var disposed = isolate.AllocateString("gone");
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => isolate.GetFunction<Handle, long>("byte_length")(disposed));
        var other = Create(tier);
        using var foreign = other.AllocateString("elsewhere");
        Assert.Contains("another isolate", Assert.Throws<ArgumentException>(() => isolate.GetFunction<Handle, long>("byte_length")(foreign)).Message, StringComparison.Ordinal);
        Assert.Equal(3, isolate.GetFunction<string, long>("byte_length")("abc"));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void NullArgumentsAreRefusedBeforeTheCall(ExecutionTier tier)
    {
        var isolate = Create(tier);
        var pick = isolate.GetFunction<string, string, long, string>("pick");
        var error = Assert.Throws<ArgumentNullException>(() => pick("first", null!, 0));
        Assert.Equal("arg2", error.ParamName);
        Assert.Contains("argument 1 of 'pick' is null", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => isolate.GetFunction<long[], long>("sum")(null!));
        Assert.Throws<ArgumentNullException>(() => isolate.GetFunction<double[], double>("fsum")(null!));
        Assert.Throws<ArgumentNullException>(() => isolate.GetFunction<byte[], long>("byte_length")(null!));
        Assert.Throws<ArgumentNullException>(() => isolate.GetFunction<Handle, long>("sum")(null!));
        Assert.Equal("second", pick("first", "second", 0));

        // A host function returning null for a ptr result fails the call as a host error.
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<string>("null_result")());
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.IsType<InvalidOperationException>(trap.InnerException);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ResultsThatAreNotStringsOrNumbersTrapAsTheMemoryApiDoes(ExecutionTier tier)
    {
        var isolate = Create(tier);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.GetFunction<string>("bad_length")()).Code);
        Assert.Equal(TrapCode.OutOfBounds, Assert.Throws<TrapException>(() => isolate.GetFunction<byte[]>("bad_length")()).Code);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.GetFunction<string, string>("pointer_in")("hello, world")).Code);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.GetFunction<long[], long[]>("pointer_in")([1, 2, 3])).Code);
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.GetFunction<double[], double[]>("pointer_in")([1, 2])).Code);
        // The string's length word is a number and says 8: the pointer in word 1 is within it.
        Assert.Equal(TrapCode.TagMismatch, Assert.Throws<TrapException>(() => isolate.GetFunction<long[], string>("pointer_in")([8, 0])).Code);
        // A host function's string argument is read under the same rules, and the trap is at the calling instruction.
        var trap = Assert.Throws<TrapException>(() => isolate.GetFunction<string>("shout_bad")());
        Assert.Equal(TrapCode.OutOfBounds, trap.Code);
        Assert.Equal("shout_bad", trap.Location?.Function);
        Assert.Equal("ABC", isolate.GetFunction<string, string>("shout")("abc"));
    }

    [Fact]
    public void WrongSignaturesNameBothSignatures()
    {
        var isolate = Create(ExecutionTier.Tiered);
        AssertBinding("function 'echo' has signature (ptr) -> (ptr), but the delegate asks for (i64) -> (i64)", () => isolate.GetFunction<long, long>("echo"));
        AssertBinding("function 'echo' has signature (ptr) -> (ptr), but the delegate asks for (ptr) -> (i64)", () => isolate.GetFunction<string, long>("echo"));
        AssertBinding("function 'divmod' has signature (i64 i64) -> (i64 i64), but the delegate asks for (i64 i64) -> (i64 f64)", () => isolate.GetFunction<long, long, (long, double)>("divmod"));
        AssertBinding("function 'divmod' has signature (i64 i64) -> (i64 i64), but the delegate asks for (i64 i64) -> (i64)", () => isolate.GetFunction<long, long, long>("divmod"));
        AssertBinding("function 'sum' has signature (ptr) -> (i64), but the delegate asks for (ptr) -> ()", () => isolate.GetAction<long[]>("sum"));
        AssertBinding("not Int32[]", () => isolate.GetFunction<int[], long>("sum"));
        AssertBinding("not (Int64, String)", () => isolate.GetFunction<long, long, (long, string)>("divmod"));
        AssertBinding("not Pointer", () => isolate.GetFunction<Pointer, long>("sum"));
        AssertBinding("the module has no function named 'nothing'", () => isolate.GetFunction<string, string>("nothing"));
        Assert.False(isolate.TryGetDelegate<Func<string, double>>("byte_length", out _, out var problem));
        Assert.Equal("function 'byte_length' has signature (ptr) -> (i64), but the delegate asks for (ptr) -> (f64)", problem);

        Assert.Contains("not Int32", Assert.Throws<ArgumentException>(() => HostFunction.FromFunc<int, long>("f", x => x)).Message, StringComparison.Ordinal);
        Assert.Contains("not Handle", Assert.Throws<ArgumentException>(() => HostFunction.FromFunc<Handle, long>("f", _ => 0)).Message, StringComparison.Ordinal);
        Assert.Contains("not (Int64, Int64, Int64, Int64, Int64)", Assert.Throws<ArgumentException>(() => HostFunction.FromFunc<(long, long, long, long, long)>("f", () => default)).Message, StringComparison.Ordinal);
        var link = Assert.Throws<LinkException>(() => new Isolate(Module.FromText(".import f (i64) -> (i64)\n", "link.jvm"), [HostFunction.FromFunc<string, long>("f", s => s.Length)]));
        Assert.Contains("(ptr) -> (i64)", link.Message, StringComparison.Ordinal);
    }

    private static void AssertBinding(string expected, Func<Delegate> bind) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(bind).Message, StringComparison.Ordinal);
}
