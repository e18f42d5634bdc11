using System.Collections.ObjectModel;
using System.Globalization;

namespace JitVm.Bytecode;

/// <summary>
/// Writes the body of one function declared with <see cref="ModuleBuilder.Function(string, FunctionType, bool, IEnumerable{string})"/>:
/// its locals, labels, instructions and optional source lines. Every emitting method returns the builder, so calls
/// chain. It is also the function's handle: pass it to <see cref="Call"/> or <see cref="FuncRef"/>.
/// </summary>
/// <remarks>
/// Operands are checked against the instruction table (<see cref="OpCodeTable"/>) as they are emitted, and handles
/// (locals, labels, functions, globals, data segments) must belong to this function or its module. Whether the
/// program is well typed is the verifier's business: <see cref="ModuleBuilder.Build"/> reports it.
/// </remarks>
public sealed partial class FunctionBuilder : FunctionReference
{
    private readonly List<LocalReference> _parameters = [];
    private readonly List<LocalReference> _locals = [];
    private readonly List<string> _localNames = [];
    private readonly HashSet<string> _namedLocals = new(StringComparer.Ordinal);
    private readonly List<CodeLabel> _labels = [];
    private readonly HashSet<string> _labelNames = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _labelNameAt = [];
    private readonly List<PendingInstruction> _code = [];
    private readonly List<int> _lines = [];
    private bool _hasLines;

    /// <summary>An emitted instruction whose operand may still name a label, a function or a signature.</summary>
    /// <param name="OpCode">The instruction.</param>
    /// <param name="Operand">The operand when it is already final.</param>
    /// <param name="Target">The label, function or signature the operand stands for, resolved when the module is built.</param>
    /// <param name="Cases">The case labels of a <c>br_table</c>.</param>
    private readonly record struct PendingInstruction(OpCode OpCode, long Operand, object? Target = null, CodeLabel[]? Cases = null);

    internal FunctionBuilder(ModuleBuilder owner, string name, FunctionType type, bool exported, int position, string?[]? parameterNames)
        : base(owner, name, type, isImport: false, exported, position)
    {
        for (var i = 0; i < type.Parameters.Length; i++)
        {
            var parameterName = parameterNames?[i] ?? "";
            if (parameterName.Length > 0) CheckLocalName(parameterName, isParameter: true, nameof(parameterNames));
            _parameters.Add(new LocalReference(this, i, type.Parameters[i], parameterName.Length > 0 ? parameterName : null, isParameter: true));
            _localNames.Add(parameterName);
        }
        Parameters = new ReadOnlyCollection<LocalReference>(_parameters);
        Locals = new ReadOnlyCollection<LocalReference>(_locals);
    }

    /// <summary>The parameters, which are locals 0 .. n-1.</summary>
    public IReadOnlyList<LocalReference> Parameters { get; }

    /// <summary>The locals declared with <see cref="DeclareLocal"/>, which follow the parameters in the local index space.</summary>
    public IReadOnlyList<LocalReference> Locals { get; }

    /// <summary>The number of instructions emitted so far, which is the index the next instruction gets.</summary>
    public int InstructionCount => _code.Count;

    /// <summary>The source line recorded for instructions emitted from now on (0 = unknown); see <see cref="Line"/>.</summary>
    public int CurrentLine { get; private set; }

    /// <summary>Returns parameter <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The function has no such parameter.</exception>
    public LocalReference Parameter(int index)
    {
        if ((uint)index >= (uint)_parameters.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"function '{Name}' has {_parameters.Count} parameters");
        return _parameters[index];
    }

    /// <summary>Declares a local variable; it takes the next local index after the parameters and earlier locals.
    /// Locals are zero (i64, f64, word) or unassigned (ptr) on entry.</summary>
    /// <param name="type">The local's type.</param>
    /// <param name="name">An optional name for disassembly and diagnostics; null or "" for none.</param>
    /// <exception cref="ArgumentException">The type is not a <see cref="VmType"/> value, or the name is not an
    /// identifier or is already used by a parameter or local of this function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public LocalReference DeclareLocal(VmType type, string? name = null)
    {
        Owner.ThrowIfBuilt();
        ModuleBuilder.CheckType(type, $"local of function '{Name}'", nameof(type));
        name ??= "";
        if (name.Length > 0) CheckLocalName(name, isParameter: false, nameof(name));
        var local = new LocalReference(this, _localNames.Count, type, name.Length > 0 ? name : null, isParameter: false);
        _locals.Add(local);
        _localNames.Add(name);
        return local;
    }

