using JitVm.Bytecode;
using JitVm.Concurrency;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// Tasks and channels from the host (spec/embedding.md §10): the isolate is the root task of its task tree
/// (spec/concurrency.md §1), the host spawns tasks into that tree and talks to them over channels it holds an
/// endpoint of. Like every member of an isolate these follow its single-owner rule; the handles they return may be
/// used from any thread.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>
    /// Starts function <paramref name="function"/> as a task of this isolate's task tree, on the scheduler's workers.
    /// The task has an isolate of its own made from the same module (fresh globals, an empty heap) with this
    /// isolate's limits applied to it alone, as for <c>task.spawn</c>. Arguments are numbers, or the
    /// <see cref="HostChannel.Value"/> of a channel of this isolate for a <c>ptr</c> (or <c>word</c>) parameter, which
    /// becomes a channel reference in the task's heap. The function may return only numbers (i64, f64, untagged words).
    /// </summary>
    /// <exception cref="ArgumentException">No such function, it returns a ptr, or an argument does not match its
    /// parameter, is a pointer, or is a channel of another isolate.</exception>
    /// <exception cref="InvalidOperationException">The isolate runs in deterministic mode (<see cref="IsolateOptions.Workers"/>
    /// = 0), where tasks run only while VM code of the root task waits; or the module is linked to another module.</exception>
    /// <exception cref="TrapException"><see cref="TrapCode.TooManyTasks"/>: <see cref="IsolateOptions.MaxTasks"/> tasks are alive.</exception>
    public VmTaskHandle Spawn(string function, params Value[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var index = Module.FindFunction(function);
        if (index < 0) throw new ArgumentException($"the module has no function named '{function}'", nameof(function));
        var definition = Module.Definition;
        var name = Printable.Quote(definition.NameOf(index));
        var signature = definition.SignatureOf(index);
        if (signature.Results.Contains(VmType.Ptr))
            throw new ArgumentException($"{name} returns a ptr {signature}; a task the host spawns may return only numbers", nameof(function));
        if (arguments.Length != signature.Parameters.Length)
            throw new ArgumentException(Printable.ArgumentCountMismatch(name, signature, arguments.Length), nameof(arguments));
        var root = TaskOps.CurrentTask(Fiber);
        var scheduler = root.Scheduler;
        var bits = new long[arguments.Length];
        var references = new object?[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            var argument = arguments[i];
            var wanted = signature.Parameters[i];
            if (argument.Capability is VmChannel channel && (wanted == VmType.Ptr || wanted == VmType.Word))
            {
                if (channel.Scheduler != scheduler)
                    throw new ArgumentException($"argument {i} of {name} is a channel of another isolate", nameof(arguments));
                references[i] = channel;
            }
            else if (argument.Type != wanted)
                throw new ArgumentException(Printable.ArgumentTypeMismatch(i, name, wanted, argument.Type), nameof(arguments));
            else if (argument.IsPointer || argument.Type == VmType.Ptr)
                throw new ArgumentException($"argument {i} of {name} is a pointer; a task the host spawns takes numbers and channels (HostChannel.Value)", nameof(arguments));
            else bits[i] = argument.Bits;
        }
        if (scheduler.IsDeterministic)
            throw new InvalidOperationException("the host cannot spawn tasks in deterministic mode (IsolateOptions.Workers = 0): tasks run there only while VM code of the root task waits");
        if (!Instance.AllImportsAreHostFunctions)
            throw new InvalidOperationException("spawning needs a module whose imports are all host functions (this one is linked to another module)");
        var completion = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var child = ForTask(Instance, scheduler);
        var task = scheduler.Spawn(child, root, index, Message.FromHost(bits, references), completion);
        return new VmTaskHandle(task, completion.Task, definition.NameOf(index));
    }

    /// <summary>
    /// Creates a channel of this isolate's task tree holding up to <paramref name="capacity"/> messages, with a host
    /// endpoint open on it: hand it to tasks with <see cref="HostChannel.Value"/> as a <see cref="Spawn"/> argument.
    /// While the endpoint is open (until <see cref="HostChannel.Close"/>), tasks waiting on any channel are not
    /// deadlocked, since the host may still wake them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not from 1 to 1,048,576.</exception>
    public HostChannel CreateChannel(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, VmChannel.MaxCapacity);
        var scheduler = TaskOps.CurrentTask(Fiber).Scheduler;
        var channel = new VmChannel(scheduler, scheduler.NextChannelId(), capacity);
        lock (scheduler.Gate) scheduler.AddHostEndpoint(channel);
        return new HostChannel(channel);
    }

    /// <summary>Counters of this isolate's task tree: all zero until it first spawns a task or makes a channel.</summary>
    public TaskStatistics TaskStatistics
    {
        get
        {
            if (Fiber.Task is not { Scheduler: var scheduler }) return default;
            lock (scheduler.Gate)
                return new TaskStatistics(scheduler.LiveTasks, scheduler.TasksSpawned, scheduler.MessagesSent, scheduler.BytesCopied, scheduler.Suspensions);
        }
    }
}

/// <summary>Counters of a task tree (see <see cref="Isolate.TaskStatistics"/>).</summary>
/// <param name="LiveTasks">Spawned tasks that have not ended (started, waiting to start, or waiting).</param>
/// <param name="TasksSpawned">Tasks spawned since the tree began, by VM code and by the host.</param>
/// <param name="MessagesSent">Messages sent on the tree's channels, by tasks and by the host.</param>
/// <param name="BytesCopied">Bytes of objects (fields and headers) that sent messages carried.</param>
/// <param name="Suspensions">Times a task gave up its worker: to wait, or to yield at the end of its quantum.</param>
public readonly record struct TaskStatistics(int LiveTasks, long TasksSpawned, long MessagesSent, long BytesCopied, long Suspensions);
