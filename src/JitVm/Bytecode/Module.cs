using System.Collections.Immutable;
using System.Collections.ObjectModel;
using System.Runtime.InteropServices;

namespace JitVm.Bytecode;

/// <summary>A function signature: parameter and result types.</summary>
public sealed class FunctionType : IEquatable<FunctionType>
{
    /// <summary>Creates a signature.</summary>
    public FunctionType(IEnumerable<VmType> parameters, IEnumerable<VmType> results)
    {
        Parameters = [.. parameters];
        Results = [.. results];
    }

    /// <summary>Parameter types, in order.</summary>
    public ImmutableArray<VmType> Parameters { get; }

    /// <summary>Result types, in order; the last one is on top of the stack after a call.</summary>
    public ImmutableArray<VmType> Results { get; }

    /// <inheritdoc />
    public bool Equals(FunctionType? other) =>
        other is not null && Parameters.SequenceEqual(other.Parameters) && Results.SequenceEqual(other.Results);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as FunctionType);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var t in Parameters) hash.Add(t);
        hash.Add(-1);
        foreach (var t in Results) hash.Add(t);
        return hash.ToHashCode();
    }

    /// <summary>The signature as the assembly language writes it: <c>(i64 ptr) -> (f64)</c>.</summary>
    public override string ToString() =>
        $"({string.Join(' ', Parameters.Select(p => p.Name()))}) -> ({string.Join(' ', Results.Select(r => r.Name()))})";
}

/// <summary>
/// One instruction. <see cref="Operand"/> holds the immediate: the constant (an f64 as its bits), or the index of
/// a local, global, function, signature, data segment or target instruction. A <c>br_table</c> keeps its case
/// targets in <see cref="Targets"/> and its default target in <see cref="Operand"/>.
/// </summary>
/// <param name="OpCode">The instruction.</param>
/// <param name="Operand">The immediate operand, or 0.</param>
/// <param name="Targets">The case targets of a <c>br_table</c>; null otherwise.</param>
public readonly record struct Instruction(OpCode OpCode, long Operand = 0, int[]? Targets = null)
{
    /// <summary>The instruction's own copy of the targets: no array a caller holds can change a verified module.</summary>
    private readonly int[]? _targets = Targets?.ToArray();

    /// <summary>The case targets of a <c>br_table</c> (a copy; changing it changes nothing); null otherwise.</summary>
    public int[]? Targets
    {
        get => _targets?.ToArray();
        init => _targets = value?.ToArray();
    }

    /// <summary>The operand of an <c>f64.const</c> as a double.</summary>
    public double F64 => BitConverter.Int64BitsToDouble(Operand);

    /// <summary>The operand as an index.</summary>
    public int Index => (int)Operand;

    /// <inheritdoc />
    public bool Equals(Instruction other) =>
        OpCode == other.OpCode && Operand == other.Operand &&
        (_targets is null ? other._targets is null : other._targets is not null && _targets.AsSpan().SequenceEqual(other._targets));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(OpCode, Operand, _targets?.Length ?? -1);
}

/// <summary>A host function the module needs; the embedder supplies it by name when the module is linked.</summary>
/// <param name="Name">The name the host provides the function under.</param>
/// <param name="TypeIndex">Index of its signature in <see cref="ModuleDefinition.Types"/>.</param>
public sealed record ImportDefinition(string Name, int TypeIndex);

/// <summary>A module-level variable of a non-pointer type (there is no null, so globals cannot hold a bare <c>ptr</c>).</summary>
/// <param name="Name">Its name.</param>
/// <param name="Type">i64, f64 or word (a word global starts as the untagged integer given).</param>
/// <param name="InitialBits">The initial value's 64 bits.</param>
public sealed record GlobalDefinition(string Name, VmType Type, long InitialBits)
{
    /// <summary>Whether other modules may import the global (<c>.global NAME TYPE export</c>): an importer's
    /// <c>global.get</c> and <c>global.set</c> then read and write this very cell (spec/execution.md §2.1).</summary>
    public bool Exported { get; init; }
}

/// <summary>A global of another module, imported by name <c>MODULE.GLOBAL</c> (spec/execution.md §2.1). Imported
/// globals take the global indices after the defined ones, in this order; the linker aliases each to the exporter's
/// cell, so a write through either module is seen by both.</summary>
/// <param name="Name">The import's name, <c>MODULE.GLOBAL</c>.</param>
/// <param name="Type">The type the importer expects: i64, f64 or word, exactly the exported global's.</param>
public sealed record GlobalImportDefinition(string Name, VmType Type);

/// <summary>Named constant bytes that <c>data.alloc</c> copies into a fresh heap object.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Bytes">Its contents.</param>
public sealed record DataSegment(string Name, byte[] Bytes);

/// <summary>An exception tag: what <c>throw</c> names and a handler catches (spec/exceptions.md). Tags belong to their
/// module: they are neither exported nor imported.</summary>
/// <param name="Name">Its name, unique among the module's tags.</param>
/// <param name="Parameters">The types of the payload an exception of this tag carries, deepest first.</param>
public sealed record TagDefinition(string Name, IReadOnlyList<VmType> Parameters);

