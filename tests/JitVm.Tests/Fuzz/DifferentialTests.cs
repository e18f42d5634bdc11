// Differential testing of the execution tiers on generated programs (see ProgramGenerator).
//
// Default: 2000 programs, seeds 1..2000. Run any number of programs from any seed with
//
//     JITVM_DIFF_PROGRAMS=100000 JITVM_DIFF_SEED=42 dotnet test tests/JitVm.Tests --filter Differential
//
// Add -c Release as well: in a Debug build of JitVm the CLR does not inline JitRuntime helpers into the compiled
// DynamicMethods, and some CLR JIT behaviour (flag reuse after an inlined rotate, operand order of float
// arithmetic and so NaN payloads) only shows in Release.
//
// (program i uses seed JITVM_DIFF_SEED + i). Each program's main runs on every ExecutionTier: plain, under GC stress
// (a collection every 1 + seed % 5 allocations, the heap verified before and after each), under deoptimisation
// stress (compiled code handing its state to the interpreter at every safepoint), and under both (GC stress as
// above, deoptimisation every 2 + seed % 5 safepoints, counted or at random by the seed's parity), each with its own
// Module and a fresh Isolate (Fuel 200,000, MaxCallDepth 200, MaxHeapBytes 1 MiB), then once more per tier with a
// small fuel limit derived from the seed (1 + seed % 5000) so OutOfFuel strikes at many different places; the second
// run shares the tier's Module, so Tiered also starts from code the first run compiled. Isolates get
// TierUpCalls = 1 + seed % 40, so Tiered switches functions to compiled code at varying points. The interpreter is the
// reference: every tier must produce the same output bytes, the same trap (or none), the same VM stack (function,
// pc, instruction, line per frame) and the same FuelUsed. A program that fails to load (a generator bug) or any
// exception other than TrapException escaping Invoke also fails the test. A failure names the seed and shows the
// program text and the outcome of each tier; ProgramGenerator.Generate(seed) gives the same text again.
// The saved tier runs the program ahead of time: its module compiled into a saved assembly (what `jitvm aot` writes),
// loaded with Engine.LoadAssembly from a collectible context. (Saved code is the JIT's emitter's; the stress modes
// test that code through the JIT tiers, so the saved tier checks the saving, loading and binding.)

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace JitVm.Tests.Fuzz;

public sealed class DifferentialTests(ITestOutputHelper output)
{
    private const long Fuel = 200_000;
    private const int MaxCallDepth = 200;
    private const long MaxHeapBytes = 1 << 20;
    private const int MaxReportedFailures = 3;

    /// <summary>The interpreter is the reference; every other policy is compared with it, and every policy again
    /// under GC stress (a collection every few allocations, the heap verified around each), under deoptimisation
    /// stress, and under both.</summary>
    private static readonly (ExecutionTier Tier, bool Gc, bool Deopt, bool Saved)[] Tiers =
    [
        (ExecutionTier.Interpreter, false, false, false),
        .. Enum.GetValues<ExecutionTier>().Where(t => t != ExecutionTier.Interpreter).Select(t => (t, false, false, false)),
        .. Enum.GetValues<ExecutionTier>().Select(t => (t, true, false, false)),
        .. Enum.GetValues<ExecutionTier>().Select(t => (t, false, true, false)),
        .. Enum.GetValues<ExecutionTier>().Select(t => (t, true, true, false)),
        (ExecutionTier.Tiered, false, false, true),
    ];

    private static string Name((ExecutionTier Tier, bool Gc, bool Deopt, bool Saved) tier) =>
        (tier.Saved ? "Saved" : tier.Tier.ToString()) + (tier.Gc ? "+GcStress" : "") + (tier.Deopt ? "+DeoptStress" : "");

    private readonly ITestOutputHelper _output = output;

    [Fact]
    public void TiersAgreeOnGeneratedPrograms()
    {
        var count = EnvironmentInt("JITVM_DIFF_PROGRAMS", 2000);
        var first = EnvironmentInt("JITVM_DIFF_SEED", 1);
        var failures = new ConcurrentBag<(int Seed, string Report)>();
        var tally = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();

        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (i, loop) =>
        {
            var seed = unchecked(first + i);
            var failure = Check(seed, tally);
            if (failure is null) return;
            failures.Add((seed, failure));
            if (failures.Count >= 10) loop.Stop();
        });

        clock.Stop();
        _output.WriteLine($"{count} programs from seed {first} in {clock.Elapsed.TotalSeconds:F1} s on tiers {string.Join(", ", Tiers.Select(Name))}");
        foreach (var (outcome, n) in tally.OrderByDescending(p => p.Value)) _output.WriteLine($"  {outcome}: {n}");

