using System.Collections.ObjectModel;
using System.Globalization;

namespace JitVm.Bytecode;

/// <summary>
/// Builds a module in code: declare imports, globals, data segments and functions, write each function's body with
/// a <see cref="FunctionBuilder"/>, then call <see cref="ToDefinition"/> or <see cref="Build"/>. The result is the
/// module the assembler produces for the equivalent text (spec/module-builder.md).
/// </summary>
/// <remarks>
/// Items are referred to through the handles the declaring methods return, so functions may call each other before
/// either body is written. Names follow the text format's identifier rules, which keeps every built module
/// printable as text that assembles back to the same module. A builder produces one module: once
/// <see cref="ToDefinition"/> succeeds it is sealed. A builder is not thread-safe.
/// </remarks>
public sealed class ModuleBuilder
{
    private readonly List<FunctionReference> _imports = [];
    private readonly List<FunctionBuilder> _functions = [];
    private readonly List<GlobalReference> _globals = [];
    private readonly List<GlobalReference> _globalImports = [];
    private readonly List<DataReference> _data = [];
    private readonly List<TagReference> _tags = [];
    private readonly HashSet<string> _tagNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _functionNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _globalNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dataNames = new(StringComparer.Ordinal);

    /// <summary>Creates an empty module builder.</summary>
    /// <param name="sourceName">The source file name stored in the module's debug information and shown in
    /// verification errors and trap reports; null for none.</param>
    public ModuleBuilder(string? sourceName = null)
    {
        SourceName = sourceName;
        Imports = new ReadOnlyCollection<FunctionReference>(_imports);
        Functions = new ReadOnlyCollection<FunctionBuilder>(_functions);
        Globals = new ReadOnlyCollection<GlobalReference>(_globals);
        DataSegments = new ReadOnlyCollection<DataReference>(_data);
    }

    /// <summary>The source file name given to the constructor, or null.</summary>
    public string? SourceName { get; }

    /// <summary>The imports declared so far, in declaration order (their function indices).</summary>
    public IReadOnlyList<FunctionReference> Imports { get; }

    /// <summary>The defined functions declared so far, in declaration order.</summary>
    public IReadOnlyList<FunctionBuilder> Functions { get; }

    /// <summary>The globals declared so far, in declaration order (their global indices).</summary>
    public IReadOnlyList<GlobalReference> Globals { get; }

    /// <summary>The data segments declared so far, in declaration order (their data indices).</summary>
    public IReadOnlyList<DataReference> DataSegments { get; }

