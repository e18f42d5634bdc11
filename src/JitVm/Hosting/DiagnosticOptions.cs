namespace JitVm.Hosting;

/// <summary>When compiled code is made to hand its state to the interpreter (a test mode; see
/// <see cref="DiagnosticOptions.DeoptStress"/>).</summary>
public enum DeoptStressMode
{
    /// <summary>Only when the runtime needs it.</summary>
    Off,

    /// <summary>At every safepoint.</summary>
    EverySafepoint,

    /// <summary>At every Nth safepoint.</summary>
    EveryN,

    /// <summary>At a pseudo-random one in N safepoints (seeded, so runs repeat).</summary>
    Random,
}

/// <summary>
/// Test modes of an isolate, for testing the VM itself: they change how often the collector and the tiers do
/// their work, never what a program observes (its results, output, traps and fuel are those of a plain run).
/// Reached through <see cref="IsolateOptions.Diagnostics"/>; all are off by default.
/// </summary>
public sealed record DiagnosticOptions
{
    /// <summary>Test mode: force collections (every allocation, every Nth, or at random); see <see cref="GcStressInterval"/>.</summary>
    public Memory.GcStressMode GcStress { get; init; }

    /// <summary>N for <see cref="Memory.GcStressMode.EveryN"/>, or the seed and 1-in-N rate for <see cref="Memory.GcStressMode.Random"/>.</summary>
    public int GcStressInterval { get; init; } = 1;

    /// <summary>Test mode: verify the heap's invariants before and after every collection.</summary>
    public bool VerifyHeap { get; init; }

    /// <summary>Test mode: at safepoints, compiled code writes its whole state into interpreter frames and the
    /// interpreter continues it (deoptimisation); see spec/execution.md. Every safepoint, every Nth, or at random;
    /// see <see cref="DeoptStressInterval"/>.</summary>
    public DeoptStressMode DeoptStress { get; init; }

    /// <summary>N for <see cref="DeoptStressMode.EveryN"/>, or the seed and 1-in-N rate for <see cref="DeoptStressMode.Random"/>.</summary>
    public int DeoptStressInterval { get; init; } = 1;
}