        if (!failures.IsEmpty)
        {
            var sorted = failures.OrderBy(f => f.Seed).ToList();
            var message = new StringBuilder();
            message.Append($"{sorted.Count} of the generated programs (seeds {string.Join(", ", sorted.Select(f => f.Seed))}) failed");
            if (sorted.Count >= 10) message.Append(" (stopped early)");
            message.Append(". Reproduce one with JITVM_DIFF_SEED=<seed> JITVM_DIFF_PROGRAMS=1.\n");
            foreach (var (_, report) in sorted.Take(MaxReportedFailures)) message.Append('\n').Append(report);
            Assert.Fail(message.ToString());
        }
    }

    [Fact]
    public void GeneratorIsDeterministic()
    {
        var first = EnvironmentInt("JITVM_DIFF_SEED", 1);
        int[] seeds = [first, first + 1, first + 2, 0, -1, 7, 1234, 99_999, int.MaxValue, int.MinValue];
        var texts = seeds.Select(ProgramGenerator.Generate).ToList();
        // Generate them again in the reverse order: nothing may leak from one program into the next.
        for (var i = seeds.Length - 1; i >= 0; i--) Assert.Equal(texts[i], ProgramGenerator.Generate(seeds[i]));
        Assert.Equal(seeds.Length, texts.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void GeneratorUsesEveryInstruction()
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (var seed = 1; seed <= 300; seed++)
        {
            foreach (var line in ProgramGenerator.Generate(seed).Split('\n'))
            {
                var trimmed = line.Trim();
                if (trimmed.Length == 0 || trimmed[0] is ';' or '.') continue;
                used.Add(trimmed.Split(' ')[0]);
            }
        }
        var missing = OpCodeTable.All.Select(i => i.Mnemonic).Where(m => !used.Contains(m)).ToList();
        Assert.True(missing.Count == 0, $"no generated program among seeds 1..300 uses: {string.Join(", ", missing)}");
    }

    /// <summary>Runs one generated program on every tier with the full and with a small fuel limit; null when all agree.</summary>
    private static string? Check(int seed, ConcurrentDictionary<string, int> tally)
    {
        string text;
        try
        {
            text = ProgramGenerator.Generate(seed);
        }
        catch (Exception exception)
        {
            return $"seed {seed}: the generator threw {exception}";
        }

        var smallFuel = 1 + (long)((uint)seed % 5000);
        var full = new Outcome[Tiers.Length];
        var small = new Outcome[Tiers.Length];
        for (var t = 0; t < Tiers.Length; t++)
        {
            Module module;
            try
            {
                module = Module.FromText(text, $"seed{seed}.jvm");
            }
            catch (Exception exception)
            {
                return $"seed {seed}: the generated program does not load (a generator bug):\n{exception.Message}\n\n{Numbered(text)}";
            }
            // One module per tier, shared by its two isolates, so no tier can reuse another tier's compiled code.
            var context = Tiers[t].Saved ? new System.Runtime.Loader.AssemblyLoadContext($"seed{seed}", isCollectible: true) : null;
            try
            {
                if (context is not null) module = Saved(module, context);
                full[t] = Run(module, Tiers[t], Fuel, seed);
                small[t] = Run(module, Tiers[t], smallFuel, seed);
            }
            catch (Exception exception) when (context is not null)
            {
                return $"seed {seed}: compiling or loading the saved assembly threw {exception}\n\n{Numbered(text)}";
            }
            finally
            {
                context?.Unload();
            }
        }
        tally.AddOrUpdate(full[0].Summary, 1, (_, n) => n + 1);

        foreach (var (outcomes, fuel) in new[] { (full, Fuel), (small, smallFuel) })
        {
            for (var t = 0; t < Tiers.Length; t++)
            {
                if (outcomes[t].Unexpected is not null)
                    return Report(seed, text, fuel, $"an exception other than TrapException escaped Invoke on {Name(Tiers[t])}", outcomes);
                if (t > 0 && !outcomes[t].SameAs(outcomes[0]))
                    return Report(seed, text, fuel, $"{Name(Tiers[0])} and {Name(Tiers[t])} disagree", outcomes);
            }
        }
        return null;
    }

    /// <summary>The module compiled ahead of time into an assembly in memory, loaded in <paramref name="context"/>,
    /// and the module it carries with its code installed.</summary>
    private static Module Saved(Module module, System.Runtime.Loader.AssemblyLoadContext context)
    {
        using var image = new MemoryStream();
        Jit.AssemblyCompiler.Save(module, image, "Generated");
        image.Position = 0;
        var loaded = new Engine().LoadAssembly(context.LoadFromStream(image));
        if (!loaded.IsPrecompiled) throw new InvalidOperationException("the loaded module is not precompiled");
        return loaded;
    }

    private static Outcome Run(Module module, (ExecutionTier Tier, bool Gc, bool Deopt, bool Saved) tier, long fuel, int seed)
    {
        // Alone, deoptimisation stress strikes at every safepoint; with GC stress (which makes runs far slower) at
        // every few, counted for odd seeds and at random (seeded by the interval) for even ones.
        var deopt = !tier.Deopt ? DeoptStressMode.Off
            : !tier.Gc ? DeoptStressMode.EverySafepoint
            : seed % 2 != 0 ? DeoptStressMode.EveryN : DeoptStressMode.Random;
        using var stream = new MemoryStream();
        Isolate isolate;
        try
        {
            // A tier-up threshold that varies with the seed makes Tiered switch functions to compiled code at
            // different points (functions with loops are compiled on their first call whatever the threshold).
            isolate = new Isolate(module, StandardImports.Create(stream), new IsolateOptions
            {
                Fuel = fuel,
                MaxCallDepth = MaxCallDepth,
                MaxHeapBytes = MaxHeapBytes,
                Tier = tier.Tier,
                TierUpCalls = 1 + (int)((uint)seed % 40),
                // Tasks run deterministically on the entry's thread, so every tier sees the same schedule.
                Workers = 0,
                Diagnostics = new DiagnosticOptions
                {
                    GcStress = tier.Gc ? JitVm.Memory.GcStressMode.EveryN : JitVm.Memory.GcStressMode.Off,
                    GcStressInterval = 1 + (int)((uint)seed % 5),
                    VerifyHeap = tier.Gc,
                    DeoptStress = deopt,
                    DeoptStressInterval = deopt == DeoptStressMode.EverySafepoint ? 1 : 2 + (int)((uint)seed % 5),
                },
                NurseryBytes = tier.Gc ? 512 : JitVm.Memory.Heap.DefaultNurseryBytes,
            });
        }
        catch (Exception exception)
        {
            return new Outcome([], null, null, [], 0, $"creating the isolate threw {exception}");
        }
        try
        {
            isolate.Invoke("main");
            return new Outcome(stream.ToArray(), null, null, [], isolate.FuelUsed, null);
        }
        catch (TrapException trap)
        {
            return new Outcome(stream.ToArray(), trap.Code, trap.Detail, trap.VmStackTrace, isolate.FuelUsed, null);
        }
        catch (Exception exception)
        {
            return new Outcome(stream.ToArray(), null, null, [], isolate.FuelUsed, exception.ToString());
        }
    }

    private static string Report(int seed, string text, long fuel, string problem, Outcome[] outcomes)
    {
        var report = new StringBuilder($"seed {seed}, fuel {fuel}: {problem}\n");
        for (var t = 0; t < Tiers.Length; t++) report.Append($"--- {Name(Tiers[t])}:\n{outcomes[t].Describe()}\n");
        report.Append("--- program:\n").Append(Numbered(text));
        return report.ToString();
    }

    private static string Numbered(string text) =>
        string.Join('\n', text.Split('\n').Select((line, i) => $"{i + 1,4}  {line}"));

    private static int EnvironmentInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;

    /// <summary>Everything observable about one run of <c>main</c>.</summary>
    private sealed record Outcome(byte[] Output, TrapCode? Trap, string? Detail, IReadOnlyList<VmStackFrame> Stack, long FuelUsed, string? Unexpected)
    {
        public string Summary => Unexpected is not null ? "unexpected exception" : Trap is { } code ? $"trap {code}" : "completed";

        public bool SameAs(Outcome other) =>
            Output.AsSpan().SequenceEqual(other.Output) &&
            Trap == other.Trap &&
            FuelUsed == other.FuelUsed &&
            Unexpected is null && other.Unexpected is null &&
            Stack.Count == other.Stack.Count &&
            Stack.Zip(other.Stack).All(p => p.First.Function == p.Second.Function && p.First.Pc == p.Second.Pc &&
                                            p.First.Line == p.Second.Line && p.First.Instruction == p.Second.Instruction);

        public string Describe()
        {
            var text = new StringBuilder();
            text.Append($"fuel used {FuelUsed}; ");
            if (Unexpected is not null) text.Append($"UNEXPECTED EXCEPTION: {Unexpected}");
            else if (Trap is { } code) text.Append($"trap {code}: {Detail}");
            else text.Append("completed");
            const int shown = 12;
            foreach (var frame in Stack.Take(shown)) text.Append("\n    ").Append(frame);
            if (Stack.Count > shown) text.Append($"\n    ... {Stack.Count - shown} more frames (outermost: {Stack[^1]})");
            text.Append($"\n  output ({Output.Length} bytes): ").Append(Escape(Output));
            return text.ToString();
        }

        private static string Escape(byte[] bytes)
        {
            const int limit = 1500;
            var text = new StringBuilder("\"");
            foreach (var b in bytes.Take(limit))
            {
                if (b == '\n') text.Append("\\n");
                else if (b == '"' || b == '\\') text.Append('\\').Append((char)b);
                else if (b is >= 32 and < 127) text.Append((char)b);
                else text.Append($"\\x{b:x2}");
            }
            text.Append('"');
            if (bytes.Length > limit) text.Append($" ... ({bytes.Length - limit} more bytes)");
            return text.ToString();
        }
    }
}
