using System.Reflection;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Jit;
using JitVm.Semantics;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// The rules defined once in <see cref="Arithmetic"/> and <see cref="Traps"/> against what each tier computes, over
/// edge values: MIN / -1, division by zero (also with a constant divisor, which the interpreter folds), NaN payloads
/// and signs, infinities, signed zeros and the 2^63 boundaries of the conversions.
/// </summary>
public sealed class SharedSemanticsTests
{
    private static readonly long[] Integers =
    [
        0, 1, -1, 2, -2, 7, -7, 3, long.MinValue, long.MaxValue, long.MinValue + 1, long.MaxValue - 1,
        (1L << 53) + 1, -(1L << 53) - 1, 1L << 62, unchecked((long)0x8000_0000_0000_0001), unchecked((long)0xFFFF_FFFF_FFFF_FFFE),
    ];

    private static readonly long[] Floats =
    [
        Bits(0.0), Bits(-0.0), Bits(1.0), Bits(-1.0), Bits(0.5), Bits(-0.5), Bits(1.5), Bits(2.5), Bits(-2.5), Bits(3.7), Bits(-3.7),
        Arithmetic.CanonicalNaNBits, Arithmetic.CanonicalNaNBits | long.MinValue, 0x7FF8_0000_0000_0001, unchecked((long)0xFFF0_0000_0000_0001),
        0x7FF0_0000_0000_0001, Bits(double.PositiveInfinity), Bits(double.NegativeInfinity),
        Bits(9223372036854775808.0), Bits(-9223372036854775808.0), Bits(9223372036854774784.0), Bits(-9223372036854777856.0),
        Bits(double.MaxValue), Bits(double.MinValue), Bits(double.Epsilon), Bits(-double.Epsilon), Bits(4503599627370497.5),
        Bits(18446744073709551616.0), Bits(18446744073709549568.0), Bits(-0.9999999999999999), Bits(-1.0000000000000002),
    ];

    /// <summary>One function per rule: its name, parameter types (all of one type, named a, b), result type, and
    /// the instructions between loading the parameters and returning.</summary>
    private static readonly (string Name, string Parameters, string Result, string Body)[] Rules =
    [
        ("div_s", "i64 i64", "i64", "i64.div_s"),
        ("div_u", "i64 i64", "i64", "i64.div_u"),
        ("rem_s", "i64 i64", "i64", "i64.rem_s"),
        ("rem_u", "i64 i64", "i64", "i64.rem_u"),
        ("div_s_minus1", "i64", "i64", "i64.const -1; i64.div_s"),
        ("div_u_0", "i64", "i64", "i64.const 0; i64.div_u"),
        ("rem_s_minus1", "i64", "i64", "i64.const -1; i64.rem_s"),
        ("rem_s_0", "i64", "i64", "i64.const 0; i64.rem_s"),
        ("rem_u_0", "i64", "i64", "i64.const 0; i64.rem_u"),
        ("trunc_s", "f64", "i64", "i64.trunc_f64_s"),
        ("trunc_sat", "f64", "i64", "i64.trunc_sat_f64_s"),
        ("trunc_u", "f64", "i64", "i64.trunc_f64_u"),
        ("trunc_sat_u", "f64", "i64", "i64.trunc_sat_f64_u"),
        ("copysign", "f64 f64", "f64", "f64.copysign"),
        ("extend32_u", "i64", "i64", "i64.extend32_u"),
        ("convert_s", "i64", "f64", "f64.convert_i64_s"),
        ("convert_u", "i64", "f64", "f64.convert_i64_u"),
        ("min", "f64 f64", "f64", "f64.min"),
        ("max", "f64 f64", "f64", "f64.max"),
        ("add", "f64 f64", "f64", "f64.add"),
        ("sub", "f64 f64", "f64", "f64.sub"),
        ("mul", "f64 f64", "f64", "f64.mul"),
        ("div", "f64 f64", "f64", "f64.div"),
        ("sqrt", "f64", "f64", "f64.sqrt"),
        ("floor", "f64", "f64", "f64.floor"),
        ("ceil", "f64", "f64", "f64.ceil"),
        ("trunc", "f64", "f64", "f64.trunc"),
        ("nearest", "f64", "f64", "f64.nearest"),
        ("neg", "f64", "f64", "f64.neg"),
        ("abs", "f64", "f64", "f64.abs"),
    ];

    private static string Source => string.Concat(Rules.Select(rule =>
    {
        var names = rule.Parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select((type, i) => (Name: ((char)('a' + i)).ToString(), Type: type)).ToArray();
        var loads = string.Concat(names.Select(p => $"    local.get {p.Name}\n"));
        var body = string.Concat(rule.Body.Split("; ").Select(i => $"    {i}\n"));
        return $".func {rule.Name} ({string.Join(", ", names.Select(p => $"{p.Name}: {p.Type}"))}) -> ({rule.Result})\n{loads}{body}    return\n.end\n";
    }));

    private static readonly Module Functions = Module.FromText(Source, "shared.jvm");

