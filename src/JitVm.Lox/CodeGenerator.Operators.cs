using JitVm.Bytecode;
using VmLocal = JitVm.Bytecode.LocalReference;

namespace JitVm.Lox;

// Operators and calls with their common case inline: numbers for arithmetic and comparison, a closure of the
// right arity for a call. Everything else (strings, bound methods, classes, errors) goes to the runtime function
// that handles the general case, so the inline code never decides an error itself.
internal sealed partial class CodeGenerator
{
    private static readonly Dictionary<TokenType, OpCode> NumericOperators = new()
    {
        [TokenType.Plus] = OpCode.F64Add,
        [TokenType.Minus] = OpCode.F64Sub,
        [TokenType.Star] = OpCode.F64Mul,
        [TokenType.Slash] = OpCode.F64Div,
        [TokenType.Less] = OpCode.F64Lt,
        [TokenType.LessEqual] = OpCode.F64Le,
        [TokenType.Greater] = OpCode.F64Gt,
        [TokenType.GreaterEqual] = OpCode.F64Ge,
    };

    /// <summary>Applies the operator to the two words on top.</summary>
    private void EmitBinary(Context context, TokenType op, bool rightIsNumber)
    {
        switch (op)
        {
            case TokenType.EqualEqual:
                EmitEquality(context);
                context.F.ToBool();
                break;
            case TokenType.BangEqual:
                EmitEquality(context);
                context.F.Emit(OpCode.I64Eqz).ToBool();
                break;
            default:
                EmitNumeric(context, op, asCondition: false, rightIsNumber);
                break;
        }
    }

    /// <summary>
    /// Numbers inline, anything else through the runtime. With <paramref name="asCondition"/> a comparison leaves
    /// an i64 (1 when it holds) instead of a Lox boolean.
    /// </summary>
    private void EmitNumeric(Context context, TokenType op, bool asCondition, bool rightIsNumber = false)
    {
        var f = context.F;
        var (left, right) = (context.Left, context.Right);
        var slow = f.DefineLabel();
        var done = f.DefineLabel();
        var instruction = NumericOperators[op];
        var comparison = op is TokenType.Less or TokenType.LessEqual or TokenType.Greater or TokenType.GreaterEqual;
        f.LocalSet(right).LocalSet(left)
         .LocalGet(left).Emit(OpCode.IsPtr).BrIf(slow)
         .LocalGet(left).Emit(OpCode.WordAsI64).I64Const(48).Emit(OpCode.I64ShrU).I64Const(Representation.SingletonTop).Emit(OpCode.I64Eq).BrIf(slow);
        if (!rightIsNumber)
        {
            f.LocalGet(right).Emit(OpCode.IsPtr).BrIf(slow)
             .LocalGet(right).Emit(OpCode.WordAsI64).I64Const(48).Emit(OpCode.I64ShrU).I64Const(Representation.SingletonTop).Emit(OpCode.I64Eq).BrIf(slow);
        }
        f.LocalGet(left).Emit(OpCode.WordAsF64).LocalGet(right).Emit(OpCode.WordAsF64).Emit(instruction);
        if (!comparison) f.Emit(OpCode.WordOfF64);
        else if (!asCondition) f.ToBool();
        f.Br(done).MarkLabel(slow).LocalGet(left).LocalGet(right)
         .Call(op == TokenType.Plus ? _runtime.Add : _runtime.Arithmetic[instruction]);
        // The runtime's comparison gives a Lox boolean; as a condition it becomes 0 or 1 (true is false + 1).
        if (comparison && asCondition) f.Emit(OpCode.WordAsI64).I64Const(Representation.False).Emit(OpCode.I64Sub);
        f.MarkLabel(done);
    }

    /// <summary>
    /// Replaces the two words on top with 1 when they are equal, else 0: two untagged words inline (numbers by
    /// value, so NaN is unequal to itself and -0 equals 0; singletons by their bits), anything with a pointer
    /// through <c>$rt.equal</c> (strings by content, objects by identity).
    /// </summary>
    private void EmitEquality(Context context)
    {
        var f = context.F;
        var (left, right) = (context.Left, context.Right);
        var slow = f.DefineLabel();
        var done = f.DefineLabel();
        f.LocalSet(right).LocalSet(left)
         .LocalGet(left).Emit(OpCode.IsPtr).LocalGet(right).Emit(OpCode.IsPtr).Emit(OpCode.I64Or).BrIf(slow)
         .LocalGet(left).Emit(OpCode.WordAsF64).LocalGet(right).Emit(OpCode.WordAsF64).Emit(OpCode.F64Eq)
         .LocalGet(left).Emit(OpCode.WordAsI64).LocalGet(right).Emit(OpCode.WordAsI64).Emit(OpCode.I64Eq)
         .LocalGet(left).Emit(OpCode.WordAsI64).I64Const(48).Emit(OpCode.I64ShrU).I64Const(Representation.SingletonTop).Emit(OpCode.I64Eq)
         .Emit(OpCode.I64And).Emit(OpCode.I64Or).Br(done)
         .MarkLabel(slow).LocalGet(left).LocalGet(right).Call(_runtime.EqualValues)
         .MarkLabel(done);
    }

