using JitVm.Concurrency;
using JitVm.Diagnostics;
using JitVm.Runtime;

namespace JitVm.Jit;

/// <summary>
/// The task and channel instructions from compiled code: each publishes the frame's fuel, runs the shared semantics
/// (<see cref="TaskOps"/>) and adds the trap's location. Those that can wait return false when the task must suspend:
/// the compiled frame then deoptimises to run the instruction again in the interpreter once the task is woken.
/// </summary>
#pragma warning disable CS1591 // Called only by generated code; each mirrors the TaskOps method it wraps.
internal static partial class JitRuntime
{
    public static long TaskSpawn(Fiber fiber, int functionIndex, int argumentsFp, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { return TaskOps.Spawn(fiber, functionIndex, argumentsFp); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static bool TaskJoin(Fiber fiber, long task, int typeIndex, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { return TaskOps.Join(fiber, task, typeIndex); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static long TaskSelf(Fiber fiber, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { return TaskOps.Self(fiber); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static void TaskCancel(Fiber fiber, long task, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { TaskOps.Cancel(fiber, task); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static long ChanNew(Fiber fiber, long capacity, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { return TaskOps.NewChannel(fiber, capacity); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static bool ChanSend(Fiber fiber, long channel, Word value, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { return TaskOps.Send(fiber, channel, value.Bits, value.IsPointer); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    /// <summary>chan.recv (timeout -1) and chan.recv_for (a negative timeout does not wait).</summary>
    public static bool ChanRecv(Fiber fiber, long channel, long timeoutMicroseconds, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { return TaskOps.Receive(fiber, channel, timeoutMicroseconds); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static void ChanClose(Fiber fiber, long channel, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try { TaskOps.Close(fiber, channel); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    /// <summary>len of an object whose header reads length 0: 0, or UseAfterSend when it was sent.</summary>
    public static long CheckedLength(Fiber fiber, long pointer, long site, int depth, long fuel)
    {
        try { return fiber.Heap.Length(pointer); }
        catch (TrapException trap) { throw fiber.Locate(trap, site, depth, fuel); }
    }

    public static bool IsSuspending(Fiber fiber) => fiber.IsSuspending;

    public static void ExitSpillAreaDeoptimising(Fiber fiber, int first) => fiber.ExitSpillAreaDeoptimising(first);
}
#pragma warning restore CS1591
