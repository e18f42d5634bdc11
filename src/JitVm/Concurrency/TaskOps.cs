using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Runtime;

namespace JitVm.Concurrency;

/// <summary>
/// The semantics of the task and channel instructions, once, for every tier (spec/concurrency.md). Each runs on the
/// fiber of the task executing it, with the frame's fuel published in <see cref="Fiber.FuelSlice"/>. An operation
/// that must wait returns false after <see cref="Fiber.BeginSuspend"/> when the fiber can be suspended: the tier then
/// unwinds so that the operation runs again when the task is woken. Where the fiber cannot be suspended (a host task,
/// or a call into another instance is active) the operation waits on the thread instead and always completes.
/// Values an operation produces are left in <see cref="Fiber.Results"/> and <see cref="Fiber.ResultTags"/>.
/// </summary>
internal static class TaskOps
{
    /// <summary>The task this fiber runs; a plain isolate becomes the host task at the root of a new scheduler.</summary>
    public static VmTask CurrentTask(Fiber fiber)
    {
        if (fiber.Task is { } task) return task;
        var owner = fiber.Store.Owner;
        var options = fiber.Store.Options;
        var scheduler = new Scheduler(options.Workers ?? Environment.ProcessorCount, options.MaxTasks, owner);
        return fiber.Task = scheduler.AddHostTask(owner);
    }

    /// <summary>task.spawn: the arguments are in slots [<paramref name="argumentsFp"/>, ...); returns the new task's reference.</summary>
    public static long Spawn(Fiber fiber, int functionIndex, int argumentsFp)
    {
        var parent = CurrentTask(fiber);
        var instance = fiber.Instance;
        var signature = instance.Module.Definition.SignatureOf(functionIndex);
        var count = signature.Parameters.Length;
        var values = new long[count];
        var isPointer = new bool[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = fiber.Slots[argumentsFp + i];
            isPointer[i] = signature.Parameters[i] == VmType.Ptr || (signature.Parameters[i] == VmType.Word && fiber.SlotTags[argumentsFp + i] != 0);
        }
        var arguments = CopyOut(fiber, values, isPointer);
        if (!instance.AllImportsAreHostFunctions)
            throw new TrapException(TrapCode.HostError, "task.spawn needs a module whose imports are all host functions (this one is linked to another module)");
        var scheduler = parent.Scheduler;
        var child = Isolate.ForTask(instance, scheduler);
        var task = scheduler.Spawn(child, parent, functionIndex, arguments, waker: fiber);
        return fiber.Heap.AllocateReference(task);
    }

    /// <summary>Copies values out of the fiber's heap as a message, charging its size part first, then moves them.</summary>
    private static Message CopyOut(Fiber fiber, long[] values, bool[] isPointer)
    {
        var message = Message.CopyOut(fiber.Heap, values, isPointer);
        fiber.Store.ChargeFuel(fiber, SizeFuel.For(message.HeapWords));
        message.MarkSent(fiber.Heap);
        return message;
    }

    /// <summary>Builds a message's values in the fiber's heap into <see cref="Fiber.Results"/>, charging its size part.</summary>
    private static void CopyIn(Fiber fiber, Message message)
    {
        fiber.Store.ChargeFuel(fiber, SizeFuel.For(message.HeapWords));
        Span<long> values = stackalloc long[message.Values.Length];
        fiber.Store.CopyIn(message, values);
        fiber.EnsureResults(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            fiber.Results[i] = values[i];
            fiber.ResultTags[i] = message.ValueIsPointer[i] ? (byte)1 : (byte)0;
        }
    }

    public static long Self(Fiber fiber) => fiber.Heap.AllocateReference(CurrentTask(fiber));

    public static void Cancel(Fiber fiber, long taskPointer)
    {
        var task = TaskAt(fiber, taskPointer);
        task.Scheduler.Cancel(task, fiber);
    }

    /// <summary>chan.new.</summary>
    public static long NewChannel(Fiber fiber, long capacity)
    {
        if (capacity < 1 || capacity > VmChannel.MaxCapacity)
            throw new TrapException(TrapCode.OutOfBounds, $"a channel's capacity must be from 1 to {VmChannel.MaxCapacity}, not {capacity}");
        var scheduler = CurrentTask(fiber).Scheduler;
        return fiber.Heap.AllocateReference(new VmChannel(scheduler, scheduler.NextChannelId(), (int)capacity));
    }

