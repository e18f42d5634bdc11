using System.Diagnostics;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>Fuel, deadlines and cancellation: the limits that stop a running program cooperatively.</summary>
public sealed partial class Isolate
{
    /// <summary>
    /// Running code never sees the whole fuel balance: it spends a slice of at most this much, held in a local,
    /// and comes back to <see cref="Refuel"/> when the slice cannot pay for the next block. That return is where
    /// cancellation and the deadline are checked, so stopping a program costs running code nothing beyond the fuel
    /// check it already makes, and a request is seen within one slice (tens of microseconds of compiled code).
    /// </summary>
    internal const long SliceSize = 1 << 16;

    /// <summary>
    /// The fuel running code may spend before it calls <see cref="Refuel"/>. Invariant: the balance is
    /// <see cref="FuelSlice"/> + <see cref="_fuelReserve"/>, both never negative while the isolate is idle. Code
    /// keeps the slice in a local and writes it back here around calls and traps.
    /// </summary>
    internal long FuelSlice;

    private long _fuelReserve;

    /// <summary>All the fuel ever given to the isolate (options plus every assignment to <see cref="Fuel"/>).</summary>
    private long _fuelGranted;

    /// <summary>The deadline of the current entry as a <see cref="Stopwatch"/> timestamp; long.MaxValue for none.</summary>
    private long _deadlineTimestamp = long.MaxValue;

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
        get => FuelSlice + _fuelReserve;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            var owner = Volatile.Read(ref _runningThread);
            if (owner != 0 && owner != Environment.CurrentManagedThreadId)
                throw new InvalidOperationException($"the isolate is running on thread {owner}; set its fuel between calls or from a host function it called");
            var granted = _fuelGranted + (value - Fuel);
            _fuelGranted = granted < 0 ? long.MaxValue : granted;
            // Running code picks the new balance up at its next block: a slice of zero sends it to Refuel.
            _fuelReserve = value;
            FuelSlice = 0;
        }
    }

    /// <summary>Fuel consumed since the isolate was created.</summary>
    public long FuelUsed => _fuelGranted - Fuel;

    /// <summary>
    /// The longest each entry from the host (an <see cref="Invoke(string, Value[])"/> or a call through a typed
    /// export) may run, measured from the entry; null for no limit. A program that runs past it traps with
    /// <see cref="TrapCode.DeadlineExceeded"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan? Timeout
    {
        get;
        set
        {
            if (value < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(value), "the timeout cannot be negative");
            field = value;
            UpdateInterruptible();
        }
    }

    /// <summary>
    /// A moment (UTC) after which no program runs in this isolate: a running one traps with
    /// <see cref="TrapCode.DeadlineExceeded"/>; null for none. Applies to every entry until changed; with
    /// <see cref="Timeout"/> as well, the earlier of the two wins.
    /// </summary>
    public DateTime? Deadline
    {
        get;
        set
        {
            field = value;
            UpdateInterruptible();
        }
    }

    /// <summary>
    /// When this token is cancelled, a running program traps with <see cref="TrapCode.Cancelled"/> at its next fuel
    /// slice, and every later entry traps at its first block until the token is replaced.
    /// </summary>
    public CancellationToken CancellationToken
    {
        get;
        set
        {
            field = value;
            UpdateInterruptible();
        }
    }

    /// <summary>Whether anything but fuel can stop a program; kept so an entry without limits pays one test.</summary>
    private bool _interruptible;

    private void UpdateInterruptible()
    {
        _interruptible = Timeout is not null || Deadline is not null || CancellationToken.CanBeCanceled;
        if (!_interruptible) _deadlineTimestamp = long.MaxValue;
    }

    /// <summary>
    /// Prepares an entry from the host: computes the deadline and, when anything can interrupt the program, hands
    /// the slice back to the reserve so the first block goes through <see cref="Refuel"/> and checks at once.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void ArmInterrupts()
    {
        if (_interruptible) ArmInterruptsNow();
    }

    private void ArmInterruptsNow()
    {
        var now = Stopwatch.GetTimestamp();
        var deadline = Timeout is { } timeout ? After(now, timeout) : long.MaxValue;
        if (Deadline is { } at) deadline = Math.Min(deadline, After(now, at.ToUniversalTime() - DateTime.UtcNow));
        _deadlineTimestamp = deadline;
        _fuelReserve += FuelSlice;
        FuelSlice = 0;
    }

    /// <summary>The <see cref="Stopwatch"/> timestamp <paramref name="span"/> after <paramref name="now"/>, saturating.</summary>
    private static long After(long now, TimeSpan span)
    {
        var ticks = Math.Max(0, span.TotalSeconds * Stopwatch.Frequency);
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    /// <summary>
    /// Called by running code when its slice <paramref name="slice"/> cannot pay for a block of
    /// <paramref name="cost"/>: checks cancellation and the deadline, then returns a new slice (at least
    /// <paramref name="cost"/>) taken from the reserve. The caller subtracts the cost itself.
    /// </summary>
    /// <exception cref="TrapException">Cancelled, past the deadline, or out of fuel; the caller adds the location.</exception>
    /// <remarks>For the size part of an instruction's cost rather than a block's, <paramref name="instruction"/>
    /// names it and <paramref name="words"/> says how many words it was to zero or copy, for the trap's message.</remarks>
    internal long Refuel(long slice, long cost, string? instruction = null, long words = 0)
    {
        if (CancellationToken.IsCancellationRequested)
            throw new TrapException(TrapCode.Cancelled, "the host cancelled the program");
        if (_deadlineTimestamp != long.MaxValue && Stopwatch.GetTimestamp() >= _deadlineTimestamp)
            throw new TrapException(TrapCode.DeadlineExceeded, Timeout is { } timeout
                ? $"the program ran past its deadline (timeout {timeout.TotalMilliseconds:0.###} ms per call)"
                : "the program ran past its deadline");
        var balance = slice + _fuelReserve;
        if (balance < cost)
            throw new TrapException(TrapCode.OutOfFuel, instruction is null
                ? $"out of fuel: the block needs {cost} and {balance} remain"
                : $"out of fuel: {instruction} of {words} words needs {cost} more and {balance} remain");
        var next = Math.Min(balance, Math.Max(SliceSize, cost));
        _fuelReserve = balance - next;
        return next;
    }

    /// <summary>
    /// The size part of alloc's cost for <paramref name="length"/> words (spec/execution.md §5.2): 0 when the
    /// allocation traps before doing any work (a negative length, or an object larger than the heap limit could
    /// ever hold).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal long AllocationFuel(long length) =>
        (ulong)length <= (ulong)Heap.LargestObjectWords ? Bytecode.SizeFuel.For(length) : 0;

    /// <summary>The size part of data.alloc's cost for segment <paramref name="segment"/>.</summary>
    internal long DataAllocationFuel(int segment) => Bytecode.SizeFuel.ForSegment(Module.Definition.Data[segment].Bytes.Length);

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
    public void ChargeFuel(long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var owner = Volatile.Read(ref _runningThread);
        if (owner != 0 && owner != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException($"the isolate is running on thread {owner}; charge its fuel from a host function it called");
        if (amount <= FuelSlice)
        {
            FuelSlice -= amount;
            return;
        }
        var balance = FuelSlice + _fuelReserve;
        if (balance < amount)
            throw new TrapException(TrapCode.OutOfFuel, $"out of fuel: the host function needs {amount} and {balance} remain");
        _fuelReserve = balance - amount;
        FuelSlice = 0;
    }
}
