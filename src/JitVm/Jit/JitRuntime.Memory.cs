using JitVm.Diagnostics;
using JitVm.Runtime;
using JitVm.Semantics;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Helpers of compiled code for the byte-addressed loads and stores, the bulk memory operations and the
/// unsigned conversion: each runs the shared definition (<see cref="Memory.Heap"/>, <see cref="BulkMemory"/>,
/// <see cref="Arithmetic"/>) and locates its trap, so both tiers check, charge and trap alike.</summary>
internal static partial class JitRuntime
{
    /// <summary>load.s8 .. load.f64 (<paramref name="opCode"/>); load.f64 returns the float's bits.</summary>
    public static long LoadBytes(Fiber fiber, long pointer, long index, int opCode, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Heap.LoadBytes(pointer, index, (OpCode)opCode);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>store.u16 .. store.f64 (<paramref name="opCode"/>); store.f64 is given the float's bits.</summary>
    public static void StoreBytes(Fiber fiber, long pointer, long index, long value, int opCode, long site, int depth, long fuel)
    {
        try
        {
            fiber.Heap.StoreBytes(pointer, index, value, (OpCode)opCode);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>mem.copy; returns what is left of the fuel slice after its size part.</summary>
    public static long MemCopy(Fiber fiber, long destination, long destinationStart, long source, long sourceStart, long count,
        long site, int depth, long fuel)
    {
        try
        {
            return BulkMemory.Copy(fiber, fuel, destination, destinationStart, source, sourceStart, count);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>mem.fill; returns what is left of the fuel slice after its size part.</summary>
    public static long MemFill(Fiber fiber, long pointer, long start, Word value, long count, long site, int depth, long fuel)
    {
        try
        {
            return BulkMemory.Fill(fiber, fuel, pointer, start, value.Bits, value.IsPointer, count);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>mem.compare's checks and size part; returns what is left of the fuel slice.</summary>
    public static long MemCompareCharge(Fiber fiber, long a, long aStart, long b, long bStart, long count, long site, int depth, long fuel)
    {
        try
        {
            return BulkMemory.ChargeCompare(fiber, fuel, a, aStart, b, bStart, count);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>mem.compare's work after <see cref="MemCompareCharge"/> (it cannot trap).</summary>
    public static long MemCompareBytes(Fiber fiber, long a, long aStart, long b, long bStart, long count) =>
        fiber.Heap.CompareBytes(a, aStart, b, bStart, count);

    /// <summary>i64.trunc_f64_u: the shared rule (<see cref="Arithmetic.TruncU"/>), its trap located here.</summary>
    public static long TruncU(double value, Fiber fiber, long site, int depth, long fuel)
    {
        try
        {
            return Arithmetic.TruncU(value);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>Pays alloc.bytes' size part, for the ⌈<paramref name="byteCount"/>/8⌉ words it zeroes, as
    /// <see cref="ChargeAllocation"/> pays alloc's; returns what is left of the slice.</summary>
    public static long ChargeBytesAllocation(Fiber fiber, long byteCount, long site, int depth, long fuel)
    {
        var words = byteCount < 0 ? byteCount : Memory.Heap.WordsForBytes(byteCount);
        return ChargeSizePart(fiber, fiber.Store.AllocationFuel(words), "alloc.bytes", words, site, depth, fuel);
    }

    /// <summary>alloc.bytes once its size part is paid (may collect, like <see cref="Alloc"/>).</summary>
    public static long AllocBytes(Fiber fiber, long byteCount, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Heap.AllocateBytes(byteCount);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>len.bytes of an object whose header marks it a reference (0) or sent (UseAfterSend).</summary>
    public static long CheckedByteLength(Fiber fiber, long pointer, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Heap.ByteLength(pointer);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }
}
