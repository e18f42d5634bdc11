using JitVm.Bytecode;
using JitVm.Concurrency;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>Where a task is in its life, as <see cref="VmTaskHandle.State"/> sees it.</summary>
public enum VmTaskState
{
    /// <summary>Waiting for a worker: not started yet, woken, or yielded at the end of its quantum.</summary>
    Runnable,

    /// <summary>On a worker now.</summary>
    Running,

    /// <summary>Waiting at a task or channel instruction; it holds no thread.</summary>
    Waiting,

    /// <summary>Its function returned; <see cref="VmTaskHandle.Completion"/> has the results.</summary>
    Finished,

    /// <summary>It trapped (cancellation included); <see cref="VmTaskHandle.Completion"/> faults with the trap.</summary>
    Trapped,
}

/// <summary>
/// The host's view of a task it spawned with <see cref="Isolate.Spawn"/>. Every member may be used from any thread.
/// </summary>
public sealed class VmTaskHandle
{
    private readonly VmTask _task;
    private readonly string _function;

    internal VmTaskHandle(VmTask task, Task ended, string function)
    {
        _task = task;
        _function = function;
        Completion = Complete(ended);
    }

    /// <summary>The task's number in its tree, as trap reports name it ("task 3").</summary>
    public long Id => _task.Id;

    /// <summary>Where the task is now (it may have moved on by the time the caller looks).</summary>
    public VmTaskState State
    {
        get
        {
            lock (_task.Scheduler.Gate)
                return _task.State switch
                {
                    TaskState.Finished => VmTaskState.Finished,
                    TaskState.Trapped => VmTaskState.Trapped,
                    TaskState.Blocked => VmTaskState.Waiting,
                    TaskState.Running when _task.Waiting => VmTaskState.Waiting,
                    TaskState.Running => VmTaskState.Running,
                    _ => VmTaskState.Runnable,
                };
        }
    }

    /// <summary>
    /// Completes with the function's results when the task finishes, or faults with the <see cref="TrapException"/>
    /// it trapped with (<see cref="TrapCode.Cancelled"/> after <see cref="Cancel"/>). A <c>word</c> result that holds
    /// a pointer faults it with <see cref="TrapCode.HostError"/>: the host can take only numbers from a task.
    /// </summary>
    public Task<Value[]> Completion { get; }

    /// <summary>Waits for <see cref="Completion"/>; cancelling <paramref name="cancellationToken"/> stops waiting, not the task.</summary>
    public Task<Value[]> WaitAsync(CancellationToken cancellationToken = default) => Completion.WaitAsync(cancellationToken);

    /// <summary>
    /// Cancels the task and every task it spawned (spec/concurrency.md §1): each one that has not ended traps
    /// <see cref="TrapCode.Cancelled"/> when it next waits, is woken, starts or refills its fuel. Does nothing to a task
    /// that has ended.
    /// </summary>
    public void Cancel() => _task.Scheduler.Cancel(_task);

    /// <summary>The task and the function it runs, e.g. "task 3 (worker)".</summary>
    public override string ToString() => $"{_task.Describe()} ({_function})";

    private async Task<Value[]> Complete(Task ended)
    {
        await ended.ConfigureAwait(false);
        Message? results;
        TrapException? trap;
        lock (_task.Scheduler.Gate)
        {
            results = _task.Results;
            trap = _task.Trap;
        }
        if (trap is not null) throw trap;
        var types = _task.Signature.Results;
        var values = new Value[types.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (results!.ValueIsPointer[i])
                throw new TrapException(TrapCode.HostError, $"{this} returned a pointer as result {i}; a task the host spawns may return only numbers");
            values[i] = new Value(types[i], results.Values[i]);
        }
        return values;
    }
}
