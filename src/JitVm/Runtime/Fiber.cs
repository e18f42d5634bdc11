using JitVm.Diagnostics;
using JitVm.Interpreter;
using JitVm.Memory;

namespace JitVm.Runtime;

/// <summary>
/// One execution: the frame stack (slots and their tags), the frame records the collector walks, the call site of
/// every active call, the call depth, the fuel slice and the buffer of a multi-result return. Both tiers and every
/// runtime helper run on a fiber; its <see cref="Store"/> owns the heap, globals and limits it uses, and
/// <see cref="Instance"/> is the linked module whose code runs now. A fiber is used by one thread at a time.
/// </summary>
/// <remarks>
/// Frame layout (spec/internals.md): slots [fp, fp + params) hold a frame's arguments, then its declared locals,
/// then its operand stack. An interpreter frame keeps all of them in slots; a compiled frame keeps them in CIL locals
/// and owns only a spill area of pointers here, until it deoptimises (Fiber.Deopt.cs) and becomes an interpreter frame.
/// </remarks>
internal sealed partial class Fiber
{
    /// <summary>An active frame, as the collector sees it (see <see cref="Frames"/>).</summary>
    internal struct FrameRecord
    {
        /// <summary>The interpreted function, or null for a compiled function's spill area.</summary>
        public DecodedFunction? Function;

        /// <summary>The frame's first slot.</summary>
        public int Fp;

        /// <summary>Interpreter frames: the operation to resume at; the one before it is where the frame is suspended.</summary>
        public int Ip;

        /// <summary>Spill areas: how many slots, whose tags say which hold pointers.</summary>
        public int SpillCount;

        /// <summary>Interpreter frames: true while a function compiled in pieces owns the frame, which is then at no
        /// one operation, so each of its locals counts as live (a piece keeps the locals it uses in its spill area and
        /// has cleared them here).</summary>
        public bool EveryLocalLive;
    }

    /// <summary>Frame-stack slots are capped so runaway recursion in huge frames traps instead of exhausting memory.</summary>
    private const int MaxSlots = 64 * 1024 * 1024;

    public Fiber(Store store, Instance instance, int initialSlots = 1024)
    {
        Store = store;
        Heap = store.Heap;
        Instance = instance;
        AllocateFrameStack(initialSlots);
        store.Attach(this);
    }

    /// <summary>Slots a spawned task's fiber starts with (see <see cref="Hosting.Isolate.ForTask"/>).</summary>
    public const int TaskSlots = 8;

    /// <summary>The frame stack, frame records and call-site table a fiber starts with.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Slots), nameof(SlotTags), nameof(Frames), nameof(Sites))]
    private void AllocateFrameStack(int initialSlots)
    {
        Slots = new long[initialSlots];
        SlotTags = new byte[initialSlots];
        Frames = new FrameRecord[initialSlots >= 1024 ? 64 : 2];
        // The call-site table starts small and grows with the depth reached (EnsureDepth); MaxDepth is its usable
        // length, which compiled code compares depths with, so crossing it costs one slow call per doubling.
        Sites = new long[Math.Min(Store.MaxDepth, initialSlots >= 1024 ? 256 : 4) + 2];
        MaxDepth = Sites.Length - 2;
    }

    /// <summary>Largest frame stack (and frame records and call-site table) a finished task's fiber keeps for the next
    /// task (<see cref="ClearForNextTask"/>); larger ones are dropped, so an idle fiber stays small.</summary>
    private const int LargestKeptSlots = 256;

    /// <summary>
    /// After the task this fiber ran has ended (its entry is over: <see cref="Reset"/> has dropped every frame and
    /// nested entry), makes it what a new task's fiber is: no task, no fuel slice, no signals owed, and zeroed slots,
    /// tags, frame records, call sites and results, so nothing of the last task is left for the next to see (and no
    /// stale tag can make the collector take a stale slot for a pointer). Tables that grew past
    /// <see cref="LargestKeptSlots"/> are replaced by new small ones.
    /// </summary>
    public void ClearForNextTask()
    {
        Task = null;
        DeferredWakes = 0;
        FuelSlice = 0;
        LinkedCalls = 0;
        if (Math.Max(Slots.Length, Math.Max(Frames.Length, Sites.Length)) > LargestKeptSlots) AllocateFrameStack(TaskSlots);
        else
        {
            Array.Clear(Slots);
            Array.Clear(SlotTags);
            Array.Clear(Frames);
            Array.Clear(Sites);
        }
        Array.Clear(Results);
        Array.Clear(ResultTags);
    }