    /// <summary>Declares a local of the typed function reference type <c>ref s</c> (spec/values.md §1.5): an i64 local
    /// at run time that only a reference of signature <paramref name="signature"/> can be stored into (from
    /// <see cref="RefFunc"/> or <see cref="RefCast"/>), for <see cref="CallRef"/>. Like a ptr local, it must be assigned
    /// before it is read. A module with one is of format version 4.</summary>
    /// <param name="signature">The signature of the functions the local may refer to.</param>
    /// <param name="name">An optional name for disassembly and diagnostics; null or "" for none.</param>
    /// <exception cref="ArgumentException">A type in the signature is not a <see cref="VmType"/> value, or the name is
    /// not an identifier or is already used by a parameter or local of this function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public LocalReference DeclareReferenceLocal(FunctionType signature, string? name = null)
    {
        Owner.ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(signature);
        ModuleBuilder.CheckSignature(signature, $"typed reference local of function '{Name}'", nameof(signature));
        name ??= "";
        if (name.Length > 0) CheckLocalName(name, isParameter: false, nameof(name));
        var local = new LocalReference(this, _localNames.Count, VmType.I64, name.Length > 0 ? name : null, isParameter: false)
        {
            ReferenceSignature = signature,
        };
        _locals.Add(local);
        _localNames.Add(name);
        return local;
    }

    /// <summary>Creates a label for branches; place it with <see cref="MarkLabel"/>, before or after the branches
    /// that use it.</summary>
    /// <param name="name">An optional name, recorded for disassembly and verification errors; null for none.</param>
    /// <exception cref="ArgumentException">The name is not an identifier, starts with '.', is <c>nan</c>, or names
    /// another label of this function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public CodeLabel DefineLabel(string? name = null)
    {
        Owner.ThrowIfBuilt();
        if (name is not null)
        {
            ModuleBuilder.CheckName(name, "label", nameof(name));
            if (name[0] == '.' || name == "nan")
                throw new ArgumentException($"label name '{name}' cannot be written as a label in the text format (it starts with '.' or is 'nan')", nameof(name));
            if (!_labelNames.Add(name))
                throw new ArgumentException($"label '{name}' is defined twice in function '{Name}'", nameof(name));
        }
        var label = new CodeLabel(this, name, _labels.Count);
        _labels.Add(label);
        return label;
    }

    /// <summary>Places a label at the next instruction to be emitted. When several labels mark one instruction,
    /// the first one marked gives the instruction's label name.</summary>
    /// <exception cref="ArgumentException">The label belongs to another function or is already marked.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder MarkLabel(CodeLabel label)
    {
        Owner.ThrowIfBuilt();
        CheckLabel(label, nameof(label));
        if (label.IsMarked)
            throw new ArgumentException(
                $"function '{Name}': {label.Describe()} is already marked at instruction {label.Position}; a label marks exactly one place",
                nameof(label));
        label.Position = _code.Count;
        if (label.Name is not null) _labelNameAt.TryAdd(label.Position, label.Name);
        return this;
    }

    /// <summary>Sets the source line recorded for the instructions emitted from now on (0 = unknown), so verification
    /// errors and trap reports point into the program being compiled. A function whose builder never calls this
    /// carries no line information.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The line is negative.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Line(int line)
    {
        Owner.ThrowIfBuilt();
        ArgumentOutOfRangeException.ThrowIfNegative(line);
        CurrentLine = line;
        _hasLines = true;
        return this;
    }

    /// <summary>Emits an instruction that takes no operand (<c>i64.add</c>, <c>drop</c>, <c>return</c>, <c>alloc</c> ...).</summary>
    /// <exception cref="ArgumentException">The opcode is unknown or the instruction takes an operand; the message
    /// names the function, the instruction index and the mnemonic.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode)
    {
        Expect(opCode, Given.Nothing);
        return Add(new PendingInstruction(opCode, 0));
    }

