using JitVm.Runtime;

namespace JitVm.Semantics;

/// <summary>
/// mem.copy, mem.fill and mem.compare, defined once for every tier (the interpreter calls these, compiled code calls
/// them through its located helpers). Each runs in the same three steps: every check (bounds, sent objects, tags),
/// then the size part of its fuel (spec/execution.md §5.2), then the work; so a trap, OutOfFuel included, leaves the
/// heap unchanged. Each takes the running slice of fuel and returns what is left of it; when a step traps, the caller
/// still holds the slice as it was, which is what its trap location records in every tier.
/// </summary>
internal static class BulkMemory
{
    public static long Copy(Fiber fiber, long fuel, long destination, long destinationStart, long source, long sourceStart, long count)
    {
        var heap = fiber.Heap;
        var cost = heap.CheckCopy(destination, destinationStart, source, sourceStart, count);
        fuel = Charge(fiber, fuel, cost, "mem.copy", count);
        heap.CopyWords(destination, destinationStart, source, sourceStart, count);
        return fuel;
    }

    public static long Fill(Fiber fiber, long fuel, long pointer, long start, long value, bool isPointer, long count)
    {
        var heap = fiber.Heap;
        var cost = heap.CheckFill(pointer, start, count);
        fuel = Charge(fiber, fuel, cost, "mem.fill", count);
        heap.FillWords(pointer, start, value, isPointer, count);
        return fuel;
    }

    /// <summary>mem.compare's checks and size part; its work, which cannot trap, is <see cref="Memory.Heap.CompareBytes"/>.</summary>
    public static long ChargeCompare(Fiber fiber, long fuel, long a, long aStart, long b, long bStart, long count)
    {
        var cost = fiber.Heap.CheckCompare(a, aStart, b, bStart, count);
        return Charge(fiber, fuel, cost, "mem.compare", (count + 7) / 8);
    }

    /// <summary>Pays <paramref name="cost"/> out of the slice, taking more from the isolate when it is short (as alloc's
    /// size part is paid); traps OutOfFuel when the isolate cannot pay.</summary>
    private static long Charge(Fiber fiber, long fuel, long cost, string instruction, long words)
    {
        if (fuel < cost) fuel = fiber.Store.Refuel(fuel, cost, instruction, words);
        return fuel - cost;
    }
}
