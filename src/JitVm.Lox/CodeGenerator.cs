using System.Text;
using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;
using VmLocal = JitVm.Bytecode.LocalReference;

namespace JitVm.Lox;

/// <summary>
/// Emits one VM function per Lox function (and <c>main</c> for the script) from the parser's resolved tree.
/// A Lox function of N parameters becomes <c>NAME.K (ptr closure, word this, word × N) -> word</c>; locals are
/// word locals, except captured ones, which are ptr locals holding a one-word box shared with the closures.
/// </summary>
internal sealed partial class CodeGenerator
{
    private readonly ModuleBuilder _module;
    private readonly LoxRuntime _runtime;
    private readonly SymbolTable _symbols;
    private readonly Dictionary<GlobalVariable, JitVm.Bytecode.GlobalReference> _globals = [];
    private readonly Dictionary<string, (DataReference Data, JitVm.Bytecode.GlobalReference Cache)> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<FunctionNode, FunctionBuilder> _functions = [];
    private int _functionCount;

    public CodeGenerator(ModuleBuilder module, LoxRuntime runtime, SymbolTable symbols, IEnumerable<GlobalVariable> globals)
    {
        _module = module;
        _runtime = runtime;
        _symbols = symbols;
        foreach (var global in globals) _globals.Add(global, module.Global("g." + global.Name, Word, Representation.Undefined));
    }

    /// <summary>The name of the VM function for the script; the error reporter shows it as "script".</summary>
    public const string ScriptFunction = "main";

    /// <summary>Per-function emission state.</summary>
    /// <remarks>The scratch locals: <c>ScratchWord</c> and <c>ScratchPointer</c> for one short sequence at a time,
    /// <c>Left</c> and <c>Right</c> for an operator whose operands are both evaluated, and one callee word per
    /// nesting depth of calls (a callee waits in it while its arguments, which may call, are evaluated).</remarks>
    private sealed class Context(FunctionBuilder builder, FunctionNode node)
    {
        public FunctionBuilder F { get; } = builder;

        public FunctionNode Node { get; } = node;

        public Dictionary<LocalVariable, VmLocal> Slots { get; } = [];

        public VmLocal? Closure { get; init; }

        public VmLocal? Receiver { get; init; }

        // Each scratch local is declared the first time the function needs it: compiled code keeps every word and
        // pointer local in its frame across calls, so a local the function never uses would still cost.
        private VmLocal? _scratchWord, _scratchPointer, _left, _right, _calleeObject, _propertyTarget, _propertyValue, _table, _index;

        /// <summary>Scratch locals for one instruction sequence at a time (never live across a nested expression).</summary>
        public VmLocal ScratchWord => _scratchWord ??= F.DeclareLocal(Word, "scratch");

        public VmLocal ScratchPointer => _scratchPointer ??= F.DeclareLocal(Ptr, "scratch_object");

        public VmLocal Left => _left ??= F.DeclareLocal(Word, "left");

        public VmLocal Right => _right ??= F.DeclareLocal(Word, "right");

        public VmLocal CalleeObject => _calleeObject ??= F.DeclareLocal(Ptr, "callee_object");

        /// <summary>A property access's target and assigned value once both are evaluated, the target's field
        /// table, and the index of the key in it (CodeGenerator.Properties.cs).</summary>
        public VmLocal PropertyTarget => _propertyTarget ??= F.DeclareLocal(Word, "property_target");

        public VmLocal PropertyValue => _propertyValue ??= F.DeclareLocal(Word, "property_value");

        public VmLocal Table => _table ??= F.DeclareLocal(Ptr, "fields");

        public VmLocal Index => _index ??= F.DeclareLocal(I64, "field_index");

        public List<VmLocal> Callees { get; } = [];

        public int CallDepth { get; set; }

        /// <summary>The callee local for the call being compiled at the current depth.</summary>
        public VmLocal Callee()
        {
            if (CallDepth == Callees.Count) Callees.Add(F.DeclareLocal(Word, $"callee.{CallDepth}"));
            return Callees[CallDepth];
        }
    }

    public void EmitScript(FunctionNode script, GlobalVariable? clock)
    {
        var f = _module.Function(ScriptFunction, [], [], export: true);
        var context = new Context(f, script);
        f.Line(1);
        if (clock is not null)
        {
            f.I64Const(1).Emit(OpCode.Alloc).LocalTee(context.ScratchPointer).I64Const(Layout.Kind).I64Const((long)ObjectKind.Native).Emit(OpCode.StoreI)
             .LocalGet(context.ScratchPointer).Emit(OpCode.WordOfPtr).GlobalSet(_globals[clock]);
        }
        foreach (var statement in script.Body) EmitStatement(context, statement);
        f.Return();
    }

