using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;
using VmLocal = JitVm.Bytecode.LocalReference;

namespace JitVm.Lox;

// Property access and method invocation with per-site inline caches (spec/lox.md §4). Each cache is one or two VM
// globals of the module, private to its site:
// - a field read or write remembers the word index in the field table where it last found its key; the next
//   access checks that index is inside the instance's table and holds the key (a key is in a table at most once,
//   so any slot holding it is the entry), and otherwise asks `$rt.table_find` and remembers the answer;
// - an invocation remembers the last class it found the method in and that method's closure. A class's method
//   table never changes once the class statement has run (methods are added before anything can make an
//   instance), so the same class means the same method; the cached class also keeps the class alive, so no other
//   class can take its place in memory while cached.
// Whatever the cache cannot answer — not an instance, a missing property, a wrong arity — takes the runtime
// function of the general case, which reports errors exactly as before.
internal sealed partial class CodeGenerator
{
    private int _cacheCount;

    /// <summary><c>target.name(args)</c>.</summary>
    private void EmitInvoke(Context context, CallExpr call, GetExpr method)
    {
        var f = context.F;
        var arity = call.Arguments.Count;
        EmitExpression(context, method.Target);
        var receiver = context.Callee();
        f.LocalSet(receiver);
        context.CallDepth++;
        foreach (var argument in call.Arguments) EmitExpression(context, argument);
        context.CallDepth--;
        // The receiver stays on the stack until the call: the general path takes it there, and no label of this
        // sequence is a point where the operand stack is empty.
        f.Line(call.Line).LocalGet(receiver);
        var slow = f.DefineLabel();
        var done = f.DefineLabel();
        // A field of the method's name would be called instead (clox's OP_INVOKE); only a name some assignment
        // stores to can be a field, so for every other name the class alone decides.
        if (!_symbols.FieldStores.Contains(method.Symbol))
        {
            var id = ++_cacheCount;
            var cachedClass = _module.Global($"ic.{id}.class", Word);
            var cachedMethod = _module.Global($"ic.{id}.method", Word);
            var (klass, closure) = (context.ScratchPointer, context.CalleeObject);
            var hit = f.DefineLabel();
            var miss = f.DefineLabel();
            if (IsThis(context, method.Target)) f.LocalGet(receiver).Emit(OpCode.WordAsPtr).LocalSet(klass);
            else
            {
                f.LocalGet(receiver).Emit(OpCode.IsPtr).BrIfZ(slow)
                 .LocalGet(receiver).Emit(OpCode.WordAsPtr).LocalTee(klass).I64Const(Layout.Kind).Emit(OpCode.LoadI)
                 .I64Const((long)ObjectKind.Instance).Emit(OpCode.I64Ne).BrIf(slow);
            }
            f.LocalGet(klass).I64Const(Layout.InstanceClass).Emit(OpCode.LoadP).LocalSet(klass)
             .GlobalGet(cachedClass).LocalTee(context.ScratchWord).Emit(OpCode.IsPtr).BrIfZ(miss)
             .LocalGet(context.ScratchWord).Emit(OpCode.WordAsPtr).LocalGet(klass).Emit(OpCode.PtrEq).BrIf(hit)
             .MarkLabel(miss)
             .LocalGet(klass).I64Const(method.Symbol).I64Const(arity).Call(_runtime.FindMethod).LocalTee(context.ScratchWord)
             .Emit(OpCode.IsPtr).BrIfZ(slow)
             .LocalGet(klass).Emit(OpCode.WordOfPtr).GlobalSet(cachedClass).LocalGet(context.ScratchWord).GlobalSet(cachedMethod)
             .MarkLabel(hit).Emit(OpCode.Drop);
            // With one method of this name in the whole program, whichever class has it has a closure of it; when
            // that function captures nothing it never reads its closure parameter, which then gets the class.
            var only = _symbols.OnlyMethod(method.Symbol, arity);
            if (only is not null && InlineResult(only) is { } result) EmitInlined(context, only, result, receiver, klass, done);
            else if (only is { Upvalues.Count: 0 }) f.LocalGet(klass).LocalGet(receiver).Call(Declare(only));
            else
            {
                f.GlobalGet(cachedMethod).Emit(OpCode.WordAsPtr).LocalTee(closure).LocalGet(receiver);
                if (only is not null) f.Call(Declare(only));
                else f.LocalGet(closure).I64Const(Layout.ClosureFunction).Emit(OpCode.LoadI).CallIndirect(LoxRuntime.FunctionSignature(arity));
            }
            f.Br(done);
        }
        f.MarkLabel(slow).I64Const(method.Symbol).Call(_runtime.InvokeFor(arity))
         .MarkLabel(done);
    }

