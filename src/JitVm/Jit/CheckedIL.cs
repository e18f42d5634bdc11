using System.Reflection;
using System.Reflection.Emit;

namespace JitVm.Jit;

/// <summary>
/// A thin layer over <see cref="ILGenerator"/> that, when checking is on (debug builds, or JITVM_CHECK_IL=1),
/// simulates the CIL evaluation stack: it knows each value's coarse type, requires the same stack shape at every
/// branch to a label and where the label is placed, and fails at emit time naming the VM function and pc being
/// lowered. With checking off every call goes straight to the ILGenerator.
/// </summary>
internal sealed class CheckedIL(ILGenerator il, string function, bool check)
{
    /// <summary>Coarse CIL stack types: enough to catch the mistakes a lowering makes.</summary>
    internal enum Kind { I4, I8, R8, Ref, ByRef, Word, Any }

    private readonly Dictionary<Label, Kind[]> _labelShapes = [];
    private readonly List<Kind> _stack = [];
    private readonly Dictionary<LocalBuilder, Kind> _locals = [];
    private Kind[] _arguments = [];
    private bool _unreachable;
    private int _instructions;
    private int _blocks = 1;
    private int _localsDeclared;
    private int _variableReferences;

    public static bool CheckingEnabled { get; } =
#if DEBUG
        true;
#else
        Environment.GetEnvironmentVariable("JITVM_CHECK_IL") == "1";
#endif

    /// <summary>The VM pc being lowered, for messages.</summary>
    public int Pc { get; set; } = -1;

    /// <summary>Told of every call emitted, with the pc being lowered; tests use it to see where compiled code
    /// spills or reloads runtime state.</summary>
    public Action<int, MethodInfo>? OnCall { get; init; }

    public ILGenerator Generator => il;

    /// <summary>What the CLR JIT will measure of the method emitted so far (counted whether or not checking is on).</summary>
    public CilShape Shape => new(il.ILOffset, _instructions, _blocks, _arguments.Length + _localsDeclared, _variableReferences);

    public void SetArguments(IEnumerable<Type> types) => _arguments = [.. types.Select(KindOf)];

    public LocalBuilder DeclareLocal(Type type)
    {
        var local = il.DeclareLocal(type);
        _localsDeclared++;
        if (check) _locals[local] = KindOf(type);
        return local;
    }

    public Label DefineLabel() => il.DefineLabel();

    public void MarkLabel(Label label)
    {
        if (check)
        {
            if (_labelShapes.TryGetValue(label, out var shape))
            {
                if (!_unreachable) Same(shape, "falling into a label");
                _stack.Clear();
                _stack.AddRange(shape);
            }
            else
            {
                if (_unreachable) _stack.Clear();
                _labelShapes[label] = [.. _stack];
            }
            _unreachable = false;
        }
        _blocks++;
        il.MarkLabel(label);
    }

    public void Emit(OpCode op)
    {
        Count(op);
        if (check) Simulate(op, null);
        il.Emit(op);
    }

    public void Emit(OpCode op, int value)
    {
        Count(op);
        if (check) Simulate(op, null);
        il.Emit(op, value);
    }

    public void Emit(OpCode op, long value)
    {
        Count(op);
        if (check) Simulate(op, null);
        il.Emit(op, value);
    }

    public void Emit(OpCode op, double value)
    {
        Count(op);
        if (check) Simulate(op, null);
        il.Emit(op, value);
    }

    public void Emit(OpCode op, string value)
    {
        Count(op);
        if (check) Simulate(op, null);
        il.Emit(op, value);
    }

    public void Emit(OpCode op, LocalBuilder local)
    {
        Count(op);
        if (check)
        {
            if (op == OpCodes.Ldloc) Push(_locals[local]);
            else if (op == OpCodes.Ldloca) Push(Kind.I8);
            else if (op == OpCodes.Stloc) Pop(_locals[local], "stloc");
            else Fail($"unexpected local opcode {op}");
        }
        il.Emit(op, local);
    }

    public void Emit(OpCode op, Label label)
    {
        Count(op);
        if (check)
        {
            Simulate(op, null);
            Branch(label);
            if (op == OpCodes.Br || op == OpCodes.Leave) _unreachable = true;
        }
        il.Emit(op, label);
    }

    public void Emit(OpCode op, Label[] labels)
    {
        Count(op);
        if (check)
        {
            Pop(Kind.I4, "switch");
            foreach (var label in labels) Branch(label);
        }
        il.Emit(op, labels);
    }

    public void Emit(OpCode op, FieldInfo field)
    {
        Count(op);
        if (check)
        {
            if (op == OpCodes.Ldfld) { Pop(Kind.Any, "ldfld"); Push(KindOf(field.FieldType)); }
            else if (op == OpCodes.Stfld) { Pop(KindOf(field.FieldType), "stfld"); Pop(Kind.Any, "stfld's target"); }
            else Fail($"unexpected field opcode {op}");
        }
        il.Emit(op, field);
    }

