using JitVm.Bytecode;

namespace JitVm.Lox;

/// <summary>Short forms for the instruction sequences the Lox runtime and code generator emit again and again.</summary>
internal static class Emit
{
    /// <summary>Pushes the untagged word with these bits (a singleton or a number's bits).</summary>
    public static FunctionBuilder Word(this FunctionBuilder f, long bits) => f.I64Const(bits).Emit(OpCode.WordOfI64);

    public static FunctionBuilder Nil(this FunctionBuilder f) => f.Word(Representation.Nil);

    /// <summary>Turns the i64 0 or 1 on top into <c>false</c> or <c>true</c> (they are consecutive patterns).</summary>
    public static FunctionBuilder ToBool(this FunctionBuilder f) => f.I64Const(Representation.False).Emit(OpCode.I64Add).Emit(OpCode.WordOfI64);

    public static FunctionBuilder Op(this FunctionBuilder f, OpCode op) => f.Emit(op);

    /// <summary>Field <paramref name="index"/> of the object in <paramref name="obj"/> read with <paramref name="load"/>.</summary>
    public static FunctionBuilder Field(this FunctionBuilder f, JitVm.Bytecode.LocalReference obj, long index, OpCode load) =>
        f.LocalGet(obj).I64Const(index).Emit(load);

    /// <summary>Branches to <paramref name="target"/> unless the word in <paramref name="value"/> is a Lox number.</summary>
    public static FunctionBuilder BrIfNotNumber(this FunctionBuilder f, JitVm.Bytecode.LocalReference value, CodeLabel target) =>
        f.LocalGet(value).Emit(OpCode.IsPtr).BrIf(target)
         .LocalGet(value).Emit(OpCode.WordAsI64).I64Const(48).Emit(OpCode.I64ShrU).I64Const(Representation.SingletonTop).Emit(OpCode.I64Eq).BrIf(target);

    /// <summary>Branches to <paramref name="target"/> when the word in <paramref name="value"/> is the undefined marker.</summary>
    public static FunctionBuilder BrIfUndefined(this FunctionBuilder f, JitVm.Bytecode.LocalReference value, CodeLabel target)
    {
        var defined = f.DefineLabel();
        f.LocalGet(value).Emit(OpCode.IsPtr).BrIf(defined)
         .LocalGet(value).Emit(OpCode.WordAsI64).I64Const(Representation.Undefined).Emit(OpCode.I64Eq).BrIf(target);
        return f.MarkLabel(defined);
    }

    /// <summary>Branches to <paramref name="target"/> unless <paramref name="value"/> points to an object of <paramref name="kind"/>.</summary>
    public static FunctionBuilder BrIfNotKind(this FunctionBuilder f, JitVm.Bytecode.LocalReference value, ObjectKind kind, CodeLabel target) =>
        f.LocalGet(value).Emit(OpCode.IsPtr).BrIfZ(target)
         .LocalGet(value).Emit(OpCode.WordAsPtr).I64Const(Layout.Kind).Emit(OpCode.LoadI).I64Const((long)kind).Emit(OpCode.I64Ne).BrIf(target);
}
