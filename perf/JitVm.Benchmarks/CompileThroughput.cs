using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using JitVm.Bytecode;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>A generated module: <see cref="Functions"/> functions of exactly <see cref="InstructionsPerFunction"/> instructions.</summary>
public sealed record CompileShape(int Functions, int InstructionsPerFunction)
{
    public int TotalInstructions => Functions * InstructionsPerFunction;

    /// <summary>How BenchmarkDotNet prints the parameter: "functions x instructions".</summary>
    public override string ToString() => $"{Functions} x {InstructionsPerFunction}";
}

/// <summary>
/// Generates modules of straight-line code with forward branches for the compile-throughput benchmark.
/// </summary>
/// <remarks>
/// Every function is <c>(a: i64) -> (i64)</c> with locals x and y, and is exactly 10*(k+1) instructions long:
/// a 4-instruction prologue (x = a | 1), k units of 10 instructions, and a 6-instruction epilogue. A unit is
/// <code>
///   local.get x; i64.const C; i64.mul; local.get y; i64.add; local.tee x   ; x = x*C + y
///   br_ifz Lk                                                              ; forward branch (taken when x == 0)
///   local.get x; i64.popcnt; local.set y                                   ; y = popcnt(x)
/// Lk:
/// </code>
/// so each unit is two basic blocks and the operand stack is empty at every label. The epilogue
/// (<c>local.get x; dup; br_ifz E; local.get y; i64.xor; E: return</c>) adds a branch that carries a value, so even
/// the 10-instruction function (k = 0) has a conditional branch and a join. Constants differ per unit and per
/// function, so no two functions are identical. There are no loops and no calls: one call runs each function once.
/// </remarks>
internal static class CompileModules
{
    public static readonly CompileShape[] Shapes = [new(1000, 10), new(100, 100), new(10, 1000)];

    public static string Text(CompileShape shape)
    {
        if (shape.InstructionsPerFunction < 10 || shape.InstructionsPerFunction % 10 != 0)
            throw new ArgumentException("instructions per function must be a positive multiple of 10", nameof(shape));
        var units = (shape.InstructionsPerFunction / 10) - 1;
        var text = new StringBuilder();
        for (var f = 0; f < shape.Functions; f++)
        {
            text.Append(CultureInfo.InvariantCulture, $".func f{f} (a: i64) -> (i64) export\n");
            text.Append("    .local x i64\n    .local y i64\n");
            text.Append("    local.get a\n    i64.const 1\n    i64.or\n    local.set x\n");
            for (var u = 0; u < units; u++)
            {
                var constant = (2L * ((f * 7919L) + (u * 104729L))) + 3;
                text.Append(CultureInfo.InvariantCulture,
                    $"    local.get x\n    i64.const {constant}\n    i64.mul\n    local.get y\n    i64.add\n    local.tee x\n" +
                    $"    br_ifz L{u}\n    local.get x\n    i64.popcnt\n    local.set y\nL{u}:\n");
            }
            text.Append("    local.get x\n    dup\n    br_ifz E\n    local.get y\n    i64.xor\nE:\n    return\n.end\n");
        }
        return text.ToString();
    }

    /// <summary>Assembles (and verifies once) the shape's module and returns its definition, which every benchmark invocation re-verifies.</summary>
    public static ModuleDefinition Definition(CompileShape shape)
    {
        var definition = Module.FromText(Text(shape), $"compile-{shape.Functions}x{shape.InstructionsPerFunction}.jvm").Definition;
        var instructions = definition.Functions.Sum(function => function.Code.Length);
        if (definition.Functions.Count != shape.Functions || instructions != shape.TotalInstructions)
            throw new InvalidOperationException($"generated {definition.Functions.Count} functions / {instructions} instructions for shape {shape}");
        return definition;
    }

    /// <summary>Calls every function of the module once with its index as argument and sums the results.</summary>
    public static long CallAll(Isolate isolate)
    {
        long sum = 0;
        for (var f = 0; f < isolate.Module.Definition.Functions.Count; f++) sum = unchecked(sum + Vm.Call(isolate, f, f));
        return sum;
    }
}

/// <summary>
/// How fast the JIT tier turns bytecode into running machine code. Every invocation starts from the same
/// (already assembled) <see cref="ModuleDefinition"/> and builds a fresh <see cref="Module"/>, so nothing verified,
/// decoded or compiled is reused. The four methods are cumulative stages, so differences between them isolate
/// each stage's cost; the last one is the figure the throughput target is about.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class CompileThroughputBenchmark
{
    private ModuleDefinition _definition = null!;

    [ParamsSource(nameof(Shapes))]
    public CompileShape Shape { get; set; } = CompileModules.Shapes[0];

    public static IEnumerable<CompileShape> Shapes => CompileModules.Shapes;

    [GlobalSetup]
    public void Setup() => _definition = CompileModules.Definition(Shape);

    /// <summary>Module.FromDefinition: verification only (functions are decoded lazily, later).</summary>
    [Benchmark(Description = "verify")]
    public Module Verify() => Module.FromDefinition(_definition);

    /// <summary>Verification plus decoding every function to the interpreter's form (which the JIT lowers from).</summary>
    [Benchmark(Description = "verify+decode")]
    public Module VerifyDecode()
    {
        var module = Module.FromDefinition(_definition);
        for (var i = 0; i < _definition.Functions.Count; i++) module.Decoded(i);
        return module;
    }

    /// <summary>Verification, decoding and module.Jit.CompileAll(): CIL emitted into DynamicMethods, not yet run.</summary>
    [Benchmark(Description = "verify+decode+emit CIL")]
    public Module VerifyDecodeEmit()
    {
        var module = Module.FromDefinition(_definition);
        module.Jit.CompileAll();
        return module;
    }

    /// <summary>Everything up to running code: verify, decode, emit CIL, then one call per function through a
    /// Tier = Jit isolate, so the CLR JIT compiles every body and adapter.</summary>
    [Benchmark(Description = "verify+decode+emit+CLR JIT+call")]
    public long Full()
    {
        var module = Module.FromDefinition(_definition);
        module.Jit.CompileAll();
        return CompileModules.CallAll(Vm.NewIsolate(module, ExecutionTier.Jit));
    }
}
