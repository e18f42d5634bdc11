using JitVm.Hosting;
using JitVm.Runtime;

namespace JitVm.Concurrency;

/// <summary>
/// The isolates of a tree's ended tasks, reset and kept for its next spawns (spec/concurrency.md §4): building a
/// task's store, heap, instance and fiber is most of what a spawn costs, and a tree that spawns short tasks over and
/// over needs only about as many isolates at once as it has tasks alive. Each kept isolate is in the state a new task
/// isolate starts in (<see cref="Isolate.TryReuseForTask"/>), with its small heap and frame stack, so at most
/// <see cref="Capacity"/> of them cost a few kilobytes each. Thread-safe: workers return and take isolates at once.
/// </summary>
internal sealed class TaskIsolates
{
    /// <summary>The most isolates kept; more that end are left to the .NET collector.</summary>
    public const int Capacity = 64;

    private readonly Lock _lock = new();
    private readonly Isolate?[] _idle = new Isolate?[Capacity];
    private int _count;
    private long _reused;

    /// <summary>Spawns that took a kept isolate instead of building one.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>A kept isolate that runs what a new one made from <paramref name="template"/> would, or null.</summary>
    /// <remarks>Kept isolates were all made from the tree's instances, which normally share one module, code and
    /// host functions; one that does not match (the root's instance was replaced between entries) is dropped.</remarks>
    public Isolate? TryTake(Instance template)
    {
        while (true)
        {
            Isolate isolate;
            lock (_lock)
            {
                if (_count == 0) return null;
                isolate = _idle[--_count]!;
                _idle[_count] = null;
            }
            if (isolate.Instance.IsLike(template))
            {
                Interlocked.Increment(ref _reused);
                return isolate;
            }
        }
    }

    /// <summary>Keeps the isolate of a task that has ended, once reset; the caller no longer uses it, and nothing else
    /// reaches it (the task dropped it under the scheduler's gate).</summary>
    public void Return(Isolate isolate)
    {
        if (Volatile.Read(ref _count) == Capacity || !isolate.TryReuseForTask()) return;
        lock (_lock)
            if (_count < Capacity) _idle[_count++] = isolate;
    }
}
