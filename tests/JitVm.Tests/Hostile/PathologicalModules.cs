using System.Globalization;
using System.Text;
using JitVm.Bytecode;

namespace JitVm.Tests.Hostile;

/// <summary>
/// Generators for modules whose size is one parameter, each of a shape that made an earlier loader, verifier,
/// decoder or JIT do work quadratic in that size. Used by the regression tests and by the benchmarks' scaling
/// measurement (perf/JitVm.Benchmarks, <c>--scaling</c>), which links this file.
/// </summary>
internal static class PathologicalModules
{
    private static readonly string[] TypeNames = ["i64", "f64", "ptr", "word"];

    /// <summary>
    /// <c>f(p: ptr)</c> with <c>min(size, 65,534)</c> declared locals, the first up to 1,024 of them ptr, and
    /// <paramref name="size"/> blocks of <c>local.get p; local.set ptrN; i64.const 1; br_if next</c>, then a
    /// backward branch to pc 0 and <c>return</c>: 4·size + 3 instructions. Every block ends in a branch to the next
    /// one and changes the assigned set (the verifier once copied a bit per local at every pc: 8 GB at 1M pcs).
    /// </summary>
    public static ModuleDefinition PointerLocalJoins(int size, int pointerLocals = ModuleLimits.MaxPointerLocals)
    {
        var localCount = Math.Min(size, ModuleLimits.MaxLocals - 1);
        var pointers = Math.Min(pointerLocals, localCount);
        var locals = Enumerable.Range(0, localCount).Select(i => i < pointers ? VmType.Ptr : VmType.I64);
        var code = new List<Instruction>(4 * size + 3);
        for (var i = 0; i < size; i++)
        {
            code.Add(new Instruction(OpCode.LocalGet, 0));
            code.Add(new Instruction(OpCode.LocalSet, 1 + (i % Math.Max(1, pointers))));
            code.Add(new Instruction(OpCode.I64Const, 1));
            code.Add(new Instruction(OpCode.BrIf, code.Count + 1));
        }
        code.Add(new Instruction(OpCode.I64Const, 0));
        code.Add(new Instruction(OpCode.BrIf, 0));
        code.Add(new Instruction(OpCode.Return));
        return new ModuleDefinition([new FunctionType([VmType.Ptr], [])], [], [new FunctionDefinition("f", 0, true, locals, code)], [], []);
    }

    /// <summary>
    /// <c>main(a: i64) -> (i64)</c>: <paramref name="depth"/> × <c>local.get a</c>, as many <c>i64.clz</c> on the top
    /// value, then depth − 1 <c>i64.add</c> and <c>return</c> — one basic block of 3·depth instructions whose every
    /// add can fold a local.get pushed far below (the decoder once searched back to the block start for it).
    /// For a = 5 it returns (depth − 1)·5 + 58.
    /// </summary>
    public static ModuleDefinition LongFoldingBlock(int depth)
    {
        var code = new List<Instruction>(3 * depth);
        for (var i = 0; i < depth; i++) code.Add(new Instruction(OpCode.LocalGet, 0));
        for (var i = 0; i < depth; i++) code.Add(new Instruction(OpCode.I64Clz));
        for (var i = 1; i < depth; i++) code.Add(new Instruction(OpCode.I64Add));
        code.Add(new Instruction(OpCode.Return));
        return new ModuleDefinition([new FunctionType([VmType.I64], [VmType.I64])], [], [new FunctionDefinition("main", 0, true, [], code)], [], []);
    }

    /// <summary>What <see cref="LongFoldingBlock"/>'s main returns for 5.</summary>
    public static long LongFoldingBlockResult(int depth) => ((depth - 1) * 5L) + 58;

