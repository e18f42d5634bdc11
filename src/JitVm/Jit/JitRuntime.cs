using System.ComponentModel;
using System.Runtime.CompilerServices;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Runtime;
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
    public static bool BeginEntry(Fiber fiber, int frameBytes)
    {
        var here = fiber.Store.BeginEntry(fiber);
        fiber.Store.ArmInterrupts(fiber);
        return here - (nuint)frameBytes > fiber.StackLimit;
    }

    public static void EndEntry(Fiber fiber) => fiber.Store.EndEntry(fiber);

    /// <summary>The depth a typed export's body (function <paramref name="functionIndex"/>) runs at: 1, or one deeper
    /// than the host call an entry is nested in, within the call-depth limit.</summary>
    public static int EntryCallDepth(Fiber fiber, int functionIndex)
    {
        fiber.CheckDepth(fiber.Instance.Functions[functionIndex - fiber.Instance.ImportCount]);
        return fiber.EntryDepth + 1;
    }

    /// <summary>Writes a typed export's argument into its entry slot, for the interpreter (see <see cref="Fiber.EntryBase"/>).</summary>
    public static void SetEntryArgument(Fiber fiber, int index, long value) => fiber.SetEntryArgument(index, value, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetFuel(Fiber fiber) => fiber.FuelSlice;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetFuel(Fiber fiber, long fuel) => fiber.FuelSlice = fuel;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] Sites(Fiber fiber) => fiber.Sites;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MaxDepth(Fiber fiber) => fiber.MaxDepth;

    /// <summary>The entry an indirect call of function <paramref name="reference"/> calls directly, or null for
    /// the helper (see <see cref="IndirectTargets"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IndirectTarget? IndirectTarget(Fiber fiber, long reference)
    {
        var instance = fiber.Instance;
        var entries = instance.Code.Indirect.Entries;
        var definedIndex = (ulong)(reference - instance.ImportCount);
        return definedIndex < (ulong)entries.Length ? entries[definedIndex] : null;
    }

    /// <summary>An entry's body as its delegate type, which the entry's signature id has shown it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TDelegate IndirectBody<TDelegate>(IndirectTarget target) where TDelegate : Delegate => Unsafe.As<TDelegate>(target.Body);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] HeapWords(Fiber fiber) => fiber.Heap.Words;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong[] HeapTags(Fiber fiber) => fiber.Heap.Tags;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] Slots(Fiber fiber) => fiber.Slots;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long NurseryEnd(Fiber fiber) => fiber.Heap.NurseryEnd;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Collections(Fiber fiber) => fiber.Heap.CollectionCount;

    /// <summary>The frame-stack slot <paramref name="slot"/>, for a run of stores into a spill area (which the area's
    /// entry made room for).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref long SlotReference(Fiber fiber, int slot) => ref fiber.Slots[slot];

    /// <summary>The tag of frame-stack slot <paramref name="slot"/> (see <see cref="SlotReference"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref byte TagReference(Fiber fiber, int slot) => ref fiber.SlotTags[slot];

    /// <summary>An address near the top of the current .NET stack.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe nuint StackPointer()
    {
        byte probe = 0;
        return (nuint)(&probe) + probe;
    }

    /// <summary>Compiled code makes a direct .NET call only while the stack pointer minus the callee's frame is above
    /// this address (see <see cref="Fiber.StackLimit"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint StackLimit(Fiber fiber) => fiber.StackLimit;

    /// <summary>True while a compiled function whose frame takes <paramref name="frameBytes"/> may still be called
    /// with a .NET call (see <see cref="Fiber.StackLimit"/>); otherwise the callee runs in the interpreter, which
    /// uses no .NET stack per VM call, so deep recursion reaches the VM's call-depth limit and traps instead of
    /// overflowing the host's stack.</summary>
    public static bool StackHasRoom(Fiber fiber, int frameBytes) => StackPointer() - (nuint)frameBytes > fiber.StackLimit;

    /// <summary>A typed export's stub found no room for the compiled body: runs the function in the interpreter
    /// with its arguments in slots [0, <paramref name="width"/>); returns the first result's bits.</summary>
    public static long ExecuteInterpreted(Fiber fiber, int functionIndex, int width) => fiber.ExecuteInterpreted(functionIndex, width);

    /// <summary>The write barrier's slow path: an old object now points to a young one.</summary>
    public static void RecordWrite(Fiber fiber, long pointer, long value) => fiber.Heap.RecordWrite(pointer, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long[] Results(Fiber fiber) => fiber.Results;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte[] ResultTags(Fiber fiber) => fiber.ResultTags;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetGlobal(Fiber fiber, int index) => fiber.Instance.Globals[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetGlobal(Fiber fiber, int index, long value) => fiber.Instance.Globals[index] = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Word GetGlobalWord(Fiber fiber, int index) => new(fiber.Instance.Globals[index], fiber.Instance.GlobalTags[index] != 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetGlobalWord(Fiber fiber, int index, Word value)
    {
        fiber.Instance.Globals[index] = value.Bits;
        fiber.Instance.GlobalTags[index] = value.IsPointer ? (byte)1 : (byte)0;
    }

    /// <summary>Imported global <paramref name="import"/> (numbered from 0 among the module's imported globals): the
    /// exporter's cell, resolved when the instance was linked.</summary>
    public static long GetImportedGlobal(Fiber fiber, int import) => fiber.Instance.GetImportedGlobal(import, out _);

    public static void SetImportedGlobal(Fiber fiber, int import, long value) => fiber.Instance.SetImportedGlobal(import, value, 0);

    public static Word GetImportedGlobalWord(Fiber fiber, int import)
    {
        var bits = fiber.Instance.GetImportedGlobal(import, out var tag);
        return new(bits, tag != 0);
    }

    public static void SetImportedGlobalWord(Fiber fiber, int import, Word value) =>
        fiber.Instance.SetImportedGlobal(import, value.Bits, value.IsPointer ? (byte)1 : (byte)0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Word SlotWord(Fiber fiber, int slot) => new(fiber.Slots[slot], fiber.SlotTags[slot] != 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetSlotWord(Fiber fiber, int slot, Word value)
    {
        fiber.Slots[slot] = value.Bits;
        fiber.SlotTags[slot] = value.IsPointer ? (byte)1 : (byte)0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetSlot(Fiber fiber, int slot, long value)
    {
        fiber.Slots[slot] = value;
        fiber.SlotTags[slot] = 0;
    }

    /// <summary>Stores a pointer argument where an interpreted callee's frame will own it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetSlotPointer(Fiber fiber, int slot, long value)
    {
        fiber.Slots[slot] = value;
        fiber.SlotTags[slot] = 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long GetSlot(Fiber fiber, int slot) => fiber.Slots[slot];

    /// <summary>Reserves <paramref name="width"/> slots above the interpreter frames for an outgoing call's values.</summary>
    public static int Scratch(Fiber fiber, int width)
    {
        var top = fiber.SlotTop;
        fiber.EnsureSlots(top + width + 1);
        return top;
    }

    public static Word MakeWord(long bits, bool isPointer) => new(bits, isPointer);

    /// <summary>Opens a compiled frame's spill area of <paramref name="count"/> slots at the top of the frame stack and
    /// registers it with the collector; returns its first slot.</summary>
    /// <remarks>The area's slots need no clearing: the collector only runs while every compiled frame is stopped
    /// at a safepoint, and the first safepoint after the entry writes or clears every slot of the area (SpillPlan
    /// counts every local as changed there).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EnterSpillArea(Fiber fiber, int count)
    {
        var first = fiber.SlotTop;
        if (first + count + 1 > fiber.Slots.Length) fiber.EnsureSlots(first + count + 1);
        fiber.PushSpillArea(first, count);
        fiber.SlotTop = first + count;
        return first;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExitSpillArea(Fiber fiber, int first)
    {
        fiber.FrameCount--;
        fiber.SlotTop = first;
    }

    /// <summary>Saves a pointer (0 = an unassigned pointer local) where the collector can find and update it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SpillPointer(Fiber fiber, int slot, long pointer)
    {
        fiber.Slots[slot] = pointer;
        fiber.SlotTags[slot] = pointer != 0 ? (byte)1 : (byte)0;
    }

    /// <summary>Copies a multi-result function's results from the result buffer to slots [fp, fp + count).</summary>
    public static void CopyResultsToSlots(Fiber fiber, int fp, int count)
    {
        fiber.EnsureSlots(fp + count + 1);
        // A callee that deoptimised set none of its results (the caller deoptimises too and ignores them), so the
        // buffer may not have grown to the count yet.
        fiber.EnsureResults(count);
        Array.Copy(fiber.Results, 0, fiber.Slots, fp, count);
        Array.Copy(fiber.ResultTags, 0, fiber.SlotTags, fp, count);
    }

    public static void SetResult(Fiber fiber, int index, long bits, bool isPointer)
    {
        var results = fiber.Results;
        if ((uint)index >= (uint)results.Length) results = fiber.EnsureResults(index + 1);
        results[index] = bits;
        fiber.ResultTags[index] = isPointer ? (byte)1 : (byte)0;
    }

    /// <summary>Result <paramref name="index"/> of the last multi-result call; 0 past the buffer, which only a callee that
    /// deoptimised (and so set no results, which its caller then ignores) leaves that short.</summary>
    public static long GetResult(Fiber fiber, int index)
    {
        var results = fiber.Results;
        return (uint)index < (uint)results.Length ? results[index] : 0;
    }

    public static Word GetResultWord(Fiber fiber, int index)
    {
        var results = fiber.Results;
        return (uint)index < (uint)results.Length ? new(results[index], fiber.ResultTags[index] != 0) : default;
    }

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
    public static long TruncS(double value, Fiber fiber, long site, int depth, long fuel)
    {
        try
        {
            return Arithmetic.TruncS(value);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>
    /// For exception filters that record a trap's location and let it pass: a trap from a host function (perhaps
    /// from another isolate it entered) or from a nested activation is never caught and rethrown, since each
    /// rethrow from a handler starts a new exception dispatch on top of the stack of the one before.
    /// </summary>
    private static bool Located(TrapException _) => false;

    /// <summary>Raises a trap that compiled code detected inline.</summary>
    public static Exception Trap(Fiber fiber, int code, string message, long site, int depth, long fuel) =>
        fiber.Locate(new TrapException((TrapCode)code, message), site, depth, fuel);

    /// <summary>A new fuel slice for a block the current one cannot pay for (see <see cref="Store.Refuel"/>).</summary>
    /// <summary>As <see cref="Refuel"/>, at a block where a task may yield (see <see cref="Store.RefuelBlock"/>).</summary>
    public static long RefuelOrYield(Fiber fiber, long cost, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Store.RefuelBlock(fiber, fuel, cost);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    public static long Refuel(Fiber fiber, long cost, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Task is null ? fiber.Store.Refuel(fuel, cost) : fiber.Store.RefuelBlock(fiber, fuel, cost, canYield: false);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>A compiled call's depth check failed against the call-site table's length: grows the table and returns
    /// its new length, or traps at the store's limit.</summary>
    public static int EnsureDepth(Fiber fiber, int definedIndex, long site, int depth, long fuel) =>
        fiber.EnsureDepth(depth) ? fiber.MaxDepth : throw fiber.Locate(fiber.CallDepthExceeded(fiber.Instance.Functions[definedIndex]), site, depth, fuel);

    /// <summary>A heap access failed its inline check: redo it the checked way, which throws the precise trap.</summary>
    public static Exception HeapFault(Fiber fiber, int opCode, long pointer, long index, long site, int depth, long fuel)
    {
        try
        {
            var heap = fiber.Heap;
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
            return fiber.Locate(trap, site, depth, fuel);
        }
    }

    public static Exception WordMismatch(Fiber fiber, bool wantedPointer, long site, int depth, long fuel) =>
        fiber.Locate((wantedPointer ? Traps.PointerRequired : Traps.NumberRequired).Create(), site, depth, fuel);

    /// <summary>Bump allocation in the nursery, or 0 when <see cref="Alloc"/> (which may collect) must run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long AllocFast(Fiber fiber, long length) => fiber.Heap.TryBumpAllocate(length);

    public static long Alloc(Fiber fiber, long length, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Heap.Allocate(length);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>Pays alloc's size part for <paramref name="length"/> words out of the slice <paramref name="fuel"/>
    /// and returns what is left of the slice; traps OutOfFuel (fuel unchanged) when the isolate cannot pay.</summary>
    public static long ChargeAllocation(Fiber fiber, long length, long site, int depth, long fuel) =>
        ChargeSizePart(fiber, fiber.Store.AllocationFuel(length), "alloc", length, site, depth, fuel);

    /// <summary>As <see cref="ChargeAllocation"/>, for data.alloc of segment <paramref name="segment"/>.</summary>
    public static long ChargeDataAllocation(Fiber fiber, int segment, long site, int depth, long fuel) =>
        ChargeSizePart(fiber, fiber.Instance.DataAllocationFuel(segment), "data.alloc",
            fiber.Instance.DataWords(segment), site, depth, fuel);

    /// <summary>Pays <paramref name="cost"/> for an instruction's work on <paramref name="words"/> words out of the
    /// slice <paramref name="fuel"/>, taking more from the isolate when the slice is short.</summary>
    private static long ChargeSizePart(Fiber fiber, long cost, string instruction, long words, long site, int depth, long fuel)
    {
        if (fuel >= cost) return fuel - cost;
        try
        {
            return fiber.Store.Refuel(fuel, cost, instruction, words) - cost;
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    public static long AllocData(Fiber fiber, int segment, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Instance.AllocateData(segment);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    public static long LoadByte(Fiber fiber, long pointer, long index, long site, int depth, long fuel)
    {
        try
        {
            return fiber.Heap.LoadByte(pointer, index);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    public static void StoreByte(Fiber fiber, long pointer, long index, long value, long site, int depth, long fuel)
    {
        try
        {
            fiber.Heap.StoreByte(pointer, index, value);
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>Calls a host import with arguments in slots from <paramref name="fp"/>.</summary>
    public static void CallHost(Fiber fiber, int import, int fp, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        try
        {
            fiber.Instance.CallImport(fiber, import, fp, site, depth);
        }
        catch (TrapException trap) when (Located(fiber.Locate(trap, site, depth, fuel)))
        {
            throw; // Not reached: the filter lets every trap pass.
        }
    }

    /// <summary>
    /// A direct call from compiled code to a function that has no body to call directly: compiled in pieces (its
    /// adapter runs them, when the stack has room) or not compiled, when it runs in the interpreter; its arguments are
    /// in slots from <paramref name="fp"/>. The caller has checked the depth.
    /// </summary>
    public static void CallInterpreted(Fiber fiber, int definedIndex, int fp, int depth)
    {
        var callee = fiber.Instance.Functions[definedIndex];
        if (callee.Compiled is { Pieced: not null } pieced && StackHasRoom(fiber, pieced.StackBytes))
        {
            pieced.Adapter(fiber, depth + 1, fp);
            return;
        }
        var saved = fiber.CallDepth;
        fiber.CallDepth = depth;
        try
        {
            Interpreter.Interpreter.Run(fiber, fiber.Instance.Functions[definedIndex], fp);
        }
        finally
        {
            fiber.CallDepth = saved;
        }
    }

    /// <summary>ref.cast from compiled code: traps unless the reference names a function of signature <paramref name="typeIndex"/>.</summary>
    public static void CastReference(Fiber fiber, long reference, int typeIndex, long site, int depth, long fuel)
    {
        try
        {
            fiber.Instance.CheckReference(reference, typeIndex, "ref.cast");
        }
        catch (TrapException trap)
        {
            throw fiber.Locate(trap, site, depth, fuel);
        }
    }

    /// <summary>call_indirect from compiled code: checks the reference and signature (call_ref passes ~s, and nothing
    /// is checked: Instance.ResolveIndirect), then calls it in whichever tier it is.</summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)] // Reached only from compiled code.
    public static void CallIndirect(Fiber fiber, long reference, int typeIndex, int fp, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        DecodedFunction? target;
        try
        {
            target = fiber.Instance.ResolveIndirect(reference, typeIndex);
            if (target is null)
            {
                fiber.Instance.CallImport(fiber, (int)reference, fp, site, depth);
                return;
            }
            if (depth >= fiber.MaxDepth && !fiber.EnsureDepth(depth)) throw fiber.CallDepthExceeded(target);
        }
        catch (TrapException trap) when (Located(fiber.Locate(trap, site, depth, fiber.FuelSlice)))
        {
            throw; // Not reached: the filter lets every trap pass.
        }
        fiber.Sites[depth] = site;
        var compiled = target.Compiled ?? (fiber.Store.Tier == ExecutionTier.Tiered && DynamicCode.Supported ? fiber.Instance.Code.Jit.TierUpOnCall(fiber.Store, target) : null);
        if (compiled is not null && DynamicCode.Supported) fiber.Instance.Code.Indirect.Publish(target, compiled);
        if (compiled is not null && StackHasRoom(fiber, compiled.StackBytes)) compiled.Adapter(fiber, depth + 1, fp);
        else CallInterpreted(fiber, target.FunctionIndex - fiber.Instance.ImportCount, fp, depth);
    }

    /// <summary>
    /// return_call_indirect from compiled code: checks the reference and signature while the calling frame is still
    /// there (a trap is located at the tail call), then closes that frame's spill area (<paramref name="spillBase"/>,
    /// or -1 for none) and runs the target at the caller's own <paramref name="depth"/>, so its frame replaces the
    /// caller's (spec/execution.md §4.1). An import instead runs from the calling frame, which closes its spill area
    /// after it. Results are left in slots from <paramref name="fp"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)] // Reached only from compiled code.
    public static void TailCallIndirect(Fiber fiber, long reference, int typeIndex, int fp, int spillBase, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        DecodedFunction? target;
        try
        {
            target = fiber.Instance.ResolveIndirect(reference, typeIndex, tail: true);
            if (target is null) fiber.Instance.CallImport(fiber, (int)reference, fp, site, depth, resumable: false);
        }
        catch (TrapException trap) when (Located(fiber.Locate(trap, site, depth, fiber.FuelSlice)))
        {
            throw; // Not reached: the filter lets every trap pass.
        }
        if (spillBase >= 0) ExitSpillArea(fiber, spillBase);
        if (target is null) return;
        var compiled = target.Compiled ?? (fiber.Store.Tier == ExecutionTier.Tiered && DynamicCode.Supported ? fiber.Instance.Code.Jit.TierUpOnCall(fiber.Store, target) : null);
        if (compiled is not null && StackHasRoom(fiber, compiled.StackBytes)) compiled.Adapter(fiber, depth, fp);
        else CallInterpreted(fiber, target.FunctionIndex - fiber.Instance.ImportCount, fp, depth - 1);
    }

#pragma warning restore CS1591
}
