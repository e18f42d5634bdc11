using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;

namespace JitVm.Conformance;

/// <summary>The execution tiers every case runs on; each must give the same observable behaviour.</summary>
public enum Tier
{
    /// <summary>The interpreter over the decoded form.</summary>
    Interpreter,

    /// <summary>Every function compiled to CIL before running.</summary>
    Jit,

    /// <summary>Interpreter first, tiering up after two calls (or at once for loops), so mixed stacks occur.</summary>
    Tiered,

    /// <summary>The interpreter, collecting before every allocation and verifying the heap around each collection.</summary>
    InterpreterGcStress,

    /// <summary>Compiled code, collecting before every allocation and verifying the heap around each collection.</summary>
    JitGcStress,

    /// <summary>Tiered (mixed interpreter and compiled frames), collecting before every allocation.</summary>
    TieredGcStress,

    /// <summary>The interpreter under deoptimisation stress at every safepoint (it runs no compiled code, so nothing
    /// is deoptimised: the mode must change nothing).</summary>
    InterpreterDeoptStress,

    /// <summary>Compiled code handing its state to the interpreter at every safepoint.</summary>
    JitDeoptStress,

    /// <summary>Tiered, compiled frames handing their state to the interpreter at every safepoint.</summary>
    TieredDeoptStress,

    /// <summary>The interpreter under GC stress and deoptimisation stress at every <see cref="CaseRunner.CombinedDeoptInterval"/>th safepoint.</summary>
    InterpreterDeoptGcStress,

    /// <summary>Compiled code under GC stress, deoptimised at every <see cref="CaseRunner.CombinedDeoptInterval"/>th safepoint.</summary>
    JitDeoptGcStress,

    /// <summary>Tiered under GC stress, compiled frames deoptimised at every <see cref="CaseRunner.CombinedDeoptInterval"/>th safepoint.</summary>
    TieredDeoptGcStress,

    /// <summary>Ahead of time: the module compiled into a saved assembly (as <c>jitvm aot</c> does), loaded with
    /// <see cref="Engine.LoadAssembly(System.Reflection.Assembly)"/>, every function running the assembly's code.</summary>
    Saved,
}

/// <summary>What one run of a case produced, in a form that can be compared across tiers.</summary>
/// <remarks><see cref="Stack"/> (the trap's VM stack, one function:pc:line per frame) is compared only between a
/// stress tier and its plain tier (see <see cref="Full"/>), not in <see cref="ToString"/>.</remarks>
internal sealed record CaseOutcome(string Output, string? Trap, string? TrapLocation, long FuelUsed, string? LoadError, VerificationRule? Rule, string? Stack = null)
{
    /// <summary>Everything observable, the trap's whole VM stack included.</summary>
    public string Full => $"{this}; stack: {Stack ?? "-"}";

    public override string ToString() =>
        LoadError is not null ? $"load error: {LoadError}" : $"output: {Output.Replace("\n", "\\n", StringComparison.Ordinal)}; trap: {Trap ?? "none"} at {TrapLocation ?? "-"}; fuel used: {FuelUsed}";
}

internal static class CaseRunner
{
    /// <summary>Deoptimisation stress's interval when combined with GC stress: every safepoint as well as every
    /// allocation would make those tiers the suite's slowest by far, and every few safepoints still deoptimises at
    /// every kind of safepoint in the cases.</summary>
    internal const int CombinedDeoptInterval = 3;

    /// <summary>Whether the tier runs a test mode (GC or deoptimisation stress).</summary>
    public static bool IsTestMode(Tier tier) => IsStress(tier) || Deopt(tier).Mode != DeoptStressMode.Off;

    private static bool IsStress(Tier tier) => tier is Tier.InterpreterGcStress or Tier.JitGcStress or Tier.TieredGcStress
        or Tier.InterpreterDeoptGcStress or Tier.JitDeoptGcStress or Tier.TieredDeoptGcStress;

    private static Memory.GcStressMode Gc(Tier tier) => IsStress(tier) ? Memory.GcStressMode.EveryN : Memory.GcStressMode.Off;

