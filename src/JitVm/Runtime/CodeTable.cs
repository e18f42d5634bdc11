using JitVm.Hosting;
using JitVm.Interpreter;

namespace JitVm.Runtime;

/// <summary>
/// A module's code: each defined function in the interpreter's form, with its compiled entry once the JIT (or a
/// loaded assembly) provides one. Built once per module and shared by every instance of it, in every store; a
/// caller reads a function's <see cref="DecodedFunction.Compiled"/> entry at each call, so tier-up needs no patching.
/// A module has a second table for deopt stress (spec/execution.md §9), whose compiled code deoptimises at
/// safepoints on request; nothing else differs.
/// </summary>
internal sealed class CodeTable
{
    private readonly DecodedFunction?[] _decoded;
    private DecodedFunction[]? _all;
    private Jit.JitState? _jit;

    public CodeTable(Module module, bool deoptStress)
    {
        Module = module;
        DeoptStress = deoptStress;
        _decoded = new DecodedFunction?[module.Verified.Functions.Length];
        Indirect = new Jit.IndirectTargets(module);
    }

    /// <summary>The compiled bodies indirect calls from compiled code reach directly.</summary>
    public Jit.IndirectTargets Indirect { get; }

    public Module Module { get; }

    /// <summary>Whether compiled code of this table asks at every safepoint whether to deoptimise (a test mode).</summary>
    public bool DeoptStress { get; }

    /// <summary>The JIT side of this table: what to compile and when.</summary>
    public Jit.JitState Jit
    {
        [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Module.JitNeedsDynamicCode)]
        get => _jit ?? Interlocked.CompareExchange(ref _jit, new Jit.JitState(this), null) ?? _jit!;
    }

    /// <summary>Every defined function, decoded (all at once, so the interpreter's call path has no null checks).</summary>
    public DecodedFunction[] Functions
    {
        get
        {
            if (_all is { } all) return all;
            var functions = new DecodedFunction[_decoded.Length];
            for (var i = 0; i < functions.Length; i++) functions[i] = Decoded(i);
            return _all = functions;
        }
    }

    /// <summary>
    /// Publishes loaded compiled code as defined function <paramref name="definedIndex"/>'s entry (see
    /// <see cref="Jit.SavedCode.Load(System.Reflection.Assembly, Module)"/>). An entry is never replaced: running code and compiled callers may already
    /// have bound to the one there, so a function that has one is refused.
    /// </summary>
    internal void Install(int definedIndex, Jit.CompiledFunction compiled)
    {
        var function = Entry(definedIndex);
        if (Interlocked.CompareExchange(ref function.Compiled, compiled, null) is not null)
            throw new InvalidOperationException($"function {Diagnostics.Printable.Quote(function.Name)} already has compiled code");
    }

    /// <summary>The saved assembly whose code <see cref="Jit.SavedCode.Load(System.Reflection.Assembly, Module)"/> installed in this table, if any.</summary>
    public System.Reflection.Assembly? SavedAssembly { get; private set; }

    /// <summary>Records that this table's code was loaded from <paramref name="assembly"/> (after it was installed).</summary>
    internal void MarkSaved(System.Reflection.Assembly assembly) => SavedAssembly = assembly;

    /// <summary>
    /// Defined function <paramref name="definedIndex"/>'s entry in this table without decoding it: the one already
    /// there, or else a <see cref="DecodedFunction.Deferred"/> one, decoded when its decoded form is first read.
    /// Loading saved code installs its compiled entries here, so a load decodes (and verifies) no function.
    /// </summary>
    public DecodedFunction Entry(int definedIndex)
    {
        var entry = Volatile.Read(ref _decoded[definedIndex]);
        if (entry is not null) return entry;
        entry = DecodedFunction.Deferred(Module.Verified, definedIndex);
        return Interlocked.CompareExchange(ref _decoded[definedIndex], entry, null) ?? entry;
    }

    /// <summary>The interpreter form of a defined function, decoded on first use and then shared.</summary>
    public DecodedFunction Decoded(int definedIndex)
    {
        var decoded = Volatile.Read(ref _decoded[definedIndex]);
        if (decoded is not null) return decoded;
        decoded = Decoder.Decode(Module.Verified, definedIndex);
        return Interlocked.CompareExchange(ref _decoded[definedIndex], decoded, null) ?? decoded;
    }
}
