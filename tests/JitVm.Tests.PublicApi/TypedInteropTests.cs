using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Typed exports and typed host functions of every supported arity and type, in every tier.</summary>
public class TypedInteropTests
{
    private const string Program = """
        .import weigh (i64 f64 i64 f64 i64 f64 i64 f64) -> (f64)
        .import shout (ptr i64) -> (i64)
        .import scribble (ptr) -> ()
        .import tick () -> ()
        .data greeting "hello, host"
        .global ticks i64 = 0
        .func eight (a: i64, b: f64, c: i64, d: f64, e: i64, f: f64, g: i64, h: f64) -> (f64) export
            local.get a
            local.get b
            local.get c
            local.get d
            local.get e
            local.get f
            local.get g
            local.get h
            call weigh
            return
        .end
        .func sum8 (a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64) -> (i64) export
            local.get a
            local.get b
            i64.add
            local.get c
            i64.add
            local.get d
            i64.add
            local.get e
            i64.add
            local.get f
            i64.add
            local.get g
            i64.add
            local.get h
            i64.add
            return
        .end
        .func step () -> () export
            call tick
            global.get ticks
            i64.const 1
            i64.add
            global.set ticks
            return
        .end
        .func ticks () -> (i64) export
            global.get ticks
            return
        .end
        .func greet () -> (i64) export
            data.alloc greeting
            i64.const 11
            call shout
            return
        .end
        .func fill () -> (i64) export
            .local buffer ptr
            i64.const 2
            alloc
            local.tee buffer
            call scribble
            local.get buffer
            i64.const 0
            load.i
            return
        .end
        .func fill_pointers () -> () export
            .local box ptr
            i64.const 1
            alloc
            local.tee box
            i64.const 0
            local.get box
            store.p
            local.get box
            call scribble
            return
        .end
        """;

    private delegate double Weigh8(long a, double b, long c, double d, long e, double f, long g, double h);

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    /// <summary>The module the tests run: the program's text, verified.</summary>
    protected virtual Module Load(string text, string name) => Module.FromText(text, name);

    private Isolate Create(ExecutionTier tier, List<string> heard, Action? tick = null) =>
        new(Load(Program, "typed.jvm"),
        [
            HostFunction.FromFunc<long, double, long, double, long, double, long, double, double>("weigh",
                (a, b, c, d, e, f, g, h) => a + (2 * b) + (3 * c) + (4 * d) + (5 * e) + (6 * f) + (7 * g) + (8 * h)),
            HostFunction.FromFunc<Pointer, long, long>("shout", (text, length) =>
            {
                heard.Add(System.Text.Encoding.UTF8.GetString(text.Bytes[..(int)length]));
                return text.ByteLength;
            }),
            HostFunction.FromAction<Pointer>("scribble", buffer => buffer.WritableBytes[0] = 42),
            HostFunction.FromAction("tick", tick ?? (() => { })),
        ],
        new IsolateOptions { Tier = tier });