    /// <summary><paramref name="count"/> globals g0 = 0, g1 = 1, ... and <c>main() -> (i64)</c> returning the last one.</summary>
    public static string ManyGlobals(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++) text.Append(CultureInfo.InvariantCulture, $".global g{i} i64 = {i}\n");
        text.Append(CultureInfo.InvariantCulture, $".func main () -> (i64) export\n    global.get g{count - 1}\n    return\n.end\n");
        return text.ToString();
    }

    /// <summary>
    /// <paramref name="count"/> functions f0, f1, ... with pairwise different signatures (the parameter types spell
    /// the function's number in base 4), as many <c>.type</c> aliases t0, t1, ... of those signatures, and
    /// <c>main() -> (i64)</c> that makes <paramref name="count"/> <c>func.ref f0; call_indirect t0</c> calls and returns
    /// <paramref name="count"/>.
    /// </summary>
    public static string ManySignatures(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++) text.Append(CultureInfo.InvariantCulture, $".type t{i} ({Base4Types(i)})\n");
        text.Append(".global calls i64\n");
        text.Append(".func f0 () export\n    global.get calls\n    i64.const 1\n    i64.add\n    global.set calls\n    return\n.end\n");
        for (var i = 1; i < count; i++) text.Append(CultureInfo.InvariantCulture, $".func f{i} ({Base4Types(i)})\n    return\n.end\n");
        text.Append(".func main () -> (i64) export\n");
        for (var i = 0; i < count; i++) text.Append("    func.ref f0\n    call_indirect t0\n");
        text.Append("    global.get calls\n    return\n.end\n");
        return text.ToString();
    }

    private static string Base4Types(int number)
    {
        var types = new List<string>();
        for (; number > 0; number /= 4) types.Add(TypeNames[number % 4]);
        return string.Join(' ', types);
    }

    /// <summary><c>main() -> (i64)</c> with <paramref name="count"/> named locals x0, x1, ... (at most 65,535),
    /// storing 1 into the last and returning it.</summary>
    public static string ManyNamedLocals(int count)
    {
        var text = new StringBuilder(".func main () -> (i64) export\n");
        for (var i = 0; i < count; i++) text.Append(CultureInfo.InvariantCulture, $"    .local x{i} i64\n");
        text.Append(CultureInfo.InvariantCulture, $"    i64.const 1\n    local.set x{count - 1}\n    local.get x{count - 1}\n    return\n.end\n");
        return text.ToString();
    }

    /// <summary>
    /// <paramref name="count"/> functions <c>loopN(n: i64) -> (i64)</c>, each summing n, n−1, ..., 1 in a loop
    /// (so the tiered policy compiles each on its first call), and <c>main() -> (i64)</c> calling loopN(N mod 7)
    /// for every N and returning the total, <see cref="ManyLoopingFunctionsResult"/>.
    /// </summary>
    public static string ManyLoopingFunctions(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
            text.Append(CultureInfo.InvariantCulture, $".func loop{i} (n: i64) -> (i64)\n").Append(LoopingBody);
        text.Append(".func main () -> (i64) export\n    .local total i64\n");
        for (var i = 0; i < count; i++)
            text.Append(CultureInfo.InvariantCulture, $"    i64.const {i % 7}\n    call loop{i}\n    local.get total\n    i64.add\n    local.set total\n");
        text.Append("    local.get total\n    return\n.end\n");
        return text.ToString();
    }

    private const string LoopingBody =
        "    .local sum i64\n    local.get n\n    br_ifz done\ntop:\n" +
        "    local.get sum\n    local.get n\n    i64.add\n    local.set sum\n" +
        "    local.get n\n    i64.const 1\n    i64.sub\n    local.tee n\n    br_if top\ndone:\n    local.get sum\n    return\n.end\n";

    /// <summary>Instructions in each loop function of <see cref="ManyLoopingFunctions"/>.</summary>
    public const int LoopingFunctionInstructions = 13;

    /// <summary>What <see cref="ManyLoopingFunctions"/>'s main returns.</summary>
    public static long ManyLoopingFunctionsResult(int count)
    {
        long total = 0;
        for (var i = 0; i < count; i++) total += (i % 7) * ((i % 7) + 1) / 2;
        return total;
    }
}
