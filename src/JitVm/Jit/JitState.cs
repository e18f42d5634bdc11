using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;

namespace JitVm.Jit;

/// <summary>A compiled function: the typed body and the adapter that calls it with arguments from the frame stack.</summary>
internal sealed class CompiledFunction(System.Reflection.Emit.DynamicMethod body, SlotAdapter adapter, TimeSpan compileTime, int ilSize)
{
    public System.Reflection.Emit.DynamicMethod Body { get; } = body;

    /// <summary>Calls the body with arguments read from slots [fp, ...) and writes its results back there.</summary>
    public SlotAdapter Adapter { get; } = adapter;

    /// <summary>Time spent emitting IL for this function's compile group, shared equally (the CLR JIT runs later, at first call).</summary>
    public TimeSpan CompileTime { get; } = compileTime;

    public int IlSize { get; } = ilSize;
}

/// <summary>Runs a compiled function with its arguments in frame-stack slots from <paramref name="fp"/>; results replace them.</summary>
internal delegate void SlotAdapter(Isolate isolate, int depth, int fp);

/// <summary>
/// The JIT side of one module: decides what to compile and when, and publishes compiled code in each function's
/// <see cref="DecodedFunction.Compiled"/> slot. Compilation takes a lock; running code never does.
/// </summary>
/// <remarks>
/// A function is compiled together with every function it calls directly that is not compiled yet, so compiled
/// code calls compiled code with a direct CIL call whenever possible. Callees that cannot be compiled (too large)
/// and indirect callees are reached through runtime helpers that look at the callee's slot at call time.
/// </remarks>
internal sealed class JitState(Module module)
{
    /// <summary>Functions with more instructions stay interpreted: the CLR JIT is superlinear beyond a few
    /// thousand IL instructions and falls back to unoptimised code past 20,000.</summary>
    public const int MaxInstructions = 4_000;

    private readonly object _lock = new();

    /// <summary>Host entry stubs by function index and delegate type; shared by the module's isolates.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Function, Type Delegate), System.Reflection.Emit.DynamicMethod> _hostEntries = new();

    /// <summary>The stub behind a typed export of function <paramref name="index"/> (see <see cref="Jit.HostEntry"/>).</summary>
    public System.Reflection.Emit.DynamicMethod HostEntry(int index, CompiledFunction compiled, Type delegateType, Type[] parameters, Type? result) =>
        _hostEntries.GetOrAdd((index, delegateType), _ => Jit.HostEntry.Emit(Module.Definition.NameOf(index), compiled, parameters, result));
    private bool _compiledAll;

    public Module Module { get; } = module;

    public void CompileAll() => CompileAll(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    public void CompileAll(Microsoft.Extensions.Logging.ILogger logger)
    {
        if (Volatile.Read(ref _compiledAll)) return;
        lock (_lock)
        {
            if (_compiledAll) return;
            var all = new List<DecodedFunction>();
            for (var i = 0; i < Module.Definition.Functions.Count; i++) all.Add(Module.Decoded(i));
            CompileGroup(all, logger);
            Volatile.Write(ref _compiledAll, true);
        }
    }

    /// <summary>Tiered policy, entry from the host: compile at once when the function loops, else count the call.</summary>
    public CompiledFunction? TierUpOnEntry(Isolate isolate, DecodedFunction function) =>
        isolate.Tier == ExecutionTier.Tiered ? TierUpOnCall(isolate, function) : Compile(function, isolate.Logger);

    /// <summary>Tiered policy, a call from the interpreter: compile when hot or looping; null to keep interpreting.</summary>
    public CompiledFunction? TierUpOnCall(Isolate isolate, DecodedFunction function)
    {
        if (function.NotCompiledReason is not null) return null;
        var calls = ++function.InterpretedCalls;
        if (calls < isolate.TierUpCalls && !function.HasLoops) return null;
        if (isolate.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            Log.TierUp(isolate.Logger, function.Name, calls, function.HasLoops ? " (it contains a loop)" : "");
        return Compile(function, isolate.Logger);
    }

    public CompiledFunction? Compile(DecodedFunction function, Microsoft.Extensions.Logging.ILogger logger)
    {
        if (function.Compiled is { } done) return done;
        if (function.NotCompiledReason is not null) return null;
        lock (_lock)
        {
            if (function.Compiled is null && function.NotCompiledReason is null) CompileGroup([function], logger);
            return function.Compiled;
        }
    }

    /// <summary>Compiles the given functions plus everything they reach through direct calls that is not compiled yet.</summary>
    private void CompileGroup(IEnumerable<DecodedFunction> roots, Microsoft.Extensions.Logging.ILogger logger)
    {
        var imports = Module.Definition.Imports.Count;
        var group = new List<DecodedFunction>();
        var seen = new HashSet<int>();
        var pending = new Stack<DecodedFunction>(roots);
        while (pending.Count > 0)
        {
            var function = pending.Pop();
            if (function.Compiled is not null || function.NotCompiledReason is not null || !seen.Add(function.FunctionIndex)) continue;
            if (function.Analysis.Definition.Code.Length > MaxInstructions)
            {
                function.NotCompiledReason = $"{function.Analysis.Definition.Code.Length} instructions exceed the JIT limit of {MaxInstructions}";
                Log.NotCompiled(logger, function.Name, function.NotCompiledReason);
                continue;
            }
            group.Add(function);
            foreach (var instruction in function.Analysis.Definition.Code)
                if (instruction.OpCode == Bytecode.OpCode.Call && instruction.Index >= imports)
                    pending.Push(Module.Decoded(instruction.Index - imports));
        }
        if (group.Count == 0) return;

        var watch = Stopwatch.StartNew();
        var compiled = FunctionCompiler.CompileGroup(Module, group);
        var share = watch.Elapsed / group.Count;
        // Publish only after every body in the group has complete IL: a direct call binds its callee when the
        // caller is first JIT-compiled by the CLR.
        for (var i = 0; i < group.Count; i++)
            group[i].Compiled = new CompiledFunction(compiled[i].Body, compiled[i].Adapter, share, compiled[i].IlSize);
        if (logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            Log.Compiled(logger, group.Count, string.Join(", ", group.Select(f => f.Name)), watch.Elapsed.TotalMicroseconds, compiled.Sum(c => c.IlSize));
    }
}