    /// <summary>
    /// The value a method gives when its whole body is <c>{}</c>, <c>return;</c> or <c>return E;</c> with
    /// <c>E</c> a number, <c>nil</c>, <c>true</c>, <c>false</c>, <c>this</c> or <c>this.name</c> for a name that can
    /// be a field; null for any other method. Such a body has no effect and needs no call: its only step that can
    /// miss is the field read, before which nothing has happened, so a miss can still call the method itself.
    /// </summary>
    private Expr? InlineResult(FunctionNode method)
    {
        if (method is not { Kind: FunctionKind.Method, Parameters.Count: 0, Upvalues.Count: 0 }) return null;
        var nil = new LiteralExpr(LiteralKind.Nil, method.Line);
        return method.Body switch
        {
            [] or [ReturnStmt { Value: null }] => nil,
            [ReturnStmt { Value: NumberExpr or LiteralExpr } returned] => returned.Value,
            [ReturnStmt { Value: VariableExpr { Variable: LocalUse { Variable: var local } } returned }] when local == method.This => returned,
            [ReturnStmt { Value: GetExpr { Target: VariableExpr { Variable: LocalUse { Variable: var local } } } read }]
                when local == method.This && _symbols.FieldStores.Contains(read.Symbol) => read,
            _ => null,
        };
    }