    private static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);

    private static double F(long bits) => BitConverter.Int64BitsToDouble(bits);

    /// <summary>What the shared definition says: the result's bits, or the trap's code and message.</summary>
    private static string Expect(Func<long> rule)
    {
        try
        {
            return $"0x{rule():x16}";
        }
        catch (TrapException trap)
        {
            return $"{trap.Code}: {trap.Detail}";
        }
    }

    private static string Run(Isolate isolate, string function, params Value[] arguments)
    {
        try
        {
            return $"0x{isolate.Invoke(function, arguments)[0].Bits:x16}";
        }
        catch (TrapException trap)
        {
            return $"{trap.Code}: {trap.Detail}";
        }
    }

    private static Value I(long value) => Value.I64(value);

    private static Value Fl(long bits) => new(VmType.F64, bits);

    /// <summary>Every case: function, arguments, and the shared rule's answer.</summary>
    private static IEnumerable<(string Function, Value[] Arguments, string Expected)> Cases()
    {
        foreach (var a in Integers)
        {
            foreach (var b in Integers)
            {
                yield return ("div_s", [I(a), I(b)], Expect(() => Arithmetic.DivS(a, b)));
                yield return ("div_u", [I(a), I(b)], Expect(() => Arithmetic.DivU(a, b)));
                yield return ("rem_s", [I(a), I(b)], Expect(() => Arithmetic.RemS(a, b)));
                yield return ("rem_u", [I(a), I(b)], Expect(() => Arithmetic.RemU(a, b)));
            }
            yield return ("div_s_minus1", [I(a)], Expect(() => Arithmetic.DivS(a, -1)));
            yield return ("div_u_0", [I(a)], Expect(() => Arithmetic.DivU(a, 0)));
            yield return ("rem_s_minus1", [I(a)], Expect(() => Arithmetic.RemS(a, -1)));
            yield return ("rem_s_0", [I(a)], Expect(() => Arithmetic.RemS(a, 0)));
            yield return ("rem_u_0", [I(a)], Expect(() => Arithmetic.RemU(a, 0)));
            yield return ("convert_s", [I(a)], Expect(() => Bits(a)));
            yield return ("convert_u", [I(a)], Expect(() => Bits(Arithmetic.ConvertU(a))));
            yield return ("extend32_u", [I(a)], Expect(() => a & 0xFFFF_FFFF));
        }
        foreach (var a in Floats)
        {
            foreach (var b in Floats)
            {
                yield return ("min", [Fl(a), Fl(b)], Expect(() => Bits(Arithmetic.Min(F(a), F(b)))));
                yield return ("copysign", [Fl(a), Fl(b)], Expect(() => Arithmetic.CopySignBits(a, b)));
                yield return ("max", [Fl(a), Fl(b)], Expect(() => Bits(Arithmetic.Max(F(a), F(b)))));
                yield return ("add", [Fl(a), Fl(b)], Expect(() => Arithmetic.CanonicalBits(F(a) + F(b))));
                yield return ("sub", [Fl(a), Fl(b)], Expect(() => Arithmetic.CanonicalBits(F(a) - F(b))));
                yield return ("mul", [Fl(a), Fl(b)], Expect(() => Arithmetic.CanonicalBits(F(a) * F(b))));
                yield return ("div", [Fl(a), Fl(b)], Expect(() => Arithmetic.CanonicalBits(F(a) / F(b))));
            }
            yield return ("trunc_s", [Fl(a)], Expect(() => Arithmetic.TruncS(F(a))));
            yield return ("trunc_u", [Fl(a)], Expect(() => Arithmetic.TruncU(F(a))));
            yield return ("trunc_sat_u", [Fl(a)], Expect(() => Arithmetic.TruncSatU(F(a))));
            yield return ("trunc_sat", [Fl(a)], Expect(() => Arithmetic.TruncSatS(F(a))));
            yield return ("sqrt", [Fl(a)], Expect(() => Arithmetic.CanonicalBits(Math.Sqrt(F(a)))));
            yield return ("floor", [Fl(a)], Expect(() => Arithmetic.CanonicalBits(Math.Floor(F(a)))));
            yield return ("ceil", [Fl(a)], Expect(() => Arithmetic.CanonicalBits(Math.Ceiling(F(a)))));
            yield return ("trunc", [Fl(a)], Expect(() => Arithmetic.CanonicalBits(Math.Truncate(F(a)))));
            yield return ("nearest", [Fl(a)], Expect(() => Arithmetic.CanonicalBits(Arithmetic.Nearest(F(a)))));
            // neg and abs only flip or clear the sign bit, so a NaN keeps its payload (spec: not arithmetic).
            yield return ("neg", [Fl(a)], Expect(() => a ^ long.MinValue));
            yield return ("abs", [Fl(a)], Expect(() => a & long.MaxValue));
        }
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void EachTierComputesWhatTheSharedDefinitionSays(ExecutionTier tier)
    {
        var isolate = new Isolate(Functions, options: new IsolateOptions { Tier = tier });
        var wrong = new List<string>();
        var count = 0;
        foreach (var (function, arguments, expected) in Cases())
        {
            count++;
            var actual = Run(isolate, function, arguments);
            if (actual != expected)
                wrong.Add($"{function}({string.Join(", ", arguments.Select(a => $"0x{a.Bits:x16}"))}): {actual}, expected {expected}");
        }
        Assert.True(count > 5000, $"only {count} cases");
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {count} cases differ on {tier}:\n{string.Join('\n', wrong.Take(40))}");
        if (tier == ExecutionTier.Jit) Assert.DoesNotContain("not compiled", isolate.Statistics(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrapMessagesAreTheOnesTheConformanceSuitePins()
    {
        Assert.Equal("integer division by zero", Traps.DivisionByZero.Message);
        Assert.Equal("integer remainder by zero", Traps.RemainderByZero.Message);
        Assert.Equal("i64.div_s of -9223372036854775808 by -1 overflows", Traps.DivisionOverflow.Message);
        Assert.Equal("the word holds a number, but a pointer was required", Traps.PointerRequired.Message);
        Assert.Equal("the word holds a pointer, but a number was required", Traps.NumberRequired.Message);
        Assert.Equal("unreachable instruction executed", Traps.Unreachable.Message);
        Assert.Equal("nan:0x7ff8000000000001 cannot be converted to i64", Traps.CannotConvert(F(0x7FF8_0000_0000_0001)).Detail);
        Assert.Equal("-inf cannot be converted to i64", Traps.CannotConvert(double.NegativeInfinity).Detail);
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void TagMismatchesAndUnreachableTrapWithTheSameMessagesInBothTiers(ExecutionTier tier)
    {
        var module = Module.FromText("""
            .func as_ptr () -> (ptr)
                i64.const 1
                word.of_i64
                word.as_ptr
                return
            .end
            .func as_i64 () -> (i64)
                i64.const 1
                alloc
                word.of_ptr
                word.as_i64
                return
            .end
            .func as_f64 () -> (f64)
                i64.const 1
                alloc
                word.of_ptr
                word.as_f64
                return
            .end
            .func stop () -> ()
                unreachable
            .end
            .func load_i () -> (i64)
                .local p ptr
                i64.const 1
                alloc
                local.set p
                local.get p
                i64.const 0
                local.get p
                store.p
                local.get p
                i64.const 0
                load.i
                return
            .end
            .func load_f () -> (f64)
                .local p ptr
                i64.const 1
                alloc
                local.set p
                local.get p
                i64.const 0
                local.get p
                store.p
                local.get p
                i64.const 0
                load.f
                return
            .end
            """, "tags.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = tier });
        var heapFault = new TrapRule(TrapCode.TagMismatch, " found a pointer in word 0, expected a number");
        foreach (var (function, rule) in new[]
        {
            ("as_ptr", Traps.PointerRequired), ("as_i64", Traps.NumberRequired), ("as_f64", Traps.NumberRequired), ("stop", Traps.Unreachable),
            ("load_i", heapFault with { Message = "load.i" + heapFault.Message }), ("load_f", heapFault with { Message = "load.f" + heapFault.Message }),
        })
        {
            var trap = Assert.Throws<TrapException>(() => isolate.Invoke(function));
            Assert.Equal(rule.Code, trap.Code);
            Assert.Equal(rule.Message, trap.Detail);
        }
    }

    [Fact]
    public void WhereCompiledCodeCallsAHelperForARuleItIsTheSharedFunction()
    {
        MethodInfo Shared(string name) => typeof(Arithmetic).GetMethod(name)!;
        Assert.Equal(Shared(nameof(Arithmetic.Min)), FunctionCompiler.Helpers.Min);
        Assert.Equal(Shared(nameof(Arithmetic.Max)), FunctionCompiler.Helpers.Max);
        Assert.Equal(Shared(nameof(Arithmetic.Canonical)), FunctionCompiler.Helpers.Canonical);
        Assert.Equal(Shared(nameof(Arithmetic.TruncSatS)), FunctionCompiler.Helpers.TruncSat);
        Assert.Equal(Shared(nameof(Arithmetic.ConvertU)), FunctionCompiler.Helpers.ConvertU);
        Assert.Equal(Shared(nameof(Arithmetic.Nearest)), FunctionCompiler.Helpers.Round);
    }

    [Fact]
    public void TheTextFormatsNanIsTheCanonicalNaN()
    {
        Assert.Equal("nan", Text.Disassembler.FormatF64(Arithmetic.CanonicalNaNBits));
        Assert.Equal("-nan", Text.Disassembler.FormatF64(Arithmetic.CanonicalNaNBits | long.MinValue));
        var module = Module.FromText("""
            .func nan () -> (f64 f64)
                f64.const nan
                f64.const -nan
                return
            .end
            """, "nan.jvm");
        var results = new Isolate(module).Invoke("nan");
        Assert.Equal(Arithmetic.CanonicalNaNBits, results[0].Bits);
        Assert.Equal(Arithmetic.CanonicalNaNBits | long.MinValue, results[1].Bits);
        Assert.Equal(Arithmetic.CanonicalNaNBits, Bits(Arithmetic.CanonicalNaN));
    }
}