    /// <summary>Emits <paramref name="node"/>'s function and returns it (the caller makes its closure).</summary>
    private FunctionBuilder EmitFunction(FunctionNode node)
    {
        var f = Declare(node);
        var arity = node.Parameters.Count;
        var context = new Context(f, node) { Closure = f.Parameter(arity), Receiver = f.Parameter(arity + 1) };
        f.Line(node.Line);
        if (node.This is not null) Bind(context, node.This, f.Parameter(arity + 1));
        for (var i = 0; i < arity; i++) Bind(context, node.Parameters[i], f.Parameter(i));
        foreach (var statement in node.Body) EmitStatement(context, statement);
        EmitImplicitReturn(context);
        return f;
    }

    /// <summary>The VM function of <paramref name="node"/>, declared the first time a call or its closure needs it.</summary>
    private FunctionBuilder Declare(FunctionNode node)
    {
        if (!_functions.TryGetValue(node, out var f))
        {
            f = _module.Function($"{node.Name}.{++_functionCount}", LoxRuntime.FunctionSignature(node.Parameters.Count));
            _functions.Add(node, f);
        }
        return f;
    }

    /// <summary>Makes a parameter (or the receiver) a variable: itself, or a new box holding it when captured.</summary>
    private static void Bind(Context context, LocalVariable variable, VmLocal parameter)
    {
        if (!variable.IsCaptured)
        {
            context.Slots[variable] = parameter;
            return;
        }
        var box = context.F.DeclareLocal(Ptr, variable.Name.Length > 0 ? "box." + variable.Name : null);
        context.Slots[variable] = box;
        context.F.I64Const(1).Emit(OpCode.Alloc).LocalTee(box).I64Const(0).LocalGet(parameter).Emit(OpCode.StoreW);
    }

    private void EmitImplicitReturn(Context context)
    {
        if (context.Node.Kind == FunctionKind.Initializer) EmitRead(context, new LocalUse(context.Node.This!));
        else context.F.Nil();
        context.F.Return();
    }

    /// <summary>Pushes a new closure of <paramref name="node"/> capturing its upvalues from the current function.</summary>
    private void EmitClosure(Context context, FunctionNode node)
    {
        var function = EmitFunction(node);
        var f = context.F;
        var closure = context.ScratchPointer;
        f.Line(node.Line);
        f.I64Const(Layout.ClosureUpvalues + node.Upvalues.Count).Emit(OpCode.Alloc).LocalSet(closure)
         .LocalGet(closure).I64Const(Layout.Kind).I64Const((long)ObjectKind.Closure).Emit(OpCode.StoreI)
         .LocalGet(closure).I64Const(Layout.ClosureFunction).FuncRef(function).Emit(OpCode.StoreI)
         .LocalGet(closure).I64Const(Layout.ClosureArity).I64Const(node.Parameters.Count).Emit(OpCode.StoreI)
         .LocalGet(closure).I64Const(Layout.ClosureName);
        EmitString(context, node.Name);
        f.Emit(OpCode.WordAsPtr).Emit(OpCode.StoreP);
        for (var i = 0; i < node.Upvalues.Count; i++)
        {
            var upvalue = node.Upvalues[i];
            f.LocalGet(closure).I64Const(Layout.ClosureUpvalues + i);
            if (upvalue.Local is not null) f.LocalGet(context.Slots[upvalue.Local]);
            else f.LocalGet(context.Closure!).I64Const(Layout.ClosureUpvalues + upvalue.EnclosingIndex).Emit(OpCode.LoadP);
            f.Emit(OpCode.StoreP);
        }
        f.LocalGet(closure).Emit(OpCode.WordOfPtr);
    }

    /// <summary>Pushes the string object for <paramref name="text"/> as a word: made from its data segment the
    /// first time it is needed, then kept in a global (strings are immutable, so one object serves every use).</summary>
    private void EmitString(Context context, string text)
    {
        if (!_strings.TryGetValue(text, out var entry))
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            var bytes = new byte[Layout.StringBytes + utf8.Length];
            BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (long)ObjectKind.String);
            BitConverter.TryWriteBytes(bytes.AsSpan(8, 8), (long)utf8.Length);
            utf8.CopyTo(bytes, (int)Layout.StringBytes);
            var name = $"s.{_strings.Count}";
            entry = (_module.Data(name, bytes), _module.Global(name, Word));
            _strings.Add(text, entry);
        }
        var made = context.F.DefineLabel();
        context.F.GlobalGet(entry.Cache).Emit(OpCode.Dup).Emit(OpCode.IsPtr).BrIf(made)
            .Emit(OpCode.Drop).DataAlloc(entry.Data).Emit(OpCode.WordOfPtr).Emit(OpCode.Dup).GlobalSet(entry.Cache)
            .MarkLabel(made);
    }
}
