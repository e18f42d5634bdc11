using JitVm.Bytecode;
using JitVm.Jit;
using JitVm.Diagnostics;
using JitVm.Interpreter;
using JitVm.Memory;
using JitVm.Verification;

namespace JitVm.Hosting;

/// <summary>
/// A running instance of a module: its own heap, globals, frame stack, fuel and limits. An isolate has a single
/// owner: it must not be entered from two threads at once.
/// </summary>
public sealed partial class Isolate : IRootSet
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
    }

    /// <summary>Frame-stack slots are capped so runaway recursion in huge frames traps instead of exhausting memory.</summary>
    private const int MaxSlots = 64 * 1024 * 1024;

    private readonly HostFunction[] _imports;
    private readonly int _maxDepth;
    private readonly DecodedFunction?[] _functions;

    /// <summary>Creates an isolate, linking the module's imports to the given host functions by name.</summary>
    /// <exception cref="LinkException">An import is missing or its signature differs from the host function's.</exception>
    public Isolate(Module module, IEnumerable<HostFunction>? hostFunctions = null, IsolateOptions? options = null)
    {
        Module = module;
        options ??= new IsolateOptions();
        var definition = module.Definition;
        var available = new Dictionary<string, HostFunction>(StringComparer.Ordinal);
        foreach (var host in hostFunctions ?? []) available[host.Name] = host;
        _imports = new HostFunction[definition.Imports.Count];
        for (var i = 0; i < _imports.Length; i++)
        {
            var import = definition.Imports[i];
            var wanted = definition.Types[import.TypeIndex];
            if (!available.TryGetValue(import.Name, out var host))
                throw new LinkException($"{definition.SourceName ?? "module"}: import {Printable.Quote(import.Name)} {wanted} is not provided by the host" +
                                        (available.Count > 0 ? $" (available: {string.Join(", ", available.Keys.Order(StringComparer.Ordinal))})" : ""));
            if (!host.Signature.Equals(wanted))
                throw new LinkException($"{definition.SourceName ?? "module"}: import {Printable.Quote(import.Name)} is declared as {wanted} but the host provides {host.Signature}");
            _imports[i] = host;
        }

        _functions = new DecodedFunction?[definition.Functions.Count];
        var fuel = options.Fuel ?? long.MaxValue;
        if (fuel < 0) throw new ArgumentOutOfRangeException(nameof(options), "fuel cannot be negative");
        _fuelGranted = _fuelReserve = fuel;
        Timeout = options.Timeout;
        CancellationToken = options.CancellationToken;
        _maxDepth = options.MaxCallDepth;
        if (_maxDepth is < 1 or > IsolateOptions.MaximumCallDepth)
            throw new ArgumentOutOfRangeException(nameof(options), _maxDepth,
                $"the call-depth limit (MaxCallDepth) must be from 1 to {IsolateOptions.MaximumCallDepth:N0}");
        Sites = new long[_maxDepth + 2];
        Tier = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? options.Tier : ExecutionTier.Interpreter;
        TierUpCalls = options.TierUpCalls;
        InitCompileBudget(options.CompileBudget);
        Logger = options.Logger;
        Heap = new Heap(options.MaxHeapBytes, options.NurseryBytes)
        {
            Roots = this,
            Stress = options.GcStress,
            StressInterval = Math.Max(1, options.GcStressInterval),
            VerifyEveryCollection = options.VerifyHeap,
            Logger = options.Logger,
        };
        Globals = [.. definition.Globals.Select(g => g.InitialBits)];
        GlobalTags = new byte[Globals.Length];
        Slots = new long[1024];
        SlotTags = new byte[Slots.Length];
    }

    /// <summary>The module this isolate runs.</summary>
    public Module Module { get; }

    /// <summary>Bytes allocated on the heap since the isolate was created (live or collected).</summary>
    public long HeapAllocatedBytes => Heap.AllocatedBytes;

    /// <summary>Objects allocated since the isolate was created.</summary>
    public long ObjectsAllocated => Heap.ObjectCount;

    /// <summary>Bytes the heap's objects occupy now.</summary>
    public long HeapUsedBytes => Heap.UsedBytes;

    /// <summary>Collection counts and pauses, bytes in use after the last collection, and bytes promoted out of the nursery.</summary>
    public GcStatistics GcStatistics => new(Heap.MinorCollections, Heap.MajorCollections, Heap.TotalPause, Heap.LongestPause,
        Heap.LongestMinorPause, Heap.LiveBytesAfterLastCollection, Heap.PromotedBytes);

    internal long[] HandleSlots = new long[16];
    private readonly Stack<int> _freeHandles = new();
    private int _handleCount;
    private readonly List<HandleScope> _scopes = [];

    /// <summary>
    /// Keeps the object a pointer value names alive and tracks it across collections. <paramref name="pointer"/>
    /// must have been given out by this isolate (a ptr result, a word result holding a pointer, <see cref="Handle.Value"/>
    /// or <see cref="Pointer.Value"/>) and still be fresh: not kept across a later run, host call or collection.
    /// </summary>
    /// <exception cref="ArgumentException">The value is not a pointer, was made by the host (it names no object),
    /// belongs to another isolate, or was altered.</exception>
    /// <exception cref="InvalidOperationException">The value is stale.</exception>
    public Handle CreateHandle(Value pointer) => HandleFor(ResolvePointer(pointer, nameof(pointer)));

    /// <summary>Opens a scope: handles created until it is disposed are disposed with it.</summary>
    public HandleScope OpenHandleScope()
    {
        var scope = new HandleScope(this, _scopes.Count);
        _scopes.Add(scope);
        return scope;
    }

    internal void CloseHandleScope(HandleScope scope, int depth)
    {
        if (depth >= _scopes.Count || _scopes[depth] != scope) return;
        for (var i = _scopes.Count - 1; i >= depth; i--)
        {
            foreach (var handle in _scopes[i].Handles) handle.Dispose();
            _scopes.RemoveAt(i);
        }
    }

    private bool IsHandlePointer(long bits)
    {
        for (var i = 0; i < _handleCount; i++)
            if (HandleSlots[i] == bits && bits != 0) return true;
        return false;
    }

    internal void FreeHandle(int slot)
    {
        HandleSlots[slot] = 0;
        _freeHandles.Push(slot);
    }

    /// <summary>Collects garbage now (outside VM code, so only globals and handles hold roots).</summary>
    public void CollectGarbage()
    {
        if (Interlocked.CompareExchange(ref _runningThread, Environment.CurrentManagedThreadId, 0) != 0)
            throw new InvalidOperationException("cannot collect while the isolate is running");
        try
        {
            Heap.Collect(full: true);
        }
        finally
        {
            Volatile.Write(ref _runningThread, 0);
        }
    }

    /// <summary>
    /// The roots: word globals holding pointers, the live slots of every interpreter frame (typed by the verifier's
    /// stack map at the pc where the frame is suspended), and compiled functions' spill areas (tagged).
    /// </summary>
    void IRootSet.UpdateRoots(Heap heap)
    {
        for (var i = 0; i < Globals.Length; i++)
            if (GlobalTags[i] != 0) Globals[i] = heap.Forward(Globals[i]);
        for (var i = 0; i < _handleCount; i++)
            if (HandleSlots[i] != 0) HandleSlots[i] = heap.Forward(HandleSlots[i]);
        // Objects move: every pointer the host was given is stale from now on.
        EndHostViews();
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
            var live = Verification.TypeStack.HeightOf(stack) - Interpreter.Interpreter.ArgumentsConsumed(Module.Definition, function.Analysis.Definition.Code[pc]);
            var localTypes = function.Analysis.LocalTypes;
            for (var i = 0; i < localTypes.Length; i++) UpdateSlot(heap, record.Fp + i, localTypes[i]);
            var types = Verification.TypeStack.ToArray(stack);
            for (var k = 0; k < live; k++) UpdateSlot(heap, record.Fp + localTypes.Length + k, types[k]);
        }
    }

    private void UpdateSlot(Heap heap, int slot, VmType type)
    {
        // A ptr slot holding 0 is a pointer local not yet assigned; a word is a pointer only when tagged.
        if (type == VmType.Ptr ? Slots[slot] != 0 : type == VmType.Word && SlotTags[slot] != 0)
            Slots[slot] = heap.Forward(Slots[slot]);
    }

    internal Heap Heap { get; }

    internal long[] Globals { get; }

    internal byte[] GlobalTags { get; }

    internal long[] Slots { get; private set; }

    internal byte[] SlotTags { get; private set; }

    internal int CallDepth { get; set; }

    /// <summary>The execution policy in force (always Interpreter where dynamic code is not supported).</summary>
    public ExecutionTier Tier { get; }

    internal int TierUpCalls { get; }

    internal Microsoft.Extensions.Logging.ILogger Logger { get; }

    internal int MaxDepth => _maxDepth;

    /// <summary>Sites[d] is the call site (see <see cref="CallSites"/>) of the frame at depth d while it calls.</summary>
    internal long[] Sites { get; }

    /// <summary>First frame-stack slot above every interpreter frame; compiled code passes arguments to host
    /// functions and interpreted or indirect callees from here.</summary>
    internal int SlotTop { get; set; }

    /// <summary>
    /// Every active frame that can hold heap pointers, innermost last: interpreter frames (function, fp, and the
    /// operation to resume at) and compiled functions' spill areas (no function; fp and size). The collector finds
    /// all stack roots here.
    /// </summary>
    internal FrameRecord[] Frames = new FrameRecord[64];

    internal int FrameCount;

    internal void PushRecord(DecodedFunction? function, int fp, int spillCount = 0)
    {
        if (FrameCount == Frames.Length) Array.Resize(ref Frames, Frames.Length * 2);
        Frames[FrameCount++] = new FrameRecord { Function = function, Fp = fp, SpillCount = spillCount };
    }

    /// <summary>Where compiled functions with several results leave them for their caller.</summary>
    internal long[] Results { get; } = new long[ModuleLimits.MaxSignatureArity];

    internal byte[] ResultTags { get; } = new byte[ModuleLimits.MaxSignatureArity];

    /// <summary>Decoded defined functions, decoded on first call.</summary>
    internal DecodedFunction[] Functions
    {
        get
        {
            // Decoding everything up front keeps the interpreter's call path free of null checks.
            if (_functions.Length > 0 && _functions[^1] is null)
                for (var i = 0; i < _functions.Length; i++) _functions[i] ??= Module.Decoded(i);
            return _functions!;
        }
    }

    /// <summary>Calls a function by name. Arguments must match its parameter types.</summary>
    /// <exception cref="ArgumentException">No such function, or the arguments do not match its signature.</exception>
    /// <exception cref="TrapException">The program trapped.</exception>
    public Value[] Invoke(string function, params Value[] arguments)
    {
        var index = Module.FindFunction(function);
        if (index < 0) throw new ArgumentException($"the module has no function named '{function}'", nameof(function));
        return Invoke(index, arguments);
    }

    /// <summary>Calls a function by index in the function index space.</summary>
    public Value[] Invoke(int functionIndex, params Value[] arguments)
    {
        BeginEntry();
        Value[] results;
        try
        {
            results = InvokeOwned(functionIndex, arguments);
        }
        finally
        {
            EndEntry();
        }
        // Pointer results become values for the host in the epoch that began when the entry ended.
        for (var i = 0; i < results.Length; i++)
            if (results[i].IsPointer) results[i] = PointerValue(results[i].Type, results[i].Bits);
        return results;
    }

    private int _runningThread;

    /// <summary>Takes ownership of the isolate for one entry from the host (see <see cref="Invoke(int, Value[])"/>).</summary>
    private void Enter()
    {
        var thread = Environment.CurrentManagedThreadId;
        var owner = Interlocked.CompareExchange(ref _runningThread, thread, 0);
        if (owner != 0)
            throw new InvalidOperationException(owner == thread
                ? "the isolate is already running on this thread; a host function cannot call back into the isolate that called it"
                : $"the isolate is running on thread {owner}; an isolate must not be entered from two threads at once (use one isolate per thread)");
    }

    private void Exit() => Volatile.Write(ref _runningThread, 0);

    /// <summary>
    /// Starts an entry from the host (<see cref="Invoke(int, Value[])"/>, a typed export): takes ownership, so a
    /// second thread entering while the isolate runs fails at once, before it can touch any state, instead of
    /// corrupting the running program; fixes the stack the entry's compiled code may use. The time limits are armed
    /// separately, once the entry's code is compiled (see <see cref="ArmInterrupts"/>).
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.CallDepthExceeded"/>: less than
    /// <see cref="MinimumEntryStack"/> of the thread's stack is left (the isolate is not entered).</exception>
    /// <returns>The stack pointer measured at the entry.</returns>
    internal nuint BeginEntry()
    {
        var (here, limit) = MeasureEntryStack();
        Enter();
        // Only the owner may change the limit: a thread refused by Enter must not touch the running entry's.
        StackLimit = limit;
        return here;
    }

    /// <summary>Ends an entry from the host, normally or by a trap: no frame outlives it.</summary>
    internal void EndEntry()
    {
        EndHostViews();
        CallDepth = 0;
        FrameCount = 0;
        SlotTop = 0;
        Exit();
    }

    /// <summary>Runs a function whose arguments are already in slots [0, n); its results replace them.</summary>
    private void Execute(int functionIndex, int width)
    {
        const int fp = 0;
        SlotTop = width + 1;
        try
        {
            if (functionIndex < _imports.Length)
            {
                ArmInterrupts();
                CallHost(functionIndex, fp);
            }
            else
            {
                var entry = Functions[functionIndex - _imports.Length];
                // With no room for compiled frames at all, the entry runs in the interpreter and compiles nothing.
                var jitting = Tier != ExecutionTier.Interpreter && JitRuntime.StackHasRoom(this, 0);
                if (Tier == ExecutionTier.Jit && jitting) Module.Jit.CompileAll(this);
                var compiled = jitting ? entry.Compiled ?? Module.Jit.TierUpOnEntry(this, entry) : null;
                // The clock starts once the entry's code is compiled: compiling it is the VM's time, not the program's.
                ArmInterrupts();
                if (compiled is not null && JitRuntime.StackHasRoom(this, compiled.StackBytes)) compiled.Adapter(this, 1, fp);
                else Interpreter.Interpreter.Run(this, entry, fp);
            }
        }
        finally
        {
            CallDepth = 0;
            FrameCount = 0;
            SlotTop = 0;
        }
    }

    private Value[] InvokeOwned(int functionIndex, Value[] arguments)
    {
        var definition = Module.Definition;
        var signature = definition.SignatureOf(functionIndex);
        if (arguments.Length != signature.Parameters.Length)
            throw new ArgumentException($"{Printable.Quote(definition.NameOf(functionIndex))} takes {signature.Parameters.Length} arguments {signature}, but {arguments.Length} were given");
        for (var i = 0; i < arguments.Length; i++)
            if (arguments[i].Type != signature.Parameters[i])
                throw new ArgumentException($"argument {i} of {Printable.Quote(definition.NameOf(functionIndex))} must be {signature.Parameters[i].Name()}, but a {arguments[i].Type.Name()} was given");
        var bits = new long[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            var isPointer = arguments[i].Type == VmType.Ptr || arguments[i].IsPointer;
            bits[i] = isPointer ? ResolvePointer(arguments[i], $"argument {i} of {Printable.Quote(definition.NameOf(functionIndex))}") : arguments[i].Bits;
            if (isPointer && !IsHandlePointer(bits[i]))
                throw new ArgumentException($"argument {i} of {Printable.Quote(definition.NameOf(functionIndex))} is a pointer that no live handle holds; pass pointers in through Handle.Value");
        }

        var fp = 0;
        EnsureSlots(fp + Math.Max(arguments.Length, signature.Results.Length) + 1);
        for (var i = 0; i < arguments.Length; i++)
        {
            Slots[fp + i] = bits[i];
            SlotTags[fp + i] = arguments[i].IsPointer || arguments[i].Type == VmType.Ptr ? (byte)1 : (byte)0;
        }
        Execute(functionIndex, Math.Max(arguments.Length, signature.Results.Length));
        var results = new Value[signature.Results.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var type = signature.Results[i];
            results[i] = new Value(type, Slots[fp + i], type == VmType.Ptr || (type == VmType.Word && SlotTags[fp + i] != 0));
        }
        return results;
    }

    /// <summary>
    /// A table of the module's functions: the tier each is in, the time spent compiling it (emitting IL; the CLR
    /// compiles the IL to machine code at its first call), and how many calls the interpreter made to it.
    /// </summary>
    public string Statistics()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"tier policy: {Tier.ToString().ToLowerInvariant()}; fuel used: {FuelUsed}; {DescribeCompileBudget()}");
        text.AppendLine($"heap: {HeapAllocatedBytes} bytes allocated in {ObjectsAllocated} objects, {HeapUsedBytes} in use; " +
                        $"{Heap.MinorCollections} minor and {Heap.MajorCollections} full collections, {Heap.TotalPause.TotalMilliseconds:0.###} ms total pause, " +
                        $"longest minor {Heap.LongestMinorPause.TotalMilliseconds:0.###} ms, longest {Heap.LongestPause.TotalMilliseconds:0.###} ms; " +
                        $"{Heap.PromotedBytes} bytes promoted; {Heap.LiveBytesAfterLastCollection} bytes in use after the last collection");
        text.AppendLine($"{"function",-24} {"tier",-12} {"compile",10} {"IL bytes",9} {"interpreted calls",18}");
        for (var i = 0; i < Module.Definition.Functions.Count; i++)
        {
            var function = Module.Decoded(i);
            var compiled = function.Compiled;
            var tier = compiled is not null ? "jit" : "interpreter";
            var time = compiled is null ? "-" : $"{compiled.CompileTime.TotalMicroseconds:0} us";
            text.AppendLine($"{Printable.Bare(function.Name),-24} {tier,-12} {time,10} {(compiled?.IlSize.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"),9} {function.InterpretedCalls,18}");
            if (function.NotCompiledReason is { } reason) text.AppendLine($"  not compiled: {reason}");
            else if (compiled is null && CompilationDenied(i)) text.AppendLine("  not compiled: this isolate's compile budget is spent");
        }
        return text.ToString();
    }

    internal void EnterFrame(DecodedFunction function, int fp) => PushFrame(function, fp);

    /// <summary>Opens a frame for <paramref name="callee"/> at <paramref name="fp"/>: checks the depth limit, makes room and zeroes its locals.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void PushFrame(DecodedFunction callee, int fp)
    {
        if (CallDepth >= _maxDepth) throw CallDepthExceeded(callee);
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
    }

    internal void CheckDepth(DecodedFunction callee)
    {
        if (CallDepth >= _maxDepth) throw CallDepthExceeded(callee);
    }

    internal TrapException CallDepthExceeded(DecodedFunction callee) =>
        new(TrapCode.CallDepthExceeded, $"call depth limit of {_maxDepth} frames exceeded when calling {Printable.Quote(callee.Name)}");

    internal void PopFrame() => CallDepth--;

    internal void UnwindTo(int depth) => CallDepth = depth;

    internal void EnsureSlots(int required)
    {
        if (required <= Slots.Length) return;
        if (required > MaxSlots)
            throw new TrapException(TrapCode.CallDepthExceeded, $"the frame stack would exceed {MaxSlots} slots");
        var size = Slots.Length;
        while (size < required) size *= 2;
        var slots = Slots;
        var tags = SlotTags;
        Array.Resize(ref slots, size);
        Array.Resize(ref tags, size);
        Slots = slots;
        SlotTags = tags;
    }

    /// <summary>Resolves a call_indirect target: null for a host import (call it with <see cref="CallHost"/>).</summary>
    internal DecodedFunction? ResolveIndirect(long reference, int typeIndex)
    {
        var definition = Module.Definition;
        if ((ulong)reference >= (ulong)definition.FunctionCount)
            throw new TrapException(TrapCode.InvalidFunctionReference, $"function reference {reference} does not name a function (the module has {definition.FunctionCount})");
        var expected = definition.Types[typeIndex];
        var actual = definition.SignatureOf((int)reference);
        if (!actual.Equals(expected))
            throw new TrapException(TrapCode.SignatureMismatch, $"call_indirect expects {expected} but {Printable.Quote(definition.NameOf((int)reference))} is {actual}");
        return reference < _imports.Length ? null : Functions[(int)reference - _imports.Length];
    }

    /// <summary>Calls import <paramref name="import"/> with arguments in slots from <paramref name="fp"/>; results replace them.</summary>
    internal void CallHost(int import, int fp)
    {
        var host = _imports[import];
        var width = Math.Max(host.Signature.Parameters.Length, host.Signature.Results.Length);
        EnsureSlots(fp + width + 1);
        EndHostViews();
        try
        {
            if (host.Typed is null && host.HandlesPointers) CallUntypedHost(host, fp, Slots.AsSpan(fp, width));
            else host.Callback(this, Slots.AsSpan(fp, width));
        }
        // A trap (the host's own, or one from an isolate the host function entered) passes through untouched:
        // rethrowing it at every host boundary would nest one exception dispatch per boundary on the .NET stack.
        catch (Exception exception) when (exception is not TrapException)
        {
            throw HostFailure(import, exception);
        }
        for (var i = 0; i < host.Signature.Results.Length; i++) SlotTags[fp + i] = 0;
    }

    /// <summary>Calls import <paramref name="import"/> with its arguments in <paramref name="values"/>; results replace them.</summary>
    internal void CallHostWith(int import, Span<long> values)
    {
        EndHostViews();
        _imports[import].Callback(this, values);
    }

    /// <summary>The typed delegate behind import <paramref name="import"/>, when the host made it from one.</summary>
    internal Delegate? TypedImport(int import) => _imports[import].Typed;

    /// <summary>What a host function's exception means to the program: a trap it raised stays as it is; anything
    /// else is the trap <see cref="TrapCode.HostError"/>, keeping the exception as its cause.</summary>
    /// <remarks>Running code writes its fuel back before calling a host function, so the isolate's fuel is exact
    /// here (including anything the host charged or assigned): the trap is marked so locating it keeps that.</remarks>
    internal TrapException HostFailure(int import, Exception exception)
    {
        var trap = exception as TrapException ?? new TrapException(TrapCode.HostError,
            $"host function {Printable.Quote(_imports[import].Name)} threw {exception.GetType().Name}: {exception.Message}", exception);
        trap.FuelRecorded = true;
        return trap;
    }

    /// <summary>data.alloc: a new object holding segment <paramref name="segment"/>'s bytes, a word at a time (bytes
    /// are little-endian within words, values.md §2.3). The caller has charged its size part.</summary>
    internal long AllocateData(int segment)
    {
        var bytes = Module.Definition.Data[segment].Bytes;
        var pointer = Heap.Allocate((bytes.Length + 7) / 8);
        var words = Heap.Words;
        var whole = bytes.Length / 8;
        for (var i = 0; i < whole; i++) words[pointer + i] = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8, 8));
        for (var i = whole * 8; i < bytes.Length; i++) Heap.StoreByte(pointer, i, bytes[i]);
        return pointer;
    }

    /// <summary>Most frames a trap's VM stack keeps from the inside (the trap's own first) and from the outside (the
    /// entry's last); the frames between are counted, not kept, so a trap costs bounded memory at any depth.</summary>
    internal const int TraceInnermostFrames = 192, TraceOutermostFrames = 64;

    /// <summary>
    /// The VM stack of a trap: the innermost frame at <paramref name="innermostSite"/> (running at
    /// <paramref name="depth"/>), then each caller's call site from <see cref="Sites"/>, outwards; past
    /// <see cref="TraceInnermostFrames"/> + <see cref="TraceOutermostFrames"/> frames only the two ends are kept.
    /// Returns the frames and how many were left out between them.
    /// </summary>
    internal (List<VmStackFrame> Frames, int Elided) Trace(long innermostSite, int depth)
    {
        var callers = Math.Min(depth, _maxDepth + 1) - 1;
        var total = callers + 1;
        var elided = Math.Max(0, total - TraceInnermostFrames - TraceOutermostFrames);
        var frames = new List<VmStackFrame>(total - elided) { FrameAt(innermostSite) };
        for (var d = callers; d >= 1; d--)
        {
            // Frame d is the (callers - d + 1)th from the inside; skip the middle once the innermost are kept.
            if (elided > 0 && d == callers - (TraceInnermostFrames - 1)) d -= elided - 1;
            else frames.Add(FrameAt(Sites[d]));
        }
        return (frames, elided);
    }

    /// <summary>Records where a trap happened (unless a deeper frame already did) and the fuel left then.</summary>
    internal TrapException Locate(TrapException trap, long site, int depth, long fuel)
    {
        if (!trap.HasStack)
        {
            var (frames, elided) = Trace(site, depth);
            trap.SetStack(frames, elided);
            if (!trap.FuelRecorded) FuelSlice = fuel;
            if (Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
                Log.Trapped(Logger, trap.Code, trap.Location?.Function ?? "?", trap.Location?.Pc ?? -1, trap.Detail);
        }
        return trap;
    }

    private VmStackFrame FrameAt(long site)
    {
        var definition = Module.Definition;
        var index = CallSites.Function(site);
        var pc = CallSites.Pc(site);
        if (index < definition.Imports.Count) return new VmStackFrame(definition.Imports[index].Name, 0, "host", 0, null);
        var function = definition.Functions[index - definition.Imports.Count];
        return new VmStackFrame(function.Name, pc, function.Code[pc].OpCode.Mnemonic(), function.LineAt(pc), definition.SourceName);
    }
}
