using System.Diagnostics;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;

namespace JitVm.Jit;

/// <summary>A compiled function: the typed body and the adapter that calls it with arguments from the frame stack.
/// The JIT makes them as dynamic methods; <see cref="SavedCode.Load(System.Reflection.Assembly, Module)"/> binds them from a saved assembly.</summary>
internal sealed class CompiledFunction
{
    private readonly Lazy<System.Reflection.MethodInfo?> _body;
    private int _ilSize;

    public CompiledFunction(System.Reflection.MethodInfo body, SlotAdapter adapter, TimeSpan compileTime, int ilSize, int stackBytes)
        : this(new Lazy<System.Reflection.MethodInfo?>(body), adapter, compileTime, ilSize, stackBytes, saved: false)
    {
    }

    /// <summary>A function compiled in pieces: no body of the calling convention (compiled callers reach it through
    /// <see cref="JitRuntime.CallInterpreted"/>, which calls the adapter), the driver as the adapter.</summary>
    public CompiledFunction(PiecedFunction pieced, TimeSpan compileTime, int ilSize, int stackBytes)
        : this(new Lazy<System.Reflection.MethodInfo?>((System.Reflection.MethodInfo?)null), pieced.Run, compileTime, ilSize, stackBytes, saved: false)
    {
        Pieced = pieced;
    }

    /// <summary>The pieces, for a function compiled in pieces; null otherwise.</summary>
    public PiecedFunction? Pieced { get; }

    /// <summary>Saved code: the body is resolved on first use (only the JIT and typed-export stubs need it), and
    /// its IL size then too.</summary>
    public CompiledFunction(Func<System.Reflection.MethodInfo?> body, SlotAdapter adapter, int stackBytes)
        : this(new Lazy<System.Reflection.MethodInfo?>(body), adapter, TimeSpan.Zero, -1, stackBytes, saved: true)
    {
    }

    private CompiledFunction(Lazy<System.Reflection.MethodInfo?> body, SlotAdapter adapter, TimeSpan compileTime, int ilSize, int stackBytes, bool saved)
    {
        _body = body;
        Adapter = adapter;
        CompileTime = compileTime;
        _ilSize = ilSize;
        StackBytes = stackBytes;
        Saved = saved;
    }

    /// <summary>Whether the code was loaded from a saved assembly rather than made by the JIT.</summary>
    public bool Saved { get; }

    /// <summary>An upper bound of the .NET stack a call through <see cref="Adapter"/> takes before the body makes
    /// a call of its own (see <see cref="FunctionCompiler.FrameBytes(Verification.FunctionAnalysis)"/>): a caller checks there is room for it.</summary>
    public int StackBytes { get; }

    /// <summary>The body, with the calling convention of <see cref="FunctionCompiler"/>; null only for saved code
    /// without dynamic code, where no compiled caller or typed-export stub is ever emitted to call it.</summary>
    public System.Reflection.MethodInfo? Body => _body.Value;

    /// <summary>Calls the body with arguments read from slots [fp, ...) and writes its results back there.</summary>
    public SlotAdapter Adapter { get; }

    /// <summary>Time spent emitting IL for this function's compile group, shared equally (the CLR JIT runs later, at
    /// first call); zero for code loaded from a saved assembly.</summary>
    public TimeSpan CompileTime { get; }

    /// <summary>The size of the body's IL in bytes (0 when the saved body is not available).</summary>
    public int IlSize
    {
        [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only statistics; a body that cannot be read counts 0 bytes.")]
        get
        {
            if (_ilSize < 0) _ilSize = Body?.GetMethodBody()?.GetILAsByteArray()?.Length ?? 0;
            return _ilSize;
        }
    }
}

/// <summary>Runs a compiled function with its arguments in frame-stack slots from <paramref name="fp"/>; results replace them.</summary>
internal delegate void SlotAdapter(Runtime.Fiber fiber, int depth, int fp);

/// <summary>
/// The JIT side of one module: decides what to compile and when, and publishes compiled code in each function's
/// <see cref="DecodedFunction.Compiled"/> slot. Compilation takes a lock; running code never does.
/// </summary>
/// <remarks>
/// A function is compiled together with every function it calls directly that is not compiled yet, so compiled
/// code calls compiled code with a direct CIL call whenever possible. Callees that cannot be compiled (too large)
/// and indirect callees are reached through runtime helpers that look at the callee's slot at call time.
/// </remarks>
[System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.JitNeedsDynamicCode)]
internal sealed class JitState(Runtime.CodeTable code)
{
    private readonly object _lock = new();

    /// <summary>Host entry stubs by function index and delegate type; shared by the module's stores.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Function, Type Delegate), System.Reflection.Emit.DynamicMethod> _hostEntries = new();

    /// <summary>The stub behind a typed export of function <paramref name="index"/> (see <see cref="Jit.HostEntry"/>).</summary>
    public System.Reflection.Emit.DynamicMethod HostEntry(int index, CompiledFunction compiled, Type delegateType, Type[] parameters, Type? result) =>
        _hostEntries.GetOrAdd((index, delegateType), _ => Jit.HostEntry.Emit(Module.Definition.NameOf(index), index, compiled, parameters, result));
    private bool _compiledAll;

    public Runtime.CodeTable Code { get; } = code;

    public Module Module => Code.Module;

    /// <summary>Compiles every function not compiled yet, without a budget (benchmarks and tools).</summary>
    public void CompileAll()
    {
        if (Volatile.Read(ref _compiledAll)) return;
        lock (_lock)
        {
            if (_compiledAll) return;
            var all = new List<DecodedFunction>();
            for (var i = 0; i < Module.Definition.Functions.Count; i++) all.Add(Code.Decoded(i));
            CompileGroup(all, null);
            Volatile.Write(ref _compiledAll, true);
        }
    }