    [Theory]
    [MemberData(nameof(Tiers))]
    public void EightArgumentsGoBothWays(ExecutionTier tier)
    {
        var isolate = Create(tier, []);
        var eight = isolate.GetFunction<long, double, long, double, long, double, long, double, double>("eight");
        // 1 + 2*0.5 + 3*3 + 4*0.25 + 5*5 + 6*1.5 + 7*7 + 8*2 = 111
        Assert.Equal(111.0, eight(1, 0.5, 3, 0.25, 5, 1.5, 7, 2));
        Assert.Equal(36, isolate.GetFunction<long, long, long, long, long, long, long, long, long>("sum8")(1, 2, 3, 4, 5, 6, 7, 8));
        // Any delegate type of the same shape binds too.
        Assert.Equal(111.0, isolate.GetDelegate<Weigh8>("eight")(1, 0.5, 3, 0.25, 5, 1.5, 7, 2));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ActionsCallFunctionsWithoutResults(ExecutionTier tier)
    {
        var calls = 0;
        var isolate = Create(tier, [], () => calls++);
        var step = isolate.GetAction("step");
        for (var i = 0; i < 100; i++) step();
        Assert.Equal(100, calls);
        Assert.Equal(100, isolate.GetFunction<long>("ticks")());
        Assert.Contains("() -> (i64)", Assert.Throws<ArgumentException>(() => isolate.GetAction("ticks")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void HostFunctionsReadAndWriteObjectBytesInPlace(ExecutionTier tier)
    {
        var heard = new List<string>();
        var isolate = Create(tier, heard);
        // The 11-byte segment's object records its byte length (its 2 words hold 16 bytes).
        Assert.Equal(11, isolate.GetFunction<long>("greet")());
        Assert.Equal(["hello, host"], heard);
        Assert.Equal(42, isolate.GetFunction<long>("fill")());
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ObjectsHoldingPointersCannotBeWrittenAsBytes(ExecutionTier tier)
    {
        var isolate = Create(tier, []);
        var trap = Assert.Throws<TrapException>(() => isolate.GetAction("fill_pointers")());
        Assert.Equal(TrapCode.TagMismatch, trap.Code);
        Assert.Equal("fill_pointers", trap.Location?.Function);
    }

    [Fact]
    public void TryGetDelegateExplainsWhatIsWrong()
    {
        var isolate = Create(ExecutionTier.Tiered, []);
        Assert.False(isolate.TryGetDelegate<Func<long, long>>("sum8", out _, out var problem));
        Assert.Contains("(i64 i64 i64 i64 i64 i64 i64 i64) -> (i64)", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", problem, StringComparison.Ordinal);
        Assert.False(isolate.TryGetDelegate<Func<int>>("ticks", out _, out problem));
        Assert.Contains("not Int32", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", problem, StringComparison.Ordinal);
        Assert.False(isolate.TryGetDelegate<Func<long>>("no_such_function", out _, out problem));
        Assert.DoesNotContain("(Parameter", problem, StringComparison.Ordinal);
        Assert.True(isolate.TryGetDelegate<Func<long>>("ticks", out var ticks, out _));
        Assert.Equal(0, ticks());
    }

    [Fact]
    public void InvokeNamesArgumentMistakesInPlainEnglish()
    {
        var isolate = new Isolate(Module.FromText("""
            .func one (x: i64) -> (i64)
                local.get x
                return
            .end
            .func two (a: i64, b: i64) -> (i64)
                local.get a
                return
            .end
            """, "args.jvm"));
        Assert.Equal("'one' takes 1 argument (i64) -> (i64), but 2 were given",
            Assert.Throws<ArgumentException>(() => isolate.Invoke("one", Value.I64(1), Value.I64(2))).Message);
        Assert.Equal("'two' takes 2 arguments (i64 i64) -> (i64), but 1 was given",
            Assert.Throws<ArgumentException>(() => isolate.Invoke("two", Value.I64(1))).Message);
        Assert.Equal("argument 0 of 'one' must be i64, but an f64 was given",
            Assert.Throws<ArgumentException>(() => isolate.Invoke("one", Value.F64(1))).Message);
    }

    [Fact]
    public void ATypedExportFailsFastWhenEnteredFromASecondThread()
    {
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var isolate = Create(ExecutionTier.Jit, [], () =>
        {
            inside.Set();
            release.Wait();
        });
        var step = isolate.GetAction("step");
        var first = new Thread(() => step());
        first.Start();
        inside.Wait();
        var error = Assert.Throws<InvalidOperationException>(() => isolate.GetFunction<long>("ticks")());
        Assert.Contains("must not be entered from two threads at once", error.Message, StringComparison.Ordinal);
        release.Set();
        first.Join();
        Assert.Equal(1, isolate.GetFunction<long>("ticks")());
    }
}
