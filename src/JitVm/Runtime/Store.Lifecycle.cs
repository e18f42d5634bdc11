using JitVm.Diagnostics;

namespace JitVm.Runtime;

/// <summary>Resetting a store to the state a new one starts in, and disposing it.</summary>
internal sealed partial class Store
{
    /// <summary><see cref="_runningThread"/> of a disposed store: no thread id is negative, so every entry and host
    /// access fails at the ownership test it makes anyway, and the fast path pays nothing for disposal.</summary>
    private const int DisposedOwner = -1;

    /// <summary>Whether the store was disposed.</summary>
    internal bool IsDisposed => Volatile.Read(ref _runningThread) == DisposedOwner;

    /// <summary>The exception for any use of a disposed store.</summary>
    internal ObjectDisposedException Disposed() => new(nameof(Hosting.Isolate), "the isolate was disposed");

    /// <summary>
    /// Between entries, puts the store back where a new one with the same options starts: an empty heap, the
    /// module's initial globals in every instance, no handles (every handle made before is disposed), no pointer
    /// value or <see cref="Hosting.Pointer"/> given out before still valid, the options' fuel (fuel used counts from
    /// zero), timeout, deadline and cancellation token, and no task tree (its tasks are cancelled). Compiled code
    /// belongs to the module and is kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">The store is running.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    internal void ResetToInitialState()
    {
        TakeForLifecycle("reset");
        try
        {
            ClearState();
            InitFuel(Options.Fuel, _fuelPool);
            Timeout = Options.Timeout;
            Deadline = null;
            CancellationToken = Options.CancellationToken;
            FramesDeoptimised = 0;
            _safepointsSeen = 0;
            _taskCancelled = false;
        }
        finally
        {
            Volatile.Write(ref _runningThread, 0);
        }
    }

    /// <summary>
    /// After a spawned task has ended on <paramref name="fiber"/> (its entry is over, its fuel is back in the tree's
    /// pool, nothing reaches the store through the task any more), puts the store where a new task's starts
    /// (<see cref="Hosting.Isolate.ForTask"/>), so that the tree's next spawn can reuse it instead of building one:
    /// an empty heap (the same one when the task allocated nothing, a new one otherwise), the module's initial
    /// globals, the fuel, compile budget and interrupt state of a new store (a cancellation requested for the task
    /// that ended is forgotten), and a cleared fiber. Returns false, changing nothing, when the store must not be
    /// reused: a host function was called (the host saw the isolate and may keep it, and with it handles or pointer
    /// values, so it must never come to name another task).
    /// </summary>
    internal bool ResetForNextTask(Fiber fiber)
    {
        if (fiber.HostCalled) return false;
        if (Heap.ObjectCount != 0 || Heap.Collections != 0)
        {
            Heap = CreateHeap(Options);
            fiber.Heap = Heap;
        }
        foreach (var instance in _instances) instance.ResetGlobals();
        InitFuel(Options.Fuel, _fuelPool);
        Timeout = Options.Timeout;
        Deadline = null;
        CancellationToken = Options.CancellationToken;
        _deadlineTimestamp = long.MaxValue;
        _taskCancelled = false;
        FramesDeoptimised = 0;
        _safepointsSeen = 0;
        _deoptStressRandom = null;
        InitCompileBudget(Options.CompileBudget);
        _compileBudgetUsed = 0;
        _functionsDeniedCompilation = 0;
        _deniedCompilation = null;
        _eagerCompilationDone = null;
        fiber.ClearForNextTask();
        return true;
    }

    /// <summary>Releases the heap and handles and makes every later use of the store throw
    /// <see cref="ObjectDisposedException"/>. A second dispose does nothing.</summary>
    /// <exception cref="InvalidOperationException">The store is running.</exception>
    internal void Dispose()
    {
        if (IsDisposed) return;
        TakeForLifecycle("dispose");
        ClearState();
        Volatile.Write(ref _runningThread, DisposedOwner);
    }

    private void TakeForLifecycle(string what)
    {
        var owner = Interlocked.CompareExchange(ref _runningThread, Environment.CurrentManagedThreadId, 0);
        if (owner == DisposedOwner) throw Disposed();
        if (owner != 0) throw new InvalidOperationException($"cannot {what} the isolate while it is {RunningOn(owner)}; {what} it between calls");
    }

    private void ClearState()
    {
        foreach (var fiber in _fibers)
            if (fiber.Task is { IsHost: true } root)
            {
                root.Scheduler.Cancel(root);
                fiber.Task = null;
            }
        FreeAllHandles();
        EndHostViews();
        _issued = null;
        _temporaryRoots = null;
        Heap = CreateHeap(Options);
        foreach (var fiber in _fibers) fiber.Heap = Heap;
        foreach (var instance in _instances) instance.ResetGlobals();
    }
}
