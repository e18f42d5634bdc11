using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Building modules in code with <see cref="ModuleBuilder"/>: running them, equivalence with the assembler, misuse.</summary>
public sealed class ModuleBuilderTests
{
    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private static Isolate Run(Module module, ExecutionTier tier, IEnumerable<HostFunction>? host = null) =>
        new(module, host, new IsolateOptions { Tier = tier });

    private static long CallI64(Isolate isolate, string function, params long[] arguments) =>
        isolate.Invoke(function, [.. arguments.Select(Value.I64)])[0].AsI64;

    /// <summary>fib(n) without line information: the shape a simple compiler emits.</summary>
    private static Module BuildFib()
    {
        var builder = new ModuleBuilder("fib.src");
        var fib = builder.Function("fib", [VmType.I64], [VmType.I64], export: true, parameterNames: ["n"]);
        var n = fib.Parameter(0);
        var small = fib.DefineLabel("small");
        fib.LocalGet(n).I64Const(2).Emit(OpCode.I64LtS).BrIf(small)
           .LocalGet(n).I64Const(1).Emit(OpCode.I64Sub).Call(fib)
           .LocalGet(n).I64Const(2).Emit(OpCode.I64Sub).Call(fib)
           .Emit(OpCode.I64Add).Return()
           .MarkLabel(small).LocalGet(n).Return();
        return builder.Build();
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void FibBuiltInCodeRunsOnEveryTier(ExecutionTier tier)
    {
        var isolate = Run(BuildFib(), tier);
        Assert.Equal(6765, isolate.Invoke("fib", Value.I64(20))[0].AsI64);
        for (var i = 0; i < 40; i++) Assert.Equal(55, CallI64(isolate, "fib", 10));
    }

    /// <summary>A string routine the way a compiler emits it with the version 2 instructions: copy the bytes of one
    /// buffer into another with mem.copy, patch a 32-bit field at an unaligned offset, and compare with mem.compare.</summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void Version2InstructionsAreEmittedThroughTheBuilder(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var main = builder.Function("main", [], [VmType.I64, VmType.I64, VmType.I64, VmType.F64], export: true);
        var a = main.DeclareLocal(VmType.Ptr, "a");
        var b = main.DeclareLocal(VmType.Ptr, "b");
        main.I64Const(2).Emit(OpCode.Alloc).LocalSet(a)
            .I64Const(2).Emit(OpCode.Alloc).LocalSet(b)
            .LocalGet(a).I64Const(3).I64Const(0x7F112233).Emit(OpCode.StoreU32)
            .LocalGet(b).I64Const(0).LocalGet(a).I64Const(0).I64Const(2).Emit(OpCode.MemCopy)
            .LocalGet(a).I64Const(0).LocalGet(b).I64Const(0).I64Const(16).Emit(OpCode.MemCompare)
            .LocalGet(b).I64Const(4).Emit(OpCode.LoadS16)
            .LocalGet(b).I64Const(8).I64Const(-1).Emit(OpCode.I64Extend32U).Emit(OpCode.StoreU64)
            .LocalGet(a).I64Const(0).LocalGet(b).I64Const(0).I64Const(16).Emit(OpCode.MemCompare)
            .F64Const(2.5).F64Const(-0.0).Emit(OpCode.F64CopySign)
            .Emit(OpCode.Return);
        var module = builder.Build();
        var results = Run(module, tier).Invoke("main");
        Assert.Equal(0, results[0].AsI64);
        Assert.Equal(0x1122, results[1].AsI64);
        Assert.Equal(-1, results[2].AsI64);
        Assert.Equal(-2.5, results[3].AsF64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void FunctionsDeclaredBeforeTheirBodiesCallEachOther(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var isEven = builder.Function("is_even", [VmType.I64], [VmType.I64], export: true);
        var isOdd = builder.Function("is_odd", [VmType.I64], [VmType.I64], export: true);
        foreach (var (function, other, whenZero) in new[] { (isEven, isOdd, 1L), (isOdd, isEven, 0L) })
        {
            var n = function.Parameters[0];
            var zero = function.DefineLabel();
            function.LocalGet(n).BrIfZ(zero)
                    .LocalGet(n).I64Const(1).Emit(OpCode.I64Sub).Call(other).Return()
                    .MarkLabel(zero).I64Const(whenZero).Return();
        }
        var isolate = Run(builder.Build(), tier);
        Assert.Equal(1, CallI64(isolate, "is_even", 10));
        Assert.Equal(0, CallI64(isolate, "is_even", 7));
        Assert.Equal(1, CallI64(isolate, "is_odd", 7));
    }

    /// <summary>The version 3 tail calls through the builder: is_even and is_odd pass control to each other with
    /// return_call (and once through return_call_indirect) a hundred thousand times under a depth limit of 8.</summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void TailCallsAreEmittedThroughTheBuilderAndRunInConstantDepth(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var signature = new FunctionType([VmType.I64], [VmType.I64]);
        var isEven = builder.Function("is_even", signature, export: true);
        var isOdd = builder.Function("is_odd", signature, export: true);
        var n = isEven.Parameters[0];
        var zero = isEven.DefineLabel();
        isEven.LocalGet(n).BrIfZ(zero)
              .LocalGet(n).I64Const(1).Emit(OpCode.I64Sub).FuncRef(isOdd).ReturnCallIndirect(signature)
              .MarkLabel(zero).I64Const(1).Return();
        var m = isOdd.Parameters[0];
        var oddZero = isOdd.DefineLabel();
        isOdd.LocalGet(m).BrIfZ(oddZero)
             .LocalGet(m).I64Const(1).Emit(OpCode.I64Sub).ReturnCall(isEven)
             .MarkLabel(oddZero).I64Const(0).Return();
        var definition = builder.ToDefinition();
        Assert.Equal(3, ModuleWriter.Write(definition)[4]);
        var isolate = new Isolate(Module.FromDefinition(definition), [], new IsolateOptions { Tier = tier, MaxCallDepth = 8 });
        Assert.Equal(1, CallI64(isolate, "is_even", 100_000));
        Assert.Equal(0, CallI64(isolate, "is_even", 99_999));
        Assert.Equal(1, CallI64(isolate, "is_odd", 12_345));
    }

    /// <summary>The version 4 typed function references through the builder: apply takes an untyped reference,
    /// types it once with ref.cast into a typed reference local and calls it with call_ref; main passes a func.ref
    /// of a function of the right signature, and one of another signature, which traps at the cast.</summary>
    [Theory]
    [MemberData(nameof(Tiers))]
    public void TypedReferencesAreEmittedThroughTheBuilderAndCheckedOnceAtTheCast(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var unary = new FunctionType([VmType.I64], [VmType.I64]);
        var square = builder.Function("square", unary);
        square.LocalGet(square.Parameters[0]).LocalGet(square.Parameters[0]).Emit(OpCode.I64Mul).Return();
        var pair = builder.Function("pair", [VmType.I64, VmType.I64], [VmType.I64]);
        pair.LocalGet(pair.Parameters[0]).Return();
        var apply = builder.Function("apply", [VmType.I64, VmType.I64], [VmType.I64], export: true);
        var typed = apply.DeclareReferenceLocal(unary, "f");
        Assert.Equal(VmType.I64, typed.Type);
        Assert.Equal(unary, typed.ReferenceSignature);
        apply.LocalGet(apply.Parameters[0]).RefCast(unary).LocalSet(typed)
             .LocalGet(apply.Parameters[1]).LocalGet(typed).CallRef(unary)
             .LocalGet(typed).ReturnCallRef(unary);
        var good = builder.Function("good", [], [VmType.I64], export: true);
        good.FuncRef(square).I64Const(3).Call(apply).Return();
        var direct = builder.Function("direct", [], [VmType.I64], export: true);
        direct.I64Const(5).RefFunc(square).CallRef(unary).Return();
        var bad = builder.Function("bad", [], [VmType.I64], export: true);
        bad.FuncRef(pair).I64Const(3).Call(apply).Return();

        var definition = builder.ToDefinition();
        Assert.Equal(4, ModuleWriter.Write(definition)[4]);
        Assert.Equal(definition.Types.ToList().IndexOf(unary), definition.Functions[apply.Index].ReferenceLocals![0]);
        var isolate = new Isolate(Module.FromDefinition(definition), [], new IsolateOptions { Tier = tier });
        Assert.Equal(81, CallI64(isolate, "good"));
        Assert.Equal(25, CallI64(isolate, "direct"));
        var trap = Assert.Throws<TrapException>(() => CallI64(isolate, "bad"));
        Assert.Equal(TrapCode.SignatureMismatch, trap.Code);
        Assert.Contains("ref.cast expects", trap.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ImportsDeclaredAfterFunctionsStillComeFirstAndCallTheHost(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var main = builder.Function("main", [VmType.I64], [VmType.I64], export: true);
        Assert.Equal(0, main.Index);
        var twice = builder.Import("twice", [VmType.I64], [VmType.I64]);
        var log = builder.Import("log", new FunctionType([VmType.I64], []));
        Assert.Equal((0, 1, 2), (twice.Index, log.Index, main.Index));
        Assert.True(twice.IsImport);
        Assert.False(main.IsImport);
        main.LocalGet(main.Parameter(0)).Call(twice).Emit(OpCode.Dup).Call(log).Return();

        var logged = new List<long>();
        HostFunction[] host =
        [
            new("twice", new FunctionType([VmType.I64], [VmType.I64]), (_, values) => values[0] *= 2),
            new("log", new FunctionType([VmType.I64], []), (_, values) => logged.Add(values[0])),
        ];
        var module = builder.Build();
        Assert.Equal(["twice", "log"], module.Definition.Imports.Select(i => i.Name));
        Assert.Equal(2, module.FindFunction("main"));
        Assert.Equal(42, CallI64(Run(module, tier, host), "main", 21));
        Assert.Equal([42L], logged);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void GlobalsKeepStateBetweenCalls(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var counter = builder.Global("counter", VmType.I64, 40);
        var rate = builder.Global("rate", VmType.F64, 0.25);
        var three = builder.Global("three", VmType.F64, 3);
        var tagged = builder.Global("tagged", VmType.Word, 7);
        Assert.Equal((0, 1, 2, 3), (counter.Index, rate.Index, three.Index, tagged.Index));

        var bump = builder.Function("bump", [], [VmType.I64], export: true);
        bump.GlobalGet(counter).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.Dup).GlobalSet(counter).Return();
        var scaled = builder.Function("scaled", [VmType.F64], [VmType.F64], export: true);
        scaled.LocalGet(scaled.Parameter(0)).GlobalGet(rate).Emit(OpCode.F64Mul).GlobalGet(three).Emit(OpCode.F64Add).Return();
        var word = builder.Function("word", [], [VmType.I64], export: true);
        word.GlobalGet(tagged).Emit(OpCode.WordAsI64).Return();

        var module = builder.Build();
        Assert.Equal(BitConverter.DoubleToInt64Bits(3.0), module.Definition.Globals[2].InitialBits);
        var isolate = Run(module, tier);
        Assert.Equal(41, CallI64(isolate, "bump"));
        Assert.Equal(42, CallI64(isolate, "bump"));
        Assert.Equal(5.5, isolate.Invoke("scaled", Value.F64(10))[0].AsF64);
        Assert.Equal(7, CallI64(isolate, "word"));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void DataSegmentsAreCopiedIntoHeapObjects(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var greeting = builder.Data("greeting", "hello, world"u8);
        var empty = builder.Data("empty", []);
        Assert.Equal((0, 12, 1, 0), (greeting.Index, greeting.Length, empty.Index, empty.Length));

        // Sums the bytes of the greeting, read back from a fresh object.
        var sum = builder.Function("sum", [], [VmType.I64], export: true);
        var text = sum.DeclareLocal(VmType.Ptr, "text");
        var i = sum.DeclareLocal(VmType.I64, "i");
        var total = sum.DeclareLocal(VmType.I64, "total");
        var loop = sum.DefineLabel("loop");
        var done = sum.DefineLabel("done");
        sum.DataAlloc(greeting).LocalSet(text)
           .MarkLabel(loop).LocalGet(i).DataSize(greeting).Emit(OpCode.I64GeS).BrIf(done)
           .LocalGet(total).LocalGet(text).LocalGet(i).Emit(OpCode.LoadU8).Emit(OpCode.I64Add).LocalSet(total)
           .LocalGet(i).I64Const(1).Emit(OpCode.I64Add).LocalSet(i).Br(loop)
           .MarkLabel(done).LocalGet(total).DataSize(empty).Emit(OpCode.I64Add).Return();

        var module = builder.Build();
        Assert.Equal("hello, world"u8.ToArray(), module.Definition.Data[0].Bytes);
        Assert.Equal("hello, world"u8.ToArray().Sum(b => (long)b), CallI64(Run(module, tier), "sum"));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void BranchTablesPickTheirCaseOrTheDefault(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var pick = builder.Function("pick", [VmType.I64], [VmType.I64], export: true);
        var cases = new[] { pick.DefineLabel("c0"), pick.DefineLabel("c1"), pick.DefineLabel("c2") };
        var other = pick.DefineLabel("other");
        pick.LocalGet(pick.Parameter(0)).BrTable([cases[0], cases[1], cases[2], cases[1]], other);
        for (var k = 0; k < cases.Length; k++) pick.MarkLabel(cases[k]).I64Const(100 + k).Return();
        pick.MarkLabel(other).I64Const(-1).Return();

        var module = builder.Build();
        var table = module.Definition.Functions[0].Code[1];
        Assert.Equal(OpCode.BrTable, table.OpCode);
        Assert.Equal([cases[0].Position, cases[1].Position, cases[2].Position, cases[1].Position], table.Targets!);
        Assert.Equal(other.Position, table.Index);
        var isolate = Run(module, tier);
        long[] expected = [100, 101, 102, 101, -1, -1];
        for (var k = 0; k < expected.Length; k++) Assert.Equal(expected[k], CallI64(isolate, "pick", k));
        Assert.Equal(-1, CallI64(isolate, "pick", -1));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void FloatsAndIndirectCallsWork(ExecutionTier tier)
    {
        var builder = new ModuleBuilder();
        var hypot = builder.Function("hypot", [VmType.F64, VmType.F64], [VmType.F64], export: true, parameterNames: ["x", "y"]);
        var (x, y) = (hypot.Parameter(0), hypot.Parameter(1));
        hypot.LocalGet(x).LocalGet(x).Emit(OpCode.F64Mul).LocalGet(y).LocalGet(y).Emit(OpCode.F64Mul).Emit(OpCode.F64Add)
             .Emit(OpCode.F64Sqrt).Return();
        var nan = builder.Function("nan_bits", [], [VmType.I64], export: true);
        nan.F64Const(BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0001)).Emit(OpCode.I64ReinterpretF64).Return();
        var apply = builder.Function("apply", [VmType.F64, VmType.F64], [VmType.F64], export: true);
        apply.LocalGet(apply.Parameter(0)).LocalGet(apply.Parameter(1)).FuncRef(hypot)
             .CallIndirect([VmType.F64, VmType.F64], [VmType.F64]).F64Const(0.5).Emit(OpCode.F64Add).Return();

        var module = builder.Build();
        // Same signature, same type index: hypot, apply and the call_indirect share one entry.
        Assert.Equal(2, module.Definition.Types.Count);
        Assert.Equal(module.Definition.Functions[0].TypeIndex, module.Definition.Functions[2].TypeIndex);
        Assert.Equal(module.Definition.Functions[0].TypeIndex, module.Definition.Functions[2].Code[3].Index);
        var isolate = Run(module, tier);
        Assert.Equal(5.0, isolate.Invoke("hypot", Value.F64(3), Value.F64(4))[0].AsF64);
        Assert.Equal(13.5, isolate.Invoke("apply", Value.F64(5), Value.F64(12))[0].AsF64);
        Assert.Equal(0x7FF8_0000_0000_0001, CallI64(isolate, "nan_bits"));
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void SourceLinesReachTrapReports(ExecutionTier tier)
    {
        var builder = new ModuleBuilder("calc.src");
        var divide = builder.Function("divide", [VmType.I64, VmType.I64], [VmType.I64], export: true);
        divide.Line(10).LocalGet(divide.Parameter(0)).LocalGet(divide.Parameter(1))
              .Line(11).Emit(OpCode.I64DivS)
              .Line(12).Return();
        var module = builder.Build();
        Assert.Equal([10, 10, 11, 12], module.Definition.Functions[0].Lines!);
        var trap = Assert.Throws<TrapException>(() => Run(module, tier).Invoke("divide", Value.I64(1), Value.I64(0)));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal(("divide", 2, 11, "calc.src"), (trap.Location!.Function, trap.Location.Pc, trap.Location.Line, trap.Location.Source));
    }

    [Fact]
    public void NamesReachTheDisassembly()
    {
        var builder = new ModuleBuilder();
        var count = builder.Function("count", [VmType.I64], [VmType.I64], export: true, parameterNames: ["limit"]);
        var acc = count.DeclareLocal(VmType.I64, "acc");
        var unnamed = count.DeclareLocal(VmType.F64);
        Assert.Equal((1, 2, "acc", null), (acc.Index, unnamed.Index, acc.Name, unnamed.Name));
        var again = count.DefineLabel("again");
        var exit = count.DefineLabel();
        count.MarkLabel(again).LocalGet(acc).LocalGet(count.Parameter(0)).Emit(OpCode.I64GeS).BrIf(exit)
             .LocalGet(acc).I64Const(1).Emit(OpCode.I64Add).LocalSet(acc).Br(again)
             .MarkLabel(exit).LocalGet(acc).Return();
        var module = builder.Build();
        var definition = module.Definition.Functions[0];
        Assert.Null(definition.Lines);
        Assert.Equal(["limit", "acc", ""], definition.LocalNames!);
        Assert.Equal((0, "again"), (Assert.Single(definition.LabelNames!).Key, definition.LabelNames![0]));
        var text = module.ToText();
        Assert.Contains(".func count (limit: i64) -> (i64) export", text, StringComparison.Ordinal);
        Assert.Contains("    .local acc i64\n    .local f64\nagain:\n    local.get acc\n    local.get limit\n", text, StringComparison.Ordinal);
        Assert.Contains("br_if L9", text, StringComparison.Ordinal);
        // The text assembles back to the same module.
        Assert.Equal(module.ToText(), Module.FromText(text).ToText());
    }

    private const string FibText = """
        .import print_i64 (i64) -> ()
        .global calls i64 = 0
        .data banner "fib\n"

        .func fib (n: i64) -> (i64) export
            global.get calls
            i64.const 1
            i64.add
            global.set calls
            local.get n
            i64.const 2
            i64.lt_s
            br_if small
            local.get n
            i64.const 1
            i64.sub
            call fib
            local.get n
            i64.const 2
            i64.sub
            call fib
            i64.add
            return
        small:
            local.get n
            return
        .end

        .func main (count: i64) -> (i64) export
            .local result i64
            local.get count
            call fib
            local.tee result
            call print_i64
            data.size banner
            local.get result
            i64.add
            return
        .end
        """;

    /// <summary>FibText, instruction by instruction, each with the line the text puts it on.</summary>
    private static Module BuildFibLikeText()
    {
        var builder = new ModuleBuilder("fib.jvm");
        var fib = builder.Function("fib", [VmType.I64], [VmType.I64], export: true, parameterNames: ["n"]);
        var main = builder.Function("main", [VmType.I64], [VmType.I64], export: true, parameterNames: ["count"]);
        var print = builder.Import("print_i64", [VmType.I64], []);
        var calls = builder.Global("calls", VmType.I64);
        var banner = builder.Data("banner", "fib\n"u8);

        var n = fib.Parameter(0);
        var small = fib.DefineLabel("small");
        fib.Line(6).GlobalGet(calls).Line(7).I64Const(1).Line(8).Emit(OpCode.I64Add).Line(9).GlobalSet(calls)
           .Line(10).LocalGet(n).Line(11).I64Const(2).Line(12).Emit(OpCode.I64LtS).Line(13).BrIf(small)
           .Line(14).LocalGet(n).Line(15).I64Const(1).Line(16).Emit(OpCode.I64Sub).Line(17).Call(fib)
           .Line(18).LocalGet(n).Line(19).I64Const(2).Line(20).Emit(OpCode.I64Sub).Line(21).Call(fib)
           .Line(22).Emit(OpCode.I64Add).Line(23).Return()
           .MarkLabel(small).Line(25).LocalGet(n).Line(26).Return();

        var result = main.DeclareLocal(VmType.I64, "result");
        main.Line(31).LocalGet(main.Parameter(0)).Line(32).Call(fib).Line(33).LocalTee(result).Line(34).Call(print)
            .Line(35).DataSize(banner).Line(36).LocalGet(result).Line(37).Emit(OpCode.I64Add).Line(38).Return();
        return builder.Build();
    }

    private const string HeapText = """
        .type unary (i64) -> (i64)
        .global scale f64 = 0.5
        .data digits "0123456789"

        .func double (x: i64) -> (i64)
            local.get x
            i64.const 2
            i64.mul
            return
        .end

        .func halved_sum (n: i64) -> (f64) export
            .local buffer ptr
            .local i i64
            .local total f64
            local.get n
            alloc
            local.set buffer
        fill:
            local.get i
            local.get n
            i64.ge_s
            br_if summed
            local.get buffer
            local.get i
            local.get i
            func.ref double
            call_indirect unary
            store.i
            local.get i
            i64.const 1
            i64.add
            local.set i
            br fill
        summed:
            i64.const 0
            local.set i
        add:
            local.get i
            local.get n
            i64.ge_s
            br_if done
            local.get buffer
            local.get i
            load.i
            f64.convert_i64_s
            local.get total
            f64.add
            local.set total
            local.get i
            i64.const 1
            i64.add
            local.set i
            br add
        done:
            local.get total
            global.get scale
            f64.mul
            return
        .end

        .func classify (k: i64) -> (i64) export
            .local text ptr
            data.alloc digits
            local.set text
            local.get k
            br_table (zero one) other
        zero:
            local.get text
            i64.const 0
            load.u8
            return
        one:
            local.get text
            i64.const 1
            load.u8
            return
        other:
            i64.const 0
            f64.const 1.5
            i64.const -1
            call_indirect (i64 f64) -> (ptr)
            len
            return
        .end
        """;

    /// <summary>HeapText in code. Bodies are written in a different order than the functions are declared, and
    /// labels are used before they are marked, as a compiler would.</summary>
    private static Module BuildHeapInTextOrder()
    {
        var builder = new ModuleBuilder("heap.jvm");
        var scale = builder.Global("scale", VmType.F64, 0.5);
        var digits = builder.Data("digits", "0123456789"u8);
        var unary = new FunctionType([VmType.I64], [VmType.I64]);

        var @double = builder.Function("double", unary, parameterNames: ["x"]);
        var sum = builder.Function("halved_sum", [VmType.I64], [VmType.F64], export: true, parameterNames: ["n"]);
        var classify = builder.Function("classify", [VmType.I64], [VmType.I64], export: true, parameterNames: ["k"]);

        // classify first: bodies may be written in any order.
        var text = classify.DeclareLocal(VmType.Ptr, "text");
        var (zero, one, other) = (classify.DefineLabel("zero"), classify.DefineLabel("one"), classify.DefineLabel("other"));
        classify.Line(64).DataAlloc(digits).Line(65).LocalSet(text).Line(66).LocalGet(classify.Parameter(0)).Line(67).BrTable([zero, one], other)
                .MarkLabel(zero).Line(69).LocalGet(text).Line(70).I64Const(0).Line(71).Emit(OpCode.LoadU8).Line(72).Return()
                .MarkLabel(one).Line(74).LocalGet(text).Line(75).I64Const(1).Line(76).Emit(OpCode.LoadU8).Line(77).Return()
                .MarkLabel(other).Line(79).I64Const(0).Line(80).F64Const(1.5).Line(81).I64Const(-1)
                .Line(82).CallIndirect([VmType.I64, VmType.F64], [VmType.Ptr]).Line(83).Emit(OpCode.Len).Line(84).Return();

        @double.Line(6).LocalGet(@double.Parameter(0)).Line(7).I64Const(2).Line(8).Emit(OpCode.I64Mul).Line(9).Return();

        var n = sum.Parameter(0);
        var buffer = sum.DeclareLocal(VmType.Ptr, "buffer");
        var i = sum.DeclareLocal(VmType.I64, "i");
        var total = sum.DeclareLocal(VmType.F64, "total");
        var (fill, summed, add, done) = (sum.DefineLabel("fill"), sum.DefineLabel("summed"), sum.DefineLabel("add"), sum.DefineLabel("done"));
        sum.Line(16).LocalGet(n).Line(17).Emit(OpCode.Alloc).Line(18).LocalSet(buffer)
           .MarkLabel(fill).Line(20).LocalGet(i).Line(21).LocalGet(n).Line(22).Emit(OpCode.I64GeS).Line(23).BrIf(summed)
           .Line(24).LocalGet(buffer).Line(25).LocalGet(i).Line(26).LocalGet(i).Line(27).FuncRef(@double).Line(28).CallIndirect(unary)
           .Line(29).Emit(OpCode.StoreI).Line(30).LocalGet(i).Line(31).I64Const(1).Line(32).Emit(OpCode.I64Add).Line(33).LocalSet(i)
           .Line(34).Br(fill)
           .MarkLabel(summed).Line(36).I64Const(0).Line(37).LocalSet(i)
           .MarkLabel(add).Line(39).LocalGet(i).Line(40).LocalGet(n).Line(41).Emit(OpCode.I64GeS).Line(42).BrIf(done)
           .Line(43).LocalGet(buffer).Line(44).LocalGet(i).Line(45).Emit(OpCode.LoadI).Line(46).Emit(OpCode.F64ConvertI64S)
           .Line(47).LocalGet(total).Line(48).Emit(OpCode.F64Add).Line(49).LocalSet(total)
           .Line(50).LocalGet(i).Line(51).I64Const(1).Line(52).Emit(OpCode.I64Add).Line(53).LocalSet(i).Line(54).Br(add)
           .MarkLabel(done).Line(56).LocalGet(total).Line(57).GlobalGet(scale).Line(58).Emit(OpCode.F64Mul).Line(59).Return();
        return builder.Build();
    }

    [Fact]
    public void FibIsExactlyWhatTheAssemblerProduces()
    {
        var built = BuildFibLikeText();
        var assembled = Module.FromText(FibText, "fib.jvm");
        Assert.Equal(assembled.ToText(), built.ToText());
        Assert.Equal(assembled.ToBinary(), built.ToBinary());

        HostFunction[] host = [new("print_i64", new FunctionType([VmType.I64], []), (_, _) => { })];
        Assert.Equal(610 + 4, CallI64(new Isolate(built, host), "main", 15));
    }

    [Fact]
    public void HeapProgramIsExactlyWhatTheAssemblerProduces()
    {
        var built = BuildHeapInTextOrder();
        var assembled = Module.FromText(HeapText, "heap.jvm");
        Assert.Equal(assembled.ToText(), built.ToText());
        Assert.Equal(assembled.ToBinary(), built.ToBinary());
        // Signatures in the assembler's canonical order: functions', then call_indirect's in code order.
        Assert.Equal(["(i64) -> (i64)", "(i64) -> (f64)", "(i64 f64) -> (ptr)"], built.Definition.Types.Select(t => t.ToString()));

        foreach (var tier in Enum.GetValues<ExecutionTier>())
        {
            var isolate = Run(built, tier);
            Assert.Equal(45.0, isolate.Invoke("halved_sum", Value.I64(10))[0].AsF64);
            Assert.Equal((long)'1', CallI64(isolate, "classify", 1));
            Assert.Equal((long)'0', CallI64(isolate, "classify", 0));
        }
    }

    [Fact]
    public void WrongOperandKindsNameTheFunctionInstructionAndMnemonic()
    {
        var builder = new ModuleBuilder();
        var f = builder.Function("f", [VmType.I64], [VmType.I64]);
        var g = builder.Function("g", [], []);
        var global = builder.Global("x", VmType.I64);
        f.LocalGet(f.Parameter(0));

        void Fails(Action emit, string expected) =>
            Assert.Contains(expected, Assert.Throws<ArgumentException>(emit).Message, StringComparison.Ordinal);

        Fails(() => f.Emit(OpCode.I64Const), "function 'f', instruction 1 ('i64.const'): the instruction takes an i64 constant operand, but no operand was given; use I64Const");
        Fails(() => f.Emit(OpCode.I64Add, 3), "function 'f', instruction 1 ('i64.add'): the instruction takes no operand, but a number was given");
        Fails(() => f.Emit(OpCode.Br, 0), "function 'f', instruction 1 ('br'): the instruction takes a label operand, but a number was given");
        Fails(() => f.Emit(OpCode.CallIndirect, 0), "('call_indirect'): the instruction takes a signature operand");
        Fails(() => f.Emit(OpCode.Call, f.Parameter(0)), "('call'): the instruction takes a function operand, but a local was given");
        Fails(() => f.Emit(OpCode.LocalGet, global), "('local.get'): the instruction takes a local operand, but a global was given");
        Fails(() => f.Emit(OpCode.BrTable, f.DefineLabel()), "('br_table'): the instruction takes a branch table operand, but a label was given; use BrTable");
        Fails(() => f.Emit(OpCode.DataAlloc, g), "('data.alloc'): the instruction takes a data segment operand, but a function was given");
        Fails(() => f.Emit((OpCode)0xFF), "function 'f', instruction 1: 0xff is not an opcode");
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => f.Emit(OpCode.LocalGet, -1));
        Assert.Contains("function 'f', instruction 1 ('local.get'): a local index must be between 0 and 2147483647", range.Message, StringComparison.Ordinal);
        // Nothing was emitted by the failed calls.
        Assert.Equal(1, f.InstructionCount);
        // Raw operands of the right kind are accepted.
        f.Emit(OpCode.LocalTee, 0).Emit(OpCode.Dup).Emit(OpCode.GlobalSet, 0).Return();
        g.Emit(OpCode.Call, 1).Return();
        Assert.NotNull(builder.Build());
    }

    [Fact]
    public void LabelMisuseIsRejected()
    {
        var builder = new ModuleBuilder();
        var f = builder.Function("f", [], []);
        var g = builder.Function("g", [], []);
        var top = f.DefineLabel("top");
        f.MarkLabel(top).Emit(OpCode.Nop);
        Assert.Contains("function 'f': label 'top' is already marked at instruction 0; a label marks exactly one place",
            Assert.Throws<ArgumentException>(() => f.MarkLabel(top)).Message, StringComparison.Ordinal);
        Assert.Contains("function 'g', instruction 0 ('br'): label 'top' belongs to function 'f'",
            Assert.Throws<ArgumentException>(() => g.Br(top)).Message, StringComparison.Ordinal);
        Assert.Contains("function 'g': label 'top' belongs to function 'f'",
            Assert.Throws<ArgumentException>(() => g.MarkLabel(top)).Message, StringComparison.Ordinal);
        Assert.Contains("('br_table'): label 'top' belongs to function 'f'",
            Assert.Throws<ArgumentException>(() => g.BrTable([top], g.DefineLabel())).Message, StringComparison.Ordinal);
        Assert.Contains("label 'top' is defined twice in function 'f'",
            Assert.Throws<ArgumentException>(() => f.DefineLabel("top")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => f.DefineLabel(".hidden"));
        Assert.Throws<ArgumentException>(() => f.DefineLabel("nan"));

        var never = f.DefineLabel();
        f.I64Const(0).BrIfZ(never);
        f.Return();
        g.Return();
        var unmarked = Assert.Throws<InvalidOperationException>(builder.ToDefinition);
        Assert.Equal("function 'f', instruction 2 ('br_ifz'): unnamed label #1 is never marked; call MarkLabel before building", unmarked.Message);

        var end = g.DefineLabel("end");
        g.MarkLabel(end);
        f.MarkLabel(never);
        var atEnd = Assert.Throws<InvalidOperationException>(builder.ToDefinition);
        Assert.Equal("function 'f': unnamed label #1 is marked at the end of the function, where no instruction follows it", atEnd.Message);

        // The failed attempts left the builder usable: complete both functions and build.
        f.Return();
        g.Return();
        var module = builder.Build();
        Assert.Equal(4, module.Definition.Functions[0].Code[2].Index);
        Assert.Equal(2, module.Definition.Functions[1].Code.Length);
        Assert.Equal("end", module.Definition.Functions[1].LabelNames![1]);
    }

    [Fact]
    public void NamesMustBeIdentifiersAndUnique()
    {
        var builder = new ModuleBuilder();
        builder.Import("log", [VmType.I64], []);
        var f = builder.Function("f", [VmType.I64, VmType.F64], [], parameterNames: ["a", null]);
        builder.Global("g", VmType.I64);
        builder.Data("d", [1, 2]);

        void Fails(Action declare, string expected) =>
            Assert.Contains(expected, Assert.Throws<ArgumentException>(declare).Message, StringComparison.Ordinal);

        Fails(() => builder.Function("log", [], []), "function 'log' is declared twice (imports and functions share one namespace)");
        Fails(() => builder.Import("f", [], []), "function 'f' is declared twice");
        Fails(() => builder.Global("g", VmType.F64), "global 'g' is declared twice");
        Fails(() => builder.Data("d", []), "data segment 'd' is declared twice");
        Fails(() => f.DeclareLocal(VmType.I64, "a"), "local or parameter 'a' is declared twice in function 'f'");
        f.DeclareLocal(VmType.I64, "b");
        Fails(() => f.DeclareLocal(VmType.I64, "b"), "local or parameter 'b' is declared twice in function 'f'");
        Fails(() => builder.Function("h", [VmType.I64, VmType.I64], [], parameterNames: ["p", "p"]), "local or parameter 'p' is declared twice in function 'h'");
        Fails(() => builder.Function("h", [VmType.I64], [], parameterNames: ["p", "q"]), "function 'h' has 1 parameter but 2 parameter names were given");
        Fails(() => builder.Function("h", [VmType.I64], [], parameterNames: ["nan"]), "parameter name 'nan' cannot be written in the text format");
        Fails(() => builder.Function("my func", [], []), "function name 'my func' is not an identifier");
        Fails(() => builder.Global("1st", VmType.I64), "global name '1st' is not an identifier");
        Fails(() => builder.Data("", []), "a data segment name must not be empty");
        Fails(() => builder.Import(new string('x', 1025), [], []), "is longer than 1024 bytes");
        Fails(() => builder.Global("p", VmType.Ptr), "global 'p' cannot have type ptr: there is no null pointer to start it with; use word");
        Fails(() => builder.Global("q", VmType.I64, 1.5), "global 'q' has type i64, which needs an integer initial value");
        Fails(() => builder.Function("h", [(VmType)9], []), "function 'h' has an invalid parameter type: 9 is not a value type");
        Fails(() => f.DeclareLocal((VmType)0), "local of function 'f': 0 is not a value type");
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Parameter(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Line(-1));

        // Failed declarations declared nothing: the names are still free.
        Assert.Equal(["log"], builder.Imports.Select(i => i.Name));
        Assert.Equal(["f"], builder.Functions.Select(i => i.Name));
        Assert.Equal("h", builder.Function("h", [], []).Name);
    }

    [Fact]
    public void HandlesFromAnotherBuilderOrFunctionAreRejected()
    {
        var one = new ModuleBuilder("one");
        var other = new ModuleBuilder("other");
        var f = one.Function("f", [VmType.I64], []);
        var g = one.Function("g", [VmType.I64], []);
        var foreign = other.Function("foreign", [], []);
        var global = other.Global("x", VmType.I64);
        var data = other.Data("d", []);

        void Fails(Action emit, string expected) =>
            Assert.Contains(expected, Assert.Throws<ArgumentException>(emit).Message, StringComparison.Ordinal);

        Fails(() => f.Call(foreign), "function 'f', instruction 0 ('call'): function 'foreign' was declared by a different ModuleBuilder");
        Fails(() => f.FuncRef(foreign), "('func.ref'): function 'foreign' was declared by a different ModuleBuilder");
        Fails(() => f.GlobalGet(global), "('global.get'): global 'x' was declared by a different ModuleBuilder");
        Fails(() => f.DataSize(data), "('data.size'): data segment 'd' was declared by a different ModuleBuilder");
        Fails(() => f.LocalGet(g.Parameter(0)), "function 'f', instruction 0 ('local.get'): local #0 belongs to function 'g'");
        Assert.Equal(0, f.InstructionCount);
    }

    [Fact]
    public void ABuilderBuildsOneModule()
    {
        var builder = new ModuleBuilder("once.src");
        var f = builder.Function("f", [], [VmType.I64], export: true);
        f.I64Const(7).Return();
        var definition = builder.ToDefinition();
        Assert.True(builder.IsBuilt);
        Assert.Equal("once.src", definition.SourceName);

        const string Sealed = "the module 'once.src' has already been built; a ModuleBuilder produces one module and accepts no changes afterwards";
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(builder.ToDefinition).Message);
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(() => builder.Build()).Message);
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(() => f.I64Const(1)).Message);
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(() => f.DeclareLocal(VmType.I64)).Message);
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(() => f.DefineLabel()).Message);
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(() => builder.Global("g", VmType.I64)).Message);
        Assert.Equal(Sealed, Assert.Throws<InvalidOperationException>(() => builder.Function("h", [], [])).Message);

        // The definition is unaffected by the rejected changes and runs.
        Assert.Equal(2, definition.Functions[0].Code.Length);
        Assert.Equal(7, CallI64(new Isolate(Module.FromDefinition(definition)), "f"));
    }

    [Fact]
    public void InvalidProgramsGetTheVerifiersException()
    {
        var builder = new ModuleBuilder("bad.src");
        var f = builder.Function("f", [], [VmType.I64], export: true);
        f.Line(3).F64Const(1.0).Line(4).Return();
        var error = Assert.Throws<VerificationException>(() => builder.Build());
        Assert.Equal(VerificationRule.ResultMismatch, error.Rule);
        Assert.Equal(("f", 1, 4), (error.Function, error.Pc, error.Line));
        Assert.StartsWith("bad.src:4: function 'f', pc 1 (return): verification failed [ResultMismatch]", error.Message, StringComparison.Ordinal);

        var empty = new ModuleBuilder();
        empty.Function("declared_only", [], []);
        Assert.Equal(VerificationRule.FallOffEnd, Assert.Throws<VerificationException>(() => empty.Build()).Rule);

        var raw = new ModuleBuilder();
        raw.Function("h", [], []).Emit(OpCode.Call, 5).Return();
        Assert.Equal(VerificationRule.InvalidIndex, Assert.Throws<VerificationException>(() => raw.Build()).Rule);
    }
}
