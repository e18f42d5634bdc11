using System.Text;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Jit;
using JitVm.Memory;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// Functions over <see cref="JitLimits.MaxInstructions"/> compiled in pieces (spec/internals.md §4.2, spec/execution.md
/// §8.3): on every tier policy, plain, under GC stress with heap verification, under deoptimisation stress at every
/// safepoint and under both, a generated function of thousands of instructions gives the same output, results, trap
/// (code, location and whole VM stack) and fuel as the interpreter, and under the jit and tiered policies it really
/// runs in compiled pieces (the function's statistics count the pieces entered).
/// </summary>
public sealed class JitPieceTests
{
    private enum Stress { None, Gc, Deopt, DeoptGc }

    private sealed record Outcome(string Observed, string Statistics);

    private static readonly (ExecutionTier Tier, Stress Stress)[] Runs =
    [
        .. from tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered }
           from stress in Enum.GetValues<Stress>()
           select (tier, stress),
    ];

    /// <summary>Runs <c>main</c> of <paramref name="text"/> once with the given policy and stress, on a thread with room
    /// for any compiled frame (so no call falls back to the interpreter for lack of stack).</summary>
    private static Outcome Run(string text, long n, long t, ExecutionTier tier, Stress stress, int? maxDepth = null)
    {
        var module = Module.FromText(text, "pieces.jvm");
        Outcome? outcome = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                outcome = Execute(module, n, t, tier, stress, maxDepth);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 64 * 1024 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException($"the run under {tier} with {stress} stress failed", failure);
        return outcome!;
    }

    private static Outcome Execute(Module module, long n, long t, ExecutionTier tier, Stress stress, int? maxDepth)
    {
        var gc = stress is Stress.Gc or Stress.DeoptGc;
        var output = new MemoryStream();
        var options = new IsolateOptions
        {
            Tier = tier,
            TierUpCalls = 2,
            MaxCallDepth = maxDepth ?? IsolateOptions.DefaultMaxCallDepth,
            NurseryBytes = gc ? 512 : Heap.DefaultNurseryBytes,
            Diagnostics = new DiagnosticOptions
            {
                GcStress = gc ? GcStressMode.EveryN : GcStressMode.Off,
                GcStressInterval = 1,
                VerifyHeap = gc,
                DeoptStress = stress switch { Stress.Deopt => DeoptStressMode.EverySafepoint, Stress.DeoptGc => DeoptStressMode.EveryN, _ => DeoptStressMode.Off },
                DeoptStressInterval = stress == Stress.DeoptGc ? 3 : 1,
            },
        };
        var isolate = new Isolate(module, StandardImports.Create(output), options);
        var observed = new StringBuilder();
        try
        {
            foreach (var result in isolate.Invoke("main", Value.I64(n), Value.I64(t))) observed.Append(isolate.Describe(result)).Append('\n');
        }
        catch (TrapException e)
        {
            observed.Append($"trap {e.Code} at {e.Location?.Function}:{e.Location?.Line}; {e.VmStackDepth} frames: ");
            observed.AppendJoin(" < ", e.VmStackTrace.Select(f => $"{f.Function}:{f.Pc}:{f.Line}")).Append('\n');
        }
        observed.Append($"fuel used: {isolate.FuelUsed}\n");
        return new Outcome(Encoding.UTF8.GetString(output.ToArray()) + observed, isolate.Statistics());
    }

    /// <summary>Runs every policy and stress mode; each must observe exactly what the plain interpreter does, and the
    /// compiled policies must have run <c>big</c> in its pieces. Returns the interpreter's outcome.</summary>
    /// <remarks>With <paramref name="unordered"/>, tasks print in an order the scheduling decides: the lines of the
    /// output are compared as a set, and the fuel (spent by tasks on other threads as well) is left out.</remarks>
    private static string RunEverywhere(string text, long n, long t, int? maxDepth = null, bool unordered = false)
    {
        string Observe(Outcome outcome) => unordered
            ? string.Join("\n", outcome.Observed.Split('\n').Where(l => !l.StartsWith("fuel used:", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            : outcome.Observed;
        var expected = Observe(Run(text, n, t, ExecutionTier.Interpreter, Stress.None, maxDepth));
        foreach (var (tier, stress) in Runs)
        {
            var outcome = Run(text, n, t, tier, stress, maxDepth);
            Assert.True(expected == Observe(outcome), $"{tier} with {stress} stress observed\n{outcome.Observed}\nbut the interpreter\n{expected}");
            if (tier == ExecutionTier.Interpreter) continue;
            // The isolate's own code (deopt stress has a code table of its own) counts the pieces it entered.
            Assert.Matches(@"\nbig +jit .*\n  compiled in \d+ pieces, entered [1-9]\d* times\n", outcome.Statistics);
        }
        return expected;
    }

    [Fact]
    public void AFunctionOfEightThousandInstructionsRunsInPiecesAsInEveryOtherTier()
    {
        var text = new JitPieceGenerator { Sections = 1_000 }.Generate();
        var module = Module.FromText(text, "pieces.jvm");
        var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
        Assert.True(big.Analysis.Definition.Code.Length > 2 * JitLimits.MaxInstructions);
        var plan = JitLimits.PlanPieces(big, out var reason);
        Assert.Null(reason);
        Assert.True(plan is { Count: >= 3 }, $"{plan?.Count} pieces");
        // Every piece begins where the operand stack is empty and is within the limit.
        for (var k = 0; k < plan!.Count; k++)
        {
            Assert.Null(big.Analysis.StackBefore[plan.Starts[k]]);
            Assert.InRange(plan.Starts[k + 1] - plan.Starts[k], 1, JitLimits.MaxPieceInstructions);
        }
        // The pieces between the first and the last do not use keep and kw (locals 8 and 9): the frame holds them.
        Assert.Contains(plan.Locals, used => !used.Contains(8) && !used.Contains(9));
        Assert.Contains(8, plan.Locals[0]);
        var observed = RunEverywhere(text, 3, 0);
        Assert.DoesNotContain("trap", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void APieceWhoseLastInstructionIsABranchDoesNotFallIntoTheNext()
    {
        // Units of ten instructions, each ending with a br to the next unit: the cut at pc 1,000 (a unit's start, the
        // last pc there with an empty operand stack) makes the first piece end with that br.
        var text = new StringBuilder(".func big (i64) -> (i64)\n");
        const int units = 420;
        for (var k = 0; k < units; k++)
        {
            text.Append($"U{k}:\n    local.get 0\n");
            for (var i = 0; i < 3; i++) text.Append("    i64.const 1\n    i64.add\n");
            text.Append($"    local.set 0\n    nop\n    br U{k + 1}\n");
        }
        text.Append($"U{units}:\n    local.get 0\n    return\n.end\n");
        // Called three times, so that the tiered policy compiles it (it has no loop).
        text.Append(".func main (i64 i64) -> (i64)\n    local.get 0\n    call big\n    call big\n    call big\n    return\n.end\n");
        var module = Module.FromText(text.ToString(), "pieces.jvm");
        var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
        var plan = JitLimits.PlanPieces(big, out var reason);
        Assert.Null(reason);
        Assert.Equal(1000, plan!.Starts[1]);
        Assert.Equal(Bytecode.OpCode.Br, big.Analysis.Definition.Code[999].OpCode);
        var observed = RunEverywhere(text.ToString(), 5, 0);
        Assert.StartsWith($"{5 + 3 * 3 * units}\n", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void AFunctionOfTwentyThousandInstructionsRunsInPiecesAsInEveryOtherTier()
    {
        var text = new JitPieceGenerator { Sections = 2_500 }.Generate();
        var observed = RunEverywhere(text, 2, 0);
        Assert.DoesNotContain("trap", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void ATrapDeepInTheThirdPieceReportsTheInterpretersLocationStackAndFuel()
    {
        var generator = new JitPieceGenerator { Sections = 1_500, TrapAt = 290 };
        var text = generator.Generate();
        var observed = RunEverywhere(text, 2, 1);
        Assert.Contains("trap DivideByZero at big:", observed, StringComparison.Ordinal);
        Assert.Contains("2 frames: big:", observed, StringComparison.Ordinal);
        // The trap's pc is in the third piece.
        var module = Module.FromText(text, "pieces.jvm");
        var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
        var plan = JitLimits.PlanPieces(big, out _)!;
        var pc = int.Parse(observed.Split("frames: big:")[1].Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(2, plan.PieceAt[pc]);
    }

    [Fact]
    public void SelfAndIndirectTailCallsFromPiecesReplaceTheFrame()
    {
        // Fifty rounds under a depth limit of 10: each round is a return_call, so the depth stays at two.
        var text = new JitPieceGenerator { Sections = 600, TailCalls = true }.Generate();
        var observed = RunEverywhere(text, 50, 0, maxDepth: 10);
        Assert.DoesNotContain("trap", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExceptionThrownInAPieceIsCaughtByItsCaller()
    {
        var text = new JitPieceGenerator { Sections = 1_000, ThrowAt = 880 }.Generate();
        var observed = RunEverywhere(text, 2, 2);
        Assert.Contains("\n-1\n", observed, StringComparison.Ordinal);
        Assert.DoesNotContain("trap", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void PiecesRunInTasksThatYieldAtTheirLoopsAndResume()
    {
        // Three tasks of over a million fuel each: one that uses up its quantum while another waits yields at a loop
        // header inside a piece (its frame's image goes with it) and goes on in the interpreter when it resumes.
        var text = new JitPieceGenerator { Sections = 1_000, Tasks = true }.Generate();
        var observed = RunEverywhere(text, 120, 0, unordered: true);
        Assert.DoesNotContain("trap", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void ASavedAssemblyKeepsAFunctionOverTheLimitInterpretedWithTheSameResults()
    {
        var text = new JitPieceGenerator { Sections = 1_000 }.Generate();
        var expected = Run(text, 2, 0, ExecutionTier.Interpreter, Stress.None).Observed;
        var directory = Directory.CreateTempSubdirectory("jitvm-pieces-").FullName;
        var context = new System.Runtime.Loader.AssemblyLoadContext("pieces", isCollectible: true);
        try
        {
            var path = Path.Combine(directory, "Pieces.dll");
            AssemblyCompiler.Save(Module.FromText(text, "pieces.jvm"), path, "Pieces");
            var module = new Engine().LoadAssembly(context.LoadFromAssemblyPath(path));
            Outcome? outcome = null;
            var thread = new Thread(() => outcome = Execute(module, 2, 0, ExecutionTier.Tiered, Stress.None, null), 64 * 1024 * 1024);
            thread.Start();
            thread.Join();
            Assert.Equal(expected, outcome!.Observed);
            var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
            Assert.Null(big.Compiled);
            Assert.StartsWith($"{big.Analysis.Definition.Code.Length} instructions exceed the JIT limit of {JitLimits.MaxInstructions}", big.NotCompiledReason, StringComparison.Ordinal);
            Assert.True(module.Decoded(module.FindFunction("helper") - module.Definition.Imports.Count).Compiled is { Saved: true });
        }
        finally
        {
            context.Unload();
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void APieceLoadsAndStoresOnlyTheLocalsItUses()
    {
        // 20,000 locals no piece uses add nothing to any piece: the IL of the whole function stays the same size.
        int IlSize(int unused)
        {
            var module = Module.FromText(new JitPieceGenerator { Sections = 1_000, UnusedLocals = unused }.Generate(), "pieces.jvm");
            var isolate = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Jit });
            var thread = new Thread(() => isolate.Invoke("main", Value.I64(1), Value.I64(0)), 64 * 1024 * 1024);
            thread.Start();
            thread.Join();
            var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
            Assert.NotNull(big.Compiled?.Pieced);
            return big.Compiled!.IlSize;
        }
        Assert.Equal(IlSize(0), IlSize(20_000));
    }

    [Fact]
    public void TheCompileBudgetCountsEveryPiece()
    {
        var text = new JitPieceGenerator { Sections = 1_000 }.Generate();
        var module = Module.FromText(text, "pieces.jvm");
        var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
        var plan = JitLimits.PlanPieces(big, out _)!;
        var cost = big.Analysis.Definition.Code.Length + plan.Count * (long)IsolateOptions.CompileCostPerFunction;
        Assert.Equal(cost, JitVm.Runtime.Store.CompileCost(big, plan.Count));
        // Budget for big and everything it calls (helper and finish), then one unit less.
        long others = 0;
        foreach (var name in new[] { "helper", "finish", "main" })
            others += JitVm.Runtime.Store.CompileCost(module.Decoded(module.FindFunction(name) - module.Definition.Imports.Count));
        Assert.True(Compiles(text, cost + others));
        // One unit less than its pieces cost, though more than it would cost as one function: it stays interpreted.
        Assert.True(plan.Count >= 2);
        Assert.False(Compiles(text, cost - 1));
    }

    /// <summary>Whether big is compiled under the jit policy with a compile budget of <paramref name="budget"/>.</summary>
    private static bool Compiles(string text, long budget)
    {
        var module = Module.FromText(text, "pieces.jvm");
        var isolate = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Jit, CompileBudget = budget });
        var thread = new Thread(() => isolate.Invoke("main", Value.I64(1), Value.I64(0)), 64 * 1024 * 1024);
        thread.Start();
        thread.Join();
        return module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count).Compiled is not null;
    }

    [Fact]
    public void APieceCompiledFunctionIsLoggedWithItsPiecesAndOneWithHandlersStaysInterpretedAndSaysWhy()
    {
        var text = new JitPieceGenerator { Sections = 1_000 }.Generate();
        var parsed = Module.FromText(text, "pieces.jvm");
        var big = parsed.Decoded(parsed.FindFunction("big") - parsed.Definition.Imports.Count);
        var plan = JitLimits.PlanPieces(big, out _)!;
        var largest = Enumerable.Range(0, plan.Count).Max(k => plan.Starts[k + 1] - plan.Starts[k]);
        Assert.InRange(largest, JitLimits.MaxPieceInstructions / 2, JitLimits.MaxPieceInstructions);
        // The same body with a handler of its own: the function stays interpreted.
        var guarded = text.Replace("    .local f f64\n", "    .local f f64\n    .catch stop outer handler handler\n", StringComparison.Ordinal)
            .Replace("    local.get acc\n    local.get f\n    return\n.end\n", "    local.get acc\n    local.get f\n    return\nhandler:\n    drop\n    i64.const 0\n    f64.const 0\n    return\n.end\n", StringComparison.Ordinal);
        foreach (var (source, pieced) in new[] { (text, true), (guarded, false) })
        {
            var logger = new ListLogger();
            var module = Module.FromText(source, "pieces.jvm");
            var isolate = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Jit, Logger = logger });
            var thread = new Thread(() => isolate.Invoke("main", Value.I64(1), Value.I64(0)), 64 * 1024 * 1024);
            thread.Start();
            thread.Join();
            if (pieced)
                Assert.Contains(logger.Messages, m => m.StartsWith("function 'big' (", StringComparison.Ordinal) && m.Contains($"instructions) is compiled in {plan.Count} pieces of at most {largest} instructions", StringComparison.Ordinal));
            else
                Assert.Contains(logger.Messages, m => m.StartsWith("function 'big' stays interpreted: ", StringComparison.Ordinal) &&
                                                      m.EndsWith("and a function with exception handlers is not compiled in pieces", StringComparison.Ordinal));
        }
    }

    /// <summary>A function whose IL is dense: <paramref name="statements"/> statements that each call a function with a
    /// word argument while 24 word locals are live, so every call spills and reloads them (about 120 IL bytes per VM
    /// instruction, against about 20 for integer code).</summary>
    private static string DenseFunction(int statements)
    {
        const int words = 24;
        var text = new StringBuilder(".import print_i64 (i64) -> ()\n");
        text.Append(".func id (x: word) -> (word)\n    local.get x\n    return\n.end\n");
        // Two calls, so that the tiered policy (hot at the second call in these runs) compiles it too.
        text.Append(".func main (n: i64, t: i64) -> (i64) export\n    local.get n\n    call big\n    local.get n\n    call big\n    i64.add\n    return\n.end\n");
        text.Append(".func big (n: i64) -> (i64)\n");
        for (var k = 0; k < words; k++) text.Append($"    .local w{k} word\n");
        for (var k = 0; k < words; k++) text.Append($"    i64.const {k}\n    word.of_i64\n    local.set w{k}\n");
        for (var s = 0; s < statements; s++)
            text.Append($"    local.get w{s % words}\n    call id\n    word.as_i64\n    local.get n\n    i64.add\n    word.of_i64\n    local.set w{(s * 7 + 3) % words}\n");
        text.Append("    i64.const 0\n");
        for (var k = 0; k < words; k++) text.Append($"    local.get w{k}\n    word.as_i64\n    i64.add\n");
        text.Append("    return\n.end\n");
        return text.ToString();
    }

    private static CompiledFunction? CompiledBig(string text)
    {
        var module = Module.FromText(text, "dense.jvm");
        var isolate = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Jit });
        var thread = new Thread(() => isolate.Invoke("main", Value.I64(1), Value.I64(0)), 64 * 1024 * 1024);
        thread.Start();
        thread.Join();
        return module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count).Compiled;
    }

    [Fact]
    public void AFunctionUnderTheInstructionLimitWhoseILIsTooLargeToOptimiseIsCompiledInPieces()
    {
        // 300 statements: about 2,200 instructions, half the instruction limit, but over 250,000 IL bytes whole, which
        // the CLR JIT would compile without optimising (CilShape).
        var text = DenseFunction(300);
        var module = Module.FromText(text, "dense.jvm");
        var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
        Assert.InRange(big.Analysis.Definition.Code.Length, 2_000, JitLimits.MaxInstructions);
        Assert.Null(JitLimits.PlanPieces(big, out var reason));
        Assert.Null(reason);
        var compiled = CompiledBig(text);
        Assert.True(compiled?.Pieced is { Plan.Count: >= 3 }, $"{compiled?.Pieced?.Plan.Count} pieces");
        // The IL of each piece is what the CLR optimises: on average it is under the bound.
        Assert.InRange(compiled!.IlSize / compiled.Pieced!.Plan.Count, 1, (int)(CilShape.Headroom * 60_000));
        var observed = RunEverywhere(text, 3, 0);
        Assert.DoesNotContain("trap", observed, StringComparison.Ordinal);
    }

    [Fact]
    public void AFunctionOverTheInstructionLimitWhoseILIsDenseIsCutIntoSmallerPieces()
    {
        var text = DenseFunction(700);
        var module = Module.FromText(text, "dense.jvm");
        var big = module.Decoded(module.FindFunction("big") - module.Definition.Imports.Count);
        var planned = JitLimits.PlanPieces(big, out _)!;
        Assert.InRange(planned.LargestPiece, JitLimits.MaxPieceInstructions * 9 / 10, JitLimits.MaxPieceInstructions);
        var pieces = CompiledBig(text)!.Pieced!;
        Assert.True(pieces.Plan.LargestPiece < JitLimits.MaxPieceInstructions / 2, $"largest piece {pieces.Plan.LargestPiece}");
        Assert.True(pieces.Plan.Count > planned.Count, $"{pieces.Plan.Count} pieces, {planned.Count} planned");
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }
}
