using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;
using JitVm.Memory;

namespace JitVm.Runtime;

/// <summary>
/// A module linked to its imports in a store: each import resolved to a host function or to a function of an
/// instance linked earlier in the same store, and the module's globals for this store. The code it runs (the
/// decoded functions and their compiled entries, <see cref="Code"/>) belongs to the module and is shared by every
/// instance of it in every store.
/// </summary>
internal sealed class Instance
{
    /// <summary>An import satisfied by another instance's function: calls run that function on the caller's fiber.</summary>
    internal readonly record struct Link(Instance Target, int FunctionIndex);

    private readonly HostFunction?[] _hosts;
    private readonly Link[] _links;

    /// <summary>Links <paramref name="module"/> in <paramref name="store"/>: every import by name, to a host function
    /// of <paramref name="hostFunctions"/> or else to a function of the same name in an instance already in the store
    /// (the latest first); the signatures must be equal.</summary>
    /// <exception cref="LinkException">An import is missing or its signature differs from what provides it.</exception>
    public Instance(Store store, Module module, IEnumerable<HostFunction>? hostFunctions, bool deoptStress = false,
        IReadOnlyDictionary<string, Instance>? modules = null)
    {
        Store = store;
        Module = module;
        var definition = module.Definition;
        var available = new Dictionary<string, HostFunction>(StringComparer.Ordinal);
        foreach (var host in hostFunctions ?? []) available[host.Name] = host;
        _hosts = new HostFunction?[definition.Imports.Count];
        _links = new Link[definition.Imports.Count];
        for (var i = 0; i < _hosts.Length; i++)
        {
            var import = definition.Imports[i];
            var wanted = definition.Types[import.TypeIndex];
            if (modules is not null && Hosting.Linker.SplitImport(import.Name) is var (moduleName, exportName) &&
                modules.TryGetValue(moduleName, out var provider))
            {
                if (available.ContainsKey(import.Name))
                    throw new LinkException($"{definition.SourceName ?? "module"}: import {Printable.Quote(import.Name)} is ambiguous: both the host and the linked module {Printable.Quote(moduleName)} provide it");
                _links[i] = Hosting.Linker.ResolveExport(definition, import.Name, wanted, moduleName, exportName, provider);
                continue;
            }
            if (available.TryGetValue(import.Name, out var host))
            {
                if (!host.Signature.Equals(wanted))
                    throw new LinkException($"{definition.SourceName ?? "module"}: import {Printable.Quote(import.Name)} is declared as {wanted} but the host provides {host.Signature}");
                _hosts[i] = host;
                continue;
            }
            // Linked by a Linker, an import names its module; only the REPL's session links by bare name.
            if (modules is null && FindExport(store, import.Name) is { } link)
            {
                var provided = link.Target.Module.Definition.SignatureOf(link.FunctionIndex);
                if (!provided.Equals(wanted))
                    throw new LinkException($"{definition.SourceName ?? "module"}: import {Printable.Quote(import.Name)} is declared as {wanted} but the linked module provides {provided}");
                _links[i] = link;
                continue;
            }
            throw new LinkException($"{definition.SourceName ?? "module"}: import {Printable.Quote(import.Name)} {wanted} is not provided by the host" +
                                    (available.Count > 0 ? $" (available: {string.Join(", ", available.Keys.Order(StringComparer.Ordinal))})" : "") +
                                    (Hosting.Linker.SplitImport(import.Name) is var (missing, _) && !available.Keys.Any(k => k.StartsWith(missing + Hosting.Linker.Separator, StringComparison.Ordinal))
                                        ? $", and no module {Printable.Quote(missing)} is linked" : ""));
        }
        (_globalOwners, _globalCells) = LinkGlobals(definition, modules);
        Code = deoptStress ? module.DeoptStressCode : module.Code;
        Functions = Code.Functions;
        Globals = InitialGlobals(definition);
        GlobalTags = new byte[Globals.Length];
        store.Attach(this);
    }

    /// <summary>The exporter's instance and cell of each imported global, in import order. The importer holds no cell
    /// of its own for them, so a pointer in one is a root once, through its owner (<see cref="UpdateRoots"/>), and a
    /// reset restores it once, to the owner's initial value.</summary>
    private readonly Instance[] _globalOwners;

    private readonly int[] _globalCells;

    private static (Instance[], int[]) LinkGlobals(ModuleDefinition definition, IReadOnlyDictionary<string, Instance>? modules)
    {
        var imports = definition.GlobalImports;
        if (imports.Count == 0) return ([], []);
        var owners = new Instance[imports.Count];
        var cells = new int[imports.Count];
        for (var i = 0; i < imports.Count; i++)
            (owners[i], cells[i]) = Hosting.Linker.ResolveGlobalExport(definition, imports[i], modules);
        return (owners, cells);
    }

