using System.ComponentModel;
using System.Runtime.CompilerServices;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;
using JitVm.Semantics;

namespace JitVm.Jit;

/// <summary>
/// Helpers that compiled code calls. They are internal: they bypass the VM's checks (raw heap words, globals and
/// slots), so no host may reach them; dynamic methods call them with skipVisibility and saved assemblies through
/// IgnoresAccessChecksTo (see <see cref="AssemblyCompiler"/>). Small ones are inlined by the CLR into the compiled code; the slow paths that raise
/// traps take the call site, depth and fuel so the trap carries the same location and fuel as in the interpreter.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
internal static partial class JitRuntime
{
#pragma warning disable CS1591 // Internal plumbing for generated code; each helper is named after what it does.
    /// <summary>Starts a typed export's entry; true when the compiled body's frame of <paramref name="frameBytes"/>
    /// fits above the stack limit (measured deeper than the stub's own frame, so the test is conservative).</summary>
    public static bool BeginEntry(Isolate isolate, int frameBytes)
    {
        var here = isolate.BeginEntry();
        isolate.ArmInterrupts();
        return here - (nuint)frameBytes > isolate.StackLimit;
    }

    public static void EndEntry(Isolate isolate) => isolate.EndEntry();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetFuel(Isolate isolate) => isolate.FuelSlice;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetFuel(Isolate isolate, long fuel) => isolate.FuelSlice = fuel;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] Sites(Isolate isolate) => isolate.Sites;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MaxDepth(Isolate isolate) => isolate.MaxDepth;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] HeapWords(Isolate isolate) => isolate.Heap.Words;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong[] HeapTags(Isolate isolate) => isolate.Heap.Tags;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] Slots(Isolate isolate) => isolate.Slots;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long NurseryEnd(Isolate isolate) => isolate.Heap.NurseryEnd;

    /// <summary>An address near the top of the current .NET stack.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe nuint StackPointer()
    {
        byte probe = 0;
        return (nuint)(&probe) + probe;
    }

    /// <summary>Compiled code makes a direct .NET call only while the stack pointer minus the callee's frame is above
    /// this address (see <see cref="Isolate.StackLimit"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint StackLimit(Isolate isolate) => isolate.StackLimit;

    /// <summary>True while a compiled function whose frame takes <paramref name="frameBytes"/> may still be called
    /// with a .NET call (see <see cref="Isolate.StackLimit"/>); otherwise the callee runs in the interpreter, which
    /// uses no .NET stack per VM call, so deep recursion reaches the VM's call-depth limit and traps instead of
    /// overflowing the host's stack.</summary>
    public static bool StackHasRoom(Isolate isolate, int frameBytes) => StackPointer() - (nuint)frameBytes > isolate.StackLimit;

    /// <summary>A typed export's stub found no room for the compiled body: runs the function in the interpreter
    /// with its arguments in slots [0, <paramref name="width"/>); returns the first result's bits.</summary>
    public static long ExecuteInterpreted(Isolate isolate, int functionIndex, int width) => isolate.ExecuteInterpreted(functionIndex, width);

    /// <summary>The write barrier's slow path: an old object now points to a young one.</summary>
    public static void RecordWrite(Isolate isolate, long pointer, long value) => isolate.Heap.RecordWrite(pointer, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] Results(Isolate isolate) => isolate.Results;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte[] ResultTags(Isolate isolate) => isolate.ResultTags;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetGlobal(Isolate isolate, int index) => isolate.Globals[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetGlobal(Isolate isolate, int index, long value) => isolate.Globals[index] = value;

    public static Word GetGlobalWord(Isolate isolate, int index) => new(isolate.Globals[index], isolate.GlobalTags[index] != 0);

    public static void SetGlobalWord(Isolate isolate, int index, Word value)
    {
        isolate.Globals[index] = value.Bits;
        isolate.GlobalTags[index] = value.IsPointer ? (byte)1 : (byte)0;
    }

    public static Word SlotWord(Isolate isolate, int slot) => new(isolate.Slots[slot], isolate.SlotTags[slot] != 0);

    public static void SetSlotWord(Isolate isolate, int slot, Word value)
    {
        isolate.Slots[slot] = value.Bits;
        isolate.SlotTags[slot] = value.IsPointer ? (byte)1 : (byte)0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetSlot(Isolate isolate, int slot, long value)
    {
        isolate.Slots[slot] = value;
        isolate.SlotTags[slot] = 0;
    }

    /// <summary>Stores a pointer argument where an interpreted callee's frame will own it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetSlotPointer(Isolate isolate, int slot, long value)
    {
        isolate.Slots[slot] = value;
        isolate.SlotTags[slot] = 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetSlot(Isolate isolate, int slot) => isolate.Slots[slot];

    /// <summary>Reserves <paramref name="width"/> slots above the interpreter frames for an outgoing call's values.</summary>
    public static int Scratch(Isolate isolate, int width)
    {
        var top = isolate.SlotTop;
        isolate.EnsureSlots(top + width + 1);
        return top;
    }

    public static Word MakeWord(long bits, bool isPointer) => new(bits, isPointer);

    /// <summary>Opens a compiled frame's spill area of <paramref name="count"/> slots at the top of the frame stack and
    /// registers it with the collector; returns its first slot.</summary>
    /// <remarks>The area's slots need no clearing: the collector only runs while every compiled frame is stopped
    /// at a safepoint, and each safepoint rewrites its frame's whole area first.</remarks>
    public static int EnterSpillArea(Isolate isolate, int count)
    {
        var first = isolate.SlotTop;
        if (first + count + 1 > isolate.Slots.Length) isolate.EnsureSlots(first + count + 1);
        isolate.PushRecord(null, first, count);
        isolate.SlotTop = first + count;
        return first;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExitSpillArea(Isolate isolate, int first)
    {
        isolate.FrameCount--;
        isolate.SlotTop = first;
    }

    /// <summary>Saves a pointer (0 = an unassigned pointer local) where the collector can find and update it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SpillPointer(Isolate isolate, int slot, long pointer)
    {
        isolate.Slots[slot] = pointer;
        isolate.SlotTags[slot] = pointer != 0 ? (byte)1 : (byte)0;
    }

    /// <summary>Copies a multi-result function's results from the result buffer to slots [fp, fp + count).</summary>
    public static void CopyResultsToSlots(Isolate isolate, int fp, int count)
    {
        isolate.EnsureSlots(fp + count + 1);
        Array.Copy(isolate.Results, 0, isolate.Slots, fp, count);
        Array.Copy(isolate.ResultTags, 0, isolate.SlotTags, fp, count);
    }

    public static void SetResult(Isolate isolate, int index, long bits, bool isPointer)
    {
        isolate.Results[index] = bits;
        isolate.ResultTags[index] = isPointer ? (byte)1 : (byte)0;
    }

    public static long GetResult(Isolate isolate, int index) => isolate.Results[index];

    public static Word GetResultWord(Isolate isolate, int index) => new(isolate.Results[index], isolate.ResultTags[index] != 0);

    // Rotates stay out of line: with a constant count, the inlined rotate followed by a branch on the result is
    // miscompiled by the CLR JIT in .NET 10.0.12 (dotnet/runtime#129288: the branch reads a stale zero flag).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long Rotl(long value, long count) => (long)System.Numerics.BitOperations.RotateLeft((ulong)value, (int)(count & 63));

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long Rotr(long value, long count) => (long)System.Numerics.BitOperations.RotateRight((ulong)value, (int)(count & 63));

    public static long Clz(long value) => System.Numerics.BitOperations.LeadingZeroCount((ulong)value);

    public static long Ctz(long value) => System.Numerics.BitOperations.TrailingZeroCount((ulong)value);

    public static long Popcnt(long value) => System.Numerics.BitOperations.PopCount((ulong)value);

    // ---- Slow paths: each either completes the operation or throws a located trap. ----

    /// <summary>i64.trunc_f64_s: the shared rule (<see cref="Arithmetic.TruncS"/>), its trap located here.</summary>
    public static long TruncS(double value, Isolate isolate, long site, int depth, long fuel)
    {
        try
        {
            return Arithmetic.TruncS(value);
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>
    /// For exception filters that record a trap's location and let it pass: a trap from a host function (perhaps
    /// from another isolate it entered) or from a nested activation is never caught and rethrown, since each
    /// rethrow from a handler starts a new exception dispatch on top of the stack of the one before.
    /// </summary>
    private static bool Located(TrapException _) => false;

    /// <summary>Raises a trap that compiled code detected inline.</summary>
    public static Exception Trap(Isolate isolate, int code, string message, long site, int depth, long fuel) =>
        isolate.Locate(new TrapException((TrapCode)code, message), site, depth, fuel);

    /// <summary>A new fuel slice for a block the current one cannot pay for (see <see cref="Isolate.Refuel"/>).</summary>
    public static long Refuel(Isolate isolate, long cost, long site, int depth, long fuel)
    {
        try
        {
            return isolate.Refuel(fuel, cost);
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    public static Exception CallDepth(Isolate isolate, int definedIndex, long site, int depth, long fuel) =>
        isolate.Locate(isolate.CallDepthExceeded(isolate.Functions[definedIndex]), site, depth, fuel);

    /// <summary>A heap access failed its inline check: redo it the checked way, which throws the precise trap.</summary>
    public static Exception HeapFault(Isolate isolate, int opCode, long pointer, long index, long site, int depth, long fuel)
    {
        try
        {
            var heap = isolate.Heap;
            switch ((OpCode)opCode)
            {
                case OpCode.LoadI: heap.LoadInt(pointer, index, OpCode.LoadI); break;
                case OpCode.LoadF: heap.LoadInt(pointer, index, OpCode.LoadF); break;
                case OpCode.LoadP: heap.LoadPointer(pointer, index); break;
                case OpCode.LoadU8: heap.LoadByte(pointer, index); break;
                case OpCode.StoreU8: heap.StoreByte(pointer, index, 0); break;
                default: heap.Field(pointer, index); break;
            }
            return new InvalidOperationException($"internal error: {(OpCode)opCode} failed its inline check but not its checked form");
        }
        catch (TrapException trap)
        {
            return isolate.Locate(trap, site, depth, fuel);
        }
    }

    public static Exception WordMismatch(Isolate isolate, bool wantedPointer, long site, int depth, long fuel) =>
        isolate.Locate((wantedPointer ? Traps.PointerRequired : Traps.NumberRequired).Create(), site, depth, fuel);

    /// <summary>Bump allocation in the nursery, or 0 when <see cref="Alloc"/> (which may collect) must run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long AllocFast(Isolate isolate, long length) => isolate.Heap.TryBumpAllocate(length);

    public static long Alloc(Isolate isolate, long length, long site, int depth, long fuel)
    {
        try
        {
            return isolate.Heap.Allocate(length);
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>Pays alloc's size part for <paramref name="length"/> words out of the slice <paramref name="fuel"/>
    /// and returns what is left of the slice; traps OutOfFuel (fuel unchanged) when the isolate cannot pay.</summary>
    public static long ChargeAllocation(Isolate isolate, long length, long site, int depth, long fuel) =>
        ChargeSizePart(isolate, isolate.AllocationFuel(length), "alloc", length, site, depth, fuel);

    /// <summary>As <see cref="ChargeAllocation"/>, for data.alloc of segment <paramref name="segment"/>.</summary>
    public static long ChargeDataAllocation(Isolate isolate, int segment, long site, int depth, long fuel) =>
        ChargeSizePart(isolate, isolate.DataAllocationFuel(segment), "data.alloc",
            (isolate.Module.Definition.Data[segment].Bytes.Length + 7) / 8, site, depth, fuel);

    /// <summary>Pays <paramref name="cost"/> for an instruction's work on <paramref name="words"/> words out of the
    /// slice <paramref name="fuel"/>, taking more from the isolate when the slice is short.</summary>
    private static long ChargeSizePart(Isolate isolate, long cost, string instruction, long words, long site, int depth, long fuel)
    {
        if (fuel >= cost) return fuel - cost;
        try
        {
            return isolate.Refuel(fuel, cost, instruction, words) - cost;
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    public static long AllocData(Isolate isolate, int segment, long site, int depth, long fuel)
    {
        try
        {
            return isolate.AllocateData(segment);
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    public static long LoadByte(Isolate isolate, long pointer, long index, long site, int depth, long fuel)
    {
        try
        {
            return isolate.Heap.LoadByte(pointer, index);
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    public static void StoreByte(Isolate isolate, long pointer, long index, long value, long site, int depth, long fuel)
    {
        try
        {
            isolate.Heap.StoreByte(pointer, index, value);
        }
        catch (TrapException trap)
        {
            throw isolate.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>Calls a host import with arguments in slots from <paramref name="fp"/>.</summary>
    public static void CallHost(Isolate isolate, int import, int fp, long site, int depth, long fuel)
    {
        isolate.FuelSlice = fuel;
        try
        {
            isolate.CallHost(import, fp);
        }
        catch (TrapException trap) when (Located(isolate.Locate(trap, site, depth, fuel)))
        {
            throw; // Not reached: the filter lets every trap pass.
        }
    }

    /// <summary>
    /// A direct call from compiled code to a function that is not compiled (too large): runs it in the
    /// interpreter with arguments in slots from <paramref name="fp"/>. The caller has checked the depth.
    /// </summary>
    public static void CallInterpreted(Isolate isolate, int definedIndex, int fp, int depth)
    {
        var saved = isolate.CallDepth;
        isolate.CallDepth = depth;
        try
        {
            Interpreter.Interpreter.Run(isolate, isolate.Functions[definedIndex], fp);
        }
        finally
        {
            isolate.CallDepth = saved;
        }
    }

    /// <summary>call_indirect from compiled code: checks the reference and signature, then calls it in whichever tier it is.</summary>
    public static void CallIndirect(Isolate isolate, long reference, int typeIndex, int fp, long site, int depth, long fuel)
    {
        isolate.FuelSlice = fuel;
        DecodedFunction? target;
        try
        {
            target = isolate.ResolveIndirect(reference, typeIndex);
            if (target is null)
            {
                isolate.CallHost((int)reference, fp);
                return;
            }
            if (depth >= isolate.MaxDepth) throw isolate.CallDepthExceeded(target);
        }
        catch (TrapException trap) when (Located(isolate.Locate(trap, site, depth, isolate.FuelSlice)))
        {
            throw; // Not reached: the filter lets every trap pass.
        }
        isolate.Sites[depth] = site;
        var compiled = target.Compiled ?? (isolate.Tier == ExecutionTier.Tiered ? isolate.Module.Jit.TierUpOnCall(isolate, target) : null);
        if (compiled is not null && StackHasRoom(isolate, compiled.StackBytes)) compiled.Adapter(isolate, depth + 1, fp);
        else CallInterpreted(isolate, target.FunctionIndex - isolate.Module.Definition.Imports.Count, fp, depth);
    }

#pragma warning restore CS1591
}
