using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Concurrency;

/// <summary>One worker's turn with a task: start or resume it, and record how the turn ended.</summary>
internal static class TaskRunner
{
    /// <summary>Runs the task until it returns, traps or suspends; returns whether it ended (returned or trapped), in
    /// which case it no longer names its isolate (<see cref="VmTask.Isolate"/> is null).</summary>
    public static bool RunSlice(VmTask task)
    {
        var scheduler = task.Scheduler;
        var isolate = task.Isolate!;
        var store = isolate.Store;
        var fiber = isolate.Fiber;
        var suspended = false;
        Message? results = null;
        TrapException? trap = null;
        try
        {
            store.BeginEntry(fiber);
            try
            {
                if (task.CancelRequested) throw new TrapException(TrapCode.Cancelled, $"{task.Describe()} was cancelled");
                if (!task.Started)
                {
                    task.Started = true;
                    Start(task, fiber);
                }
                else fiber.ResumeSuspended();
                suspended = fiber.IsSuspending;
                if (!suspended) results = CollectResults(task, fiber);
            }
            finally
            {
                store.EndEntry(fiber, keepFrames: suspended);
            }
        }
        catch (TrapException caught)
        {
            trap = caught;
            suspended = false;
        }
        catch (Runtime.InFlightException thrown)
        {
            // A resumed task's frames run in the interpreter, outside Fiber.Execute: its exception ends here.
            trap = thrown.Uncaught;
            suspended = false;
        }
        catch (Exception defect) when (defect is not OutOfMemoryException)
        {
            // A defect in the VM must not take down the worker (and the host process with it): the task fails with
            // it, and whoever joins the task sees it.
            trap = new TrapException(TrapCode.HostError, $"internal error in {task.Describe()}: {defect.GetType().Name}: {defect.Message}", defect);
            suspended = false;
        }
        if (suspended)
        {
            scheduler.Suspended(task, fiber);
            return false;
        }
        store.ReturnFuelToPool(fiber);
        lock (scheduler.Gate)
        {
            task.Results = results;
            task.Trap = trap;
            task.State = trap is null ? TaskState.Finished : TaskState.Trapped;
            // The task's heap, globals and frames are no longer needed: its results are in the message.
            task.Isolate = null;
            scheduler.Completed(task, fiber);
        }
        return true;
    }

    /// <summary>Moves the arguments into the task's heap and runs its function from the start.</summary>
    private static void Start(VmTask task, Runtime.Fiber fiber)
    {
        var arguments = task.Arguments!;
        task.Arguments = null;
        var signature = fiber.Instance.Module.Definition.SignatureOf(task.FunctionIndex);
        var width = Math.Max(signature.Parameters.Length, signature.Results.Length);
        fiber.EnsureSlots(width + 1);
        Span<long> values = stackalloc long[arguments.Values.Length];
        fiber.Store.CopyIn(arguments, values);
        for (var i = 0; i < values.Length; i++)
        {
            fiber.Slots[i] = values[i];
            fiber.SlotTags[i] = arguments.ValueIsPointer[i] ? (byte)1 : (byte)0;
        }
        fiber.Execute(task.FunctionIndex, width);
    }

    private static Message CollectResults(VmTask task, Runtime.Fiber fiber)
    {
        var signature = fiber.Instance.Module.Definition.SignatureOf(task.FunctionIndex);
        var count = signature.Results.Length;
        var values = new long[count];
        var isPointer = new bool[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = fiber.Slots[i];
            isPointer[i] = signature.Results[i] == VmType.Ptr || (signature.Results[i] == VmType.Word && fiber.SlotTags[i] != 0);
        }
        return Message.CopyOut(fiber.Heap, values, isPointer);
    }
}