/// <summary>One entry of a function's handler table (spec/exceptions.md §2): an exception of <paramref name="Tag"/>
/// thrown while the instruction at a pc in [<paramref name="Start"/>, <paramref name="End"/>) runs — by a
/// <c>throw</c> there or in a function it calls — continues at <paramref name="Handler"/> with the payload on an
/// otherwise empty operand stack.</summary>
/// <param name="Start">The first pc of the protected range.</param>
/// <param name="End">The pc after the protected range.</param>
/// <param name="Tag">The tag index caught.</param>
/// <param name="Handler">The pc the handler starts at.</param>
public readonly record struct HandlerDefinition(int Start, int End, int Tag, int Handler);

/// <summary>A function defined by the module: signature, locals, code and optional debug information.</summary>
public sealed class FunctionDefinition
{
    /// <summary>Creates a function.</summary>
    public FunctionDefinition(string name, int typeIndex, bool exported, IEnumerable<VmType> locals, IEnumerable<Instruction> code)
    {
        Name = name;
        TypeIndex = typeIndex;
        Exported = exported;
        Locals = [.. locals];
        _code = [.. code];
    }

    /// <summary>The reader's function: <paramref name="locals"/> and <paramref name="code"/> are its own (not copied);
    /// with <paramref name="deferred"/> instead of code, the instructions are decoded when <see cref="Code"/> is first read.</summary>
    internal FunctionDefinition(string name, int typeIndex, bool exported, VmType[] locals, Instruction[]? code, ModuleReader.DeferredCode? deferred)
    {
        Name = name;
        TypeIndex = typeIndex;
        Exported = exported;
        Locals = ImmutableCollectionsMarshal.AsImmutableArray(locals);
        _code = code;
        _deferredCode = deferred;
    }

    /// <summary>Its name, unique among the module's functions and imports.</summary>
    public string Name { get; }

    /// <summary>Index of its signature in <see cref="ModuleDefinition.Types"/>.</summary>
    public int TypeIndex { get; }

    /// <summary>True when the host may call it by name.</summary>
    public bool Exported { get; }

    /// <summary>Types of the declared locals, which follow the parameters in the local index space.</summary>
    public ImmutableArray<VmType> Locals { get; }

    /// <summary>
    /// The declared locals that hold a typed function reference (spec/values.md §2.1), by their index in
    /// <see cref="Locals"/> (0 is the first declared local, not the first parameter), each with the index in
    /// <see cref="ModuleDefinition.Types"/> of the signature its type <c>ref s</c> names. Such a local's entry in
    /// <see cref="Locals"/> is <see cref="VmType.I64"/>: a typed reference is a function index at run time. Null or
    /// empty when the function has none (format version 4 and later only).
    /// </summary>
    public IReadOnlyDictionary<int, int>? ReferenceLocals
    {
        get => _referenceLocals;
        init => _referenceLocals = value is null ? null : new System.Collections.ObjectModel.ReadOnlyDictionary<int, int>(new Dictionary<int, int>(value));
    }

    // The function's own copy: no dictionary a caller holds can change a verified module.
    private readonly IReadOnlyDictionary<int, int>? _referenceLocals;

    /// <summary>The instructions; a pc is an index into this array.</summary>
    /// <exception cref="Diagnostics.ModuleFormatException">Only for a module read from a saved assembly, whose bodies are decoded
    /// when first read (<see cref="ModuleReader.ReadCarried"/>): this body is malformed.</exception>
    public ImmutableArray<Instruction> Code => ImmutableCollectionsMarshal.AsImmutableArray(Volatile.Read(ref _code) ?? DecodeCode());

    // Set when made, or else published once from _deferredCode (two threads may both decode: the reading is
    // deterministic, and the first array published is the one kept). Never changed afterwards.
    private Instruction[]? _code;
    private readonly ModuleReader.DeferredCode? _deferredCode;

    /// <summary>The number of instructions, without decoding a body that is not decoded yet.</summary>
    internal int InstructionCount => Volatile.Read(ref _code)?.Length ?? _deferredCode!.Count;

    private Instruction[] DecodeCode()
    {
        var code = _deferredCode!.Decode();
        return Interlocked.CompareExchange(ref _code, code, null) ?? code;
    }

    /// <summary>Names of parameters and locals, for diagnostics and disassembly; null when absent.</summary>
    public IReadOnlyList<string>? LocalNames { get; init; }

    /// <summary>The source line of every instruction (0 = unknown); null when the module has no line information.</summary>
    public IReadOnlyList<int>? Lines { get; init; }

    /// <summary>Label names by instruction index, for disassembly; null when absent.</summary>
    public IReadOnlyDictionary<int, string>? LabelNames { get; init; }

    /// <summary>The handler table, searched in order (spec/exceptions.md §2); empty for most functions.</summary>
    public IReadOnlyList<HandlerDefinition> Handlers
    {
        get => _handlers;
        init => _handlers = [.. value];
    }