    private static (DeoptStressMode Mode, int Interval) Deopt(Tier tier) => tier switch
    {
        Tier.InterpreterDeoptStress or Tier.JitDeoptStress or Tier.TieredDeoptStress => (DeoptStressMode.EverySafepoint, 1),
        Tier.InterpreterDeoptGcStress or Tier.JitDeoptGcStress or Tier.TieredDeoptGcStress => (DeoptStressMode.EveryN, CombinedDeoptInterval),
        _ => (DeoptStressMode.Off, 1),
    };

    /// <summary>The tier without any test mode: a stress tier must behave exactly like it, and so must saved code
    /// like the tiered policy it runs under (which compiles with the JIT instead).</summary>
    public static Tier Plain(Tier tier) => Policy(tier) switch
    {
        ExecutionTier.Jit => Tier.Jit,
        ExecutionTier.Tiered => Tier.Tiered,
        _ => Tier.Interpreter,
    };

    private static ExecutionTier Policy(Tier tier) => tier switch
    {
        Tier.Jit or Tier.JitGcStress or Tier.JitDeoptStress or Tier.JitDeoptGcStress => ExecutionTier.Jit,
        Tier.Tiered or Tier.TieredGcStress or Tier.TieredDeoptStress or Tier.TieredDeoptGcStress or Tier.Saved => ExecutionTier.Tiered,
        _ => ExecutionTier.Interpreter,
    };

    /// <summary>
    /// Stress tiers collect (and verify the heap) before every allocation, except in cases that allocate so much
    /// that this would be quadratic: those collect every Nth allocation, for about 300 collections per run.
    /// </summary>
    private static int StressInterval(ConformanceCase testCase, Module module)
    {
        Isolate probe;
        try
        {
            probe = CreateProbe(testCase, module);
        }
        catch (LinkException)
        {
            // The case fails to link; Execute reports that on every tier.
            return 1;
        }
        try
        {
            var index = module.FindFunction(testCase.Entry);
            var signature = module.Definition.SignatureOf(index);
            var arguments = testCase.Arguments.Select((a, i) => Value.TryParse(a, signature.Parameters[i], out var v) ? v : default).ToArray();
            probe.Invoke(index, arguments);
        }
        catch (TrapException)
        {
        }
        return (int)Math.Max(1, probe.ObjectsAllocated / 300);
    }

    private static Isolate CreateProbe(ConformanceCase testCase, Module module) =>
        new(module, StandardImports.Create(Stream.Null), new IsolateOptions
        {
            Tier = ExecutionTier.Interpreter,
            Fuel = testCase.Fuel,
            MaxCallDepth = testCase.MaxDepth ?? IsolateOptions.DefaultMaxCallDepth,
            MaxHeapBytes = testCase.MaxHeap ?? IsolateOptions.DefaultMaxHeapBytes,
            MaxTasks = testCase.MaxTasks ?? IsolateOptions.DefaultMaxTasks,
            Timeout = Timeout(testCase),
            CancellationToken = Cancellation(testCase),
        });

    /// <summary>Runs the case's entry from a saved assembly: the module compiled by AssemblyCompiler (what
    /// <c>jitvm aot</c> writes), loaded in a collectible context and then through the public
    /// <see cref="Engine.LoadAssembly(System.Reflection.Assembly)"/>, so the module run is the one the assembly carries.</summary>
    private static CaseOutcome RunSaved(ConformanceCase testCase, Module source)
    {
        var directory = Directory.CreateTempSubdirectory("jitvm-case-").FullName;
        var context = new System.Runtime.Loader.AssemblyLoadContext(testCase.Name, isCollectible: true);
        try
        {
            var path = Path.Combine(directory, "Case.dll");
            Jit.AssemblyCompiler.Save(source, path, "Case");
            var assembly = context.LoadFromAssemblyPath(path);
            var module = new Engine().LoadAssembly(assembly);
            if (!module.IsPrecompiled) throw new InvalidOperationException($"{testCase.Name}: the loaded module is not precompiled");
            for (var i = 0; i < module.Definition.Functions.Count; i++)
                if (module.Decoded(i).Compiled is not { Saved: true } compiled
                    || compiled.Adapter.Target is not Jit.SavedCode.SavedEntry entry || entry.Dispatcher.Method.Module.Assembly != assembly)
                    throw new InvalidOperationException($"{testCase.Name}: function {i} does not run the saved code");
            return Execute(testCase, module, (isolate, index, arguments) => isolate.Invoke(index, arguments), Tier.Saved);
        }
        finally
        {
            context.Unload();
            Directory.Delete(directory, true);
        }
    }

