using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Runtime;

/// <summary>Fuel, deadlines and cancellation: the limits that stop a running program cooperatively.</summary>
internal sealed partial class Store
{
    /// <summary>
    /// Running code never sees the whole fuel balance: it spends a slice of at most this much, held in a local,
    /// and comes back to <see cref="Refuel"/> when the slice cannot pay for the next block. That return is where
    /// cancellation and the deadline are checked, so stopping a program costs running code nothing beyond the fuel
    /// check it already makes, and a request is seen within one slice (tens of microseconds of compiled code).
    /// </summary>
    internal const long SliceSize = 1 << 16;

    /// <summary>The fuel not handed to a fiber. Invariant: the balance is this plus every fiber's
    /// <see cref="Fiber.FuelSlice"/>, all never negative while the store is idle.</summary>
    private long _fuelReserve;

    /// <summary>All the fuel ever given to the isolate (options plus every assignment to <see cref="Fuel"/>).</summary>
    private long _fuelGranted;

    /// <summary>The deadline of the current entry as a <see cref="Stopwatch"/> timestamp; long.MaxValue for none.</summary>
    private long _deadlineTimestamp = long.MaxValue;

    /// <summary>Fuel left in the store: the reserve plus every fiber's slice (see <see cref="Isolate.Fuel"/>).</summary>
    public long Fuel
    {
        get
        {
            var balance = _fuelReserve;
            foreach (var fiber in _fibers) balance += Math.Max(0, fiber.FuelSlice);
            return balance;
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            var owner = Volatile.Read(ref _runningThread);
            if (owner == DisposedOwner) throw Disposed();
            if (owner != 0 && owner != Environment.CurrentManagedThreadId)
                throw new InvalidOperationException($"the isolate is {RunningOn(owner)}; set its fuel between calls or from a host function it called");
            var granted = _fuelGranted + (value - Fuel);
            _fuelGranted = granted < 0 ? long.MaxValue : granted;
            // Running code picks the new balance up at its next block: a slice of zero sends it to Refuel.
            _fuelReserve = value;
            foreach (var fiber in _fibers) fiber.FuelSlice = 0;
        }
    }

    /// <summary>Where a spawned task's store draws fuel when its reserve is empty; null for a store whose whole
    /// balance was granted up front (a root isolate's, or a task's when its tree's task fuel is unlimited).</summary>
    private FuelPool? _fuelPool;

    /// <summary>Sets the fuel granted at creation: <paramref name="fuel"/>, or none up front when the store draws
    /// from <paramref name="pool"/>.</summary>
    private void InitFuel(long? fuel, FuelPool? pool)
    {
        var amount = pool is null ? fuel ?? long.MaxValue : 0;
        if (amount < 0) throw new ArgumentOutOfRangeException(nameof(fuel), "fuel cannot be negative");
        _fuelGranted = _fuelReserve = amount;
        _fuelPool = pool;
    }

    /// <summary>Tops the reserve up from the pool so that it and <paramref name="held"/> make at least
    /// <paramref name="wanted"/>, as far as the pool allows.</summary>
    private void DrawFromPool(long held, long wanted)
    {
        if (_fuelPool is null || held + _fuelReserve >= wanted) return;
        var drawn = _fuelPool.Draw(wanted - held - _fuelReserve);
        _fuelReserve += drawn;
        _fuelGranted += drawn;
    }

    /// <summary>A task's end: what its store holds goes back to the tree's pool, for the tasks still running.</summary>
    internal void ReturnFuelToPool(Fiber fiber)
    {
        if (_fuelPool is null) return;
        var unspent = _fuelReserve + Math.Max(0, fiber.FuelSlice);
        _fuelReserve = 0;
        fiber.FuelSlice = 0;
        _fuelGranted -= unspent;
        _fuelPool.Return(unspent);
    }

    private string OutOfFuelWhere => _fuelPool is null ? "" : " (the fuel of the tree's spawned tasks, IsolateOptions.TaskFuel)";

    /// <summary>Fuel consumed since the isolate was created.</summary>
    public long FuelUsed => _fuelGranted - Fuel;

    /// <summary>The longest each entry from the host may run (see <see cref="Isolate.Timeout"/>).</summary>
    public TimeSpan? Timeout
    {
        get;
        set
        {
            if (value < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(value), "the timeout cannot be negative");
            field = value;
            _timeoutTicks = value is { } timeout ? After(0, timeout) : -1;
            UpdateInterruptible();
        }
    }

    /// <summary>A moment after which no program runs (see <see cref="Isolate.Deadline"/>).</summary>
    public DateTime? Deadline
    {
        get;
        set
        {
            field = value;
            UpdateInterruptible();
        }
    }

    /// <summary>Cancels running programs (see <see cref="Isolate.CancellationToken"/>).</summary>
    public CancellationToken CancellationToken
    {
        get;
        set
        {
            field = value;
            UpdateInterruptible();
        }
    }

