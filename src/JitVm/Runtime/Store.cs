using JitVm.Hosting;
using JitVm.Memory;

namespace JitVm.Runtime;

/// <summary>
/// What programs share while they run: the heap, the instances (each with its globals), the handles the host holds,
/// the limits and their accounting (fuel, deadlines, call depth, compile budget) and the statistics. Every fiber of a
/// store runs on its heap; the collector finds every root through the store: each instance's globals, the handles,
/// and every fiber's frames. A store has one owner at a time (one thread runs it).
/// </summary>
internal sealed partial class Store : IRootSet
{
    // Room for one of each at first: most stores (every task's) never have more.
    private readonly List<Fiber> _fibers = new(1);
    private readonly List<Instance> _instances = new(1);

    /// <param name="owner">The isolate whose store this is.</param>
    /// <param name="options">The limits and modes it runs under.</param>
    /// <param name="taskFuel">For a spawned task's store, the pool its tree's tasks draw fuel from (null: no pool,
    /// the options' fuel is this store's own).</param>
    public Store(Isolate owner, IsolateOptions options, FuelPool? taskFuel = null)
    {
        Owner = owner;
        Options = options;
        InitFuel(options.Fuel, taskFuel);
        Timeout = options.Timeout;
        CancellationToken = options.CancellationToken;
        MaxDepth = options.MaxCallDepth;
        if (MaxDepth is < 1 or > IsolateOptions.MaximumCallDepth)
            throw new ArgumentOutOfRangeException(nameof(options), MaxDepth,
                $"the call-depth limit (MaxCallDepth) must be from 1 to {IsolateOptions.MaximumCallDepth:N0}");
        Logger = options.LoggerFactory?.CreateLogger("JitVm.Jit") ?? options.Logger;
        GcLogger = options.LoggerFactory?.CreateLogger("JitVm.Gc") ?? options.Logger;
        TrapLogger = options.LoggerFactory?.CreateLogger("JitVm.Traps") ?? options.Logger;
        // Without dynamic code only the interpreter runs, unless the module's code was loaded from a saved assembly:
        // then the policy says whether that code runs (interpreter: it does not), and nothing is ever compiled.
        Tier = Jit.DynamicCode.Supported || owner.Module.HasSavedCode ? options.Tier : ExecutionTier.Interpreter;
        if (Tier != options.Tier && owner.Module.NoteJitUnavailable())
            Diagnostics.Log.JitUnavailable(Logger,
                owner.Module.Definition.SourceName ?? "module", options.Name ?? "an isolate", options.Tier.ToString());
        TierUpCalls = options.TierUpCalls;
        InitCompileBudget(options.CompileBudget);
        Heap = CreateHeap(options);
        DeoptStress = options.Diagnostics.DeoptStress;
        _deoptStressInterval = Math.Max(1, options.Diagnostics.DeoptStressInterval);

    }

    /// <summary>Compiled frames that have become interpreter frames (deoptimised) in this store.</summary>
    public long FramesDeoptimised { get; set; }

    /// <summary>When compiled code is made to deoptimise at safepoints (a test mode, spec/execution.md §9).</summary>
    public DeoptStressMode DeoptStress { get; }

    private readonly int _deoptStressInterval;
    private Random? _deoptStressRandom;
    private long _safepointsSeen;

    /// <summary>Deopt stress: whether the safepoint compiled code has reached now deoptimises.</summary>
    public bool DeoptStressTick() => DeoptStress switch
    {
        DeoptStressMode.EverySafepoint => true,
        DeoptStressMode.EveryN => ++_safepointsSeen % _deoptStressInterval == 0,
        DeoptStressMode.Random => (_deoptStressRandom ??= new Random(_deoptStressInterval)).Next(_deoptStressInterval) == 0,
        _ => false,
    };

    /// <summary>The options the store was made with (spawned tasks inherit them).</summary>
    public IsolateOptions Options { get; }

    /// <summary>Pointers the runtime holds while it builds objects (a message being received): roots, set only
    /// during <see cref="CopyIn"/>; otherwise the roots list belongs to the thread, which reuses it for every store.</summary>
    private Concurrency.TemporaryRoots? _temporaryRoots;

    [ThreadStatic] private static Concurrency.TemporaryRoots? t_spareTemporaryRoots;

