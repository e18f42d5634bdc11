using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>Fuel, deadlines and cancellation: the limits that stop a running program cooperatively (kept by the
/// isolate's store, see Store.Limits.cs).</summary>
public sealed partial class Isolate
{
    /// <summary>
    /// Fuel left: the instruction budget (the cost of each instruction is in the instruction table). When it cannot
    /// pay for the next basic block the program traps with <see cref="TrapCode.OutOfFuel"/>. Assign it between calls
    /// (or from a host function the isolate called) to give a program a new budget; a trapped program does not
    /// resume where it stopped, but the isolate stays usable and its globals and heap keep their state.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    /// <exception cref="InvalidOperationException">Another thread is running the isolate.</exception>
    public long Fuel
    {
        get => Store.Fuel;
        set => Store.Fuel = value;
    }

    /// <summary>Fuel consumed since the isolate was created.</summary>
    public long FuelUsed => Store.FuelUsed;

    /// <summary>
    /// The longest each entry from the host (an <see cref="Invoke(string, Value[])"/> or a call through a typed
    /// export) may run, measured from the entry; null for no limit. A program that runs past it traps with
    /// <see cref="TrapCode.DeadlineExceeded"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan? Timeout
    {
        get => Store.Timeout;
        set => Store.Timeout = value;
    }

    /// <summary>
    /// A moment (UTC) after which no program runs in this isolate: a running one traps with
    /// <see cref="TrapCode.DeadlineExceeded"/>; null for none. Applies to every entry until changed; with
    /// <see cref="Timeout"/> as well, the earlier of the two wins.
    /// </summary>
    public DateTime? Deadline
    {
        get => Store.Deadline;
        set => Store.Deadline = value;
    }

    /// <summary>
    /// When this token is cancelled, a running program traps with <see cref="TrapCode.Cancelled"/> at its next fuel
    /// slice, and every later entry traps at its first block until the token is replaced.
    /// </summary>
    public CancellationToken CancellationToken
    {
        get => Store.CancellationToken;
        set => Store.CancellationToken = value;
    }

    /// <summary>
    /// Charges <paramref name="amount"/> fuel for work a host function is about to do for the program, such as
    /// copying or writing a buffer whose size the program chose, so that fuel bounds that work too
    /// (spec/execution.md §5.2). Charge before doing the work: when the remaining fuel is less than
    /// <paramref name="amount"/> this throws a <see cref="TrapException"/> with <see cref="TrapCode.OutOfFuel"/>
    /// and leaves the fuel unchanged; let it propagate, and the program traps at the call. The amount counts in
    /// <see cref="FuelUsed"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The amount is negative.</exception>
    /// <exception cref="InvalidOperationException">Another thread is running the isolate.</exception>
    /// <exception cref="TrapException">The remaining fuel cannot pay (<see cref="TrapCode.OutOfFuel"/>).</exception>
    public void ChargeFuel(long amount) => Store.ChargeFuel(Fiber, amount);

    /// <summary>Compile budget units this isolate has spent (see <see cref="IsolateOptions.CompileBudget"/>).</summary>
    public long CompileBudgetUsed => Store.CompileBudgetUsed;
}
