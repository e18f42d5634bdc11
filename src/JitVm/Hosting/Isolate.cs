using JitVm.Bytecode;
using JitVm.Jit;
using JitVm.Diagnostics;
using JitVm.Interpreter;
using JitVm.Memory;
using JitVm.Runtime;

namespace JitVm.Hosting;

/// <summary>
/// A running instance of a module: its own heap, globals, frame stack, fuel and limits. An isolate has a single
/// owner: it must not be entered from two threads at once.
/// </summary>
/// <remarks>The isolate is the public face of three owners (spec/internals.md §1): a <see cref="Runtime.Store"/>
/// (heap, handles, limits, statistics), the module's <see cref="Runtime.Instance"/> in it (imports and globals), and
/// one <see cref="Runtime.Fiber"/> that runs its entries.</remarks>
public sealed partial class Isolate
{
    /// <summary>Creates an isolate, linking the module's imports to the given host functions by name.</summary>
    /// <exception cref="LinkException">An import is missing or its signature differs from the host function's.</exception>
    public Isolate(Module module, IEnumerable<HostFunction>? hostFunctions = null, IsolateOptions? options = null)
    {
        Module = module;
        options ??= new IsolateOptions();
        Store = new Store(this, options);
        Instance = new Instance(Store, module, hostFunctions, Store.DeoptStress != DeoptStressMode.Off);
        Fiber = new Fiber(Store, Instance);
    }

    /// <summary>An isolate of <paramref name="module"/> linked by a <see cref="Linker"/>: an instance of each of
    /// <paramref name="dependencies"/> first (in that order, each linked to those before it and the host functions),
    /// then the module's own instance, which the isolate's entries run.</summary>
    internal Isolate(Module module, IReadOnlyList<(string Name, Module Module)> dependencies, IReadOnlyList<HostFunction> hostFunctions, IsolateOptions options)
    {
        Module = module;
        Store = new Store(this, options);
        var deoptStress = Store.DeoptStress != DeoptStressMode.Off;
        var instances = new Dictionary<string, Instance>(StringComparer.Ordinal);
        foreach (var (name, dependency) in dependencies)
            instances[name] = new Instance(Store, dependency, hostFunctions, deoptStress, instances);
        Instance = new Instance(Store, module, hostFunctions, deoptStress, instances);
        Fiber = new Fiber(Store, Instance);
    }

    private Isolate(Module module, Instance template, IsolateOptions options, FuelPool? taskFuel)
    {
        Module = module;
        Store = new Store(this, options, taskFuel);
        Instance = new Instance(Store, template);
        Fiber = new Fiber(Store, Instance, initialSlots: Fiber.TaskSlots);
    }

    /// <summary>The isolate of a spawned task: <paramref name="template"/>'s module and host functions, fresh globals, a
    /// small heap and frame stack that grow as needed, fuel drawn from the tree's pool, and the other limits of the
    /// root's options applied to the task alone (a timeout is per host entry, so tasks have none; the deadline
    /// applies). It is an ended task's isolate of the tree, reset, when one is kept (<see cref="TryReuseForTask"/>),
    /// else a new one.</summary>
    internal static Isolate ForTask(Instance template, Concurrency.Scheduler scheduler) =>
        scheduler.TaskIsolates.TryTake(template) ?? new(template.Module, template, scheduler.TaskOptions, scheduler.TaskFuel);

    /// <summary>After its task has ended, makes this task isolate what <see cref="ForTask"/> builds, under a name of
    /// its own again (the next task is another isolate in log events); false when it must not be reused (see
    /// <see cref="Store.ResetForNextTask"/>).</summary>
    internal bool TryReuseForTask()
    {
        if (!Store.ResetForNextTask(Fiber)) return false;
        _name = null;
        return true;
    }

    /// <summary>The module this isolate runs.</summary>
    public Module Module { get; }

    private static int s_isolatesCreated;

    /// <summary>The isolate's name in log events: <see cref="IsolateOptions.Name"/>, or <c>isolate N</c>, N counting
    /// the isolates of the process from 1 (each spawned task counts as one).</summary>
    public string Name => _name ??= Store.Options.Name ?? $"isolate {Interlocked.Increment(ref s_isolatesCreated)}";

    private string? _name;

    internal Store Store { get; }

    internal Instance Instance { get; }

    internal Fiber Fiber { get; }

    internal Heap Heap => Store.Heap;

    /// <summary>Bytes allocated on the heap since the isolate was created (live or collected).</summary>
    public long HeapAllocatedBytes => Heap.AllocatedBytes;

    /// <summary>Objects allocated since the isolate was created.</summary>
    public long ObjectsAllocated => Heap.ObjectCount;