    public void Call(MethodInfo method)
    {
        if (check)
        {
            var parameters = method.GetParameters();
            for (var i = parameters.Length - 1; i >= 0; i--) Pop(KindOf(parameters[i].ParameterType), $"argument {i} of {method.Name}");
            if (!method.IsStatic) Pop(Kind.Ref, "this");
            if (method.ReturnType != typeof(void)) Push(KindOf(method.ReturnType));
        }
        OnCall?.Invoke(Pc, method);
        Count(OpCodes.Call);
        il.Emit(OpCodes.Call, method);
    }

    /// <summary>A virtual call of instance method <paramref name="method"/> (a delegate's Invoke).</summary>
    public void CallVirtual(MethodInfo method)
    {
        if (check)
        {
            var parameters = method.GetParameters();
            for (var i = parameters.Length - 1; i >= 0; i--) Pop(KindOf(parameters[i].ParameterType), $"argument {i} of {method.Name}");
            Pop(Kind.Ref, "this");
            if (method.ReturnType != typeof(void)) Push(KindOf(method.ReturnType));
        }
        OnCall?.Invoke(Pc, method);
        Count(OpCodes.Callvirt);
        il.Emit(OpCodes.Callvirt, method);
    }

    /// <summary>A call to a method being built (DynamicMethod or MethodBuilder), whose parameters reflection cannot list yet.</summary>
    public void Call(MethodInfo method, Type[] parameterTypes, Type returnType)
    {
        if (check)
        {
            for (var i = parameterTypes.Length - 1; i >= 0; i--) Pop(KindOf(parameterTypes[i]), $"argument {i} of {method.Name}");
            if (returnType != typeof(void)) Push(KindOf(returnType));
        }
        OnCall?.Invoke(Pc, method);
        Count(OpCodes.Call);
        il.Emit(OpCodes.Call, method);
    }

    /// <summary>Opens a CIL try block (entered with an empty stack); returns the label after the whole try/catch.</summary>
    public Label BeginTry()
    {
        if (check && !_unreachable && _stack.Count != 0) Fail($"a try block must start with an empty CIL stack, but it holds [{string.Join(' ', _stack)}]");
        _blocks += TryBlocks;
        return il.BeginExceptionBlock();
    }

    /// <summary>Ends the try body and starts a catch clause: the caught exception is on the stack.</summary>
    public void BeginCatch(Type exceptionType)
    {
        il.BeginCatchBlock(exceptionType);
        if (check)
        {
            _stack.Clear();
            Push(Kind.Ref);
            _unreachable = false;
        }
    }

    /// <summary>Closes the try/catch: code goes on after it, reached by the leaves out of it, with an empty stack.</summary>
    public void EndTry()
    {
        il.EndExceptionBlock();
        if (check)
        {
            _stack.Clear();
            _unreachable = false;
        }
    }

    /// <summary>Asserts the evaluation stack is empty (at VM instruction boundaries, where every value lives in a local).</summary>
    public void ExpectEmpty()
    {
        if (check && !_unreachable && _stack.Count != 0) Fail($"the CIL stack should be empty between VM instructions but holds [{string.Join(' ', _stack)}]");
    }

    public static Kind KindOf(Type type) =>
        type.IsByRef ? Kind.ByRef
        : type == typeof(int) || type == typeof(bool) || type == typeof(byte) || type == typeof(uint) ? Kind.I4
        : type == typeof(long) || type == typeof(ulong) || type == typeof(nuint) || type == typeof(nint) ? Kind.I8
        : type == typeof(double) ? Kind.R8
        : type == typeof(Word) ? Kind.Word
        : type == typeof(void) ? Kind.Any
        : Kind.Ref;