    /// <summary>
    /// Emits an instruction with a numeric operand: the constant of <c>i64.const</c>, the bits of an
    /// <c>f64.const</c>, or a raw index: of a local, a global, a data segment, or a function in the final function
    /// index space (imports first, then defined functions, each in declaration order). Labels, branch tables and
    /// signatures cannot be given as numbers.
    /// </summary>
    /// <exception cref="ArgumentException">The opcode is unknown, the instruction takes no operand or an operand that
    /// is not a number, or an index is outside 0 .. 2^31-1; the message names the function, the instruction index and
    /// the mnemonic.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, long operand)
    {
        var info = Expect(opCode, Given.Number);
        if (info.Operand is OperandKind.Local or OperandKind.Global or OperandKind.Function or OperandKind.Data && (operand < 0 || operand > int.MaxValue))
            throw new ArgumentOutOfRangeException(nameof(operand), operand,
                $"{Where(info)}: {Describe(info.Operand)} index must be between 0 and {int.MaxValue}");
        return Add(new PendingInstruction(opCode, operand));
    }

    /// <summary>Emits a branch (<c>br</c>, <c>br_if</c>, <c>br_ifz</c>) to a label of this function.</summary>
    /// <exception cref="ArgumentException">The instruction does not take a label, or the label belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, CodeLabel label)
    {
        var info = Expect(opCode, Given.Label);
        CheckLabel(label, nameof(label), info);
        return Add(new PendingInstruction(opCode, 0, label));
    }

    /// <summary>Emits <c>local.get</c>, <c>local.set</c> or <c>local.tee</c> on a parameter or local of this function.</summary>
    /// <exception cref="ArgumentException">The instruction does not take a local, or the local belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, LocalReference local)
    {
        var info = Expect(opCode, Given.Local);
        ArgumentNullException.ThrowIfNull(local);
        if (local.Function != this)
            throw new ArgumentException($"{Where(info)}: local {local.Describe()} belongs to function '{local.Function.Name}'", nameof(local));
        return Add(new PendingInstruction(opCode, local.Index));
    }

    /// <summary>Emits <c>global.get</c> or <c>global.set</c>.</summary>
    /// <exception cref="ArgumentException">The instruction does not take a global, or the global was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, GlobalReference global)
    {
        var info = Expect(opCode, Given.Global);
        ArgumentNullException.ThrowIfNull(global);
        if (global.Owner != Owner) throw ForeignHandle(info, $"global '{global.Name}'", nameof(global));
        // Resolved when the module is built: an imported global's index follows every defined global's.
        return Add(new PendingInstruction(opCode, 0, global));
    }

    /// <summary>Emits <c>call</c> or <c>func.ref</c> for an import or function of this module.</summary>
    /// <exception cref="ArgumentException">The instruction does not take a function, or the function was declared by
    /// another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, FunctionReference function)
    {
        var info = Expect(opCode, Given.Function);
        ArgumentNullException.ThrowIfNull(function);
        if (function.Owner != Owner) throw ForeignHandle(info, $"function '{function.Name}'", nameof(function));
        return Add(new PendingInstruction(opCode, 0, function));
    }