    /// <summary>Bytes the heap's objects occupy now.</summary>
    public long HeapUsedBytes => Heap.UsedBytes;

    /// <summary>Collection counts and pauses, bytes in use after the last collection, and bytes promoted out of the nursery.</summary>
    public GcStatistics GcStatistics => new(Heap.MinorCollections, Heap.MajorCollections, Heap.TotalPause, Heap.LongestPause,
        Heap.LongestMinorPause, Heap.LiveBytesAfterLastCollection, Heap.PromotedBytes);

    /// <summary>
    /// Keeps the object a pointer value names alive and tracks it across collections. <paramref name="pointer"/>
    /// must have been given out by this isolate (a ptr result, a word result holding a pointer, <see cref="Handle.Value"/>
    /// or <see cref="Pointer.Value"/>) and still be fresh: not kept across a later run, host call or collection.
    /// </summary>
    /// <exception cref="ArgumentException">The value is not a pointer, was made by the host (it names no object),
    /// belongs to another isolate, or was altered.</exception>
    /// <exception cref="InvalidOperationException">The value is stale.</exception>
    public Handle CreateHandle(Value pointer) => Store.HandleFor(Store.ResolvePointer(pointer, nameof(pointer)));

    /// <summary>Opens a scope: handles created until it is disposed are disposed with it.</summary>
    public HandleScope OpenHandleScope() => Store.OpenHandleScope();

    /// <summary>Collects garbage now (outside VM code, so only globals and handles hold roots).</summary>
    public void CollectGarbage() => Store.CollectGarbage();