    /// <summary>How long the current entry may still run before its timeout or deadline (TimeSpan.MaxValue for none).</summary>
    internal TimeSpan TimeToDeadline() => _deadlineTimestamp == long.MaxValue
        ? TimeSpan.MaxValue
        : Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _deadlineTimestamp);

    /// <summary>Set (from any thread) when the task this store runs is cancelled; seen at the next <see cref="Refuel"/>.</summary>
    private volatile bool _taskCancelled;

    /// <summary>Cancels the task running in this store: running code traps at its next <see cref="Refuel"/>, within one
    /// slice (<see cref="SliceSize"/> fuel), so fuel accounting is not disturbed from another thread.</summary>
    internal void RequestInterrupt() => _taskCancelled = true;

    /// <summary>
    /// A block's charge that the slice cannot pay: like <see cref="Refuel"/>, but a task whose quantum is used up while
    /// another waits for a worker yields instead (<see cref="Fiber.IsSuspending"/> is then set and the slice is
    /// returned unchanged: the charge runs again when the task resumes).
    /// </summary>
    internal long RefuelBlock(Fiber fiber, long slice, long cost, bool canYield = true)
    {
        // Tasks this fiber made runnable wait at most a slice for their worker's signal.
        if (fiber.DeferredWakes != 0) fiber.FlushDeferredWakes();
        if (fiber.Task is { } task && fiber.CanSuspend && Concurrency.Scheduler.ShouldYield(task))
        {
            if (!canYield)
            {
                // Not a block where the task can yield: grant just this block's cost, so every block after it refuels
                // too until one that can (a loop header or a function's entry, which every endless run passes).
                var granted = Refuel(slice, cost);
                _fuelReserve += granted - cost;
                return cost;
            }
            task.YieldRequested = true;
            fiber.FuelSlice = slice;
            fiber.BeginSuspend();
            return slice;
        }
        return Refuel(slice, cost);
    }

    /// <summary>Whether anything but fuel can stop a program; kept so an entry without limits pays one test.</summary>
    private bool _interruptible;

    private void UpdateInterruptible()
    {
        _interruptible = Timeout is not null || Deadline is not null || CancellationToken.CanBeCanceled || _entryCancellation.CanBeCanceled;
        if (!_interruptible) _deadlineTimestamp = long.MaxValue;
    }

    /// <summary>
    /// Prepares an entry from the host: computes the deadline and, when anything can interrupt the program, hands
    /// the slice back to the reserve so the first block goes through <see cref="Refuel"/> and checks at once.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void ArmInterrupts(Fiber fiber)
    {
        // A nested entry runs within its outermost entry's limits, armed when that began.
        if (_interruptible && fiber.NestedEntries == 0) ArmInterruptsNow(fiber);
    }

    private void ArmInterruptsNow(Fiber fiber)
    {
        var now = Stopwatch.GetTimestamp();
        var deadline = _timeoutTicks >= 0 ? (_timeoutTicks >= long.MaxValue - now ? long.MaxValue : now + _timeoutTicks) : long.MaxValue;
        if (Deadline is { } at) deadline = Math.Min(deadline, After(now, at.ToUniversalTime() - DateTime.UtcNow));
        _deadlineTimestamp = deadline;
        // The entry's check is made here: a limit already expired hands the slice back, so the first block refuels and
        // traps; otherwise the slice in hand (at most SliceSize) runs before the next check, as between any two checks,
        // and an entry pays no refuel.
        if (now >= deadline || CancellationToken.IsCancellationRequested || EntryCancelled || _taskCancelled)
        {
            _fuelReserve += fiber.FuelSlice;
            fiber.FuelSlice = 0;
        }
    }

    /// <summary><see cref="Timeout"/> in <see cref="Stopwatch"/> ticks, or -1 for none (kept so an entry does no
    /// conversion).</summary>
    private long _timeoutTicks = -1;

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
        if (CancellationToken.IsCancellationRequested || EntryCancelled)
            throw new TrapException(TrapCode.Cancelled, "the host cancelled the program");
        if (_taskCancelled) throw new TrapException(TrapCode.Cancelled, "the task was cancelled");
        if (_deadlineTimestamp != long.MaxValue && Stopwatch.GetTimestamp() >= _deadlineTimestamp)
            throw new TrapException(TrapCode.DeadlineExceeded, Timeout is { } timeout
                ? $"the program ran past its deadline (timeout {timeout.TotalMilliseconds:0.###} ms per call)"
                : "the program ran past its deadline");
        DrawFromPool(slice, Math.Max(SliceSize, cost));
        var balance = slice + _fuelReserve;
        if (balance < cost)
            throw new TrapException(TrapCode.OutOfFuel, instruction is null
                ? $"out of fuel: the block needs {cost} and {balance} remain{OutOfFuelWhere}"
                : $"out of fuel: {instruction} of {words} words needs {cost} more and {balance} remain{OutOfFuelWhere}");
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

    /// <summary>Charges fuel for a host function's work from <paramref name="fiber"/>'s slice and the reserve (see <see cref="Isolate.ChargeFuel"/>).</summary>
    public void ChargeFuel(Fiber fiber, long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var owner = Volatile.Read(ref _runningThread);
        if (owner != 0 && owner != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException($"the isolate is {RunningOn(owner)}; charge its fuel from a host function it called");
        if (amount <= fiber.FuelSlice)
        {
            fiber.FuelSlice -= amount;
            return;
        }
        DrawFromPool(fiber.FuelSlice, amount);
        var balance = fiber.FuelSlice + _fuelReserve;
        if (balance < amount)
            throw new TrapException(TrapCode.OutOfFuel, $"out of fuel: the host function needs {amount} and {balance} remain{OutOfFuelWhere}");
        _fuelReserve = balance - amount;
        fiber.FuelSlice = 0;
    }
}