    /// <summary>
    /// The depth check's slow path: when <paramref name="depth"/> is within the store's limit, grows the call-site
    /// table to hold it and returns true; false when the limit itself is reached.
    /// </summary>
    public bool EnsureDepth(int depth)
    {
        if (depth >= Store.MaxDepth) return false;
        if (depth < MaxDepth) return true;
        var size = Math.Min(Store.MaxDepth, Math.Max(depth + 1, MaxDepth * 2));
        Array.Resize(ref Sites, size + 2);
        MaxDepth = size;
        return true;
    }

    /// <summary>The store whose heap, globals and limits this fiber uses.</summary>
    public Store Store { get; }

    /// <summary>The store's heap, kept here too so compiled code reaches it in one load. Changes only between
    /// entries, when the store is reset (<see cref="Store.ResetToInitialState"/>).</summary>
    public Heap Heap;

    /// <summary>The depth the call-site table holds now (at most the store's limit); a deeper call takes the slow path,
    /// <see cref="EnsureDepth"/>.</summary>
    public int MaxDepth;

    /// <summary>The instance whose code runs now: changes for the duration of a call into another instance's export.</summary>
    public Instance Instance;

    public long[] Slots;

    public byte[] SlotTags;

    /// <summary>The depth of the innermost interpreter frame (compiled frames pass theirs as an argument).</summary>
    public int CallDepth;

    /// <summary>Sites[d] is the call site (see <see cref="CallSites"/>) of the frame at depth d while it calls.</summary>
    public long[] Sites;

    /// <summary>First frame-stack slot above every interpreter frame and spill area; compiled code passes arguments
    /// to host functions and interpreted or indirect callees from here.</summary>
    public int SlotTop;

    /// <summary>
    /// The fuel running code may spend before it asks the store for more (<see cref="Store.Refuel"/>). Compiled code
    /// keeps it in a local and writes it back here around calls and traps. Never negative while code runs normally:
    /// a negative slice means a deoptimisation is unwinding (see <see cref="DeoptimisingSlice"/>).
    /// </summary>
    public long FuelSlice;

    /// <summary>
    /// Every active frame that can hold heap pointers, innermost last: interpreter frames (function, fp, and the
    /// operation to resume at) and compiled functions' spill areas (no function; fp and size). The collector finds
    /// all stack roots here.
    /// </summary>
    public FrameRecord[] Frames;

    public int FrameCount;

    /// <summary>Where compiled functions with several results (and task.join and chan.recv) leave them for their
    /// caller; empty until the first such result, and every writer grows it first (<see cref="EnsureResults"/>).</summary>
    public long[] Results = [];

    public byte[] ResultTags = [];

    /// <summary>Grows the result buffer to hold <paramref name="count"/> results (at most a signature's arity); returns it.</summary>
    public long[] EnsureResults(int count)
    {
        if (count > Results.Length)
        {
            var size = Math.Min(Math.Max(count, Results.Length * 2), Bytecode.ModuleLimits.MaxSignatureArity);
            Array.Resize(ref Results, size);
            Array.Resize(ref ResultTags, size);
        }
        return Results;
    }

    /// <summary>Compiled code makes a direct .NET call only while the stack pointer minus the callee's frame stays
    /// above this address (see <see cref="Store.BeginEntry"/>); nuint.MaxValue runs everything in the interpreter.</summary>
    public nuint StackLimit = nuint.MaxValue;

    public void PushRecord(DecodedFunction? function, int fp, int spillCount = 0)
    {
        if (FrameCount == Frames.Length) Array.Resize(ref Frames, Frames.Length * 2);
        Frames[FrameCount++] = new FrameRecord { Function = function, Fp = fp, SpillCount = spillCount };
    }

    /// <summary>Records a compiled function's spill area of <paramref name="count"/> slots at <paramref name="first"/>
    /// (<see cref="PushRecord"/> for the case compiled code enters on every call: field by field, so storing the
    /// null function needs no write barrier).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void PushSpillArea(int first, int count)
    {
        if (FrameCount == Frames.Length) Array.Resize(ref Frames, Frames.Length * 2);
        ref var record = ref Frames[FrameCount++];
        record.Function = null;
        record.Fp = first;
        record.Ip = 0;
        record.SpillCount = count;
        record.EveryLocalLive = false;
    }

    /// <summary>Opens a frame for <paramref name="callee"/> at <paramref name="fp"/>: checks the depth limit, makes room,
    /// zeroes its locals and records it for the collector. Paired with <see cref="LeaveFrame"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void EnterFrame(DecodedFunction callee, int fp)
    {
        if (CallDepth >= MaxDepth && !EnsureDepth(CallDepth)) throw CallDepthExceeded(callee);
        var end = fp + callee.FrameSize + 1;
        if (end > Slots.Length) EnsureSlots(end);
        var first = fp + callee.ParameterCount;
        var last = fp + callee.LocalCount;
        // Declared locals start as zero (and untagged); 0 in a ptr slot means "not yet assigned".
        for (var i = first; i < last; i++)
        {
            Slots[i] = 0;
            SlotTags[i] = 0;
        }
        CallDepth++;
        PushRecord(callee, fp);
    }