    /// <summary>Replaces the word on top with 1 when it is truthy, else 0: anything but nil and false, whose
    /// patterns differ only in bit 0.</summary>
    private static void EmitTruthy(Context context)
    {
        var f = context.F;
        var done = f.DefineLabel();
        f.LocalSet(context.ScratchWord).I64Const(1).LocalGet(context.ScratchWord).Emit(OpCode.IsPtr).BrIf(done)
         .Emit(OpCode.Drop).LocalGet(context.ScratchWord).Emit(OpCode.WordAsI64).I64Const(1).Emit(OpCode.I64Or)
         .I64Const(Representation.False).Emit(OpCode.I64Ne)
         .MarkLabel(done);
    }

    /// <summary>
    /// A call: the callee waits in a local while the arguments are pushed; then a closure of the right arity is
    /// called directly, and anything else goes to <c>rt.call_N</c> with the same arguments.
    /// </summary>
    private void EmitCall(Context context, CallExpr call)
    {
        var f = context.F;
        var arity = call.Arguments.Count;
        EmitExpression(context, call.Callee);
        var callee = context.Callee();
        f.LocalSet(callee);
        context.CallDepth++;
        foreach (var argument in call.Arguments) EmitExpression(context, argument);
        context.CallDepth--;
        if (call.Callee is VariableExpr { Variable: GlobalUse { Variable.KnownFunction: { } known } } && known.Parameters.Count == arity)
        {
            // The global only ever holds closures of this function: once it is defined, call the function itself.
            f.Line(call.Line).LocalGet(callee).Emit(OpCode.WordAsPtr).Nil().Call(Declare(known));
            return;
        }
        if (call.Callee is VariableExpr { Variable: GlobalUse { Variable.KnownClass: { Superclass: null } knownClass } }
            && EmitConstruct(context, knownClass, callee, arity, call.Line))
            return;
        var slow = f.DefineLabel();
        var done = f.DefineLabel();
        var closure = context.CalleeObject;
        f.Line(call.Line)
         .LocalGet(callee).Emit(OpCode.IsPtr).BrIfZ(slow)
         .LocalGet(callee).Emit(OpCode.WordAsPtr).LocalTee(closure).I64Const(Layout.Kind).Emit(OpCode.LoadI)
         .I64Const((long)ObjectKind.Closure).Emit(OpCode.I64Ne).BrIf(slow)
         .LocalGet(closure).I64Const(Layout.ClosureArity).Emit(OpCode.LoadI).I64Const(arity).Emit(OpCode.I64Ne).BrIf(slow)
         .LocalGet(closure).Nil().LocalGet(closure).I64Const(Layout.ClosureFunction).Emit(OpCode.LoadI)
         .CallIndirect(LoxRuntime.FunctionSignature(arity)).Br(done)
         .MarkLabel(slow).LocalGet(callee).Call(_runtime.CallFor(arity))
         .MarkLabel(done);
    }

    /// <summary>
    /// A call of a global that only ever holds the class of <paramref name="declaration"/> (without a superclass, so
    /// its initialiser is its own): the instance is made inline and its <c>init</c>, when it has one that does
    /// something, called directly; the initialiser returns the instance. Returns false, emitting nothing, when the arity does not
    /// match (the general path reports the error).
    /// </summary>
    private bool EmitConstruct(Context context, ClassStmt declaration, VmLocal callee, int arity, int line)
    {
        var init = declaration.Methods.LastOrDefault(m => m.Symbol == _symbols.Init).Method;
        if ((init?.Parameters.Count ?? 0) != arity) return false;
        var f = context.F;
        // An initialiser whose body is empty (or a bare `return;`) does nothing with its arguments, already
        // evaluated: the instance is the whole result.
        if (init is { Body: [] or [ReturnStmt { Value: null }] })
        {
            for (var i = 0; i < arity; i++) f.Emit(OpCode.Drop);
            init = null;
        }
        var instance = context.CalleeObject;
        f.Line(line).I64Const(3).Emit(OpCode.Alloc).LocalTee(instance).I64Const(Layout.Kind).I64Const((long)ObjectKind.Instance).Emit(OpCode.StoreI)
         .LocalGet(instance).I64Const(Layout.InstanceClass).LocalGet(callee).Emit(OpCode.WordAsPtr).Emit(OpCode.StoreP)
         .LocalGet(instance).I64Const(Layout.InstanceFields);
        _runtime.EmitEmptyFields(f);
        f.Emit(OpCode.StoreP);
        if (init is null)
        {
            f.LocalGet(instance).Emit(OpCode.WordOfPtr);
            return true;
        }
        // An initialiser that captures nothing never reads its closure parameter, which then gets the class.
        if (init.Upvalues.Count == 0) f.LocalGet(callee).Emit(OpCode.WordAsPtr);
        else f.LocalGet(callee).Emit(OpCode.WordAsPtr).I64Const(Layout.ClassMethods).Emit(OpCode.LoadP).I64Const(_symbols.Init)
              .Call(_runtime.TableGet).Emit(OpCode.WordAsPtr);
        f.LocalGet(instance).Emit(OpCode.WordOfPtr).Call(Declare(init));
        return true;
    }
}
