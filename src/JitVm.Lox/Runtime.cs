using JitVm.Bytecode;
using static JitVm.Bytecode.VmType;

namespace JitVm.Lox;

/// <summary>
/// The Lox runtime as VM functions, emitted into every compiled script: errors, truthiness, equality, arithmetic,
/// strings, field and method tables, classes, calls and printing. Being VM code, it runs in every tier under the
/// isolate's limits; its functions are named <c>rt.*</c>, which the error reporter leaves out of Lox stack traces.
/// The only host imports are the standard <c>print_bytes</c> and <c>print_char</c>, and <c>clock</c>.
/// </summary>
internal sealed partial class LoxRuntime
{
    /// <summary>The prefix of every runtime function's name.</summary>
    public const string Prefix = "$rt.";

    private readonly ModuleBuilder _module;
    private readonly Dictionary<int, FunctionBuilder> _calls = [];
    private readonly Dictionary<int, FunctionBuilder> _invokes = [];
    private readonly int _initSymbol;

    public LoxRuntime(ModuleBuilder module, int initSymbol)
    {
        _module = module;
        _initSymbol = initSymbol;
        PrintBytes = module.Import("print_bytes", [Ptr, I64, I64], []);
        PrintChar = module.Import("print_char", [I64], []);
        Clock = module.Import(LoxProgram.ClockImport, [], [F64]);
        ErrorCode = module.Global(LoxProgram.ErrorCodeGlobal, I64);
        ErrorA = module.Global(LoxProgram.ErrorAGlobal, I64);
        ErrorB = module.Global(LoxProgram.ErrorBGlobal, I64);
        EmptyFields = module.Global(Prefix + "empty_fields", Word);
        Error = module.Function(Prefix + "error", [I64, I64, I64], []);
        EqualValues = module.Function(Prefix + "equal", [Word, Word], [I64]);
        StringsEqual = module.Function(Prefix + "string_equal", [Ptr, Ptr], [I64]);
        Concatenate = module.Function(Prefix + "concatenate", [Ptr, Ptr], [Ptr]);
        Add = module.Function(Prefix + "add", [Word, Word], [Word]);
        Negate = module.Function(Prefix + "negate", [Word], [Word]);
        Print = module.Function(Prefix + "print", [Word], []);
        PrintNumber = module.Function(Prefix + "print_number", [F64], []);
        NewTable = module.Function(Prefix + "table_new", [], [Ptr]);
        TableGet = module.Function(Prefix + "table_get", [Ptr, I64], [Word]);
        TableSet = module.Function(Prefix + "table_set", [Ptr, I64, I64, Word], [I64]);
        TableFind = module.Function(Prefix + "table_find", [Ptr, I64], [I64]);
        FindMethod = module.Function(Prefix + "find_method", [Ptr, I64, I64], [Word]);
        GetProperty = module.Function(Prefix + "get_property", [Word, I64], [Word]);
        SetProperty = module.Function(Prefix + "set_property", [Word, I64, Word], [Word]);
        BindMethod = module.Function(Prefix + "bind_method", [Ptr, Word, I64], [Word]);
        NewClass = module.Function(Prefix + "new_class", [Ptr], [Word]);
        Inherit = module.Function(Prefix + "inherit", [Word, Word], []);
        AddMethod = module.Function(Prefix + "add_method", [Word, I64, Word], []);
        GetSuper = module.Function(Prefix + "get_super", [Word, Word, I64], [Word]);
        foreach (var (op, name) in new[] { (OpCode.F64Sub, "subtract"), (OpCode.F64Mul, "multiply"), (OpCode.F64Div, "divide"),
                     (OpCode.F64Lt, "less"), (OpCode.F64Gt, "greater"), (OpCode.F64Le, "less_equal"), (OpCode.F64Ge, "greater_equal") })
            Arithmetic[op] = module.Function(Prefix + name, [Word, Word], [Word]);
        EmitErrors();
        EmitValues();
        EmitStrings();
        EmitPrint();
        EmitNumberFormat();
        EmitTables();
        EmitClasses();
    }

    public FunctionReference PrintBytes { get; }
    public FunctionReference PrintChar { get; }
    public FunctionReference Clock { get; }
    public GlobalReference ErrorCode { get; }
    public GlobalReference ErrorA { get; }
    public GlobalReference ErrorB { get; }

