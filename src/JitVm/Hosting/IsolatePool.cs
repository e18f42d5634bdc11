using System.Collections.Concurrent;

namespace JitVm.Hosting;

/// <summary>
/// Isolates of one module kept for reuse, for a host that runs a short script per request: <see cref="Rent"/> gives
/// an isolate in its initial state (a new one when none is idle), <see cref="Return"/> resets it
/// (<see cref="Isolate.Reset"/>) and keeps it for the next request, up to <see cref="MaxIdle"/> idle isolates.
/// Thread-safe; each rented isolate has one user at a time, as every isolate does (spec/embedding.md §6.1).
/// </summary>
public sealed class IsolatePool : IDisposable
{
    private readonly Module _module;
    private readonly HostFunction[] _hostFunctions;
    private readonly IsolateOptions _options;
    private readonly ConcurrentBag<Isolate> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    /// <summary>A pool of isolates of <paramref name="module"/> linked to <paramref name="hostFunctions"/>, each
    /// created with <paramref name="options"/>, keeping at most <paramref name="maxIdle"/> idle ones.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxIdle"/> is negative.</exception>
    /// <exception cref="LinkException">An import is missing or mismatched (checked by creating the first isolate).</exception>
    public IsolatePool(Module module, IEnumerable<HostFunction>? hostFunctions = null, IsolateOptions? options = null, int maxIdle = 16)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentOutOfRangeException.ThrowIfNegative(maxIdle);
        _module = module;
        _hostFunctions = hostFunctions is null ? [] : [.. hostFunctions];
        _options = options ?? new IsolateOptions();
        MaxIdle = maxIdle;
        // Link errors show at once, not at the first request.
        Return(Rent());
    }

    /// <summary>The most idle isolates kept; more returned are disposed.</summary>
    public int MaxIdle { get; }

    /// <summary>Idle isolates held now.</summary>
    public int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>An isolate in its initial state: an idle one, or a new one.</summary>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    public Isolate Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var isolate))
        {
            Interlocked.Decrement(ref _idleCount);
            return isolate;
        }
        return new Isolate(_module, _hostFunctions, _options) { Pool = this };
    }

    /// <summary>Resets an isolate this pool rented out and keeps it for the next <see cref="Rent"/> (or disposes it
    /// when <see cref="MaxIdle"/> are idle already, or the pool was disposed). Its handles, pointer values and tasks
    /// end here; an isolate that trapped is returned like any other.</summary>
    /// <exception cref="ArgumentException">The isolate is not one this pool rented out.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running.</exception>
    public void Return(Isolate isolate)
    {
        ArgumentNullException.ThrowIfNull(isolate);
        if (isolate.Pool != this) throw new ArgumentException("the isolate was not rented from this pool", nameof(isolate));
        if (isolate.IsDisposed) return;
        if (_disposed || Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            if (!_disposed) Interlocked.Decrement(ref _idleCount);
            isolate.Dispose();
            return;
        }
        try
        {
            isolate.Reset();
        }
        catch
        {
            Interlocked.Decrement(ref _idleCount);
            throw;
        }
        _idle.Add(isolate);
    }

    /// <summary>Disposes the idle isolates; isolates still rented are disposed when they are returned.</summary>
    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var isolate))
        {
            Interlocked.Decrement(ref _idleCount);
            isolate.Dispose();
        }
    }
}
