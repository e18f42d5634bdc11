using JitVm.Diagnostics;
using JitVm.Runtime;

namespace JitVm.Jit;

#pragma warning disable CS1591 // Runtime helpers for generated code; see the summaries.
/// <summary>Exceptions in compiled code (spec/exceptions.md): <c>throw</c>, and the boundary where one becomes a trap.</summary>
internal static partial class JitRuntime
{
    /// <summary>Payload value <paramref name="index"/> of the exception about to be thrown (an i64, the bits of an
    /// f64, or a ptr): staged in the fiber's result buffer.</summary>
    public static void ExceptionValue(Fiber fiber, int index, long bits) => fiber.EnsureResults(index + 1)[index] = bits;

    /// <summary>A word payload value, with its tag.</summary>
    public static void ExceptionWord(Fiber fiber, int index, Word value)
    {
        fiber.EnsureResults(index + 1)[index] = value.Bits;
        fiber.ResultTags[index] = value.IsPointer ? (byte)1 : (byte)0;
    }

    /// <summary><c>throw</c> of tag <paramref name="tag"/> with the <paramref name="count"/> staged payload values, at
    /// <paramref name="site"/> in the frame at <paramref name="depth"/> with <paramref name="fuel"/> in its slice:
    /// the exception for the caller to throw.</summary>
    public static Exception Throw(Fiber fiber, int tag, int count, long site, int depth, long fuel) =>
        InFlightException.Create(fiber, tag, fiber.Results, fiber.ResultTags, 0, count, site, depth, fuel);

    /// <summary>The frame records a function with handlers runs with (read once, after its spill area opens).</summary>
    public static int HandlerFrameCount(Fiber fiber) => fiber.FrameCount;

    /// <summary>The slot top a function with handlers runs with.</summary>
    public static int HandlerSlotTop(Fiber fiber) => fiber.SlotTop;

    /// <summary>A handler of a compiled frame takes an exception: the frame records and slot top go back to the
    /// frame's own (callees left theirs), and the fuel slice the thrower published is returned.</summary>
    public static long Caught(Fiber fiber, int frameCount, int slotTop)
    {
        fiber.FrameCount = frameCount;
        fiber.SlotTop = slotTop;
        return fiber.FuelSlice;
    }

    public static int CaughtTag(InFlightException thrown) => thrown.Tag;

    public static long CaughtValue(InFlightException thrown, int index) => thrown.Values[index];

    public static Word CaughtWord(InFlightException thrown, int index) => new(thrown.Values[index], thrown.ValueTags[index] != 0);

    /// <summary>An exception left a typed export's compiled body: the trap it becomes.</summary>
    public static Exception UncaughtTrap(InFlightException thrown) => thrown.Uncaught;
}
#pragma warning restore CS1591
