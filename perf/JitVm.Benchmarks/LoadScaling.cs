using System.Diagnostics;
using System.Globalization;
using JitVm.Bytecode;
using JitVm.Hosting;
using JitVm.Interpreter;
using JitVm.Tests.Hostile;
using JitVm.Text;
using JitVm.Verification;

namespace JitVm.Benchmarks;

/// <summary>
/// <c>--scaling</c>: times assembling, reading, verifying, decoding and compiling modules of each pathological shape
/// (tests/JitVm.Tests/Hostile/PathologicalModules.cs) and of a normal one at sizes n, 10n and 100n, and prints a
/// Markdown table, then the bytes each stage allocated. Each time is the fastest of three runs (fewer once a run
/// takes over 2 s), after one warm-up run at n.
/// Not a BenchmarkDotNet run: the point is how time grows with size, not nanosecond precision.
/// </summary>
internal static class LoadScaling
{
    private sealed record Shape(string Name, int BaseSize, Func<int, string> Text, Action<Module>? Compile, string CompileWhat);

    private static readonly Shape[] Shapes =
    [
        new("normal: F functions x 100 instructions", 10, size => CompileModules.Text(new CompileShape(size, 100)),
            CompileAndCallAll, "jit policy, default budget: emit + CLR JIT + one call each"),
        new("PointerLocalJoins (4n+3 instructions, min(n, 65,534) locals)", 2_400, size => Disassembler.Disassemble(PathologicalModules.PointerLocalJoins(size)), null, ""),
        new("LongFoldingBlock (3n instructions in one block)", 655, size => Disassembler.Disassemble(PathologicalModules.LongFoldingBlock(size)), null, ""),
        new("ManyGlobals (n globals)", 2_000, PathologicalModules.ManyGlobals, null, ""),
        new("ManySignatures (n signatures, .type names, call_indirect sites)", 200, PathologicalModules.ManySignatures, null, ""),
        new("ManyNamedLocals (n named locals)", 655, PathologicalModules.ManyNamedLocals, null, ""),
        new("ManyLoopingFunctions (n functions with a loop)", 200, PathologicalModules.ManyLoopingFunctions,
            RunTiered, "tiered run of main, default budget, minus the interpreter's run"),
    ];

    private static readonly List<string> AllocationRows = [];

    public static int Run()
    {
        Console.WriteLine("| shape | n | instructions | text bytes | binary bytes | assemble ms | read ms | verify ms | decode ms | compile ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var shape in Shapes)
        {
            Measure(shape, shape.BaseSize, print: false);
            foreach (var factor in new[] { 1, 10, 100 }) Measure(shape, shape.BaseSize * factor, print: true);
        }
        Console.WriteLine();
        Console.WriteLine("Bytes allocated by one run of each stage (managed allocations on the measuring thread; deterministic):");
        Console.WriteLine();
        Console.WriteLine("| shape | n | assemble | read | verify | decode |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in AllocationRows) Console.WriteLine(row);
        Console.WriteLine();
        foreach (var shape in Shapes.Where(s => s.Compile is not null)) Console.WriteLine($"compile, {shape.Name}: {shape.CompileWhat}");
        return 0;
    }

    private static void Measure(Shape shape, int size, bool print)
    {
        var text = shape.Text(size);
        var definition = Assembler.Assemble(text);
        var binary = ModuleWriter.Write(definition);
        var (assemble, assembleBytes) = Time(() => Assembler.Assemble(text));
        var (read, readBytes) = Time(() => ModuleReader.Read(binary));
        var (verify, verifyBytes) = Time(() => Verifier.Verify(definition));
        var verified = Verifier.Verify(definition);
        var (decode, decodeBytes) = Time(() =>
        {
            for (var i = 0; i < definition.Functions.Count; i++) Decoder.Decode(verified, i);
        });
        var compile = shape.Compile is { } compileStage ? Time(() => compileStage(Module.FromDefinition(definition)), untimedSetup: true).Milliseconds : (double?)null;
        if (!print) return;
        AllocationRows.Add(string.Create(CultureInfo.InvariantCulture, $"| {shape.Name} | {size} | {assembleBytes} | {readBytes} | {verifyBytes} | {decodeBytes} |"));
        var instructions = definition.Functions.Sum(f => (long)f.Code.Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {shape.Name} | {size} | {instructions} | {text.Length} | {binary.Length} | {assemble:0.0} | {read:0.0} | {verify:0.0} | {decode:0.0} | {(compile is { } c ? c.ToString("0.0", CultureInfo.InvariantCulture) : "-")} |"));
    }

    private static void CompileAndCallAll(Module module)
    {
        for (var i = 0; i < module.Definition.Functions.Count; i++) module.Decoded(i);
        var isolate = Vm.NewIsolate(module, ExecutionTier.Jit);
        var watch = Stopwatch.StartNew();
        module.Jit.CompileAll(isolate.Store);
        CompileModules.CallAll(isolate);
        _lastStageMilliseconds = watch.Elapsed.TotalMilliseconds;
    }

    private static void RunTiered(Module module)
    {
        for (var i = 0; i < module.Definition.Functions.Count; i++) module.Decoded(i);
        var interpreted = Stopwatch.StartNew();
        new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Interpreter }).Invoke("main");
        var interpreter = interpreted.Elapsed.TotalMilliseconds;
        var tiered = Stopwatch.StartNew();
        new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Tiered }).Invoke("main");
        _lastStageMilliseconds = tiered.Elapsed.TotalMilliseconds - interpreter;
    }

    private static double _lastStageMilliseconds;

    /// <summary>Fastest of up to three runs in milliseconds; with <paramref name="untimedSetup"/> the action reports
    /// its own time in <see cref="_lastStageMilliseconds"/> (its setup is not counted).</summary>
    private static (double Milliseconds, long AllocatedBytes) Time(Action action, bool untimedSetup = false)
    {
        var best = double.MaxValue;
        long allocated = 0;
        for (var run = 0; run < 3; run++)
        {
            GC.Collect();
            var before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            action();
            var elapsed = untimedSetup ? _lastStageMilliseconds : watch.Elapsed.TotalMilliseconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            best = Math.Min(best, elapsed);
            if (watch.Elapsed.TotalSeconds > 2) break;
        }
        return (best, allocated);
    }
}