    /// <summary>The field table of every instance without fields (Runtime.Objects.cs).</summary>
    public GlobalReference EmptyFields { get; }
    public FunctionBuilder Error { get; }
    public FunctionBuilder EqualValues { get; }
    public FunctionBuilder StringsEqual { get; }
    public FunctionBuilder Concatenate { get; }
    public FunctionBuilder Add { get; }
    public FunctionBuilder Negate { get; }
    public FunctionBuilder Print { get; }
    public FunctionBuilder PrintNumber { get; }
    public FunctionBuilder NewTable { get; }
    public FunctionBuilder TableGet { get; }
    public FunctionBuilder TableSet { get; }

    /// <summary><c>(table, key) -> index</c>: the word index of the key's entry (its value is the next word), or -1
    /// when the table has no such key. Inline caches remember the index (CodeGenerator.Properties.cs).</summary>
    public FunctionBuilder TableFind { get; }

    /// <summary><c>(class, symbol, arity) -> closure or nil</c>: the class's method of that name when it takes
    /// <c>arity</c> arguments, else <c>nil</c> (the caller then takes the general path, which reports errors).</summary>
    public FunctionBuilder FindMethod { get; }
    public FunctionBuilder GetProperty { get; }
    public FunctionBuilder SetProperty { get; }
    public FunctionBuilder BindMethod { get; }
    public FunctionBuilder NewClass { get; }
    public FunctionBuilder Inherit { get; }
    public FunctionBuilder AddMethod { get; }
    public FunctionBuilder GetSuper { get; }

    /// <summary>The numeric binary operators other than <c>+</c>, by the f64 instruction they apply.</summary>
    public Dictionary<OpCode, FunctionBuilder> Arithmetic { get; } = [];

    /// <summary>The signature of every compiled Lox function of <paramref name="arity"/> parameters: the arguments,
    /// then the closure and the receiver (<c>nil</c> outside methods); one word result. The closure comes after the
    /// arguments so a call site can check the callee once they are on the stack.</summary>
    public static FunctionType FunctionSignature(int arity) => new([.. Enumerable.Repeat(Word, arity), Ptr, Word], [Word]);

    /// <summary>Emits a runtime error of <paramref name="error"/> with constant details, and the trap.</summary>
    public void Raise(FunctionBuilder f, RuntimeError error, long a = 0, long b = 0) =>
        f.I64Const((long)error).I64Const(a).I64Const(b).Call(Error).Emit(OpCode.Unreachable);

    private void EmitErrors()
    {
        // Records the error for the host, then traps; the host reads the globals after the trap (LoxProgram).
        var f = Error;
        f.LocalGet(f.Parameter(0)).GlobalSet(ErrorCode).LocalGet(f.Parameter(1)).GlobalSet(ErrorA)
         .LocalGet(f.Parameter(2)).GlobalSet(ErrorB).Emit(OpCode.Unreachable);
    }