    /// <summary>Emits <c>data.alloc</c> or <c>data.size</c>.</summary>
    /// <exception cref="ArgumentException">The instruction does not take a data segment, or the segment was declared
    /// by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, DataReference data)
    {
        var info = Expect(opCode, Given.Data);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Owner != Owner) throw ForeignHandle(info, $"data segment '{data.Name}'", nameof(data));
        return Add(new PendingInstruction(opCode, data.Index));
    }

    /// <summary>Emits <c>call_indirect</c> with a signature; equal signatures share one type index.</summary>
    /// <exception cref="ArgumentException">The instruction does not take a signature, or a type in it is not a
    /// <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Emit(OpCode opCode, FunctionType signature)
    {
        var info = Expect(opCode, Given.Signature);
        ArgumentNullException.ThrowIfNull(signature);
        ModuleBuilder.CheckSignature(signature, Where(info), nameof(signature));
        return Add(new PendingInstruction(opCode, 0, signature));
    }

    /// <summary>Emits <c>i64.const</c>.</summary>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder I64Const(long value) => Emit(OpCode.I64Const, value);

    /// <summary>Emits <c>f64.const</c>; the value's 64 bits are kept exactly (including a NaN's sign and payload).</summary>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder F64Const(double value) => Emit(OpCode.F64Const, BitConverter.DoubleToInt64Bits(value));

    /// <summary>Emits <c>local.get</c>.</summary>
    /// <exception cref="ArgumentException">The local belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder LocalGet(LocalReference local) => Emit(OpCode.LocalGet, local);

    /// <summary>Emits <c>local.set</c>.</summary>
    /// <exception cref="ArgumentException">The local belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder LocalSet(LocalReference local) => Emit(OpCode.LocalSet, local);

    /// <summary>Emits <c>local.tee</c>.</summary>
    /// <exception cref="ArgumentException">The local belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder LocalTee(LocalReference local) => Emit(OpCode.LocalTee, local);

    /// <summary>Emits <c>global.get</c>.</summary>
    /// <exception cref="ArgumentException">The global was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder GlobalGet(GlobalReference global) => Emit(OpCode.GlobalGet, global);

    /// <summary>Emits <c>global.set</c>.</summary>
    /// <exception cref="ArgumentException">The global was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder GlobalSet(GlobalReference global) => Emit(OpCode.GlobalSet, global);

    /// <summary>Emits <c>br</c> to a label of this function.</summary>
    /// <exception cref="ArgumentException">The label belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Br(CodeLabel label) => Emit(OpCode.Br, label);

    /// <summary>Emits <c>br_if</c> (branch when the popped i64 is not zero) to a label of this function.</summary>
    /// <exception cref="ArgumentException">The label belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder BrIf(CodeLabel label) => Emit(OpCode.BrIf, label);

    /// <summary>Emits <c>br_ifz</c> (branch when the popped i64 is zero) to a label of this function.</summary>
    /// <exception cref="ArgumentException">The label belongs to another function.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder BrIfZ(CodeLabel label) => Emit(OpCode.BrIfZ, label);

    /// <summary>Emits <c>br_table</c>: jump to <paramref name="cases"/>[i] for a popped i in range (unsigned), else to
    /// <paramref name="defaultLabel"/>.</summary>
    /// <exception cref="ArgumentException">A label belongs to another function, or there are more than
    /// <see cref="ModuleLimits.MaxBranchTableSize"/> cases.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder BrTable(IEnumerable<CodeLabel> cases, CodeLabel defaultLabel)
    {
        var info = Expect(OpCode.BrTable, Given.LabelTable);
        ArgumentNullException.ThrowIfNull(cases);
        CodeLabel[] table = [.. cases];
        if (table.Length > ModuleLimits.MaxBranchTableSize)
            throw new ArgumentException($"{Where(info)}: {table.Length} cases exceed the limit of {ModuleLimits.MaxBranchTableSize}", nameof(cases));
        foreach (var label in table) CheckLabel(label, nameof(cases), info);
        CheckLabel(defaultLabel, nameof(defaultLabel), info);
        return Add(new PendingInstruction(OpCode.BrTable, 0, defaultLabel, table));
    }

    /// <summary>Emits <c>call</c> to an import or function of this module (which may not have a body yet).</summary>
    /// <exception cref="ArgumentException">The function was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Call(FunctionReference function) => Emit(OpCode.Call, function);

    /// <summary>Emits <c>return_call</c>, a tail call: the function's frame replaces this one and its results are
    /// this function's (spec/instructions.md §3.3, format version 3).</summary>
    /// <exception cref="ArgumentException">The function was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder ReturnCall(FunctionReference function) => Emit(OpCode.ReturnCall, function);

    /// <summary>Emits <c>return_call_indirect</c> with the given signature, the tail-calling form of
    /// <c>call_indirect</c> (format version 3).</summary>
    /// <exception cref="ArgumentException">A type in the signature is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder ReturnCallIndirect(FunctionType signature) => Emit(OpCode.ReturnCallIndirect, signature);

    /// <summary>Emits <c>ref.func</c>: a typed reference to the function, of type <c>ref s</c> for its signature s
    /// (spec/instructions.md §3.3, format version 4).</summary>
    /// <exception cref="ArgumentException">The function was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder RefFunc(FunctionReference function) => Emit(OpCode.RefFunc, function);

    /// <summary>Emits <c>ref.cast</c>: checks that the i64 on top names a function of the signature (trapping as
    /// <c>call_indirect</c> would) and gives it the type <c>ref s</c> (format version 4).</summary>
    /// <exception cref="ArgumentException">A type in the signature is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder RefCast(FunctionType signature) => Emit(OpCode.RefCast, signature);

    /// <summary>Emits <c>call_ref</c>: calls through the typed reference of this signature on top, with no run-time
    /// check (format version 4).</summary>
    /// <exception cref="ArgumentException">A type in the signature is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder CallRef(FunctionType signature) => Emit(OpCode.CallRef, signature);

    /// <summary>Emits <c>return_call_ref</c>, the tail-calling form of <c>call_ref</c> (format version 4).</summary>
    /// <exception cref="ArgumentException">A type in the signature is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder ReturnCallRef(FunctionType signature) => Emit(OpCode.ReturnCallRef, signature);

    /// <summary>Emits <c>task.spawn</c>, which starts the function as a new task with the arguments on the stack
    /// (spec/concurrency.md §1) and pushes the task's reference.</summary>
    /// <exception cref="ArgumentException">The function was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Spawn(FunctionReference function) => Emit(OpCode.TaskSpawn, function);

    /// <summary>Emits <c>task.join</c> for a task whose function returns <paramref name="results"/>: it waits for the
    /// task and pushes its results (spec/concurrency.md §1).</summary>
    /// <exception cref="ArgumentException">A type is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Join(IEnumerable<VmType> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return Emit(OpCode.TaskJoin, new FunctionType([], results));
    }

    /// <summary>Emits <c>func.ref</c>, which pushes the function's run-time reference (an i64) for <c>call_indirect</c>.</summary>
    /// <exception cref="ArgumentException">The function was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder FuncRef(FunctionReference function) => Emit(OpCode.FuncRef, function);

    /// <summary>Emits <c>call_indirect</c> with the given signature.</summary>
    /// <exception cref="ArgumentException">A type in the signature is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder CallIndirect(FunctionType signature) => Emit(OpCode.CallIndirect, signature);

    /// <summary>Emits <c>call_indirect</c> with the signature <c>(parameters) -> (results)</c>.</summary>
    /// <exception cref="ArgumentException">A type is not a <see cref="VmType"/> value.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder CallIndirect(IEnumerable<VmType> parameters, IEnumerable<VmType> results)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(results);
        return Emit(OpCode.CallIndirect, new FunctionType(parameters, results));
    }

    /// <summary>Emits <c>data.alloc</c>: a fresh heap object holding a copy of the segment's bytes.</summary>
    /// <exception cref="ArgumentException">The segment was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder DataAlloc(DataReference data) => Emit(OpCode.DataAlloc, data);

    /// <summary>Emits <c>data.size</c>: the segment's length in bytes.</summary>
    /// <exception cref="ArgumentException">The segment was declared by another builder.</exception>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder DataSize(DataReference data) => Emit(OpCode.DataSize, data);

    /// <summary>Emits <c>return</c>.</summary>
    /// <exception cref="InvalidOperationException">The module has already been built.</exception>
    public FunctionBuilder Return() => Emit(OpCode.Return);

    /// <summary>Interns the signatures of this function's <c>call_indirect</c> instructions, in code order.</summary>
    internal void InternSignatures(Action<FunctionType> intern)
    {
        foreach (var instruction in _code)
            if (instruction.Target is FunctionType signature) intern(signature);
    }

    /// <summary>Resolves labels, functions and signatures into the function's definition.</summary>
    /// <exception cref="InvalidOperationException">A used label is unmarked, or a label is marked at the end.</exception>
    internal FunctionDefinition ToDefinition(int typeIndex, Func<FunctionType, int> signatureIndex)
    {
        foreach (var label in _labels)
            if (label.Position == _code.Count)
                throw new InvalidOperationException(
                    $"function '{Name}': {label.Describe()} is marked at the end of the function, where no instruction follows it");

        var code = new Instruction[_code.Count];
        for (var pc = 0; pc < code.Length; pc++)
        {
            var pending = _code[pc];
            int Resolve(CodeLabel label) =>
                label.IsMarked
                    ? label.Position
                    : throw new InvalidOperationException(
                        $"function '{Name}', instruction {pc} ('{pending.OpCode.Mnemonic()}'): {label.Describe()} is never marked; call MarkLabel before building");
            code[pc] = pending.Target switch
            {
                null => new Instruction(pending.OpCode, pending.Operand),
                CodeLabel label when pending.Cases is { } cases => new Instruction(pending.OpCode, Resolve(label), [.. cases.Select(Resolve)]),
                CodeLabel label => new Instruction(pending.OpCode, Resolve(label)),
                FunctionReference function => new Instruction(pending.OpCode, function.Index),
                GlobalReference global => new Instruction(pending.OpCode, global.Index),
                FunctionType signature => new Instruction(pending.OpCode, signatureIndex(signature)),
                _ => throw new InvalidOperationException("unexpected pending operand"),
            };
        }
        // Typed reference locals' signatures are numbered after the code's, as ModuleBuilder numbers signatures by
        // first use in building order.
        Dictionary<int, int>? referenceLocals = null;
        for (var i = 0; i < _locals.Count; i++)
            if (_locals[i].ReferenceSignature is { } referenceSignature)
                (referenceLocals ??= [])[i] = signatureIndex(referenceSignature);
        return new FunctionDefinition(Name, typeIndex, Exported, _locals.Select(l => l.Type), code)
        {
            ReferenceLocals = referenceLocals,
            LocalNames = _localNames.Any(n => n.Length > 0) ? [.. _localNames] : null,
            Lines = _hasLines ? [.. _lines] : null,
            LabelNames = _labelNameAt.Count > 0 ? new Dictionary<int, string>(_labelNameAt) : null,
            Handlers = ResolveHandlers(),
        };
    }

    private FunctionBuilder Add(PendingInstruction instruction)
    {
        _code.Add(instruction);
        _lines.Add(CurrentLine);
        return this;
    }

    /// <summary>What kind of operand an emitting method was given.</summary>
    private enum Given
    {
        Nothing,
        Number,
        Label,
        LabelTable,
        Local,
        Global,
        Function,
        Data,
        Signature,
        Tag,
    }

    /// <summary>Checks that the builder is open and that the instruction takes the kind of operand given.</summary>
    private OpCodeInfo Expect(OpCode opCode, Given given)
    {
        Owner.ThrowIfBuilt();
        if (!OpCodeTable.TryGet((byte)opCode, out var info))
            throw new ArgumentException(
                $"function '{Name}', instruction {_code.Count}: 0x{(byte)opCode:x2} is not an opcode", nameof(opCode));
        var accepted = info.Operand switch
        {
            OperandKind.None => given == Given.Nothing,
            OperandKind.I64 or OperandKind.F64 => given == Given.Number,
            OperandKind.Local => given is Given.Local or Given.Number,
            OperandKind.Global => given is Given.Global or Given.Number,
            OperandKind.Function => given is Given.Function or Given.Number,
            OperandKind.Data => given is Given.Data or Given.Number,
            OperandKind.Label => given == Given.Label,
            OperandKind.LabelTable => given == Given.LabelTable,
            OperandKind.Signature => given == Given.Signature,
            OperandKind.Tag => given is Given.Tag or Given.Number,
            _ => false,
        };
        if (!accepted)
            throw new ArgumentException(
                $"{Where(info)}: the instruction takes {Describe(info.Operand)} operand, but {Describe(given)} was given; use {Hint(info)}",
                nameof(opCode));
        return info;
    }

    private string Where(OpCodeInfo info) => $"function '{Name}', instruction {_code.Count} ('{info.Mnemonic}')";

    private static string Describe(OperandKind kind) => kind switch
    {
        OperandKind.None => "no",
        OperandKind.I64 => "an i64 constant",
        OperandKind.F64 => "an f64 constant",
        OperandKind.Local => "a local",
        OperandKind.Global => "a global",
        OperandKind.Function => "a function",
        OperandKind.Label => "a label",
        OperandKind.LabelTable => "a branch table",
        OperandKind.Signature => "a signature",
        OperandKind.Data => "a data segment",
        OperandKind.Tag => "a tag",
        _ => kind.ToString(),
    };

    private static string Describe(Given given) => given switch
    {
        Given.Nothing => "no operand",
        Given.Number => "a number",
        Given.Label => "a label",
        Given.LabelTable => "a branch table",
        Given.Local => "a local",
        Given.Global => "a global",
        Given.Function => "a function",
        Given.Data => "a data segment",
        Given.Signature => "a signature",
        Given.Tag => "a tag",
        _ => given.ToString(),
    };

    private static string Hint(OpCodeInfo info) => info.Operand switch
    {
        OperandKind.None => "Emit(OpCode)",
        OperandKind.I64 => "I64Const or Emit(OpCode, long)",
        OperandKind.F64 => "F64Const or Emit(OpCode, long) with the bits",
        OperandKind.Local => "Emit(OpCode, LocalReference)",
        OperandKind.Global => "Emit(OpCode, GlobalReference)",
        OperandKind.Function => "Emit(OpCode, FunctionReference)",
        OperandKind.Label => "Emit(OpCode, CodeLabel)",
        OperandKind.LabelTable => "BrTable(cases, defaultLabel)",
        OperandKind.Signature => "CallIndirect or Emit(OpCode, FunctionType)",
        OperandKind.Data => "Emit(OpCode, DataReference)",
        OperandKind.Tag => "Throw(TagReference)",
        _ => "another overload",
    };

    private void CheckLabel(CodeLabel label, string parameterName, OpCodeInfo? info = null)
    {
        ArgumentNullException.ThrowIfNull(label, parameterName);
        if (label.Function != this)
            throw new ArgumentException(
                $"{(info is null ? $"function '{Name}'" : Where(info))}: {label.Describe()} belongs to function '{label.Function.Name}'; a label can only be used in the function that defined it",
                parameterName);
    }

    private ArgumentException ForeignHandle(OpCodeInfo info, string what, string parameterName) =>
        new($"{Where(info)}: {what} was declared by a different ModuleBuilder", parameterName);

    private void CheckLocalName(string name, bool isParameter, string parameterName)
    {
        var what = isParameter ? "parameter" : "local";
        ModuleBuilder.CheckName(name, what, parameterName);
        // A parameter is written "name: type" in the text format, where "nan:" would read as a float literal.
        if (isParameter && name == "nan")
            throw new ArgumentException($"parameter name 'nan' cannot be written in the text format; choose another name", parameterName);
        // A set, not a search of the list: declaring n locals must cost O(n), not O(n^2).
        if (!_namedLocals.Add(name))
            throw new ArgumentException($"local or parameter '{name}' is declared twice in function '{Name}'", parameterName);
    }
}