    /// <summary>The Jit policy: compiles every function not compiled yet, as far as <paramref name="store"/>'s
    /// compile budget allows (the rest stay interpreted for it).</summary>
    public void CompileAll(Runtime.Store store)
    {
        if (Volatile.Read(ref _compiledAll) || store.EagerCompilationDone(this)) return;
        lock (_lock)
        {
            if (_compiledAll) return;
            var all = new List<DecodedFunction>();
            for (var i = 0; i < Module.Definition.Functions.Count; i++) all.Add(Code.Decoded(i));
            if (CompileGroup(all, store)) Volatile.Write(ref _compiledAll, true);
            store.MarkEagerCompilationDone(this);
        }
    }

    /// <summary>Tiered policy, entry from the host: compile at once when the function loops, else count the call.</summary>
    public CompiledFunction? TierUpOnEntry(Runtime.Store store, DecodedFunction function) =>
        store.Tier == ExecutionTier.Tiered ? TierUpOnCall(store, function) : Compile(function, store);

    /// <summary>Tiered policy, a call from the interpreter: compile when hot or looping; null to keep interpreting.</summary>
    public CompiledFunction? TierUpOnCall(Runtime.Store store, DecodedFunction function)
    {
        if (function.NotCompiledReason is not null) return null;
        var calls = ++function.InterpretedCalls;
        if (calls < store.TierUpCalls && !function.HasLoops) return null;
        if (!store.CompileBudgetAllows(Runtime.Store.CompileCost(function)))
        {
            store.DenyCompilation(function, Runtime.Store.CompileCost(function));
            return null;
        }
        if (store.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            Log.TierUp(store.Logger, function.Name, calls, function.HasLoops ? " (it contains a loop)" : "");
        return Compile(function, store);
    }

    /// <summary>Compiles <paramref name="function"/> (with its group) if <paramref name="store"/>'s budget allows.</summary>
    public CompiledFunction? Compile(DecodedFunction function, Runtime.Store store)
    {
        if (function.Compiled is { } done) return done;
        if (function.NotCompiledReason is not null) return null;
        lock (_lock)
        {
            if (function.Compiled is null && function.NotCompiledReason is null) CompileGroup([function], store);
            return function.Compiled;
        }
    }

    /// <summary>
    /// Compiles the given functions plus everything they reach through direct calls that is not compiled yet, as
    /// far as <paramref name="store"/>'s compile budget allows: a function that does not fit is left out (for
    /// this store it stays interpreted) and the group does not continue through it. Returns whether nothing was
    /// left out for lack of budget.
    /// </summary>
    private bool CompileGroup(IEnumerable<DecodedFunction> roots, Runtime.Store? store)
    {
        var logger = store?.Logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var complete = true;
        long cost = 0;
        var imports = Module.Definition.Imports.Count;
        var group = new List<DecodedFunction>();
        var pieced = new List<(DecodedFunction Function, PiecePlan Plan)>();
        var seen = new HashSet<int>();
        var pending = new Stack<DecodedFunction>(roots);
        while (pending.Count > 0)
        {
            var function = pending.Pop();
            if (function.Compiled is not null || function.NotCompiledReason is not null || !seen.Add(function.FunctionIndex)) continue;
            var plan = JitLimits.PlanPieces(function, out var whyNotInPieces);
            if (plan is null && (whyNotInPieces ?? JitLimits.WhyNeverCompiled(function)) is { } reason)
            {
                function.NotCompiledReason = reason;
                Log.NotCompiled(logger, function.Name, function.NotCompiledReason);
                continue;
            }
            var functionCost = Runtime.Store.CompileCost(function, plan?.Count ?? 1);
            if (store is not null && !store.CompileBudgetAllows(cost + functionCost))
            {
                store.DenyCompilation(function, functionCost);
                complete = false;
                continue;
            }
            cost += functionCost;
            if (plan is null) group.Add(function);
            else pieced.Add((function, plan));
            foreach (var instruction in function.Analysis.Definition.Code)
                if (instruction.OpCode is Bytecode.OpCode.Call or Bytecode.OpCode.ReturnCall && instruction.Index >= imports)
                    pending.Push(Code.Decoded(instruction.Index - imports));
        }
        if (group.Count + pieced.Count == 0) return complete;
        store?.ChargeCompilation(cost);

        var watch = Stopwatch.StartNew();
        var (compiled, piecedCode) = FunctionCompiler.CompileGroup(Code, group, pieced);
        // A function cut (again) because its IL measured over what the CLR JIT optimises stays charged as planned:
        // the budget is decided before any IL exists, and cutting adds no work beyond that linear in its instructions.
        var share = watch.Elapsed / (compiled.Count + piecedCode.Count);
        // Publish only after every body in the group has complete IL: a direct call binds its callee when the
        // caller is first JIT-compiled by the CLR.
        foreach (var c in compiled)
            c.Function.Compiled = new CompiledFunction(c.Body, c.Adapter, share, c.IlSize, c.Function.FrameBytes + FunctionCompiler.AdapterFrameBytes);
        foreach (var (function, plan, pieces) in piecedCode)
        {
            function.Compiled = pieces;
            Log.CompiledInPieces(logger, function.Name, function.Analysis.Definition.Code.Length, plan.Count, plan.LargestPiece);
        }
        if (logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            Log.Compiled(logger, compiled.Count + piecedCode.Count, string.Join(", ", compiled.Select(c => c.Function).Concat(piecedCode.Select(p => p.Function)).Select(f => f.Name)),
                watch.Elapsed.TotalMicroseconds, compiled.Sum(c => c.IlSize) + piecedCode.Sum(p => p.Code.IlSize));
        return complete;
    }
}