    /// <summary>Builds <paramref name="message"/>'s objects in the heap and writes its values to
    /// <paramref name="results"/> (see <see cref="Concurrency.Message.CopyIn"/>); the objects made so far are roots
    /// while it runs. The caller has published its own roots.</summary>
    public void CopyIn(Concurrency.Message message, Span<long> results)
    {
        var roots = t_spareTemporaryRoots ?? new();
        t_spareTemporaryRoots = null;
        _temporaryRoots = roots;
        try
        {
            message.CopyIn(Heap, roots, results);
        }
        finally
        {
            roots.Clear();
            _temporaryRoots = null;
            t_spareTemporaryRoots = roots;
        }
    }

    /// <summary>The public face of this store: what host functions receive and pointer values name as their origin.</summary>
    public Isolate Owner { get; }

    public Heap Heap { get; private set; }

    private Heap CreateHeap(IsolateOptions options) => new(options.MaxHeapBytes, options.NurseryBytes)
    {
        Roots = this,
        Stress = options.Diagnostics.GcStress,
        StressInterval = Math.Max(1, options.Diagnostics.GcStressInterval),
        VerifyEveryCollection = options.Diagnostics.VerifyHeap,
        Logger = GcLogger,
    };

    public int MaxDepth { get; }

    /// <summary>The execution policy in force (always Interpreter where dynamic code is not supported).</summary>
    public ExecutionTier Tier { get; private set; }

    /// <summary>Changes the execution policy between entries (the REPL's <c>:tier</c>). Code already compiled stays
    /// in its code table and keeps running compiled (the interpreter takes a compiled entry wherever there is one),
    /// so a caller that wants only the new policy in force links a new module.</summary>
    /// <exception cref="InvalidOperationException">The store is running.</exception>
    internal void ChangeTier(ExecutionTier tier)
    {
        if (RunningThread != 0) throw new InvalidOperationException("cannot change the tier while the isolate is running");
        Tier = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? tier : ExecutionTier.Interpreter;
    }

    public int TierUpCalls { get; }

    /// <summary>The JIT's events: compilation, tier-up, functions left interpreted, the compile budget.</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; }

    /// <summary>The collector's events.</summary>
    public Microsoft.Extensions.Logging.ILogger GcLogger { get; }

    /// <summary>Trap events.</summary>
    public Microsoft.Extensions.Logging.ILogger TrapLogger { get; }

    public IReadOnlyList<Fiber> Fibers => _fibers;

    public IReadOnlyList<Instance> Instances => _instances;

    internal void Attach(Fiber fiber) => _fibers.Add(fiber);

    internal void Attach(Instance instance) => _instances.Add(instance);

    /// <summary>
    /// Takes an instance out of the store between entries: its globals stop being roots and later links no longer
    /// find its functions. Instances linked to it keep calling it, so only one nothing links to may be detached
    /// (the REPL detaches the session module an input replaced, after copying its globals on).
    /// </summary>
    /// <exception cref="InvalidOperationException">The store is running, or a fiber is bound to the instance, or
    /// another instance of the store links to it.</exception>
    internal void Detach(Instance instance)
    {
        if (RunningThread != 0) throw new InvalidOperationException("cannot detach an instance while the isolate is running");
        if (_fibers.Any(f => f.Instance == instance))
            throw new InvalidOperationException("cannot detach an instance a fiber is bound to");
        if (_instances.Any(other => other != instance && other.LinksTo(instance)))
            throw new InvalidOperationException("cannot detach an instance another instance links to");
        _instances.Remove(instance);
    }
    /// <summary>Collects garbage now, outside VM code (only globals and handles hold roots then).</summary>
    public void CollectGarbage()
    {
        var owner = Interlocked.CompareExchange(ref _runningThread, Environment.CurrentManagedThreadId, 0);
        if (owner == DisposedOwner) throw Disposed();
        if (owner != 0) throw new InvalidOperationException("cannot collect while the isolate is running");
        try
        {
            Heap.Collect(full: true);
        }
        finally
        {
            Volatile.Write(ref _runningThread, 0);
        }
    }

    /// <summary>The roots: every instance's word globals holding pointers, the handles, and every fiber's frames.</summary>
    void IRootSet.UpdateRoots(Heap heap)
    {
        foreach (var instance in _instances) instance.UpdateRoots(heap);
        UpdateHandleRoots(heap);
        _temporaryRoots?.Update(heap);
        // Objects move: every pointer the host was given is stale from now on.
        EndHostViews();
        foreach (var fiber in _fibers) fiber.UpdateRoots(heap);
    }
}
