using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;

namespace JitVm.Lox;

internal sealed partial class LoxRuntime
{
    /// <summary>
    /// <c>rt.call_N (a1 … aN, callee) -> result</c>, made the first time a call with N arguments is compiled: calls
    /// a closure, a bound method (with its receiver), a class (a new instance, through <c>init</c> when it has one)
    /// or the native <c>clock</c>, after clox's checks.
    /// </summary>
    public FunctionBuilder CallFor(int arity)
    {
        if (_calls.TryGetValue(arity, out var existing)) return existing;
        var f = _module.Function($"{Prefix}call_{arity}", [.. Enumerable.Repeat(Word, arity), Word], [Word]);
        _calls.Add(arity, f);
        var callee = f.Parameter(arity);
        var target = f.DeclareLocal(Ptr, "target");
        var closure = f.DeclareLocal(Ptr, "closure");
        var instance = f.DeclareLocal(Ptr, "instance");
        var initializer = f.DeclareLocal(Word, "initializer");
        var notCallable = f.DefineLabel();
        var cases = Enumerable.Range(0, 7).Select(_ => f.DefineLabel()).ToArray();
        f.LocalGet(callee).Emit(OpCode.IsPtr).BrIfZ(notCallable)
         .LocalGet(callee).Emit(OpCode.WordAsPtr).LocalTee(target).I64Const(Layout.Kind).Emit(OpCode.LoadI).BrTable(cases, notCallable);
        foreach (var kind in new[] { 0, (int)ObjectKind.String, (int)ObjectKind.Instance }) f.MarkLabel(cases[kind]).Br(notCallable);

        f.MarkLabel(cases[(int)ObjectKind.Closure]).LocalGet(target).LocalSet(closure);
        EmitCheckedCall(f, closure, () => f.Nil(), 0, arity);
        f.Return();

        f.MarkLabel(cases[(int)ObjectKind.BoundMethod]).Field(target, Layout.BoundClosure, OpCode.LoadP).LocalSet(closure);
        EmitCheckedCall(f, closure, () => f.Field(target, Layout.BoundReceiver, OpCode.LoadW), 0, arity);
        f.Return();

        var noInitializer = f.DefineLabel();
        f.MarkLabel(cases[(int)ObjectKind.Class]).I64Const(3).Emit(OpCode.Alloc).LocalSet(instance)
         .LocalGet(instance).I64Const(Layout.Kind).I64Const((long)ObjectKind.Instance).Emit(OpCode.StoreI)
         .LocalGet(instance).I64Const(Layout.InstanceClass).LocalGet(target).Emit(OpCode.StoreP)
         .LocalGet(instance).I64Const(Layout.InstanceFields);
        EmitEmptyFields(f);
        f.Emit(OpCode.StoreP)
         .Field(target, Layout.ClassMethods, OpCode.LoadP).I64Const(_initSymbol).Call(TableGet).LocalSet(initializer)
         .BrIfUndefined(initializer, noInitializer)
         .LocalGet(initializer).Emit(OpCode.WordAsPtr).LocalSet(closure);
        EmitCheckedCall(f, closure, () => f.LocalGet(instance).Emit(OpCode.WordOfPtr), 0, arity);
        f.Emit(OpCode.Drop).LocalGet(instance).Emit(OpCode.WordOfPtr).Return().MarkLabel(noInitializer);
        if (arity != 0) Raise(f, RuntimeError.Arity, 0, arity);
        else f.LocalGet(instance).Emit(OpCode.WordOfPtr).Return();

        f.MarkLabel(cases[(int)ObjectKind.Native]);
        if (arity != 0) Raise(f, RuntimeError.Arity, 0, arity);
        else f.Call(Clock).Emit(OpCode.WordOfF64).Return();

        f.MarkLabel(notCallable);
        Raise(f, RuntimeError.NotCallable);
        return f;
    }

    /// <summary>
    /// <c>rt.invoke_N (a1 … aN, receiver, symbol) -> result</c>: <c>receiver.name(args)</c> without making a bound
    /// method — a field holding a callable first, as clox's OP_INVOKE, then the class's method called directly.
    /// </summary>
    public FunctionBuilder InvokeFor(int arity)
    {
        if (_invokes.TryGetValue(arity, out var existing)) return existing;
        var f = _module.Function($"{Prefix}invoke_{arity}", [.. Enumerable.Repeat(Word, arity), Word, I64], [Word]);
        _invokes.Add(arity, f);
        var (receiver, symbol) = (f.Parameter(arity), f.Parameter(arity + 1));
        var instance = f.DeclareLocal(Ptr, "instance");
        var value = f.DeclareLocal(Word, "value");
        var closure = f.DeclareLocal(Ptr, "closure");
        var error = f.DefineLabel();
        var method = f.DefineLabel();
        var missing = f.DefineLabel();
        f.BrIfNotKind(receiver, ObjectKind.Instance, error)
         .LocalGet(receiver).Emit(OpCode.WordAsPtr).LocalSet(instance)
         .Field(instance, Layout.InstanceFields, OpCode.LoadP).LocalGet(symbol).Call(TableGet).LocalSet(value)
         .BrIfUndefined(value, method);
        for (var i = 0; i < arity; i++) f.LocalGet(f.Parameter(i));
        f.LocalGet(value).Call(CallFor(arity)).Return()
         .MarkLabel(method).Field(instance, Layout.InstanceClass, OpCode.LoadP).I64Const(Layout.ClassMethods).Emit(OpCode.LoadP)
         .LocalGet(symbol).Call(TableGet).LocalSet(value)
         .BrIfUndefined(value, missing)
         .LocalGet(value).Emit(OpCode.WordAsPtr).LocalSet(closure);
        EmitCheckedCall(f, closure, () => f.LocalGet(receiver), 0, arity);
        f.Return()
         .MarkLabel(missing).I64Const((long)RuntimeError.UndefinedProperty).LocalGet(symbol).I64Const(0).Call(Error).Emit(OpCode.Unreachable)
         .MarkLabel(error);
        Raise(f, RuntimeError.MethodsOnlyOnInstances);
        return f;
    }

    /// <summary>Emits: arity check of the closure in <paramref name="closure"/>, then its call with the receiver
    /// <paramref name="pushReceiver"/> pushes and the arguments, the parameters from <paramref name="firstArgument"/>
    /// on; leaves the result on the stack.</summary>
    private void EmitCheckedCall(FunctionBuilder f, JitVm.Bytecode.LocalReference closure, Action pushReceiver, int firstArgument, int arity)
    {
        var arityOk = f.DefineLabel();
        f.Field(closure, Layout.ClosureArity, OpCode.LoadI).I64Const(arity).Emit(OpCode.I64Eq).BrIf(arityOk)
         .I64Const((long)RuntimeError.Arity).Field(closure, Layout.ClosureArity, OpCode.LoadI).I64Const(arity).Call(Error).Emit(OpCode.Unreachable)
         .MarkLabel(arityOk);
        for (var i = 0; i < arity; i++) f.LocalGet(f.Parameter(firstArgument + i));
        f.LocalGet(closure);
        pushReceiver();
        f.Field(closure, Layout.ClosureFunction, OpCode.LoadI).CallIndirect(FunctionSignature(arity));
    }
}