    /// <summary>True once <see cref="ToDefinition"/> (or <see cref="Build"/>) has produced the module; the builder then
    /// accepts no further changes.</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>Declares a host function the module imports. Imports take the first function indices, in declaration
    /// order, even when declared after defined functions.</summary>
    /// <param name="name">The name the host provides the function under.</param>
    /// <param name="parameters">Its parameter types.</param>
    /// <param name="results">Its result types.</param>
    /// <returns>A handle for <see cref="FunctionBuilder.Call"/> and <see cref="FunctionBuilder.FuncRef"/>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid identifier or is already used by an import or
    /// function, or a type is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionReference Import(string name, IEnumerable<VmType> parameters, IEnumerable<VmType> results)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(results);
        return Import(name, new FunctionType(parameters, results));
    }

    /// <summary>Declares a host function the module imports, with the given signature.</summary>
    /// <param name="name">The name the host provides the function under.</param>
    /// <param name="type">Its signature.</param>
    /// <returns>A handle for <see cref="FunctionBuilder.Call"/> and <see cref="FunctionBuilder.FuncRef"/>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid identifier or is already used by an import or
    /// function, or a type in the signature is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionReference Import(string name, FunctionType type)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(type);
        CheckName(name, "import", nameof(name));
        CheckSignature(type, $"import '{name}'", nameof(type));
        ClaimFunctionName(name);
        var import = new FunctionReference(this, name, type, isImport: true, exported: false, _imports.Count);
        _imports.Add(import);
        return import;
    }

    /// <summary>Declares a function; write its body with the returned builder, now or later.</summary>
    /// <param name="name">The function's name.</param>
    /// <param name="parameters">Its parameter types; parameters take the first local indices.</param>
    /// <param name="results">Its result types.</param>
    /// <param name="export">True to let the host call it by name.</param>
    /// <param name="parameterNames">Optional names of the parameters, one entry per parameter (null or "" for an
    /// unnamed one), shown by the disassembler and in verification errors.</param>
    /// <returns>The function's builder, which is also its handle for calls.</returns>
    /// <exception cref="ArgumentException">A name is not a valid identifier, the function name is already used by an
    /// import or function, two parameters share a name, <paramref name="parameterNames"/> has the wrong number of
    /// entries, or a type is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Function(string name, IEnumerable<VmType> parameters, IEnumerable<VmType> results, bool export = false,
        IEnumerable<string?>? parameterNames = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(results);
        return Function(name, new FunctionType(parameters, results), export, parameterNames);
    }

    /// <summary>Declares a function with the given signature; write its body with the returned builder.</summary>
    /// <param name="name">The function's name.</param>
    /// <param name="type">Its signature; parameters take the first local indices.</param>
    /// <param name="export">True to let the host call it by name.</param>
    /// <param name="parameterNames">Optional names of the parameters, one entry per parameter (null or "" for an
    /// unnamed one).</param>
    /// <returns>The function's builder, which is also its handle for calls.</returns>
    /// <exception cref="ArgumentException">A name is not a valid identifier, the function name is already used by an
    /// import or function, two parameters share a name, <paramref name="parameterNames"/> has the wrong number of
    /// entries, or a type is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Function(string name, FunctionType type, bool export = false, IEnumerable<string?>? parameterNames = null)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(type);
        CheckName(name, "function", nameof(name));
        CheckSignature(type, $"function '{name}'", nameof(type));
        string?[]? names = parameterNames is null ? null : [.. parameterNames];
        if (names is not null && names.Length != type.Parameters.Length)
            throw new ArgumentException(
                $"function '{name}' has {Diagnostics.Printable.Count(type.Parameters.Length, "parameter")} but {Diagnostics.Printable.Count(names.Length, "parameter name")} {(names.Length == 1 ? "was" : "were")} given (use null for an unnamed parameter)",
                nameof(parameterNames));
        if (_functionNames.Contains(name)) throw DuplicateFunction(name);
        var function = new FunctionBuilder(this, name, type, export, _functions.Count, names);
        ClaimFunctionName(name);
        _functions.Add(function);
        return function;
    }

    /// <summary>Declares a global variable.</summary>
    /// <param name="name">The global's name.</param>
    /// <param name="type"><see cref="VmType.I64"/>, <see cref="VmType.F64"/> or <see cref="VmType.Word"/>.</param>
    /// <param name="initialValue">The initial value: the integer for i64, the untagged integer for word, and for f64
    /// the integer converted to the nearest double (as the text format's <c>= 3</c> does).</param>
    /// <param name="export">True to let other modules import the global (spec/execution.md §2.1).</param>
    /// <returns>A handle for <see cref="FunctionBuilder.GlobalGet"/> and <see cref="FunctionBuilder.GlobalSet"/>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid identifier or names another global, or the type is
    /// ptr (there is no null pointer to start with) or not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public GlobalReference Global(string name, VmType type, long initialValue = 0, bool export = false) =>
        AddGlobal(name, type, type == VmType.F64 ? BitConverter.DoubleToInt64Bits(initialValue) : initialValue, export);

    /// <summary>Declares a global variable of type f64.</summary>
    /// <param name="name">The global's name.</param>
    /// <param name="type">Must be <see cref="VmType.F64"/>.</param>
    /// <param name="initialValue">The initial value; its 64 bits are kept exactly (including a NaN's payload).</param>
    /// <param name="export">True to let other modules import the global (spec/execution.md §2.1).</param>
    /// <returns>A handle for <see cref="FunctionBuilder.GlobalGet"/> and <see cref="FunctionBuilder.GlobalSet"/>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid identifier or names another global, or the type
    /// is not f64.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public GlobalReference Global(string name, VmType type, double initialValue, bool export = false)
    {
        if (type != VmType.F64)
            throw new ArgumentException($"global '{name}' has type {type.Name()}, which needs an integer initial value; a float initial value is only for f64", nameof(type));
        return AddGlobal(name, type, BitConverter.DoubleToInt64Bits(initialValue), export);
    }

    /// <summary>Declares a global of another module that this module imports: <paramref name="name"/> is
    /// <c>MODULE.GLOBAL</c>, and the linker makes it the very cell of that module's exported global GLOBAL, which must
    /// have type <paramref name="type"/> (spec/execution.md §2.1). Imported globals take the global indices after
    /// every defined global, in declaration order.</summary>
    /// <param name="name">The import's name, <c>MODULE.GLOBAL</c>.</param>
    /// <param name="type"><see cref="VmType.I64"/>, <see cref="VmType.F64"/> or <see cref="VmType.Word"/>.</param>
    /// <returns>A handle for <see cref="FunctionBuilder.GlobalGet"/> and <see cref="FunctionBuilder.GlobalSet"/>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid identifier, has no module part, or names another
    /// global, or the type is ptr or not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public GlobalReference ImportGlobal(string name, VmType type)
    {
        ThrowIfBuilt();
        CheckName(name, "imported global", nameof(name));
        CheckType(type, $"imported global '{name}'", nameof(type));
        if (type == VmType.Ptr)
            throw new ArgumentException($"imported global '{name}' cannot have type ptr: globals hold i64, f64 or word", nameof(type));
        if (Hosting.Linker.SplitImport(name) is null)
            throw new ArgumentException($"imported global '{name}' must be named MODULE.GLOBAL: a global is imported only from another module", nameof(name));
        if (!_globalNames.Add(name)) throw new ArgumentException($"global '{name}' is declared twice", nameof(name));
        var global = new GlobalReference(this, name, type, 0, _globalImports.Count, isImport: true, exported: false);
        _globalImports.Add(global);
        return global;
    }

    /// <summary>The globals imported so far, in declaration order (their global indices follow the defined globals').</summary>
    public IReadOnlyList<GlobalReference> GlobalImports => _globalImports.AsReadOnly();

    internal int DefinedGlobalCount => _globals.Count;

    /// <summary>Declares a data segment: constant bytes that <c>data.alloc</c> copies into a fresh heap object.</summary>
    /// <param name="name">The segment's name.</param>
    /// <param name="bytes">Its contents (copied; may be empty).</param>
    /// <returns>A handle for <see cref="FunctionBuilder.DataAlloc"/> and <see cref="FunctionBuilder.DataSize"/>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid identifier or names another data segment, or the
    /// segment is larger than <see cref="ModuleLimits.MaxDataBytes"/>.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public DataReference Data(string name, ReadOnlySpan<byte> bytes)
    {
        ThrowIfBuilt();
        CheckName(name, "data segment", nameof(name));
        if (bytes.Length > ModuleLimits.MaxDataBytes)
            throw new ArgumentException($"data segment '{name}' has {bytes.Length} bytes; at most {ModuleLimits.MaxDataBytes} are allowed", nameof(bytes));
        if (!_dataNames.Add(name)) throw new ArgumentException($"data segment '{name}' is declared twice", nameof(name));
        var segment = new DataReference(this, name, bytes.ToArray(), _data.Count);
        _data.Add(segment);
        return segment;
    }

    /// <summary>Declares an exception tag (spec/exceptions.md): what <see cref="FunctionBuilder.Throw"/> throws and
    /// <see cref="FunctionBuilder.Catch"/> catches. A module with a tag is written in binary format version 4.</summary>
    /// <param name="name">The tag's name.</param>
    /// <param name="payload">The types of the values an exception of the tag carries (at most 255).</param>
    /// <exception cref="ArgumentException">The name is not a valid identifier or names another tag, or the payload is
    /// too long or holds a value that is not a <see cref="VmType"/>.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public TagReference Tag(string name, IEnumerable<VmType> payload)
    {
        ThrowIfBuilt();
        CheckName(name, "tag", nameof(name));
        ArgumentNullException.ThrowIfNull(payload);
        VmType[] types = [.. payload];
        if (types.Length > ModuleLimits.MaxSignatureArity)
            throw new ArgumentException($"tag '{name}' has {types.Length} payload values; at most {ModuleLimits.MaxSignatureArity} are allowed", nameof(payload));
        if (types.Any(t => !VmTypeNames.IsDefined((byte)t)))
            throw new ArgumentException($"tag '{name}' has a payload type that is not a VmType value", nameof(payload));
        if (!_tagNames.Add(name)) throw new ArgumentException($"tag '{name}' is declared twice", nameof(name));
        var tag = new TagReference(this, name, types, _tags.Count);
        _tags.Add(tag);
        return tag;
    }

    /// <summary>
    /// Produces the module as data and seals the builder. Signatures are numbered as the assembler numbers them:
    /// those of the imports, then of the functions, then of <c>call_indirect</c> instructions in code order, each
    /// distinct signature once. The module is not verified; <see cref="Build"/> verifies it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The module has already been built, a branch uses a label that was
    /// never marked, or a label is marked at the end of its function with no instruction after it. The builder is
    /// left unchanged, so the problem can be fixed and the call repeated.</exception>
    public ModuleDefinition ToDefinition()
    {
        ThrowIfBuilt();
        var types = new List<FunctionType>();
        var typeIndex = new Dictionary<FunctionType, int>();
        int Intern(FunctionType type)
        {
            if (typeIndex.TryGetValue(type, out var index)) return index;
            types.Add(type);
            typeIndex.Add(type, types.Count - 1);
            return types.Count - 1;
        }

        foreach (var import in _imports) Intern(import.Type);
        foreach (var function in _functions) Intern(function.Type);
        foreach (var function in _functions) function.InternSignatures(type => Intern(type));

        var functions = new List<FunctionDefinition>(_functions.Count);
        foreach (var function in _functions) functions.Add(function.ToDefinition(typeIndex[function.Type], type => typeIndex[type]));

        var definition = new ModuleDefinition(
            types,
            _imports.Select(i => new ImportDefinition(i.Name, typeIndex[i.Type])),
            functions,
            _globals.Select(g => new GlobalDefinition(g.Name, g.Type, g.InitialBits) { Exported = g.Exported }),
            _data.Select(d => new DataSegment(d.Name, d.CopyBytes())),
            SourceName)
        {
            Tags = [.. _tags.Select(t => new TagDefinition(t.Name, [.. t.Parameters]))],
            GlobalImports = [.. _globalImports.Select(g => new GlobalImportDefinition(g.Name, g.Type))],
        };
        IsBuilt = true;
        return definition;
    }

    /// <summary>Produces the module (see <see cref="ToDefinition"/>) and verifies it, giving a runnable module.</summary>
    /// <exception cref="InvalidOperationException">As for <see cref="ToDefinition"/>.</exception>
    /// <exception cref="Verification.VerificationException">The program breaks a verification rule; the message is the
    /// verifier's (function, pc, instruction, source line and rule). The builder is sealed even then.</exception>
    public Hosting.Module Build() => Hosting.Module.FromDefinition(ToDefinition());

    /// <summary>Number of imports, which is where defined functions start in the function index space.</summary>
    internal int ImportCount => _imports.Count;

    internal void ThrowIfBuilt()
    {
        if (IsBuilt)
            throw new InvalidOperationException(
                $"the module{(SourceName is null ? "" : " " + Diagnostics.Printable.Quote(SourceName))} has already been built; a ModuleBuilder produces one module and accepts no changes afterwards");
    }

    /// <summary>
    /// Checks a name against the text format's identifier rules: an ASCII letter, '_', '.' or '$', then letters,
    /// digits, '_', '.' and '$', at most <see cref="ModuleLimits.MaxNameBytes"/> long.
    /// </summary>
    internal static void CheckName(string name, string what, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(name, parameterName);
        if (name.Length == 0) throw new ArgumentException($"a {what} name must not be empty", parameterName);
        if (name.Length > ModuleLimits.MaxNameBytes)
            throw new ArgumentException($"{what} name {Diagnostics.Printable.Quote(name[..32])}... is longer than {ModuleLimits.MaxNameBytes} bytes", parameterName);
        var valid = IsIdentifierStart(name[0]);
        for (var i = 1; valid && i < name.Length; i++) valid = IsIdentifierPart(name[i]);
        if (!valid)
            throw new ArgumentException(
                $"{what} name {Diagnostics.Printable.Quote(name)} is not an identifier: it must start with an ASCII letter, '_', '.' or '$' and continue with ASCII letters, digits, '_', '.' or '$'",
                parameterName);
    }

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c is '_' or '.' or '$';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$';

    internal static void CheckType(VmType type, string what, string parameterName)
    {
        if (!VmTypeNames.IsDefined((byte)type))
            throw new ArgumentException($"{what}: {((byte)type).ToString(CultureInfo.InvariantCulture)} is not a value type (i64, f64, ptr or word)", parameterName);
    }

    internal static void CheckSignature(FunctionType type, string what, string parameterName)
    {
        foreach (var parameter in type.Parameters) CheckType(parameter, $"{what} has an invalid parameter type", parameterName);
        foreach (var result in type.Results) CheckType(result, $"{what} has an invalid result type", parameterName);
    }

    private GlobalReference AddGlobal(string name, VmType type, long bits, bool export)
    {
        ThrowIfBuilt();
        CheckName(name, "global", nameof(name));
        CheckType(type, $"global '{name}'", nameof(type));
        if (type == VmType.Ptr)
            throw new ArgumentException($"global '{name}' cannot have type ptr: there is no null pointer to start it with; use word", nameof(type));
        if (!_globalNames.Add(name)) throw new ArgumentException($"global '{name}' is declared twice", nameof(name));
        var global = new GlobalReference(this, name, type, bits, _globals.Count, isImport: false, export);
        _globals.Add(global);
        return global;
    }

    private void ClaimFunctionName(string name)
    {
        if (!_functionNames.Add(name)) throw DuplicateFunction(name);
    }

    private static ArgumentException DuplicateFunction(string name) =>
        new($"function '{name}' is declared twice (imports and functions share one namespace)", nameof(name));
}