    /// <summary>Closes the innermost interpreter frame (see <see cref="EnterFrame"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void LeaveFrame()
    {
        CallDepth--;
        FrameCount--;
    }

    /// <summary>Publishes an interpreter frame's state before a safepoint (a call, an allocation, a host call): the
    /// fuel it holds and the operation to resume at. After it, the collector may run, the frame stack may grow
    /// (re-read <see cref="Slots"/>) and a host function may read or change the fuel (re-read <see cref="FuelSlice"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Publish(long fuel, int ip)
    {
        FuelSlice = fuel;
        Frames[FrameCount - 1].Ip = ip;
    }

    public void CheckDepth(DecodedFunction callee)
    {
        if (CallDepth >= MaxDepth && !EnsureDepth(CallDepth)) throw CallDepthExceeded(callee);
    }

    public TrapException CallDepthExceeded(DecodedFunction callee) =>
        new(TrapCode.CallDepthExceeded, $"call depth limit of {Store.MaxDepth} frames exceeded when calling {Printable.Quote(callee.Name)}");

    /// <summary>Drops every frame: the state after an entry from the host ends, normally or by a trap.</summary>
    public void Reset()
    {
        ResetEntries();
        DropFrames();
        ResetInstances();
        DiscardDeoptimised();
        PendingHost = null;
    }

    /// <summary>Drops the current entry's frame records, depth and slots (they hold nothing live), back to the frames
    /// below the entry (none, unless it is nested in a host call: Fiber.Reentry.cs).</summary>
    private void DropFrames()
    {
        CallDepth = EntryDepth;
        FrameCount = EntryFrames;
        SlotTop = EntryBase;
    }

    public void EnsureSlots(int required)
    {
        if (required <= Slots.Length) return;
        if (required > MaxSlots)
            throw new TrapException(TrapCode.CallDepthExceeded, $"the frame stack would exceed {MaxSlots} slots");
        var size = Math.Max(Slots.Length, 16);
        while (size < required) size *= 2;
        Array.Resize(ref Slots, size);
        Array.Resize(ref SlotTags, size);
    }

    /// <summary>
    /// Updates this fiber's stack roots: the live slots of every interpreter frame (typed by the verifier's stack
    /// map at the pc where the frame is suspended), compiled functions' spill areas (tagged), and the frames of a
    /// deoptimisation in progress.
    /// </summary>
    public void UpdateRoots(Heap heap)
    {
        var slots = Slots;
        var tags = SlotTags;
        for (var f = 0; f < FrameCount; f++)
        {
            ref var record = ref Frames[f];
            if (record.Function is not { } function)
            {
                for (var k = record.Fp; k < record.Fp + record.SpillCount; k++)
                    if (tags[k] != 0) slots[k] = heap.Forward(slots[k]);
                continue;
            }
            var opIndex = record.Ip - 1;
            var pc = function.SourcePc[opIndex];
            var stack = function.Analysis.StackBefore[pc];
            var live = Verification.TypeStack.HeightOf(stack) - Math.Max(0, Interpreter.Interpreter.ArgumentsConsumed(function.Module, function.Analysis.Definition.Code[pc]));
            var localTypes = function.Analysis.LocalTypes;
            var liveness = record.EveryLocalLive ? null : function.Analysis.Liveness;
            for (var i = 0; i < localTypes.Length; i++)
            {
                if (liveness?.IsLive(pc, i) != false) UpdateSlot(heap, record.Fp + i, localTypes[i]);
                else ClearDeadSlot(record.Fp + i, localTypes[i]);
            }
            var types = Verification.TypeStack.ToArray(stack);
            for (var k = 0; k < live; k++) UpdateSlot(heap, record.Fp + localTypes.Length + k, types[k]);
        }
        UpdateDeoptimisedRoots(heap);
    }

    /// <summary>A dead local is no root, and is cleared rather than left pointing where its object was: the frame
    /// writes it before reading it again, and nothing else may see a stale pointer (a deoptimised or resumed frame's
    /// slots are copied around as they are).</summary>
    private void ClearDeadSlot(int slot, Bytecode.VmType type)
    {
        if (type is not (Bytecode.VmType.Ptr or Bytecode.VmType.Word)) return;
        Slots[slot] = 0;
        SlotTags[slot] = 0;
    }

    private void UpdateSlot(Heap heap, int slot, Bytecode.VmType type)
    {
        // A ptr slot holding 0 is a pointer local not yet assigned; a word is a pointer only when tagged.
        if (type == Bytecode.VmType.Ptr ? Slots[slot] != 0 : type == Bytecode.VmType.Word && SlotTags[slot] != 0)
            Slots[slot] = heap.Forward(Slots[slot]);
    }
}