    private static TimeSpan? Timeout(ConformanceCase testCase) =>
        testCase.TimeoutMilliseconds is { } timeout ? TimeSpan.FromMilliseconds(timeout) : null;

    private static CancellationToken Cancellation(ConformanceCase testCase) => new(canceled: testCase.Cancelled);

    public static CaseOutcome Run(ConformanceCase testCase, Tier tier)
    {
        return Load(testCase, out var module) ?? (tier == Tier.Saved ? RunSaved(testCase, module!)
            : Execute(testCase, module!, (isolate, index, arguments) => isolate.Invoke(index, arguments), tier));
    }

    private static CaseOutcome? Load(ConformanceCase testCase, out Module? module)
    {
        module = null;
        try
        {
            module = Module.FromText(testCase.Text, Path.GetFileName(testCase.Path));
        }
        catch (ModuleFormatException e)
        {
            return new CaseOutcome("", null, null, 0, e.Message, null);
        }
        catch (VerificationException e)
        {
            return new CaseOutcome("", null, null, 0, e.Message, e.Rule);
        }
        return null;
    }

    private static CaseOutcome Execute(ConformanceCase testCase, Module module, Func<Isolate, int, Value[], Value[]> invoke, Tier tier)
    {
        var output = new MemoryStream();
        var options = new IsolateOptions
        {
            Fuel = testCase.Fuel,
            MaxCallDepth = testCase.MaxDepth ?? IsolateOptions.DefaultMaxCallDepth,
            MaxHeapBytes = testCase.MaxHeap ?? IsolateOptions.DefaultMaxHeapBytes,
            MaxTasks = testCase.MaxTasks ?? IsolateOptions.DefaultMaxTasks,
            Timeout = Timeout(testCase),
            CancellationToken = Cancellation(testCase),
            Tier = Policy(tier),
            TierUpCalls = 2,
            Diagnostics = new DiagnosticOptions
            {
                GcStress = Gc(tier),
                GcStressInterval = IsStress(tier) ? StressInterval(testCase, module) : 1,
                VerifyHeap = IsStress(tier),
                DeoptStress = Deopt(tier).Mode,
                DeoptStressInterval = Deopt(tier).Interval,
            },
            // A tiny nursery under stress: objects are promoted almost at once, so old-to-young stores (the write
            // barrier) and promotion are exercised everywhere.
            NurseryBytes = IsStress(tier) ? 512 : Memory.Heap.DefaultNurseryBytes,
        };
        Isolate isolate;
        try
        {
            isolate = new Isolate(module, StandardImports.Create(output), options);
        }
        catch (LinkException e)
        {
            return new CaseOutcome("", null, null, 0, e.Message, null);
        }
        var index = module.FindFunction(testCase.Entry);
        if (index < 0) throw new InvalidOperationException($"{testCase.Name}: no entry function '{testCase.Entry}'");
        var signature = module.Definition.SignatureOf(index);
        var arguments = new Value[testCase.Arguments.Count];
        for (var i = 0; i < arguments.Length; i++)
            if (!Value.TryParse(testCase.Arguments[i], signature.Parameters[i], out arguments[i]))
                throw new InvalidOperationException($"{testCase.Name}: bad argument '{testCase.Arguments[i]}'");
        string? trap = null;
        string? location = null;
        string? stack = null;
        try
        {
            foreach (var result in invoke(isolate, index, arguments))
                output.Write(Encoding.UTF8.GetBytes(isolate.Describe(result) + "\n"));
        }
        catch (TrapException e)
        {
            trap = e.Code.ToString();
            location = e.Location is { } frame ? $"{frame.Function}:{frame.Line}" : null;
            stack = $"{e.VmStackDepth} frames: " + string.Join(" < ", e.VmStackTrace.Select(f => $"{f.Function}:{f.Pc}:{f.Line}"));
        }
        return new CaseOutcome(Encoding.UTF8.GetString(output.ToArray()), trap, location, isolate.FuelUsed, null, null, stack);
    }
}