/// <summary>
/// A function of a <see cref="ModuleBuilder"/>'s module, imported or defined: the handle that <c>call</c> and
/// <c>func.ref</c> take. (It exists while building; it is not the run-time i64 function reference <c>func.ref</c>
/// pushes.)
/// </summary>
public class FunctionReference
{
    private readonly int _position;

    internal FunctionReference(ModuleBuilder owner, string name, FunctionType type, bool isImport, bool exported, int position)
    {
        Owner = owner;
        Name = name;
        Type = type;
        IsImport = isImport;
        Exported = exported;
        _position = position;
    }

    /// <summary>The function's name, unique among the module's imports and functions.</summary>
    public string Name { get; }

    /// <summary>Its signature.</summary>
    public FunctionType Type { get; }

    /// <summary>True for an import (a host function), false for a function the module defines.</summary>
    public bool IsImport { get; }

    /// <summary>True when the host may call the function by name (always false for imports).</summary>
    public bool Exported { get; }

    /// <summary>
    /// The function's index in the module's function index space: imports first, then defined functions, each in
    /// declaration order. A defined function's index grows when an import is declared after it; it is final once the
    /// module is built.
    /// </summary>
    public int Index => IsImport ? _position : Owner.ImportCount + _position;

    internal ModuleBuilder Owner { get; }