/// <summary>A parameter or local variable of a <see cref="FunctionBuilder"/>'s function.</summary>
public sealed class LocalReference
{
    internal LocalReference(FunctionBuilder function, int index, VmType type, string? name, bool isParameter)
    {
        Function = function;
        Index = index;
        Type = type;
        Name = name;
        IsParameter = isParameter;
    }

    /// <summary>The function the local belongs to.</summary>
    public FunctionBuilder Function { get; }

    /// <summary>Its local index: parameters first, then declared locals in declaration order.</summary>
    public int Index { get; }

    /// <summary>Its type (<see cref="VmType.I64"/> for a typed reference local, which is one at run time).</summary>
    public VmType Type { get; }

    /// <summary>For a local declared with <see cref="FunctionBuilder.DeclareReferenceLocal"/>, the signature of its
    /// type <c>ref s</c>; null otherwise.</summary>
    public FunctionType? ReferenceSignature { get; internal init; }

    /// <summary>Its name, or null when it has none.</summary>
    public string? Name { get; }

    /// <summary>True for a parameter, false for a declared local.</summary>
    public bool IsParameter { get; }

    internal string Describe() => Name is null ? "#" + Index.ToString(CultureInfo.InvariantCulture) : $"'{Name}'";

    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsParameter ? "parameter" : "local")} {Describe()} {(ReferenceSignature is { } signature ? $"ref {signature}" : Type.Name())} of {Function.Name}";
}
