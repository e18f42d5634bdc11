using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;

namespace JitVm.Lox;

internal sealed partial class CodeGenerator
{
    private void EmitStatement(Context context, Stmt statement)
    {
        var f = context.F;
        switch (statement)
        {
            case PrintStmt print:
                EmitExpression(context, print.Value);
                f.Line(print.Line).Call(_runtime.Print);
                break;
            case ExpressionStmt expression when IsPure(expression.Value):
                break;
            case ExpressionStmt expression:
                EmitExpression(context, expression.Value);
                f.Emit(OpCode.Drop);
                break;
            case VarStmt declaration:
                EmitDefinition(context, declaration.Target, declaration.Line, () =>
                {
                    if (declaration.Initializer is null) f.Nil();
                    else EmitExpression(context, declaration.Initializer);
                });
                break;
            case FunctionStmt function:
                EmitDefinition(context, function.Target, function.Line, () => EmitClosure(context, function.Function));
                break;
            case ClassStmt declaration:
                EmitClass(context, declaration);
                break;
            case BlockStmt block:
                foreach (var inner in block.Statements) EmitStatement(context, inner);
                break;
            case IfStmt conditional:
            {
                var otherwise = f.DefineLabel();
                var end = f.DefineLabel();
                EmitCondition(context, conditional.Condition);
                f.BrIfZ(otherwise);
                EmitStatement(context, conditional.Then);
                f.Br(end).MarkLabel(otherwise);
                if (conditional.Else is not null) EmitStatement(context, conditional.Else);
                f.MarkLabel(end);
                // A label cannot end a function; the implicit return always follows, so this is never the last instruction.
                break;
            }
            case WhileStmt loop:
            {
                var start = f.DefineLabel();
                var exit = f.DefineLabel();
                f.MarkLabel(start);
                if (loop.Condition is not null)
                {
                    EmitCondition(context, loop.Condition);
                    f.BrIfZ(exit);
                }
                EmitStatement(context, loop.Body);
                if (loop.Increment is not null)
                {
                    EmitExpression(context, loop.Increment);
                    f.Emit(OpCode.Drop);
                }
                f.Br(start).MarkLabel(exit);
                break;
            }
            case ReturnStmt ret:
                if (ret.Value is not null) EmitExpression(context, ret.Value);
                else if (context.Node.Kind == FunctionKind.Initializer) EmitRead(context, new LocalUse(context.Node.This!));
                else f.Nil();
                f.Line(ret.Line).Return();
                break;
            default:
                throw new InvalidOperationException($"no code for {statement.GetType().Name}");
        }
    }

    /// <summary>Pushes 1 when the expression's value is truthy, else 0.</summary>
    private void EmitCondition(Context context, Expr condition)
    {
        if (condition is BinaryExpr { Operator: TokenType.Less or TokenType.LessEqual or TokenType.Greater or TokenType.GreaterEqual } comparison)
        {
            // A comparison decides the branch directly, without making a boolean value first.
            EmitExpression(context, comparison.Left);
            EmitExpression(context, comparison.Right);
            context.F.Line(comparison.Line);
            EmitNumeric(context, comparison.Operator, asCondition: true, comparison.Right is NumberExpr);
            return;
        }
        if (condition is BinaryExpr { Operator: TokenType.EqualEqual or TokenType.BangEqual } equality)
        {
            EmitExpression(context, equality.Left);
            EmitExpression(context, equality.Right);
            context.F.Line(equality.Line);
            EmitEquality(context);
            if (equality.Operator == TokenType.BangEqual) context.F.Emit(OpCode.I64Eqz);
            return;
        }
        EmitExpression(context, condition);
        EmitTruthy(context);
    }

    /// <summary>Defines a variable with the value <paramref name="pushValue"/> emits. A captured local's box is made
    /// first, so a local function can capture itself.</summary>
    private void EmitDefinition(Context context, VariableReference target, int line, Action pushValue)
    {
        var f = context.F;
        f.Line(line);
        switch (target)
        {
            case GlobalUse global:
                pushValue();
                f.GlobalSet(_globals[global.Variable]);
                break;
            case LocalUse { Variable: var local } when local.IsCaptured:
                var box = f.DeclareLocal(Ptr, $"box.{local.Name}.{f.Locals.Count}");
                context.Slots[local] = box;
                f.I64Const(1).Emit(OpCode.Alloc).LocalTee(box).I64Const(0).Nil().Emit(OpCode.StoreW);
                f.LocalGet(box).I64Const(0);
                pushValue();
                f.Emit(OpCode.StoreW);
                break;
            case LocalUse { Variable: var local }:
                var slot = f.DeclareLocal(Word, $"{local.Name}.{f.Locals.Count}");
                context.Slots[local] = slot;
                pushValue();
                f.LocalSet(slot);
                break;
            default:
                throw new InvalidOperationException("a definition stores to a local or a global");
        }
    }

    private void EmitClass(Context context, ClassStmt declaration)
    {
        var f = context.F;
        EmitDefinition(context, declaration.Target, declaration.Line, () =>
        {
            EmitString(context, declaration.Name);
            f.Emit(OpCode.WordAsPtr).Call(_runtime.NewClass);
        });
        if (declaration.Superclass is not null)
        {
            var superclass = new LocalUse(declaration.SuperVariable!);
            EmitDefinition(context, superclass, declaration.Line, () => EmitExpression(context, declaration.Superclass));
            EmitRead(context, superclass);
            EmitRead(context, declaration.Target);
            f.Line(declaration.Superclass.Line).Call(_runtime.Inherit);
        }
        foreach (var (symbol, method) in declaration.Methods)
        {
            EmitRead(context, declaration.Target);
            f.I64Const(symbol);
            EmitClosure(context, method);
            f.Call(_runtime.AddMethod);
        }
    }
}