    /// <inheritdoc />
    public override string ToString() => $"{(IsImport ? "import" : "function")} {Name} {Type}";
}

/// <summary>A global variable declared with <see cref="ModuleBuilder.Global(string, VmType, long, bool)"/>, or imported
/// with <see cref="ModuleBuilder.ImportGlobal"/>.</summary>
public sealed class GlobalReference
{
    private readonly int _position;

    internal GlobalReference(ModuleBuilder owner, string name, VmType type, long initialBits, int position, bool isImport, bool exported)
    {
        Owner = owner;
        Name = name;
        Type = type;
        InitialBits = initialBits;
        _position = position;
        IsImport = isImport;
        Exported = exported;
    }

    /// <summary>True for a global imported from another module (<c>MODULE.GLOBAL</c>), false for one the module defines.</summary>
    public bool IsImport { get; }

    /// <summary>True when other modules may import the global (always false for imports).</summary>
    public bool Exported { get; }

    /// <summary>The global's name.</summary>
    public string Name { get; }

    /// <summary>Its type (i64, f64 or word).</summary>
    public VmType Type { get; }

    /// <summary>The 64 bits of its initial value (0 for an import, whose value is the exporter's).</summary>
    public long InitialBits { get; }

    /// <summary>Its index in the module's global index space: defined globals in declaration order, then imported
    /// ones. An imported global's index grows when a global is defined after it; it is final once the module is built.</summary>
    public int Index => IsImport ? Owner.DefinedGlobalCount + _position : _position;

    internal ModuleBuilder Owner { get; }

    /// <inheritdoc />
    public override string ToString() => $"{(IsImport ? "imported global" : "global")} {Name} {Type.Name()}";
}

/// <summary>A data segment declared with <see cref="ModuleBuilder.Data"/>.</summary>
public sealed class DataReference
{
    private readonly byte[] _bytes;

    internal DataReference(ModuleBuilder owner, string name, byte[] bytes, int index)
    {
        Owner = owner;
        Name = name;
        _bytes = bytes;
        Index = index;
    }

    /// <summary>The segment's name.</summary>
    public string Name { get; }

    /// <summary>Its length in bytes.</summary>
    public int Length => _bytes.Length;

    /// <summary>Its data index (declaration order).</summary>
    public int Index { get; }

    internal ModuleBuilder Owner { get; }

    internal byte[] CopyBytes() => (byte[])_bytes.Clone();

    /// <inheritdoc />
    public override string ToString() => $"data {Name} ({Length} bytes)";
}