    private readonly HandlerDefinition[] _handlers = [];

    /// <summary>The source line of the instruction at <paramref name="pc"/>, or 0 when unknown.</summary>
    public int LineAt(int pc) => Lines is { } lines && (uint)pc < (uint)lines.Count ? lines[pc] : 0;
}

/// <summary>
/// A module as data: what the reader and assembler produce and the writer and disassembler consume. It is not
/// yet verified; <see cref="Verification.Verifier"/> checks it.
/// </summary>
public sealed class ModuleDefinition
{
    /// <summary>Creates a module from its parts.</summary>
    /// <param name="types">Signatures.</param>
    /// <param name="imports">Host functions.</param>
    /// <param name="functions">Defined functions.</param>
    /// <param name="globals">Globals.</param>
    /// <param name="data">Data segments.</param>
    /// <param name="sourceName">The source file name; null or empty when unknown (both give a null
    /// <see cref="SourceName"/>, as the binary format stores an unknown source name as the empty name).</param>
    public ModuleDefinition(
        IEnumerable<FunctionType> types,
        IEnumerable<ImportDefinition> imports,
        IEnumerable<FunctionDefinition> functions,
        IEnumerable<GlobalDefinition> globals,
        IEnumerable<DataSegment> data,
        string? sourceName = null)
    {
        Types = new ReadOnlyCollection<FunctionType>([.. types]);
        Imports = new ReadOnlyCollection<ImportDefinition>([.. imports]);
        Functions = new ReadOnlyCollection<FunctionDefinition>([.. functions]);
        Globals = new ReadOnlyCollection<GlobalDefinition>([.. globals]);
        Data = new ReadOnlyCollection<DataSegment>([.. data]);
        SourceName = string.IsNullOrEmpty(sourceName) ? null : sourceName;
    }

    /// <summary>Signatures, referenced by index from imports, functions and <c>call_indirect</c>.</summary>
    public IReadOnlyList<FunctionType> Types { get; }

    /// <summary>Host functions; they take function indices 0 .. Imports.Count-1.</summary>
    public IReadOnlyList<ImportDefinition> Imports { get; }

    /// <summary>Defined functions; function index Imports.Count + i names Functions[i].</summary>
    public IReadOnlyList<FunctionDefinition> Functions { get; }

    /// <summary>Global variables.</summary>
    public IReadOnlyList<GlobalDefinition> Globals { get; }

    /// <summary>Data segments.</summary>
    public IReadOnlyList<DataSegment> Data { get; }

    /// <summary>The source file the module was assembled from, when known (used in diagnostics); never empty.</summary>
    public string? SourceName { get; }

    /// <summary>Exception tags, referenced by index from <c>throw</c> and handler tables; empty for most modules.</summary>
    public IReadOnlyList<TagDefinition> Tags
    {
        get => _tags;
        init => _tags = new ReadOnlyCollection<TagDefinition>([.. value.Select(t => t with { Parameters = new ReadOnlyCollection<VmType>([.. t.Parameters]) })]);
    }

    private readonly IReadOnlyList<TagDefinition> _tags = [];

    /// <summary>Globals imported from other modules; they take global indices <c>Globals.Count</c> and up, in this
    /// order. Empty for most modules.</summary>
    public IReadOnlyList<GlobalImportDefinition> GlobalImports
    {
        get => _globalImports;
        init => _globalImports = new ReadOnlyCollection<GlobalImportDefinition>([.. value]);
    }

    private readonly IReadOnlyList<GlobalImportDefinition> _globalImports = [];

    /// <summary>Number of entries in the global index space (defined globals, then imported ones).</summary>
    public int GlobalCount => Globals.Count + GlobalImports.Count;

    /// <summary>Whether global index <paramref name="globalIndex"/> names an imported global.</summary>
    public bool IsGlobalImport(int globalIndex) => globalIndex >= Globals.Count;

    /// <summary>The type of the global with the given index in the global index space.</summary>
    public VmType GlobalTypeOf(int globalIndex) =>
        globalIndex < Globals.Count ? Globals[globalIndex].Type : GlobalImports[globalIndex - Globals.Count].Type;

    /// <summary>The name of the global with the given index in the global index space.</summary>
    public string GlobalNameOf(int globalIndex) =>
        globalIndex < Globals.Count ? Globals[globalIndex].Name : GlobalImports[globalIndex - Globals.Count].Name;

    /// <summary>Number of entries in the function index space (imports and defined functions).</summary>
    public int FunctionCount => Imports.Count + Functions.Count;

    /// <summary>The signature of the function with the given index in the function index space.</summary>
    public FunctionType SignatureOf(int functionIndex) =>
        Types[functionIndex < Imports.Count ? Imports[functionIndex].TypeIndex : Functions[functionIndex - Imports.Count].TypeIndex];

    /// <summary>The name of the function with the given index in the function index space.</summary>
    public string NameOf(int functionIndex) =>
        functionIndex < Imports.Count ? Imports[functionIndex].Name : Functions[functionIndex - Imports.Count].Name;
}