    private void EmitValues()
    {
        {
            // Numbers by value (NaN unequal to itself, -0 equal to 0), singletons by bits, strings by content,
            // other objects by identity.
            var f = EqualValues;
            var (a, b) = (f.Parameter(0), f.Parameter(1));
            var aPointer = f.DefineLabel();
            var no = f.DefineLabel();
            var sameBits = f.DefineLabel();
            f.LocalGet(a).Emit(OpCode.IsPtr).BrIf(aPointer)
             .LocalGet(b).Emit(OpCode.IsPtr).BrIf(no)
             .LocalGet(a).Emit(OpCode.WordAsI64).LocalGet(b).Emit(OpCode.WordAsI64).Emit(OpCode.I64Eq).BrIf(sameBits)
             .LocalGet(a).Emit(OpCode.WordAsF64).LocalGet(b).Emit(OpCode.WordAsF64).Emit(OpCode.F64Eq).Return()
             .MarkLabel(sameBits)
             .LocalGet(a).Emit(OpCode.WordAsI64).I64Const(48).Emit(OpCode.I64ShrU).I64Const(Representation.SingletonTop).Emit(OpCode.I64Eq)
             .LocalGet(a).Emit(OpCode.WordAsF64).LocalGet(a).Emit(OpCode.WordAsF64).Emit(OpCode.F64Eq).Emit(OpCode.I64Or).Return();
            var notSame = f.DefineLabel();
            f.MarkLabel(aPointer).LocalGet(b).Emit(OpCode.IsPtr).BrIfZ(no)
             .LocalGet(a).Emit(OpCode.WordAsPtr).LocalGet(b).Emit(OpCode.WordAsPtr).Emit(OpCode.PtrEq).BrIfZ(notSame).I64Const(1).Return()
             .MarkLabel(notSame);
            f.BrIfNotKind(a, ObjectKind.String, no).BrIfNotKind(b, ObjectKind.String, no)
             .LocalGet(a).Emit(OpCode.WordAsPtr).LocalGet(b).Emit(OpCode.WordAsPtr).Call(StringsEqual).Return()
             .MarkLabel(no).I64Const(0).Return();
        }
        {
            var f = Negate;
            var v = f.Parameter(0);
            var error = f.DefineLabel();
            f.BrIfNotNumber(v, error).LocalGet(v).Emit(OpCode.WordAsF64).Emit(OpCode.F64Neg).Emit(OpCode.WordOfF64).Return()
             .MarkLabel(error);
            Raise(f, RuntimeError.OperandNumber);
        }
        foreach (var (op, f) in Arithmetic)
        {
            var (a, b) = (f.Parameter(0), f.Parameter(1));
            var error = f.DefineLabel();
            f.BrIfNotNumber(a, error).BrIfNotNumber(b, error)
             .LocalGet(a).Emit(OpCode.WordAsF64).LocalGet(b).Emit(OpCode.WordAsF64).Emit(op);
            if (op is OpCode.F64Lt or OpCode.F64Gt or OpCode.F64Le or OpCode.F64Ge) f.ToBool();
            else f.Emit(OpCode.WordOfF64);
            f.Return().MarkLabel(error);
            Raise(f, RuntimeError.OperandsNumbers);
        }
        {
            var f = Add;
            var (a, b) = (f.Parameter(0), f.Parameter(1));
            var notNumbers = f.DefineLabel();
            var error = f.DefineLabel();
            f.BrIfNotNumber(a, notNumbers).BrIfNotNumber(b, error)
             .LocalGet(a).Emit(OpCode.WordAsF64).LocalGet(b).Emit(OpCode.WordAsF64).Emit(OpCode.F64Add).Emit(OpCode.WordOfF64).Return()
             .MarkLabel(notNumbers);
            f.BrIfNotKind(a, ObjectKind.String, error).BrIfNotKind(b, ObjectKind.String, error)
             .LocalGet(a).Emit(OpCode.WordAsPtr).LocalGet(b).Emit(OpCode.WordAsPtr).Call(Concatenate).Emit(OpCode.WordOfPtr).Return()
             .MarkLabel(error);
            Raise(f, RuntimeError.OperandsAdd);
        }
    }

    private void EmitStrings()
    {
        {
            var f = StringsEqual;
            var (a, b) = (f.Parameter(0), f.Parameter(1));
            var no = f.DefineLabel();
            f.Field(a, Layout.StringLength, OpCode.LoadI).Field(b, Layout.StringLength, OpCode.LoadI).Emit(OpCode.I64Ne).BrIf(no)
             .LocalGet(a).I64Const(Layout.StringBytes).LocalGet(b).I64Const(Layout.StringBytes)
             .Field(a, Layout.StringLength, OpCode.LoadI).Emit(OpCode.MemCompare).Emit(OpCode.I64Eqz).Return()
             .MarkLabel(no).I64Const(0).Return();
        }
        {
            // The result's words: the header, then room for both byte runs. The first string's words are copied
            // whole (its padding is zero), then the second's bytes are appended one by one.
            var f = Concatenate;
            var (a, b) = (f.Parameter(0), f.Parameter(1));
            var lengthA = f.DeclareLocal(I64, "length_a");
            var lengthB = f.DeclareLocal(I64, "length_b");
            var result = f.DeclareLocal(Ptr, "result");
            var i = f.DeclareLocal(I64, "i");
            f.Field(a, Layout.StringLength, OpCode.LoadI).LocalSet(lengthA)
             .Field(b, Layout.StringLength, OpCode.LoadI).LocalSet(lengthB)
             .LocalGet(lengthA).LocalGet(lengthB).Emit(OpCode.I64Add).I64Const(7).Emit(OpCode.I64Add).I64Const(3).Emit(OpCode.I64ShrU)
             .I64Const(Layout.StringHeaderWords).Emit(OpCode.I64Add).Emit(OpCode.Alloc).LocalSet(result)
             .LocalGet(result).I64Const(0).LocalGet(a).I64Const(0).LocalGet(a).Emit(OpCode.Len).Emit(OpCode.MemCopy)
             .LocalGet(result).I64Const(Layout.StringLength).LocalGet(lengthA).LocalGet(lengthB).Emit(OpCode.I64Add).Emit(OpCode.StoreI);
            var loop = f.DefineLabel();
            var done = f.DefineLabel();
            f.MarkLabel(loop).LocalGet(i).LocalGet(lengthB).Emit(OpCode.I64GeS).BrIf(done)
             .LocalGet(result).LocalGet(i).LocalGet(lengthA).Emit(OpCode.I64Add).I64Const(Layout.StringBytes).Emit(OpCode.I64Add)
             .LocalGet(b).LocalGet(i).I64Const(Layout.StringBytes).Emit(OpCode.I64Add).Emit(OpCode.LoadU8).Emit(OpCode.StoreU8)
             .LocalGet(i).I64Const(1).Emit(OpCode.I64Add).LocalSet(i).Br(loop)
             .MarkLabel(done).LocalGet(result).Return();
        }
    }

