using JitVm.Bytecode;

namespace JitVm.Lox;

internal sealed partial class CodeGenerator
{
    /// <summary>Pushes the expression's value, one word.</summary>
    private void EmitExpression(Context context, Expr expression)
    {
        var f = context.F;
        if (TryEmitKnown(context, expression)) return;
        switch (expression)
        {
            case NumberExpr number:
                f.Word(BitConverter.DoubleToInt64Bits(number.Value));
                break;
            case StringExpr text:
                EmitString(context, text.Value);
                break;
            case LiteralExpr literal:
                f.Word(literal.Kind switch
                {
                    LiteralKind.True => Representation.True,
                    LiteralKind.False => Representation.False,
                    _ => Representation.Nil,
                });
                break;
            case UnaryExpr unary:
                EmitExpression(context, unary.Operand);
                f.Line(unary.Line);
                if (unary.Operator == TokenType.Minus) f.Call(_runtime.Negate);
                else
                {
                    EmitTruthy(context);
                    f.Emit(OpCode.I64Eqz).ToBool();
                }
                break;
            case BinaryExpr binary:
                EmitExpression(context, binary.Left);
                EmitExpression(context, binary.Right);
                f.Line(binary.Line);
                EmitBinary(context, binary.Operator, binary.Right is NumberExpr);
                break;
            case LogicalExpr logical:
            {
                // The left value stays on the stack as the result unless it decides nothing.
                var end = f.DefineLabel();
                EmitExpression(context, logical.Left);
                f.Emit(OpCode.Dup);
                EmitTruthy(context);
                if (logical.IsAnd) f.BrIfZ(end);
                else f.BrIf(end);
                f.Emit(OpCode.Drop);
                EmitExpression(context, logical.Right);
                f.MarkLabel(end);
                break;
            }
            case VariableExpr variable:
                f.Line(variable.Line);
                EmitRead(context, variable.Variable);
                break;
            case AssignExpr assign:
                EmitExpression(context, assign.Value);
                f.Line(assign.Line);
                EmitWrite(context, assign.Variable);
                break;
            case GetExpr get:
                EmitGet(context, get);
                break;
            case SetExpr set:
                EmitSet(context, set);
                break;
            case SuperExpr super:
                EmitRead(context, super.Super);
                EmitRead(context, super.This);
                f.Line(super.Line).I64Const(super.Symbol).Call(_runtime.GetSuper);
                break;
            case CallExpr { Callee: GetExpr method } call:
                EmitInvoke(context, call, method);
                break;
            case CallExpr call:
                EmitCall(context, call);
                break;
            default:
                throw new InvalidOperationException($"no code for {expression.GetType().Name}");
        }
    }

    /// <summary>Pushes the variable's value; a global not yet defined is "Undefined variable".</summary>
    private void EmitRead(Context context, VariableReference variable)
    {
        var f = context.F;
        switch (variable)
        {
            case LocalUse { Variable: var local } when local.IsCaptured:
                f.LocalGet(context.Slots[local]).I64Const(0).Emit(OpCode.LoadW);
                break;
            case LocalUse { Variable: var local }:
                f.LocalGet(context.Slots[local]);
                break;
            case UpvalueUse upvalue:
                f.LocalGet(context.Closure!).I64Const(Layout.ClosureUpvalues + upvalue.Index).Emit(OpCode.LoadP).I64Const(0).Emit(OpCode.LoadW);
                break;
            case GlobalUse global:
                // The value waits on the stack during the check, so the label after the error is never a point
                // where the operand stack is empty.
                f.GlobalGet(_globals[global.Variable]).LocalTee(context.ScratchWord);
                EmitCheckDefined(context, global.Variable);
                break;
        }
    }

    /// <summary>Stores the value on top into the variable and leaves it there (assignment is an expression).</summary>
    private void EmitWrite(Context context, VariableReference variable)
    {
        var f = context.F;
        var value = context.ScratchWord;
        switch (variable)
        {
            case LocalUse { Variable: var local } when local.IsCaptured:
                f.LocalSet(value).LocalGet(context.Slots[local]).I64Const(0).LocalGet(value).Emit(OpCode.StoreW).LocalGet(value);
                break;
            case LocalUse { Variable: var local }:
                f.LocalTee(context.Slots[local]);
                break;
            case UpvalueUse upvalue:
                f.LocalSet(value).LocalGet(context.Closure!).I64Const(Layout.ClosureUpvalues + upvalue.Index).Emit(OpCode.LoadP)
                 .I64Const(0).LocalGet(value).Emit(OpCode.StoreW).LocalGet(value);
                break;
            case GlobalUse global:
                // clox checks after evaluating the value: assigning to an undefined global is an error too.
                f.GlobalGet(_globals[global.Variable]).LocalSet(context.ScratchWord);
                EmitCheckDefined(context, global.Variable);
                f.Emit(OpCode.Dup).GlobalSet(_globals[global.Variable]);
                break;
        }
    }

    private void EmitCheckDefined(Context context, GlobalVariable global)
    {
        var defined = context.F.DefineLabel();
        context.F.LocalGet(context.ScratchWord).Emit(OpCode.IsPtr).BrIf(defined)
            .LocalGet(context.ScratchWord).Emit(OpCode.WordAsI64).I64Const(Representation.Undefined).Emit(OpCode.I64Ne).BrIf(defined);
        _runtime.Raise(context.F, RuntimeError.UndefinedVariable, global.Symbol);
        context.F.MarkLabel(defined);
    }
}