    /// <summary>The bits of imported global <paramref name="import"/> (0 for the first import) and, in
    /// <paramref name="tag"/>, whether they are a pointer: the exporter's cell.</summary>
    public long GetImportedGlobal(int import, out byte tag)
    {
        var owner = _globalOwners[import];
        var cell = _globalCells[import];
        tag = owner.GlobalTags[cell];
        return owner.Globals[cell];
    }

    /// <summary>Writes imported global <paramref name="import"/>: the exporter's cell, seen by every module that reaches it.</summary>
    public void SetImportedGlobal(int import, long bits, byte tag)
    {
        var owner = _globalOwners[import];
        var cell = _globalCells[import];
        owner.Globals[cell] = bits;
        owner.GlobalTags[cell] = tag;
    }

    /// <summary>The instance and cell that global <paramref name="globalIndex"/> of this instance's global index space
    /// lives in: its own for a defined global, the exporter's for an imported one.</summary>
    public (Instance Owner, int Cell) GlobalCell(int globalIndex)
    {
        var defined = Module.Definition.Globals.Count;
        return globalIndex < defined ? (this, globalIndex) : (_globalOwners[globalIndex - defined], _globalCells[globalIndex - defined]);
    }

    /// <summary>The module's initial globals (a loop, not LINQ over longs, which the runtime would JIT-compile at
    /// start-up).</summary>
    private static long[] InitialGlobals(ModuleDefinition definition)
    {
        var globals = definition.Globals;
        if (globals.Count == 0) return [];
        var bits = new long[globals.Count];
        for (var i = 0; i < bits.Length; i++) bits[i] = globals[i].InitialBits;
        return bits;
    }

    /// <summary>Puts every global back to the module's initial value (a reset of the store).</summary>
    internal void ResetGlobals()
    {
        var globals = Module.Definition.Globals;
        for (var i = 0; i < Globals.Length; i++) Globals[i] = globals[i].InitialBits;
        Array.Clear(GlobalTags);
    }

    /// <summary>A new instance of <paramref name="template"/>'s module in <paramref name="store"/>, linked to the same host
    /// functions, with the module's initial globals (a spawned task's instance). The template's imports are all host functions.</summary>
    public Instance(Store store, Instance template)
    {
        Store = store;
        Module = template.Module;
        _hosts = template._hosts;
        _links = template._links;
        _globalOwners = template._globalOwners;
        _globalCells = template._globalCells;
        Code = template.Code;
        Functions = Code.Functions;
        var definition = Module.Definition;
        Globals = InitialGlobals(definition);
        GlobalTags = Globals.Length == 0 ? [] : new byte[Globals.Length];
        store.Attach(this);
    }

    /// <summary>Whether this instance runs what a new instance made from <paramref name="template"/> would: the same
    /// module, code and host functions (a task's instance kept for reuse, Concurrency/TaskIsolates.cs).</summary>
    public bool IsLike(Instance template) => Module == template.Module && Code == template.Code && _hosts == template._hosts;

    /// <summary>Whether every import is a host function (none is linked to another instance, and no global is imported).</summary>
    public bool AllImportsAreHostFunctions => Array.TrueForAll(_hosts, h => h is not null) && _globalOwners.Length == 0;

    private static Link? FindExport(Store store, string name)
    {
        for (var i = store.Instances.Count - 1; i >= 0; i--)
        {
            var instance = store.Instances[i];
            var index = instance.Module.FindFunction(name);
            // An import of that instance is passed on as it is: calling it there calls whatever provides it.
            if (index >= 0) return new Link(instance, index);
        }
        return null;
    }

    public Store Store { get; }

    /// <summary>Whether an import of this instance is resolved to a function or a global of <paramref name="target"/>.</summary>
    public bool LinksTo(Instance target) => _links.Any(link => link.Target == target) || Array.IndexOf(_globalOwners, target) >= 0;

    public Module Module { get; }

    /// <summary>The code this instance runs: the module's, or its deopt-stress variant (spec/execution.md §9).</summary>
    public CodeTable Code { get; }

    /// <summary>The decoded defined functions, each with its compiled entry once the JIT made one.</summary>
    public DecodedFunction[] Functions { get; }

    public long[] Globals { get; }

    public byte[] GlobalTags { get; }

    public int ImportCount => _hosts.Length;

    public bool IsImport(int functionIndex) => functionIndex < _hosts.Length;