    /// <summary>
    /// On an invocation's cache hit, with the receiver known to be an instance of a class whose method is
    /// <paramref name="method"/>: pushes <paramref name="result"/> (<see cref="InlineResult"/>) and goes to
    /// <paramref name="done"/>. A field read has the site's own cache; when the field is not in the instance's table
    /// the method is called after all (it reports the error or binds the method of that name).
    /// </summary>
    private void EmitInlined(Context context, FunctionNode method, Expr result, VmLocal receiver, VmLocal klass, CodeLabel done)
    {
        var f = context.F;
        // The receiver waits on the stack until the result replaces it, so no label here has an empty operand stack.
        f.LocalGet(receiver);
        switch (result)
        {
            case GetExpr read:
            {
                var call = f.DefineLabel();
                var miss = f.DefineLabel();
                var slot = EmitFindCachedField(context, knownInstance: true, receiver, read.Symbol, call, miss);
                f.Emit(OpCode.Drop).LocalGet(context.Table).GlobalGet(slot).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadW).Br(done)
                 .MarkLabel(miss);
                EmitLearnField(context, read.Symbol, slot, call);
                f.Emit(OpCode.Drop).LocalGet(context.Table).LocalGet(context.Index).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadW).Br(done)
                 .MarkLabel(call).Emit(OpCode.Drop).LocalGet(klass).LocalGet(receiver).Call(Declare(method));
                break;
            }
            case VariableExpr:
                // `this`: the receiver, already on the stack.
                break;
            default:
                f.Emit(OpCode.Drop);
                EmitExpression(context, result);
                break;
        }
    }

    /// <summary><c>target.name</c>: a field through the site's cache, else <c>$rt.get_property</c> (a method
    /// bound to the receiver, or the error).</summary>
    private void EmitGet(Context context, GetExpr get)
    {
        var f = context.F;
        EmitExpression(context, get.Target);
        f.Line(get.Line);
        // The target stays on the stack until the result replaces it, so no label here has an empty operand stack.
        var target = context.PropertyTarget;
        f.LocalTee(target);
        var slow = f.DefineLabel();
        var done = f.DefineLabel();
        if (_symbols.FieldStores.Contains(get.Symbol))
        {
            var miss = f.DefineLabel();
            var slot = EmitFindCachedField(context, IsThis(context, get.Target), target, get.Symbol, slow, miss);
            f.Emit(OpCode.Drop).LocalGet(context.Table).GlobalGet(slot).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadW).Br(done)
             .MarkLabel(miss);
            EmitLearnField(context, get.Symbol, slot, slow);
            f.Emit(OpCode.Drop).LocalGet(context.Table).LocalGet(context.Index).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.LoadW).Br(done);
        }
        f.MarkLabel(slow).I64Const(get.Symbol).Call(_runtime.GetProperty)
         .MarkLabel(done);
    }

    /// <summary><c>target.name = value</c>: an existing field through the site's cache, else, on an instance,
    /// <c>$rt.table_set</c> (which also says where the field is now), else <c>$rt.set_property</c> (the error).
    /// Leaves the value.</summary>
    private void EmitSet(Context context, SetExpr set)
    {
        var f = context.F;
        EmitExpression(context, set.Target);
        var waiting = context.Callee();
        f.LocalSet(waiting);
        context.CallDepth++;
        EmitExpression(context, set.Value);
        context.CallDepth--;
        f.Line(set.Line);
        var (target, value) = (context.PropertyTarget, context.PropertyValue);
        // The value stays on the stack as the result, so no label here has an empty operand stack.
        f.LocalTee(value).LocalGet(waiting).LocalSet(target);
        var slow = f.DefineLabel();
        var done = f.DefineLabel();
        var miss = f.DefineLabel();
        var knownInstance = IsThis(context, set.Target);
        var slot = EmitFindCachedField(context, knownInstance, target, set.Symbol, slow, miss);
        // On a miss the target is an instance: `$rt.table_set` stores the field, new or not, and says where it is.
        f.LocalGet(context.Table).GlobalGet(slot).I64Const(1).Emit(OpCode.I64Add).LocalGet(value).Emit(OpCode.StoreW).Br(done)
         .MarkLabel(miss)
         .LocalGet(target).Emit(OpCode.WordAsPtr).I64Const(Layout.InstanceFields).I64Const(set.Symbol).LocalGet(value).Call(_runtime.TableSet)
         .GlobalSet(slot).Br(done);
        // Only the instance check goes to the general case (the error), and `this` needs none.
        if (!knownInstance) f.MarkLabel(slow).Emit(OpCode.Drop).LocalGet(target).I64Const(set.Symbol).LocalGet(value).Call(_runtime.SetProperty);
        f.MarkLabel(done);
    }

    /// <summary>Emits the check that <paramref name="target"/> is an instance (else to <paramref name="slow"/>;
    /// no check when <paramref name="knownInstance"/>),
    /// loads its field table into <c>Table</c>, and falls through when the site's cached index holds
    /// <paramref name="symbol"/> in it (else to <paramref name="miss"/>). Returns the site's cache global.</summary>
    private GlobalReference EmitFindCachedField(Context context, bool knownInstance, VmLocal target, int symbol, CodeLabel slow, CodeLabel miss)
    {
        var f = context.F;
        var slot = _module.Global($"ic.{++_cacheCount}.slot", I64, 1);
        var table = context.Table;
        if (knownInstance)
            f.LocalGet(target).Emit(OpCode.WordAsPtr).LocalSet(table);
        else
        {
            f.LocalGet(target).Emit(OpCode.IsPtr).BrIfZ(slow)
             .LocalGet(target).Emit(OpCode.WordAsPtr).LocalTee(table).I64Const(Layout.Kind).Emit(OpCode.LoadI)
             .I64Const((long)ObjectKind.Instance).Emit(OpCode.I64Ne).BrIf(slow);
        }
        f.LocalGet(table).I64Const(Layout.InstanceFields).Emit(OpCode.LoadP).LocalSet(table)
         .LocalGet(table).Emit(OpCode.Len).GlobalGet(slot).I64Const(1).Emit(OpCode.I64Add).Emit(OpCode.I64LeS).BrIf(miss)
         .LocalGet(table).GlobalGet(slot).Emit(OpCode.LoadI).I64Const(symbol).Emit(OpCode.I64Ne).BrIf(miss);
        return slot;
    }

    /// <summary>After a cache miss on an instance's table: finds the key's index into <c>Index</c> and remembers
    /// it, or goes to <paramref name="slow"/> when the table has no such key.</summary>
    private void EmitLearnField(Context context, int symbol, GlobalReference slot, CodeLabel slow) =>
        context.F.LocalGet(context.Table).I64Const(symbol).Call(_runtime.TableFind).LocalTee(context.Index)
            .I64Const(0).Emit(OpCode.I64LtS).BrIf(slow)
            .LocalGet(context.Index).GlobalSet(slot);

    /// <summary>True when <paramref name="expression"/> is <c>this</c> of the method being compiled, which is always
    /// an instance: every path that calls a method passes one (invocation, a bound method, a class call, super).</summary>
    private static bool IsThis(Context context, Expr expression) =>
        expression is VariableExpr { Variable: LocalUse { Variable: var local } } && local == context.Node.This;
}
