using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JitVm.Hosting;

/// <summary>Limits for one isolate. Every limit is enforced identically by every tier.</summary>
public sealed record IsolateOptions
{
    /// <summary>The default call-depth limit.</summary>
    public const int DefaultMaxCallDepth = 10_000;

    /// <summary>The largest call-depth limit an isolate accepts: it keeps a call site per allowed frame (8 bytes
    /// each), so the limit bounds that memory too (8 MB at this maximum).</summary>
    public const int MaximumCallDepth = 1_000_000;

    /// <summary>The default heap limit: 256 MiB.</summary>
    public const long DefaultMaxHeapBytes = 256L * 1024 * 1024;

    /// <summary>Instruction budget (see spec/execution.md, "Fuel"); null means unlimited (fuel is still counted).</summary>
    public long? Fuel { get; init; }

    /// <summary>The longest each call from the host may run before it traps <c>DeadlineExceeded</c>; null for no limit
    /// (see <see cref="Isolate.Timeout"/>).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Cancels running programs: they trap <c>Cancelled</c> (see <see cref="Isolate.CancellationToken"/>).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Most VM frames active at once, from 1 to <see cref="MaximumCallDepth"/>; a deeper call traps
    /// <c>CallDepthExceeded</c>.</summary>
    public int MaxCallDepth { get; init; } = DefaultMaxCallDepth;

    /// <summary>The execution policy (default <see cref="ExecutionTier.Tiered"/>).</summary>
    public ExecutionTier Tier { get; init; } = ExecutionTier.Tiered;

    /// <summary>Under <see cref="ExecutionTier.Tiered"/>, interpreted calls after which a function is compiled
    /// (functions containing loops are compiled on their first call).</summary>
    public int TierUpCalls { get; init; } = 30;

    /// <summary>The default compile budget: 1,000,000 units (see <see cref="CompileBudget"/>).</summary>
    public const long DefaultCompileBudget = 1_000_000;

    /// <summary>Units of compile budget charged per compiled function on top of its instruction count: the fixed
    /// cost of emitting and JIT-compiling a method and its adapter.</summary>
    public const int CompileCostPerFunction = 100;

    /// <summary>
    /// How much compilation this isolate may make the host do, under the <see cref="ExecutionTier.Tiered"/> and
    /// <see cref="ExecutionTier.Jit"/> policies (spec/execution.md §8.3, "Compile budget"). Compiling a function costs its instruction
    /// count plus <see cref="CompileCostPerFunction"/> units, charged to the isolate whose call causes the
    /// compilation. A function whose compilation would exceed what is left stays in the interpreter for this isolate
    /// (programs behave the same; only speed differs); this is logged once (event 103) and shown by
    /// <see cref="Isolate.Statistics"/>. Default <see cref="DefaultCompileBudget"/>; null for no limit, which makes
    /// compile work bounded only by the module's size.
    /// </summary>
    public long? CompileBudget { get; init; } = DefaultCompileBudget;

    /// <summary>Size of the nursery, where small objects are allocated (default 2 MiB; never more than a quarter of
    /// <see cref="MaxHeapBytes"/>). A tiny nursery is a test mode: it makes minor collections frequent.</summary>
    public long NurseryBytes { get; init; } = Memory.Heap.DefaultNurseryBytes;

    /// <summary>Test modes (GC stress, heap verification, deoptimisation stress), all off by default.</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public DiagnosticOptions Diagnostics { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); } = new();

    /// <summary>Where compilation, tier-up, collection and trap events are logged, all under one category; silent by
    /// default. <see cref="LoggerFactory"/>, when set, takes precedence.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Where the isolate's events are logged, one category per subsystem: <c>JitVm.Jit</c> (compilation,
    /// tier-up, functions that stay interpreted, the compile budget, and the JIT being unavailable in the process),
    /// <c>JitVm.Gc</c> (collections) and <c>JitVm.Traps</c> (traps, naming the module and the isolate); null (the
    /// default) to log everything to <see cref="Logger"/>.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>A name for the isolate in log events and <see cref="Isolate.Name"/>; null (the default) names it
    /// <c>isolate N</c>, N counting the isolates of the process from 1.</summary>
    public string? Name { get; init; }

    /// <summary>Most bytes the isolate's heap objects may occupy (8 per word including each header).</summary>
    public long MaxHeapBytes { get; init; } = DefaultMaxHeapBytes;

    /// <summary>Worker threads that run spawned tasks (spec/concurrency.md §4); null means one per processor. The root
    /// task's thread also runs them while it waits and fewer tasks than this are running. 0 is the
    /// deterministic mode: spawned tasks run one at a time on the root task's thread while it waits, so the schedule, and
    /// everything a program prints, depends only on the program.</summary>
    public int? Workers { get; init; }

    /// <summary>The default limit on live tasks.</summary>
    public const int DefaultMaxTasks = 1_000_000;

    /// <summary>Most spawned tasks alive at once in the task tree this isolate roots; a spawn past it traps
    /// <c>TooManyTasks</c>.</summary>
    public int MaxTasks { get; init; } = DefaultMaxTasks;

    /// <summary>The fuel the spawned tasks of the tree this isolate roots may use all together (spec/concurrency.md §4,
    /// "Limits"); a task that needs fuel when it is used up traps <c>OutOfFuel</c>. Null (the default) means as much as
    /// <see cref="Fuel"/>, so a bounded isolate bounds its whole tree however many tasks are spawned one after another;
    /// unlimited when <see cref="Fuel"/> is too.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long? TaskFuel
    {
        get;
        init => field = value is < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "task fuel cannot be negative") : value;
    }

    /// <summary>The default nursery of a spawned task: 32 KiB.</summary>
    public const long DefaultTaskNurseryBytes = 32 * 1024;

    /// <summary>Size of each spawned task's nursery; small, so a million idle tasks fit in memory (a task's heap is
    /// created at its first allocation, and its old space grows as it needs).</summary>
    public long TaskNurseryBytes { get; init; } = DefaultTaskNurseryBytes;
}