    /// <summary>chan.close: idempotent; receivers drain what is buffered, waiting senders trap.</summary>
    public static void Close(Fiber fiber, long channelPointer)
    {
        var channel = ChannelAt(fiber, channelPointer);
        var scheduler = channel.Scheduler;
        lock (scheduler.Gate)
        {
            channel.Closed = true;
            scheduler.WakeAll(channel.Receivers, fiber);
            scheduler.WakeAll(channel.Senders, fiber);
        }
    }

    /// <summary>chan.send; false when the task must suspend (the channel is full).</summary>
    public static bool Send(Fiber fiber, long channelPointer, long bits, bool isPointer)
    {
        var channel = ChannelAt(fiber, channelPointer);
        var task = CurrentTask(fiber);
        var scheduler = channel.Scheduler;
        // A number needs no copy out of the heap: its message is made first and delivered in the same turn of the
        // lock that finds room for it.
        var number = isPointer ? null : Message.Scalars([bits]);
        while (true)
        {
            lock (scheduler.Gate)
            {
                Scheduler.ThrowIfDeadlocked(task);
                if (channel.Closed) throw new TrapException(TrapCode.ChannelClosed, $"send to closed channel {channel.Id}");
                if (channel.Buffer.Count + channel.Reserved < channel.Capacity)
                {
                    if (number is not null)
                    {
                        Deliver(scheduler, channel, number, fiber);
                        return true;
                    }
                    channel.Reserved++;
                    break;
                }
                Scheduler.ThrowIfCannotWait(task);
                channel.Senders.Enqueue(new Waiter(task, scheduler.BeginWait(task)));
                if (!Wait(fiber, task)) return false;
            }
        }
        // Room is reserved: copy outside the lock (the copy is linear in the graph, and other tasks go on meanwhile).
        Message message;
        try
        {
            message = CopyOut(fiber, [bits], [isPointer]);
        }
        catch
        {
            lock (scheduler.Gate) channel.Reserved--;
            throw;
        }
        lock (scheduler.Gate)
        {
            channel.Reserved--;
            Deliver(scheduler, channel, message, fiber);
        }
        return true;
    }

    /// <summary>Buffers a sent message and wakes the first waiting receiver. Under the gate.</summary>
    private static void Deliver(Scheduler scheduler, VmChannel channel, Message message, Fiber fiber)
    {
        channel.Buffer.Enqueue(message);
        scheduler.MessagesSent++;
        scheduler.BytesCopied += message.HeapWords * 8;
        scheduler.WakeOne(channel.Receivers, fiber);
    }

    /// <summary>chan.recv (<paramref name="timeoutMicroseconds"/> &lt; 0) and chan.recv_for: the word and the status
    /// (1 received, 0 closed and empty, -1 timed out) go to results 0 and 1; false when the task must suspend.</summary>
    public static bool Receive(Fiber fiber, long channelPointer, long timeoutMicroseconds)
    {
        var channel = ChannelAt(fiber, channelPointer);
        var task = CurrentTask(fiber);
        var scheduler = channel.Scheduler;
        Message? message = null;
        long status;
        while (true)
        {
            lock (scheduler.Gate)
            {
                Scheduler.ThrowIfDeadlocked(task);
                if (channel.Buffer.TryDequeue(out message))
                {
                    status = 1;
                    task.TimedOut = false;
                    scheduler.WakeOne(channel.Senders, fiber);
                    break;
                }
                if (channel.Closed) { status = 0; break; }
                if (timeoutMicroseconds == 0 || task.TimedOut)
                {
                    task.TimedOut = false;
                    status = -1;
                    break;
                }
                Scheduler.ThrowIfCannotWait(task);
                channel.Receivers.Enqueue(new Waiter(task, scheduler.BeginWait(task, timeoutMicroseconds)));
                if (!Wait(fiber, task)) return false;
            }
        }
        fiber.EnsureResults(2);
        if (message is not null) CopyIn(fiber, message);
        else
        {
            fiber.Results[0] = 0;
            fiber.ResultTags[0] = 0;
        }
        fiber.Results[1] = status;
        return true;
    }