    private void Simulate(OpCode op, object? _)
    {
        if (_unreachable) Fail($"{op} is unreachable: nothing branches here");
        switch (op.Name)
        {
            case "ldc.i4": case "ldc.i4.0": case "ldc.i4.1": case "ldc.i4.m1": Push(Kind.I4); return;
            case "ldc.i8": Push(Kind.I8); return;
            case "ldc.r8": Push(Kind.R8); return;
            case "ldstr": case "ldnull": Push(Kind.Ref); return;
            case "ldarg": case "ldarg.0": case "ldarg.1": case "ldarg.2": case "ldarg.3": case "ldarg.s": Push(Kind.Any); return;
            case "add": case "sub": case "mul": case "div": case "div.un": case "rem": case "rem.un": case "and": case "or": case "xor":
            {
                var b = PopAny(op.Name);
                var a = PopAny(op.Name);
                // A managed reference plus a byte offset is a reference (stores into a spill area).
                if (op.Name == "add" && a == Kind.ByRef && b == Kind.I4)
                {
                    Push(Kind.ByRef);
                    return;
                }
                if (a != b && a != Kind.Any && b != Kind.Any) Fail($"{op.Name} on {a} and {b}");
                Push(a == Kind.Any ? b : a);
                return;
            }
            case "shl": case "shr": case "shr.un":
                Pop(Kind.I4, op.Name + " amount");
                Push(PopAny(op.Name));
                return;
            case "neg": case "not": Push(PopAny(op.Name)); return;
            case "ceq": case "clt": case "clt.un": case "cgt": case "cgt.un":
            {
                var b = PopAny(op.Name);
                var a = PopAny(op.Name);
                if (a != b && a != Kind.Any && b != Kind.Any) Fail($"{op.Name} compares {a} with {b}");
                Push(Kind.I4);
                return;
            }
            case "conv.i1": case "conv.i2": case "conv.i4": case "conv.u4": PopAny(op.Name); Push(Kind.I4); return;
            case "conv.i8": case "conv.u8": case "conv.i": case "conv.u": PopAny(op.Name); Push(Kind.I8); return;
            case "conv.r8": case "conv.r.un": PopAny(op.Name); Push(Kind.R8); return;
            case "ldelem.i8": Pop(Kind.Any, "index"); Pop(Kind.Ref, "array"); Push(Kind.I8); return;
            case "ldelem.u1": Pop(Kind.Any, "index"); Pop(Kind.Ref, "array"); Push(Kind.I4); return;
            case "stelem.i8": Pop(Kind.I8, "value"); Pop(Kind.Any, "index"); Pop(Kind.Ref, "array"); return;
            case "stelem.i1": Pop(Kind.I4, "value"); Pop(Kind.Any, "index"); Pop(Kind.Ref, "array"); return;
            case "stind.i8": Pop(Kind.I8, "value"); Pop(Kind.ByRef, "address"); return;
            case "stind.i1": Pop(Kind.I4, "value"); Pop(Kind.ByRef, "address"); return;
            case "dup": { var top = PopAny("dup"); Push(top); Push(top); return; }
            case "pop": PopAny("pop"); return;
            case "ret": case "rethrow": _unreachable = true; return;
            case "throw": Pop(Kind.Ref, "throw"); _unreachable = true; return;
            case "br": case "leave": case "tail.": return;
            case "brtrue": case "brfalse": PopAny(op.Name); return;
            case "beq": case "bne.un": case "blt": case "blt.un": case "bgt": case "bgt.un": case "ble": case "ble.un": case "bge": case "bge.un":
            {
                var b = PopAny(op.Name);
                var a = PopAny(op.Name);
                if (a != b && a != Kind.Any && b != Kind.Any) Fail($"{op.Name} compares {a} with {b}");
                return;
            }
            default: Fail($"the checked emitter does not model {op.Name}"); return;
        }
    }

    /// <summary>Loads argument <paramref name="index"/> with its declared type.</summary>
    public void LoadArgument(int index)
    {
        if (check) Push(index < _arguments.Length ? _arguments[index] : Kind.Any);
        Count(OpCodes.Ldarg);
        il.Emit(OpCodes.Ldarg, (short)index);
    }

    /// <summary>Blocks a try/catch adds besides its labels: the try's start, the handler's, and the leaves' targets.</summary>
    private const int TryBlocks = 4;

    /// <summary>Counts one IL instruction into <see cref="Shape"/>: an instruction that ends a block (a branch, return
    /// or throw) makes the next one start a block, and one naming an argument or local is a reference to it.</summary>
    private void Count(OpCode op)
    {
        _instructions++;
        if (op.FlowControl is FlowControl.Branch or FlowControl.Cond_Branch or FlowControl.Return or FlowControl.Throw) _blocks++;
        if (op.OperandType is OperandType.InlineVar or OperandType.ShortInlineVar ||
            op.Size == 1 && op.Value >= OpCodes.Ldarg_0.Value && op.Value <= OpCodes.Stloc_3.Value)
            _variableReferences++;
    }

    private void Branch(Label label)
    {
        if (_labelShapes.TryGetValue(label, out var shape)) Same(shape, "branching to a label");
        else _labelShapes[label] = [.. _stack];
    }

    private void Same(Kind[] expected, string what)
    {
        if (expected.Length == _stack.Count && expected.Zip(_stack).All(p => p.First == p.Second || p.First == Kind.Any || p.Second == Kind.Any)) return;
        Fail($"stack shape mismatch {what}: the label expects [{string.Join(' ', expected)}] but the stack is [{string.Join(' ', _stack)}]");
    }

    private void Push(Kind kind) => _stack.Add(kind);

    private Kind PopAny(string what)
    {
        if (_stack.Count == 0) Fail($"{what} pops an empty CIL stack");
        var top = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return top;
    }

    private void Pop(Kind expected, string what)
    {
        var top = PopAny(what);
        if (expected != Kind.Any && top != Kind.Any && top != expected) Fail($"{what} needs {expected} but the CIL stack has {top}");
    }

    private void Fail(string detail) =>
        throw new InvalidProgramException($"JIT emitted invalid IL in function {Diagnostics.Printable.Quote(function)} at pc {Pc}: {detail}");
}