    /// <summary>Emits the printing of <paramref name="text"/> (ASCII) one byte at a time.</summary>
    public void EmitText(FunctionBuilder f, string text)
    {
        foreach (var c in text) f.I64Const(c).Call(PrintChar);
    }

    /// <summary>Emits the printing of the string object on top of the stack (kept in <paramref name="scratch"/>).</summary>
    private void EmitPrintString(FunctionBuilder f, JitVm.Bytecode.LocalReference scratch)
    {
        f.LocalSet(scratch).LocalGet(scratch).I64Const(Layout.StringBytes).Field(scratch, Layout.StringLength, OpCode.LoadI).Call(PrintBytes);
    }

    private void EmitPrint()
    {
        var f = Print;
        var v = f.Parameter(0);
        var p = f.DeclareLocal(Ptr, "object");
        var s = f.DeclareLocal(Ptr, "string");
        var pointer = f.DefineLabel();
        var end = f.DefineLabel();
        var notNil = f.DefineLabel();
        var notTrue = f.DefineLabel();
        var notFalse = f.DefineLabel();
        f.LocalGet(v).Emit(OpCode.IsPtr).BrIf(pointer)
         .LocalGet(v).Emit(OpCode.WordAsI64).I64Const(Representation.Nil).Emit(OpCode.I64Ne).BrIf(notNil);
        EmitText(f, "nil");
        f.Br(end).MarkLabel(notNil).LocalGet(v).Emit(OpCode.WordAsI64).I64Const(Representation.True).Emit(OpCode.I64Ne).BrIf(notTrue);
        EmitText(f, "true");
        f.Br(end).MarkLabel(notTrue).LocalGet(v).Emit(OpCode.WordAsI64).I64Const(Representation.False).Emit(OpCode.I64Ne).BrIf(notFalse);
        EmitText(f, "false");
        f.Br(end).MarkLabel(notFalse).LocalGet(v).Emit(OpCode.WordAsF64).Call(PrintNumber).Br(end);

        f.MarkLabel(pointer).LocalGet(v).Emit(OpCode.WordAsPtr).LocalSet(p);
        var cases = Enumerable.Range(0, 7).Select(_ => f.DefineLabel()).ToArray();
        f.Field(p, Layout.Kind, OpCode.LoadI).BrTable(cases, end);
        f.MarkLabel(cases[0]).Br(end);
        f.MarkLabel(cases[(int)ObjectKind.String]).LocalGet(p);
        EmitPrintString(f, s);
        f.Br(end);
        f.MarkLabel(cases[(int)ObjectKind.Closure]);
        EmitText(f, "<fn ");
        f.Field(p, Layout.ClosureName, OpCode.LoadP);
        EmitPrintString(f, s);
        EmitText(f, ">");
        f.Br(end);
        f.MarkLabel(cases[(int)ObjectKind.Native]);
        EmitText(f, "<native fn>");
        f.Br(end);
        f.MarkLabel(cases[(int)ObjectKind.Class]).Field(p, Layout.ClassName, OpCode.LoadP);
        EmitPrintString(f, s);
        f.Br(end);
        f.MarkLabel(cases[(int)ObjectKind.Instance]).Field(p, Layout.InstanceClass, OpCode.LoadP).I64Const(Layout.ClassName).Emit(OpCode.LoadP);
        EmitPrintString(f, s);
        EmitText(f, " instance");
        f.Br(end);
        f.MarkLabel(cases[(int)ObjectKind.BoundMethod]);
        EmitText(f, "<fn ");
        f.Field(p, Layout.BoundClosure, OpCode.LoadP).I64Const(Layout.ClosureName).Emit(OpCode.LoadP);
        EmitPrintString(f, s);
        EmitText(f, ">");
        f.Br(end);
        f.MarkLabel(end).I64Const('\n').Call(PrintChar).Return();
    }
}