    /// <summary>
    /// Resolves the target of an indirect call: null for an import (call it with <see cref="CallImport"/>). A
    /// <paramref name="typeIndex"/> of 0 or more is call_indirect's (or, when <paramref name="tail"/>,
    /// return_call_indirect's) signature, checked here; a negative one, <c>~s</c>, is that of call_ref or
    /// return_call_ref, whose typed reference the verifier proved names a function of signature s, so nothing is checked.
    /// </summary>
    public DecodedFunction? ResolveIndirect(long reference, int typeIndex, bool tail = false)
    {
        if (typeIndex >= 0) CheckReference(reference, typeIndex, tail ? "return_call_indirect" : "call_indirect");
        return reference < _hosts.Length ? null : Functions[(int)reference - _hosts.Length];
    }

    /// <summary>The signature index of an indirect call's decoded operand (see <see cref="ResolveIndirect"/>).</summary>
    public static int IndirectSignature(int typeIndex) => typeIndex < 0 ? ~typeIndex : typeIndex;

    /// <summary>
    /// Checks that <paramref name="reference"/> names a function of signature <paramref name="typeIndex"/>, as
    /// <paramref name="instruction"/> (call_indirect, return_call_indirect or ref.cast) requires; traps
    /// InvalidFunctionReference or SignatureMismatch otherwise.
    /// </summary>
    public void CheckReference(long reference, int typeIndex, string instruction)
    {
        var definition = Module.Definition;
        if ((ulong)reference >= (ulong)definition.FunctionCount)
            throw new TrapException(TrapCode.InvalidFunctionReference, $"function reference {reference} does not name a function (the module has {definition.FunctionCount})");
        var expected = definition.Types[typeIndex];
        var actual = definition.SignatureOf((int)reference);
        if (!actual.Equals(expected))
            throw new TrapException(TrapCode.SignatureMismatch, $"{instruction} expects {expected} but {Printable.Quote(definition.NameOf((int)reference))} is {actual}");
    }

    /// <summary>
    /// Calls import <paramref name="import"/> with arguments in <paramref name="fiber"/>'s slots from
    /// <paramref name="fp"/>; results replace them. The caller runs at <paramref name="depth"/> and calls from
    /// <paramref name="site"/> (a linked function runs one deeper). An asynchronous host function whose work is
    /// pending suspends the fiber here when <paramref name="resumable"/> (the caller continues at the operation after
    /// the call) and the fiber can be suspended; otherwise the thread blocks on the work (Fiber.Async.cs).
    /// </summary>
    public void CallImport(Fiber fiber, int import, int fp, long site, int depth, bool resumable = true)
    {
        if (_hosts[import] is not { } host)
        {
            fiber.CallLinked(_links[import], fp, site, depth);
            return;
        }
        var width = Math.Max(host.Signature.Parameters.Length, host.Signature.Results.Length);
        fiber.EnsureSlots(fp + width + 1);
        Store.EndHostViews();
        // If the callback calls back into the isolate, the callback's frames go above the host call's slots
        // (Fiber.Reentry.cs), and the frame stack may grow into a new array: the results are then copied over.
        var savedTop = fiber.SlotTop;
        fiber.SlotTop = Math.Max(savedTop, fp + width + 1);
        var slots = fiber.Slots;
        var values = slots.AsSpan(fp, width);
        fiber.BeginHostCall(site, depth);
        // A trap of this isolate's own passes through untouched; anything else (a host exception, or a trap another
        // isolate raised in its code) becomes this isolate's trap here. It is thrown after the catch, once the host
        // function's frames are unwound, so a trap crossing several isolates never nests one exception dispatch per
        // boundary on the .NET stack.
        Exception? failure = null;
        Task<long>? pending = null;
        try
        {
            if (host.Async is not null) pending = StartAsync(fiber, host, values, resumable);
            else if (host.Typed is null && host.HandlesPointers) Store.CallUntypedHost(host, fiber.SlotTags, fp, values);
            else host.Callback(Store.Owner, values);
        }
        catch (Exception exception) when (fiber.HostCallFailed() && (exception is not TrapException trap || trap.IsFromAnotherIsolate(Store.Owner)))
        {
            failure = exception;
        }
        if (failure is not null) throw HostFailure(import, failure);
        fiber.EndHostCall();
        fiber.SlotTop = savedTop;
        if (pending is not null)
        {
            fiber.SuspendForHost(pending, import, site, depth, host.Signature.Results.Length);
            return;
        }
        var results = host.Signature.Results.Length;
        if (fiber.Slots != slots) values[..results].CopyTo(fiber.Slots.AsSpan(fp));
        fiber.SlotTags.AsSpan(fp, results).Clear();
    }