    /// <summary>The execution policy in force (always Interpreter where dynamic code is not supported).</summary>
    public ExecutionTier Tier => Store.Tier;

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
        Store.BeginEntry(Fiber);
        Value[] results;
        try
        {
            results = InvokeOwned(functionIndex, arguments);
        }
        finally
        {
            Store.EndEntry(Fiber);
        }
        return ForHost(results);
    }

    /// <summary>Pointer results become values for the host in the epoch that began when the entry ended.</summary>
    private Value[] ForHost(Value[] results)
    {
        for (var i = 0; i < results.Length; i++)
            if (results[i].IsPointer) results[i] = Store.PointerValue(results[i].Type, results[i].Bits);
        return results;
    }

    private Value[] InvokeOwned(int functionIndex, Value[] arguments)
    {
        Fiber.Execute(functionIndex, EnterArguments(functionIndex, arguments));
        return EntryResults(functionIndex);
    }

    /// <summary>Checks an entry's arguments against function <paramref name="functionIndex"/>'s signature and puts them
    /// in the fiber's entry slots; returns the entry's width (slots for its arguments and for its results).</summary>
    private int EnterArguments(int functionIndex, Value[] arguments)
    {
        var definition = Module.Definition;
        var signature = definition.SignatureOf(functionIndex);
        if (arguments.Length != signature.Parameters.Length)
            throw new ArgumentException(Printable.ArgumentCountMismatch(Printable.Quote(definition.NameOf(functionIndex)), signature, arguments.Length));
        for (var i = 0; i < arguments.Length; i++)
            if (arguments[i].Type != signature.Parameters[i])
                throw new ArgumentException(Printable.ArgumentTypeMismatch(i, Printable.Quote(definition.NameOf(functionIndex)), signature.Parameters[i], arguments[i].Type));
        var bits = new long[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            var isPointer = arguments[i].Type == VmType.Ptr || arguments[i].IsPointer;
            bits[i] = isPointer ? Store.ResolvePointer(arguments[i], $"argument {i} of {Printable.Quote(definition.NameOf(functionIndex))}") : arguments[i].Bits;
            if (isPointer && !Store.IsHandlePointer(bits[i]))
                throw new ArgumentException($"argument {i} of {Printable.Quote(definition.NameOf(functionIndex))} is a pointer that no live handle holds; pass pointers in through Handle.Value");
        }

        var fiber = Fiber;
        var width = Math.Max(arguments.Length, signature.Results.Length);
        var first = fiber.EntryBase;
        fiber.EnsureSlots(first + width + 1);
        for (var i = 0; i < arguments.Length; i++)
            fiber.SetEntryArgument(i, bits[i], arguments[i].IsPointer || arguments[i].Type == VmType.Ptr ? (byte)1 : (byte)0);
        return width;
    }

    /// <summary>The results of the entry of function <paramref name="functionIndex"/> that just returned.</summary>
    private Value[] EntryResults(int functionIndex)
    {
        var signature = Module.Definition.SignatureOf(functionIndex);
        var fiber = Fiber;
        var first = fiber.EntryBase;
        var results = new Value[signature.Results.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var type = signature.Results[i];
            results[i] = new Value(type, fiber.Slots[first + i], type == VmType.Ptr || (type == VmType.Word && fiber.SlotTags[first + i] != 0));
        }
        return results;
    }

    /// <summary>
    /// A table of the module's functions: the tier each is in, the time spent compiling it (emitting IL; the CLR
    /// compiles the IL to machine code at its first call), and how many calls the interpreter made to it.
    /// </summary>
    public string Statistics()
    {
        var heap = Heap;
        var text = new System.Text.StringBuilder();
        text.AppendLine($"tier policy: {Tier.ToString().ToLowerInvariant()}; fuel used: {FuelUsed}; {Store.DescribeCompileBudget()}; " +
                        $"{Store.FramesDeoptimised} compiled frames deoptimised");
        text.AppendLine($"heap: {HeapAllocatedBytes} bytes allocated in {ObjectsAllocated} objects, {HeapUsedBytes} in use; " +
                        $"{heap.MinorCollections} minor and {heap.MajorCollections} full collections, {heap.TotalPause.TotalMilliseconds:0.###} ms total pause, " +
                        $"longest minor {heap.LongestMinorPause.TotalMilliseconds:0.###} ms, longest {heap.LongestPause.TotalMilliseconds:0.###} ms; " +
                        $"{heap.PromotedBytes} bytes promoted; {heap.LiveBytesAfterLastCollection} bytes in use after the last collection");
        text.AppendLine($"{"function",-24} {"tier",-12} {"compile",10} {"IL bytes",9} {"interpreted calls",18}");
        foreach (var function in Instance.Functions)
        {
            var compiled = function.Compiled;
            var tier = compiled is null ? "interpreter" : compiled.Saved ? "aot" : "jit";
            var time = compiled is null ? "-" : $"{compiled.CompileTime.TotalMicroseconds:0} us";
            text.AppendLine($"{Printable.Bare(function.Name),-24} {tier,-12} {time,10} {(compiled?.IlSize.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"),9} {function.InterpretedCalls,18}");
            if (compiled?.Pieced is { } pieced)
                text.AppendLine($"  compiled in {pieced.Plan.Count} pieces, entered {pieced.PiecesEntered} times");
            if (function.NotCompiledReason is { } reason) text.AppendLine($"  not compiled: {reason}");
            else if (compiled is null && Store.CompilationDenied(function)) text.AppendLine("  not compiled: this isolate's compile budget is spent");
        }
        return text.ToString();
    }

    /// <summary>How a result prints: integers and floats as text, pointers as <c>&lt;ptr len=N&gt;</c>.</summary>
    /// <exception cref="ArgumentException">A pointer <paramref name="value"/> was not given out by this isolate.</exception>
    /// <exception cref="InvalidOperationException">A pointer <paramref name="value"/> is stale.</exception>
    public string Describe(Value value) =>
        value.IsPointer || value.Type == VmType.Ptr ? $"<ptr len={Heap.Length(Store.ResolvePointer(value, "the value"))}>" : value.ToString();

    /// <summary>
    /// Copies bytes of a heap object, with the same checks as <c>load.u8</c> (traps on bad bounds or pointer words).
    /// <paramref name="pointer"/> is a pointer argument of the untyped host function now running, or the
    /// <see cref="Value.Bits"/> of a pointer value given out since the isolate last ran.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pointer"/> is stale or was never a pointer.</exception>
    /// <exception cref="TrapException"><see cref="TrapCode.OutOfBounds"/> or <see cref="TrapCode.TagMismatch"/>.</exception>
    public void ReadBytes(long pointer, long start, Span<byte> destination) =>
        Heap.CopyBytes(Store.ResolveRawToken(pointer, "pointer"), start, destination.Length, destination, nameof(ReadBytes));

    // The host's views of pointers and handles (see Store.HostViews.cs), for Handle, Pointer and host functions.
    internal long ViewEpoch => Store.ViewEpoch;

    internal long[] HandleSlots => Store.HandleSlots;

    internal int HandleGeneration => Store.HandleGeneration;

    internal Value PointerValue(VmType type, long bits) => Store.PointerValue(type, bits);

    internal Value ResultValue(VmType type, long bits, bool isPointer) => Store.ResultValue(type, bits, isPointer);

    internal long ResolveRawToken(long token, string what) => Store.ResolveRawToken(token, what);

    internal Handle HandleFor(long bits) => Store.HandleFor(bits);

    internal void FreeHandle(int slot) => Store.FreeHandle(slot);

    internal void CloseHandleScope(HandleScope scope, int depth) => Store.CloseHandleScope(scope, depth);
}