    /// <summary>task.join: the results, of the types signature <paramref name="typeIndex"/> lists, go to the results
    /// buffer; false when the task must suspend.</summary>
    public static bool Join(Fiber fiber, long taskPointer, int typeIndex)
    {
        var target = TaskAt(fiber, taskPointer);
        var task = CurrentTask(fiber);
        var module = fiber.Instance.Module.Definition;
        var wanted = module.Types[typeIndex];
        // The root task runs no function of its own (its host calls in) and never ends as a task: joining it waits
        // until the wait itself ends (a deadlock, a cancellation, the deadline), so there are no results to check.
        if (!target.IsHost && target.Signature is var actual && !actual.Results.SequenceEqual(wanted.Results))
            throw new TrapException(TrapCode.SignatureMismatch, $"task.join expects results {wanted}, but {target.Describe()} runs a function with results {actual}");
        var scheduler = target.Scheduler;
        while (true)
        {
            lock (scheduler.Gate)
            {
                Scheduler.ThrowIfDeadlocked(task);
                if (target.IsDone) break;
                Scheduler.ThrowIfCannotWait(task);
                (target.Joiners ??= []).Add(new Waiter(task, scheduler.BeginWait(task)));
                if (!Wait(fiber, task)) return false;
            }
        }
        if (target.Trap is { } trap)
            throw new TrapException(TrapCode.TaskFailed, $"{target.Describe()} trapped: {trap.Message}");
        CopyIn(fiber, target.Results!);
        return true;
    }

    /// <summary>Waits for the wake-up just registered: suspends (returns false) or blocks the thread until woken (true:
    /// the caller tries again). Under the gate.</summary>
    private static bool Wait(Fiber fiber, VmTask task)
    {
        if (fiber.CanSuspend)
        {
            fiber.BeginSuspend();
            return false;
        }
        task.Scheduler.WaitOnHostThread(task, fiber);
        return true;
    }

    /// <summary>
    /// Task <paramref name="task"/> suspends in an asynchronous host call: it waits, as for a message, until
    /// <paramref name="work"/> completes, which wakes it on whatever thread completes it; meanwhile the pending work
    /// counts as something that can wake tasks, so no deadlock is declared while it runs.
    /// </summary>
    public static void WakeWhenDone(VmTask task, Task<long> work)
    {
        var scheduler = task.Scheduler;
        long ticket;
        lock (scheduler.Gate)
        {
            ticket = scheduler.BeginWait(task);
            scheduler.AddHostWaker();
        }
        work.ContinueWith(_ =>
        {
            lock (scheduler.Gate)
            {
                scheduler.Wake(new Waiter(task, ticket));
                scheduler.ReleaseHostWaker();
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Why <paramref name="task"/>, suspended in an asynchronous host call, was woken before the work
    /// completed: the trap it ends with.</summary>
    public static TrapException WhyWokenEarly(VmTask task)
    {
        lock (task.Scheduler.Gate)
        {
            try
            {
                Scheduler.ThrowIfCannotWait(task);
            }
            catch (TrapException trap)
            {
                return trap;
            }
        }
        return new TrapException(TrapCode.Cancelled, $"{task.Describe()} was cancelled");
    }

    private static VmChannel ChannelAt(Fiber fiber, long pointer) =>
        fiber.Heap.ReferenceTarget(pointer) as VmChannel ?? throw WrongKind(fiber, pointer, "a channel");

    private static VmTask TaskAt(Fiber fiber, long pointer) =>
        fiber.Heap.ReferenceTarget(pointer) as VmTask ?? throw WrongKind(fiber, pointer, "a task");

    private static TrapException WrongKind(Fiber fiber, long pointer, string wanted) =>
        new(TrapCode.WrongObjectKind, $"expected {wanted} reference, found {(fiber.Heap.ReferenceTarget(pointer) switch { VmTask => "a task reference", VmChannel => "a channel reference", _ => $"a plain object of {fiber.Heap.Length(pointer)} words" })}");
}