    /// <summary>Calls import <paramref name="import"/> with its arguments in <paramref name="values"/>; results replace
    /// them (the typed host-call paths of compiled code, whose values are all i64 or f64).</summary>
    public void CallImportWith(Fiber fiber, int import, Span<long> values, long site, int depth)
    {
        if (_hosts[import] is { } host)
        {
            Store.EndHostViews();
            fiber.BeginHostCall(site, depth);
            if (host.Async is null) host.Callback(Store.Owner, values);
            else if (StartAsync(fiber, host, values, resumable: true) is { } pending)
            {
                fiber.EndHostCall();
                fiber.SuspendForHost(pending, import, site, depth, host.Signature.Results.Length);
                return;
            }
            fiber.EndHostCall();
            return;
        }
        var fp = fiber.SlotTop;
        fiber.EnsureSlots(fp + values.Length + 1);
        values.CopyTo(fiber.Slots.AsSpan(fp));
        fiber.SlotTags.AsSpan(fp, values.Length).Clear();
        fiber.CallLinked(_links[import], fp, site, depth);
        fiber.Slots.AsSpan(fp, values.Length).CopyTo(values);
    }

    /// <summary>
    /// Starts asynchronous host function <paramref name="host"/> on <paramref name="values"/>: returns its work when it
    /// is pending and the fiber may suspend in it; otherwise its result (if it has one) is in values[0] when this
    /// returns null, the thread having blocked on the work if it had to (documented in spec/embedding.md §3.4).
    /// </summary>
    private static Task<long>? StartAsync(Fiber fiber, HostFunction host, Span<long> values, bool resumable)
    {
        var work = host.Async!(fiber.Store.Owner, values, fiber.EntryCancellation);
        long result;
        if (work.IsCompleted) result = work.GetAwaiter().GetResult();
        else if (resumable && fiber.CanSuspendForHost) return work.AsTask();
        else result = work.AsTask().GetAwaiter().GetResult();
        if (host.Signature.Results.Length == 1) values[0] = result;
        return null;
    }

    /// <summary>The typed delegate behind import <paramref name="import"/>, when a host function made from one provides it.</summary>
    public Delegate? TypedImport(int import) => _hosts[import]?.Typed;

    /// <summary>What a host function's exception means to the program: a trap it raised stays as it is; anything
    /// else is the trap <see cref="TrapCode.HostError"/>, keeping the exception as its cause.</summary>
    /// <remarks>Running code writes its fuel back before calling a host function, so the fiber's fuel is exact
    /// here (including anything the host charged or assigned): the trap is marked so locating it keeps that.</remarks>
    public TrapException HostFailure(int import, Exception exception)
    {
        var name = Printable.Quote(Module.Definition.Imports[import].Name);
        var trap = exception switch
        {
            // A trap another isolate raised in VM code (it has that isolate's stack): this isolate traps the same
            // way at its own call of the host function, with the other isolate's trap, and its stack, as the cause.
            TrapException { HasStack: true } nested => new TrapException(nested.Code,
                $"host function {name} called into another isolate, which trapped: {nested.Detail}", nested),
            // A trap the host function raised itself stays as it is.
            TrapException raised => raised,
            _ => new TrapException(TrapCode.HostError, $"host function {name} threw {exception.GetType().Name}: {exception.Message}", exception),
        };
        trap.FuelRecorded = true;
        return trap;
    }

    /// <summary>data.alloc: a new object holding segment <paramref name="segment"/>'s bytes, a word at a time (bytes
    /// are little-endian within words, values.md §2.3). The caller has charged its size part.</summary>
    public long AllocateData(int segment)
    {
        var bytes = Module.Definition.Data[segment].Bytes;
        var heap = Store.Heap;
        var pointer = heap.Allocate((bytes.Length + 7) / 8);
        heap.RecordByteLength(pointer, bytes.Length);
        var words = heap.Words;
        var whole = bytes.Length / 8;
        for (var i = 0; i < whole; i++) words[pointer + i] = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8, 8));
        for (var i = whole * 8; i < bytes.Length; i++) heap.StoreByte(pointer, i, bytes[i]);
        return pointer;
    }

    /// <summary>The size part of data.alloc's cost for segment <paramref name="segment"/>.</summary>
    public long DataAllocationFuel(int segment) => SizeFuel.ForSegment(Module.Definition.Data[segment].Bytes.Length);

    /// <summary>The words data.alloc of segment <paramref name="segment"/> fills (for an out-of-fuel message).</summary>
    public long DataWords(int segment) => (Module.Definition.Data[segment].Bytes.Length + 7) / 8;

    public void UpdateRoots(Heap heap)
    {
        for (var i = 0; i < Globals.Length; i++)
            if (GlobalTags[i] != 0) Globals[i] = heap.Forward(Globals[i]);
    }
}
