using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Jit;

namespace JitVm.Runtime;

/// <summary>
/// Entries from the host: one owner at a time, and the host's .NET stack measured on every entry (see
/// spec/execution.md §4), so that no program can overflow it.
/// </summary>
internal sealed partial class Store
{
    /// <summary>
    /// .NET stack kept free below the lowest compiled frame, for everything that runs there without a check of
    /// its own: the interpreter activation a compiled call falls back to, the runtime helpers and the collector it
    /// calls, host functions and the entries they make into other isolates, the CLR compiling a method at its first
    /// call, and the exception dispatch of a trap (see <see cref="Fiber.StackLimit"/>).
    /// </summary>
    internal const int StackReserve = 192 * 1024;

    /// <summary>
    /// The least .NET stack an entry needs below it to run VM code at all (in the interpreter, which uses a bounded
    /// amount however deep the VM calls go); an entry with less traps <see cref="TrapCode.CallDepthExceeded"/>.
    /// Less than <see cref="StackReserve"/>, so a host function called at the deepest compiled frame can still
    /// enter another isolate, several levels deep.
    /// </summary>
    internal const int MinimumEntryStack = 64 * 1024;

    private int _runningThread;

    /// <summary>Whether the store is running on a thread other than the caller's (for the host's accessors).</summary>
    internal int RunningThread => Volatile.Read(ref _runningThread);

    /// <summary>
    /// Starts an entry from the host on <paramref name="fiber"/> (an Invoke, a typed export): takes ownership, so a
    /// second thread entering while the store runs fails at once, before it can touch any state, instead of
    /// corrupting the running program (on the owning thread, from a host function the store called, the entry nests
    /// in that call instead: Fiber.Reentry.cs); fixes the stack the entry's compiled code may use: compiled code may make a
    /// direct .NET call only while the stack pointer minus the callee's frame stays above
    /// <see cref="Fiber.StackLimit"/>, <see cref="StackReserve"/> above the lowest usable address of the entering
    /// thread's stack (see <see cref="ThreadStack"/>). Past it, calls run in the interpreter, whose VM calls use no
    /// .NET stack, so recursion ends in the VM's call-depth trap. The time limits are armed separately, once the
    /// entry's code is compiled (see <see cref="ArmInterrupts"/>).
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.CallDepthExceeded"/>: less than
    /// <see cref="MinimumEntryStack"/> of the thread's stack is left (the store is not entered).</exception>
    /// <returns>The stack pointer measured at the entry.</returns>
    internal nuint BeginEntry(Fiber fiber)
    {
        var (here, limit) = MeasureEntryStack();
        var thread = Environment.CurrentManagedThreadId;
        var owner = Interlocked.CompareExchange(ref _runningThread, thread, 0);
        if (owner == DisposedOwner) throw Disposed();
        if (owner == thread && fiber.HostCallDepth >= 0)
        {
            // A host function calling back into the isolate that called it: the entry nests in that host call.
            fiber.EnterNested();
            fiber.StackLimit = limit;
            return here;
        }
        if (owner != 0)
            throw new InvalidOperationException(owner == thread
                ? "the isolate is already running on this thread, outside any host function call (an entry is allowed only from a host function the isolate called, or between calls)"
                : $"the isolate is {RunningOn(owner)}; an isolate must not be entered from two threads at once (use one isolate per thread)");
        // Only the owner may change the limit: a thread refused above must not touch the running entry's.
        fiber.StackLimit = limit;
        return here;
    }

    /// <summary>
    /// The protocol of every host access to the heap and globals outside an entry (Isolate.Allocate, ReadI64,
    /// GetGlobal, ...), written once: from another thread while the store runs it is refused; between calls the
    /// caller owns the store for the access (so no second thread can enter meanwhile) and false is returned; inside a
    /// host function the store called (the same thread) true is returned: the access is nested in a run, so it must
    /// not collect (no frame has published its roots).
    /// </summary>
    /// <exception cref="InvalidOperationException">The store is running on another thread.</exception>
    internal bool EnterHostAccess()
    {
        var thread = Environment.CurrentManagedThreadId;
        var owner = Interlocked.CompareExchange(ref _runningThread, thread, 0);
        if (owner == 0) return false;
        if (owner == thread) return true;
        if (owner == DisposedOwner) throw Disposed();
        throw new InvalidOperationException($"the isolate is {RunningOn(owner)}; reach its heap and globals between calls or from a host function it called");
    }

    /// <summary>Ends an access <see cref="EnterHostAccess"/> began.</summary>
    internal void ExitHostAccess(bool nested)
    {
        if (!nested) Volatile.Write(ref _runningThread, 0);
    }

    /// <summary>What an owner other than the caller is doing, for the messages refusing the caller.</summary>
    private static string RunningOn(int owner) => owner == SuspendedOwner
        ? "suspended in an asynchronous call (InvokeAsync) until a host function's work completes"
        : $"running on thread {owner}";

    /// <summary>Ends an entry from the host, normally or by a trap: no frame outlives it.</summary>
    internal void EndEntry(Fiber fiber, bool keepFrames = false)
    {
        EndHostViews();
        // Back to host code, which may wait for a task this entry made runnable (a spawned task's turn is paid for by
        // its worker instead, which may take that task itself: Scheduler.RunTurn).
        if (fiber.DeferredWakes != 0 && (fiber.NestedEntries > 0 || fiber.Task is not { IsHost: false })) fiber.FlushDeferredWakes();
        if (fiber.NestedEntries > 0)
        {
            // The store stays owned: the host call the entry was nested in goes on.
            fiber.LeaveNested();
            return;
        }
        // A suspended task keeps its frames for the worker that resumes it.
        if (!keepFrames) fiber.Reset();
        Volatile.Write(ref _runningThread, 0);
    }

    /// <summary>
    /// Measures, at an entry from the host (nested ones included: a host function entering another isolate), how
    /// much of the current thread's stack remains: returns the stack pointer it measured and the entry's stack limit.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.CallDepthExceeded"/>: less than
    /// <see cref="MinimumEntryStack"/> is left.</exception>
    private static (nuint Here, nuint Limit) MeasureEntryStack()
    {
        var here = JitRuntime.StackPointer();
        var remaining = ThreadStack.RemainingBelow(here);
        if (remaining < MinimumEntryStack)
            throw new TrapException(TrapCode.CallDepthExceeded,
                $"the host thread has {remaining / 1024} KiB of stack left at this entry; running VM code needs at least {MinimumEntryStack / 1024} KiB");
        return (here, remaining > StackReserve ? here - (remaining - StackReserve) : nuint.MaxValue);
    }
}
