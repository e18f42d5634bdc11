namespace JitVm.Hosting;

/// <summary>An isolate's life: reset to its initial state, and dispose (spec/embedding.md §6.1).</summary>
public sealed partial class Isolate : IDisposable
{
    /// <summary>
    /// Puts the isolate back in the state a new isolate of the same module, host functions and options starts in:
    /// an empty heap, the module's initial globals, no handles (every handle made before is disposed), every pointer
    /// value given out before stale, the options' fuel (<see cref="FuelUsed"/> counts from zero), timeout, deadline
    /// and cancellation token, and no task tree (tasks spawned before are cancelled). Compiled code belongs to the
    /// module and is kept, so a reset isolate never compiles again what it ran before; typed delegates bound before
    /// stay valid.
    /// </summary>
    /// <exception cref="InvalidOperationException">The isolate is running.</exception>
    /// <exception cref="ObjectDisposedException">The isolate was disposed.</exception>
    public void Reset() => Store.ResetToInitialState();

    /// <summary>
    /// Releases the isolate's heap and handles and cancels the tasks it spawned. Every later call, typed delegate,
    /// handle or host access throws <see cref="ObjectDisposedException"/>. Disposing twice does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The isolate is running (dispose it between calls).</exception>
    public void Dispose() => Store.Dispose();

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    public bool IsDisposed => Store.IsDisposed;

    /// <summary>The pool that rented this isolate out, if any.</summary>
    internal IsolatePool? Pool { get; init; }
}
