using JitVm.Diagnostics;

namespace JitVm.Bytecode;

/// <summary>What follows an instruction's opcode byte in the binary format, and its text form.</summary>
public enum OperandKind : byte
{
    /// <summary>No operand.</summary>
    None,

    /// <summary>A signed 64-bit integer constant (signed LEB128).</summary>
    I64,

    /// <summary>A 64-bit float constant (8 bytes, little-endian IEEE 754 bits).</summary>
    F64,

    /// <summary>A local variable index (parameters first, then declared locals).</summary>
    Local,

    /// <summary>A global variable index.</summary>
    Global,

    /// <summary>A function index (imports first, then defined functions).</summary>
    Function,

    /// <summary>A branch target: the index of an instruction in the same function.</summary>
    Label,

    /// <summary>A table of branch targets followed by a default target.</summary>
    LabelTable,

    /// <summary>A function signature (an index into the module's type section).</summary>
    Signature,

    /// <summary>A data segment index.</summary>
    Data,

    /// <summary>An exception tag index (format version 4).</summary>
    Tag,
}

/// <summary>How an instruction passes control on.</summary>
public enum FlowKind : byte
{
    /// <summary>Continues with the next instruction (or traps).</summary>
    Next,

    /// <summary>Always jumps to its label.</summary>
    Branch,

    /// <summary>Jumps to its label or continues with the next instruction.</summary>
    ConditionalBranch,

    /// <summary>Jumps to one of several labels.</summary>
    Table,

    /// <summary>Calls a function and continues with the next instruction when it returns.</summary>
    Call,

    /// <summary>Returns from the function.</summary>
    Return,

    /// <summary>Never continues with the next instruction: always traps, or throws an exception (<c>throw</c>).</summary>
    Trap,
}

/// <summary>
/// Which operand-stack values a safepoint instruction hands over: they become the callee's parameters or are read
/// by the host, so while the frame is suspended there they are no longer its roots (spec/gc.md §4.1).
/// </summary>
public enum SafepointHandOver : byte
{
    /// <summary>None (also every instruction that is not a safepoint).</summary>
    None,

    /// <summary>The parameters of the function the operand names.</summary>
    CalleeParameters,

    /// <summary>The parameters of the signature the operand names, and the function reference above them.</summary>
    SignatureParametersAndReference,

    /// <summary>Every value the instruction pops: it reads them before it can collect, and replaces them with its
    /// results (the task and channel instructions).</summary>
    Operands,

    /// <summary>The payload of the tag the operand names (<c>throw</c>: the values leave the frame with the exception).</summary>
    TagPayload,
}

/// <summary>One row of the instruction table: everything the toolchain knows about an opcode.</summary>
/// <param name="OpCode">The opcode, which is also its binary encoding.</param>
/// <param name="Mnemonic">The text-assembly name.</param>
/// <param name="Operand">The immediate operand that follows the opcode.</param>
/// <param name="Pops">Operand types popped, deepest first; null when they depend on the operand (see <see cref="StackEffect"/>).</param>
/// <param name="Pushes">Result types pushed, deepest first; null when they depend on the operand.</param>
/// <param name="StackEffect">The stack effect in words, as the spec prints it.</param>
/// <param name="Flow">How control passes on.</param>
/// <param name="Fuel">Fuel units charged when the instruction's basic block is entered.</param>
/// <param name="Traps">The traps the instruction itself can raise.</param>
/// <param name="IsSafepoint">True when the heap may be collected or the isolate suspended during the instruction.</param>
/// <param name="Meaning">One line of semantics.</param>
/// <remarks>
/// An instruction whose work grows with a size known only when it runs also charges a size part when it runs
/// (<see cref="WordsPerFuel"/>); the base cost in <see cref="Fuel"/> is still charged with its block.
/// </remarks>
public sealed record OpCodeInfo(
    OpCode OpCode,
    string Mnemonic,
    OperandKind Operand,
    VmType[]? Pops,
    VmType[]? Pushes,
    string StackEffect,
    FlowKind Flow,
    int Fuel,
    TrapCode[] Traps,
    bool IsSafepoint,
    string Meaning)
{
    /// <summary>
    /// 0 for a fixed cost; otherwise the instruction also charges one fuel unit per this many words it zeroes or
    /// copies (rounded down), just before doing that work (spec/execution.md §5.2). The rule itself is
    /// <see cref="SizeFuel"/>, which every tier uses.
    /// </summary>
    public int WordsPerFuel { get; init; }

    /// <summary>The first binary format version whose modules may contain the instruction (1 to 5; the reader rejects it
    /// in a module of an earlier version, spec/binary-format.md §1).</summary>
    internal int Since { get; init; } = 1;

    /// <summary>For a safepoint, the operand-stack values it hands over (see <see cref="OpCodeTable.SafepointOperands"/>).</summary>
    public SafepointHandOver HandOver { get; init; }

    /// <summary>True when the instruction reads or writes the words of heap objects, or creates one (compiled code
    /// keeps the heap's arrays at hand in exactly the functions that contain such an instruction).</summary>
    internal bool UsesHeap { get; init; }

    /// <summary>True when the instruction may write a pointer into a heap object (the write barrier's stores).</summary>
    internal bool StoresPointer { get; init; }
}

/// <summary>
/// The size part of the cost of instructions and standard imports whose work grows with a run-time size
/// (spec/execution.md §5.2): one unit per <see cref="UnitsPerFuel"/> words zeroed or copied, or bytes written,
/// rounded down. Every tier and the standard imports charge through this rule, so fuel used is the same in each.
/// </summary>
internal static class SizeFuel
{
    /// <summary>Words (for alloc and data.alloc) or bytes (for print_bytes) per fuel unit.</summary>
    public const int UnitsPerFuel = 8;

    /// <summary>The size part for <paramref name="units"/> words or bytes (0 or more).</summary>
    public static long For(long units) => units / UnitsPerFuel;

    /// <summary>The size part of data.alloc of a segment of <paramref name="bytes"/> bytes: its words, ⌈bytes/8⌉, per unit.</summary>
    public static long ForSegment(long bytes) => For((bytes + 7) / 8);
}

/// <summary>
/// The instruction set, declared once. The assembler, disassembler, binary reader, verifier, interpreter and the
/// spec's instruction list are all derived from or tested against this table.
/// </summary>
public static class OpCodeTable
{
    private const VmType I = VmType.I64;
    private const VmType F = VmType.F64;
    private const VmType P = VmType.Ptr;
    private const VmType W = VmType.Word;

    private static readonly TrapCode[] None = [];

    /// <summary>Every instruction, in opcode order.</summary>
    public static IReadOnlyList<OpCodeInfo> All { get; } = Build();

    private static readonly OpCodeInfo?[] ByCode = Index(All);

    private static readonly Dictionary<string, OpCodeInfo> ByMnemonic = IndexByMnemonic(All);

    private static Dictionary<string, OpCodeInfo> IndexByMnemonic(IReadOnlyList<OpCodeInfo> rows)
    {
        var table = new Dictionary<string, OpCodeInfo>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows) table.Add(row.Mnemonic, row);
        return table;
    }

    /// <summary>Returns the row for an opcode.</summary>
    public static OpCodeInfo Get(OpCode opCode) =>
        ByCode[(byte)opCode] ?? throw new ArgumentOutOfRangeException(nameof(opCode), $"unknown opcode 0x{(byte)opCode:x2}");

    /// <summary>Looks up an opcode by its binary encoding; false for bytes that are not opcodes.</summary>
    public static bool TryGet(byte code, out OpCodeInfo info)
    {
        info = ByCode[code]!;
        return info is not null;
    }

    /// <summary>Looks up an opcode by its text mnemonic.</summary>
    public static bool TryGet(string mnemonic, out OpCodeInfo info) => ByMnemonic.TryGetValue(mnemonic, out info!);

    /// <summary>The instruction's row.</summary>
    public static OpCodeInfo Info(this OpCode opCode) => Get(opCode);

    /// <summary>The instruction's text mnemonic.</summary>
    public static string Mnemonic(this OpCode opCode) => Get(opCode).Mnemonic;

    /// <summary>
    /// How many operand-stack values (from the top) the safepoint <paramref name="instruction"/> of
    /// <paramref name="module"/> hands over, per its row's <see cref="OpCodeInfo.HandOver"/>; -1 when the instruction
    /// is not a safepoint. Every tier's safepoint handling and the collector's frame roots read it here.
    /// </summary>
    internal static int SafepointOperands(Instruction instruction, ModuleDefinition module)
    {
        var info = Get(instruction.OpCode);
        if (!info.IsSafepoint) return -1;
        return info.HandOver switch
        {
            SafepointHandOver.CalleeParameters => module.SignatureOf(instruction.Index).Parameters.Length,
            SafepointHandOver.SignatureParametersAndReference => module.Types[instruction.Index].Parameters.Length + 1,
            SafepointHandOver.Operands => info.Pops!.Length,
            SafepointHandOver.TagPayload => module.Tags[instruction.Index].Parameters.Count,
            _ => 0,
        };
    }

    /// <summary>The pcs control can reach next from <paramref name="instruction"/> by a branch
    /// (the fall-through is not included).</summary>
    internal static IEnumerable<int> BranchTargets(Instruction instruction)
    {
        switch (instruction.OpCode.Info().Flow)
        {
            case FlowKind.Branch:
            case FlowKind.ConditionalBranch:
                yield return instruction.Index;
                break;
            case FlowKind.Table:
                yield return instruction.Index;
                foreach (var target in instruction.Targets!) yield return target;
                break;
        }
    }

    private static OpCodeInfo?[] Index(IReadOnlyList<OpCodeInfo> rows)
    {
        var table = new OpCodeInfo?[256];
        foreach (var row in rows)
        {
            if (table[(byte)row.OpCode] is not null)
                throw new InvalidOperationException($"opcode {row.OpCode} declared twice");
            table[(byte)row.OpCode] = row;
        }
        return table;
    }

    private static OpCodeInfo[] Build()
    {
        var rows = new List<OpCodeInfo>();

        void Row(OpCode op, string mnemonic, OperandKind operand, VmType[]? pops, VmType[]? pushes, string effect,
            FlowKind flow, int fuel, TrapCode[] traps, bool safepoint, string meaning) =>
            rows.Add(new OpCodeInfo(op, mnemonic, operand, pops, pushes, effect, flow, fuel, traps, safepoint, meaning));

        // The row just added also charges for the words it zeroes or copies.
        void SizeCharged() => rows[^1] = rows[^1] with { WordsPerFuel = SizeFuel.UnitsPerFuel };

        // The row just added is a safepoint that hands over these values.
        void HandsOver(SafepointHandOver values) => rows[^1] = rows[^1] with { HandOver = values };

        // The row just added is new in format version 2.
        void Version2() => rows[^1] = rows[^1] with { Since = 2 };

        // The row just added is new in format version 3.
        void Version3() => rows[^1] = rows[^1] with { Since = 3 };
        void Version4() => rows[^1] = rows[^1] with { Since = 4 };
        void Version5() => rows[^1] = rows[^1] with { Since = 5 };

        // The row just added touches heap objects; storesPointer: it may write a pointer into one.
        void Heap(bool storesPointer = false) => rows[^1] = rows[^1] with { UsesHeap = true, StoresPointer = storesPointer };

        // Simple rows: fixed stack effect, no operand, falls through, costs 1, cannot reach a safepoint.
        void Simple(OpCode op, string mnemonic, VmType[] pops, VmType[] pushes, string meaning, params TrapCode[] traps) =>
            Row(op, mnemonic, OperandKind.None, pops, pushes, Effect(pops, pushes), FlowKind.Next, 1, traps, false, meaning);

        void BinaryI(OpCode op, string mnemonic, string meaning, params TrapCode[] traps) =>
            Simple(op, mnemonic, [I, I], [I], meaning, traps);

        void CompareI(OpCode op, string mnemonic, string meaning) =>
            Simple(op, mnemonic, [I, I], [I], meaning + " ? 1 : 0");

        void BinaryF(OpCode op, string mnemonic, string meaning) => Simple(op, mnemonic, [F, F], [F], meaning);

        void UnaryF(OpCode op, string mnemonic, string meaning) => Simple(op, mnemonic, [F], [F], meaning);

        void CompareF(OpCode op, string mnemonic, string meaning) =>
            Simple(op, mnemonic, [F, F], [I], meaning + " ? 1 : 0 (false when either is NaN" + (op == OpCode.F64Ne ? ", except ne which is true)" : ")"));

        // ---- Stack and constants ----
        Row(OpCode.Nop, "nop", OperandKind.None, [], [], "[] -> []", FlowKind.Next, 0, None, false, "does nothing");
        Row(OpCode.Unreachable, "unreachable", OperandKind.None, [], [], "[] -> []", FlowKind.Trap, 1, [TrapCode.Unreachable], false,
            "traps with Unreachable");
        Row(OpCode.Drop, "drop", OperandKind.None, null, [], "[t] -> []", FlowKind.Next, 1, None, false, "discards the top value");
        Row(OpCode.Dup, "dup", OperandKind.None, null, null, "[t] -> [t t]", FlowKind.Next, 1, None, false, "duplicates the top value");
        Row(OpCode.Swap, "swap", OperandKind.None, null, null, "[t u] -> [u t]", FlowKind.Next, 1, None, false, "exchanges the two top values");
        Row(OpCode.Select, "select", OperandKind.None, null, null, "[t t i64] -> [t]", FlowKind.Next, 1, None, false,
            "c != 0 ? a : b, where a is the deeper of the two values");
        Row(OpCode.I64Const, "i64.const", OperandKind.I64, [], [I], "[] -> [i64]", FlowKind.Next, 1, None, false, "pushes the constant");
        Row(OpCode.F64Const, "f64.const", OperandKind.F64, [], [F], "[] -> [f64]", FlowKind.Next, 1, None, false, "pushes the constant");

        // ---- Variables ----
        Row(OpCode.LocalGet, "local.get", OperandKind.Local, [], null, "[] -> [t]", FlowKind.Next, 1, None, false,
            "pushes local x (a ptr local must be definitely assigned)");
        Row(OpCode.LocalSet, "local.set", OperandKind.Local, null, [], "[t] -> []", FlowKind.Next, 1, None, false, "pops into local x");
        Row(OpCode.LocalTee, "local.tee", OperandKind.Local, null, null, "[t] -> [t]", FlowKind.Next, 1, None, false,
            "stores the top value into local x and keeps it");
        Row(OpCode.GlobalGet, "global.get", OperandKind.Global, [], null, "[] -> [t]", FlowKind.Next, 1, None, false, "pushes global x");
        Row(OpCode.GlobalSet, "global.set", OperandKind.Global, null, [], "[t] -> []", FlowKind.Next, 1, None, false, "pops into global x");

        // ---- Control ----
        Row(OpCode.Br, "br", OperandKind.Label, [], [], "[] -> []", FlowKind.Branch, 1, None, false,
            "jumps to the label; the whole operand stack is carried to it");
        Row(OpCode.BrIf, "br_if", OperandKind.Label, [I], [], "[i64] -> []", FlowKind.ConditionalBranch, 1, None, false,
            "jumps to the label when c != 0");
        Row(OpCode.BrIfZ, "br_ifz", OperandKind.Label, [I], [], "[i64] -> []", FlowKind.ConditionalBranch, 1, None, false,
            "jumps to the label when c == 0");
        Row(OpCode.BrTable, "br_table", OperandKind.LabelTable, [I], [], "[i64] -> []", FlowKind.Table, 1, None, false,
            "jumps to label i when 0 <= i < n (unsigned), else to the default label");
        Row(OpCode.Call, "call", OperandKind.Function, null, null, "[params] -> [results]", FlowKind.Call, 2, [TrapCode.CallDepthExceeded], true,
            "calls function f; imported functions are called the same way");
        HandsOver(SafepointHandOver.CalleeParameters);
        Row(OpCode.CallIndirect, "call_indirect", OperandKind.Signature, null, null, "[params i64] -> [results]", FlowKind.Call, 2,
            [TrapCode.InvalidFunctionReference, TrapCode.SignatureMismatch, TrapCode.CallDepthExceeded], true,
            "calls the function whose reference is on top, after checking it has the declared signature");
        HandsOver(SafepointHandOver.SignatureParametersAndReference);
        Row(OpCode.Return, "return", OperandKind.None, null, [], "[results] -> []", FlowKind.Return, 1, None, false,
            "returns the function's results from the top of the stack; values below them are discarded");
        Row(OpCode.FuncRef, "func.ref", OperandKind.Function, [], [I], "[] -> [i64]", FlowKind.Next, 1, None, false,
            "pushes a reference to function f (its index) for call_indirect");
        // Tail calls end the function like return (FlowKind.Return): the callee's frame replaces this one, and the
        // callee's results are this function's (spec/execution.md §4.1).
        Row(OpCode.ReturnCall, "return_call", OperandKind.Function, null, null, "[params] -> []", FlowKind.Return, 2, None, true,
            "tail call: calls function f in place of this frame and returns its results (which must be this function's)");
        HandsOver(SafepointHandOver.CalleeParameters);
        Version3();
        Row(OpCode.ReturnCallIndirect, "return_call_indirect", OperandKind.Signature, null, null, "[params i64] -> []", FlowKind.Return, 2,
            [TrapCode.InvalidFunctionReference, TrapCode.SignatureMismatch], true,
            "tail call through the reference on top, checked as call_indirect; its results must be this function's");
        HandsOver(SafepointHandOver.SignatureParametersAndReference);
        Version3();
        // Typed function references (spec/values.md §2.1): the value is the function index, as func.ref's, but its
        // static type `ref s` says the verifier knows the signature, so calls through it check nothing at run time.
        Row(OpCode.RefFunc, "ref.func", OperandKind.Function, [], null, "[] -> [ref]", FlowKind.Next, 1, None, false,
            "pushes a typed reference to function f, of static type ref s where s is f's signature");
        Version4();
        Row(OpCode.RefCast, "ref.cast", OperandKind.Signature, [I], null, "[i64] -> [ref]", FlowKind.Next, 1,
            [TrapCode.InvalidFunctionReference, TrapCode.SignatureMismatch], false,
            "checks, as call_indirect does, that the i64 names a function of signature s, and gives it the type ref s");
        Version4();
        Row(OpCode.CallRef, "call_ref", OperandKind.Signature, null, null, "[params ref] -> [results]", FlowKind.Call, 2,
            [TrapCode.CallDepthExceeded], true,
            "calls the function whose typed reference is on top; the verifier proved its signature, so nothing is checked");
        HandsOver(SafepointHandOver.SignatureParametersAndReference);
        Version4();
        Row(OpCode.ReturnCallRef, "return_call_ref", OperandKind.Signature, null, null, "[params ref] -> []", FlowKind.Return, 2, None, true,
            "tail call through the typed reference on top (unchecked, as call_ref); its results must be this function's");
        HandsOver(SafepointHandOver.SignatureParametersAndReference);
        Version4();
        // throw never continues (FlowKind.Trap): control goes to a handler, or the run ends in UncaughtException
        // (spec/exceptions.md). It is a safepoint so that compiled code's pointers are in its spill area when a
        // handler of the same frame takes over.
        Row(OpCode.Throw, "throw", OperandKind.Tag, null, [], "[payload] -> []", FlowKind.Trap, 1, [TrapCode.UncaughtException], true,
            "throws an exception of tag t carrying the tag's parameters from the top of the stack; the innermost handler for t takes it");
        HandsOver(SafepointHandOver.TagPayload);
        Version4();

        // ---- i64 arithmetic ----
        BinaryI(OpCode.I64Add, "i64.add", "a + b, wrapping");
        BinaryI(OpCode.I64Sub, "i64.sub", "a - b, wrapping");
        BinaryI(OpCode.I64Mul, "i64.mul", "a * b, wrapping");
        BinaryI(OpCode.I64DivS, "i64.div_s", "a / b, signed, rounding toward zero", TrapCode.DivideByZero, TrapCode.IntegerOverflow);
        BinaryI(OpCode.I64DivU, "i64.div_u", "a / b, unsigned", TrapCode.DivideByZero);
        BinaryI(OpCode.I64RemS, "i64.rem_s", "a % b, signed, sign of a (MIN % -1 is 0)", TrapCode.DivideByZero);
        BinaryI(OpCode.I64RemU, "i64.rem_u", "a % b, unsigned", TrapCode.DivideByZero);
        BinaryI(OpCode.I64And, "i64.and", "a & b");
        BinaryI(OpCode.I64Or, "i64.or", "a | b");
        BinaryI(OpCode.I64Xor, "i64.xor", "a ^ b");
        BinaryI(OpCode.I64Shl, "i64.shl", "a << (b & 63)");
        BinaryI(OpCode.I64ShrS, "i64.shr_s", "a >> (b & 63), arithmetic");
        BinaryI(OpCode.I64ShrU, "i64.shr_u", "a >>> (b & 63), logical");
        BinaryI(OpCode.I64Rotl, "i64.rotl", "a rotated left by b & 63");
        BinaryI(OpCode.I64Rotr, "i64.rotr", "a rotated right by b & 63");
        Simple(OpCode.I64Clz, "i64.clz", [I], [I], "number of leading zero bits (64 for 0)");
        Simple(OpCode.I64Ctz, "i64.ctz", [I], [I], "number of trailing zero bits (64 for 0)");
        Simple(OpCode.I64Popcnt, "i64.popcnt", [I], [I], "number of one bits");
        Simple(OpCode.I64Eqz, "i64.eqz", [I], [I], "a == 0 ? 1 : 0");
        CompareI(OpCode.I64Eq, "i64.eq", "a == b");
        CompareI(OpCode.I64Ne, "i64.ne", "a != b");
        CompareI(OpCode.I64LtS, "i64.lt_s", "a < b signed");
        CompareI(OpCode.I64LtU, "i64.lt_u", "a < b unsigned");
        CompareI(OpCode.I64GtS, "i64.gt_s", "a > b signed");
        CompareI(OpCode.I64GtU, "i64.gt_u", "a > b unsigned");
        CompareI(OpCode.I64LeS, "i64.le_s", "a <= b signed");
        CompareI(OpCode.I64LeU, "i64.le_u", "a <= b unsigned");
        CompareI(OpCode.I64GeS, "i64.ge_s", "a >= b signed");
        CompareI(OpCode.I64GeU, "i64.ge_u", "a >= b unsigned");
        Simple(OpCode.I64Extend8S, "i64.extend8_s", [I], [I], "sign-extends the low 8 bits");
        Simple(OpCode.I64Extend16S, "i64.extend16_s", [I], [I], "sign-extends the low 16 bits");
        Simple(OpCode.I64Extend32S, "i64.extend32_s", [I], [I], "sign-extends the low 32 bits");

        // ---- f64 arithmetic ----
        BinaryF(OpCode.F64Add, "f64.add", "a + b");
        BinaryF(OpCode.F64Sub, "f64.sub", "a - b");
        BinaryF(OpCode.F64Mul, "f64.mul", "a * b");
        BinaryF(OpCode.F64Div, "f64.div", "a / b (IEEE: division by zero gives an infinity or NaN)");
        BinaryF(OpCode.F64Min, "f64.min", "the smaller of a and b; NaN if either is NaN; -0 < +0");
        BinaryF(OpCode.F64Max, "f64.max", "the larger of a and b; NaN if either is NaN; -0 < +0");
        UnaryF(OpCode.F64Neg, "f64.neg", "-a (flips the sign bit)");
        UnaryF(OpCode.F64Abs, "f64.abs", "|a| (clears the sign bit)");
        UnaryF(OpCode.F64Sqrt, "f64.sqrt", "square root");
        UnaryF(OpCode.F64Floor, "f64.floor", "rounds toward negative infinity");
        UnaryF(OpCode.F64Ceil, "f64.ceil", "rounds toward positive infinity");
        UnaryF(OpCode.F64Trunc, "f64.trunc", "rounds toward zero");
        UnaryF(OpCode.F64Nearest, "f64.nearest", "rounds to the nearest integer, ties to even");
        CompareF(OpCode.F64Eq, "f64.eq", "a == b");
        CompareF(OpCode.F64Ne, "f64.ne", "a != b");
        CompareF(OpCode.F64Lt, "f64.lt", "a < b");
        CompareF(OpCode.F64Gt, "f64.gt", "a > b");
        CompareF(OpCode.F64Le, "f64.le", "a <= b");
        CompareF(OpCode.F64Ge, "f64.ge", "a >= b");
        BinaryF(OpCode.F64CopySign, "f64.copysign", "a with the sign bit of b (nothing else changes, also for NaN)");
        Version2();
        Simple(OpCode.I64Extend32U, "i64.extend32_u", [I], [I], "zero-extends the low 32 bits");
        Version2();

        // ---- Conversions ----
        Simple(OpCode.I64TruncF64S, "i64.trunc_f64_s", [F], [I], "truncates toward zero", TrapCode.InvalidConversion);
        Simple(OpCode.I64TruncSatF64S, "i64.trunc_sat_f64_s", [F], [I],
            "truncates toward zero, saturating to MIN/MAX; NaN gives 0");
        Simple(OpCode.F64ConvertI64S, "f64.convert_i64_s", [I], [F], "the nearest f64 to signed a");
        Simple(OpCode.F64ConvertI64U, "f64.convert_i64_u", [I], [F], "the nearest f64 to unsigned a");
        Simple(OpCode.I64ReinterpretF64, "i64.reinterpret_f64", [F], [I], "the same 64 bits as an integer");
        Simple(OpCode.F64ReinterpretI64, "f64.reinterpret_i64", [I], [F], "the same 64 bits as a float");
        Simple(OpCode.I64TruncF64U, "i64.trunc_f64_u", [F], [I], "truncates toward zero to an unsigned integer", TrapCode.InvalidConversion);
        Version2();
        Simple(OpCode.I64TruncSatF64U, "i64.trunc_sat_f64_u", [F], [I],
            "truncates toward zero to an unsigned integer, saturating to 0 and 2^64-1; NaN gives 0");
        Version2();

        // ---- Memory ----
        Row(OpCode.Alloc, "alloc", OperandKind.None, [I], [P], Effect([I], [P]), FlowKind.Next, 2, [TrapCode.OutOfBounds, TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "allocates an object of n words, all zero and untagged");
        SizeCharged();
        Heap();
        Simple(OpCode.Len, "len", [P], [I], "the object's length in words", TrapCode.UseAfterSend);
        Heap();
        Simple(OpCode.LoadI, "load.i", [P, I], [I], "reads word i as an integer", TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch);
        Heap();
        Simple(OpCode.LoadF, "load.f", [P, I], [F], "reads word i as a float", TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch);
        Heap();
        Simple(OpCode.LoadP, "load.p", [P, I], [P], "reads word i as a pointer", TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch);
        Heap();
        Simple(OpCode.LoadW, "load.w", [P, I], [W], "reads word i with its tag", TrapCode.OutOfBounds, TrapCode.UseAfterSend);
        Heap();
        Simple(OpCode.StoreI, "store.i", [P, I, I], [], "writes an integer to word i", TrapCode.OutOfBounds, TrapCode.UseAfterSend);
        Heap();
        Simple(OpCode.StoreF, "store.f", [P, I, F], [], "writes a float to word i", TrapCode.OutOfBounds, TrapCode.UseAfterSend);
        Heap();
        Simple(OpCode.StoreP, "store.p", [P, I, P], [], "writes a pointer to word i", TrapCode.OutOfBounds, TrapCode.UseAfterSend);
        Heap(storesPointer: true);
        Simple(OpCode.StoreW, "store.w", [P, I, W], [], "writes a tagged word to word i", TrapCode.OutOfBounds, TrapCode.UseAfterSend);
        Heap(storesPointer: true);
        Simple(OpCode.LoadU8, "load.u8", [P, I], [I], "reads byte i (little-endian within words), zero-extended",
            TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch);
        Heap();
        Simple(OpCode.StoreU8, "store.u8", [P, I, I], [], "writes the low 8 bits of v to byte i",
            TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch);
        Heap();
        Simple(OpCode.IsPtr, "isptr", [W], [I], "1 when the word is a pointer, else 0");
        Simple(OpCode.PtrEq, "ptr.eq", [P, P], [I], "1 when both pointers name the same object, else 0");
        Row(OpCode.DataAlloc, "data.alloc", OperandKind.Data, [], [P], "[] -> [ptr]", FlowKind.Next, 2, [TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "allocates a new object holding a copy of data segment d's bytes (zero-padded to whole words)");
        SizeCharged();
        Heap();
        Row(OpCode.DataSize, "data.size", OperandKind.Data, [], [I], "[] -> [i64]", FlowKind.Next, 1, None, false,
            "the byte length of data segment d");

        // ---- Byte strings (format version 5): an object that knows its length in bytes ----
        Row(OpCode.AllocBytes, "alloc.bytes", OperandKind.None, [I], [P], Effect([I], [P]), FlowKind.Next, 2, [TrapCode.OutOfBounds, TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "allocates an object of n bytes: ⌈n/8⌉ words, all zero and untagged, that records n as its byte length");
        SizeCharged();
        Heap();
        Version5();
        Simple(OpCode.LenBytes, "len.bytes", [P], [I], "the object's byte length: n for alloc.bytes n, the segment's length for data.alloc, else 8 × its words",
            TrapCode.UseAfterSend);
        Heap();
        Version5();

        // ---- Sub-word access at byte offsets (format version 2) ----
        TrapCode[] byteTraps = [TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch];
        void ByteLoad(OpCode op, string mnemonic, VmType type, string meaning)
        {
            Simple(op, mnemonic, [P, I], [type], meaning + " (little-endian, any alignment)", byteTraps);
            Heap();
            Version2();
        }
        void ByteStore(OpCode op, string mnemonic, VmType type, string meaning)
        {
            Simple(op, mnemonic, [P, I, type], [], meaning + " (little-endian, any alignment)", byteTraps);
            Heap();
            Version2();
        }
        ByteLoad(OpCode.LoadS8, "load.s8", I, "reads byte i, sign-extended");
        ByteLoad(OpCode.LoadU16, "load.u16", I, "reads the 2 bytes at byte i, zero-extended");
        ByteLoad(OpCode.LoadS16, "load.s16", I, "reads the 2 bytes at byte i, sign-extended");
        ByteLoad(OpCode.LoadU32, "load.u32", I, "reads the 4 bytes at byte i, zero-extended");
        ByteLoad(OpCode.LoadS32, "load.s32", I, "reads the 4 bytes at byte i, sign-extended");
        ByteLoad(OpCode.LoadU64, "load.u64", I, "reads the 8 bytes at byte i as an integer");
        ByteLoad(OpCode.LoadF64, "load.f64", F, "reads the 8 bytes at byte i as a float");
        ByteStore(OpCode.StoreU16, "store.u16", I, "writes the low 16 bits of v at byte i");
        ByteStore(OpCode.StoreU32, "store.u32", I, "writes the low 32 bits of v at byte i");
        ByteStore(OpCode.StoreU64, "store.u64", I, "writes the 64 bits of v at byte i");
        ByteStore(OpCode.StoreF64, "store.f64", F, "writes the float's 64 bits at byte i");

        // ---- Bulk memory (format version 2) ----
        Simple(OpCode.MemCopy, "mem.copy", [P, I, P, I, I], [],
            "copies n words with their tags from src[j..] to dst[i..] (ranges may overlap)",
            TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.OutOfFuel);
        SizeCharged();
        Heap(storesPointer: true);
        Version2();
        Simple(OpCode.MemFill, "mem.fill", [P, I, W, I], [], "writes the word v (with its tag) to words i .. i+n-1",
            TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.OutOfFuel);
        SizeCharged();
        Heap(storesPointer: true);
        Version2();
        Simple(OpCode.MemCompare, "mem.compare", [P, I, P, I, I], [I],
            "compares n bytes of a from byte i with n bytes of b from byte j as unsigned bytes: -1, 0 or 1",
            TrapCode.OutOfBounds, TrapCode.UseAfterSend, TrapCode.TagMismatch, TrapCode.OutOfFuel);
        SizeCharged();
        Heap();
        Version2();

        // ---- Tagged words ----
        Simple(OpCode.WordOfI64, "word.of_i64", [I], [W], "the integer as an untagged word");
        Simple(OpCode.WordOfF64, "word.of_f64", [F], [W], "the float's bits as an untagged word");
        Simple(OpCode.WordOfPtr, "word.of_ptr", [P], [W], "the pointer as a tagged word");
        Simple(OpCode.WordAsI64, "word.as_i64", [W], [I], "the word as an integer", TrapCode.TagMismatch);
        Simple(OpCode.WordAsF64, "word.as_f64", [W], [F], "the word's bits as a float", TrapCode.TagMismatch);
        Simple(OpCode.WordAsPtr, "word.as_ptr", [W], [P], "the word as a pointer", TrapCode.TagMismatch);

        // ---- Tasks and channels (spec/concurrency.md) ----
        // Every one may suspend the task (a blocked operation, or a spawn under a full scheduler), so every one is a
        // safepoint; those that move a graph between heaps also allocate.
        TrapCode[] refTraps = [TrapCode.WrongObjectKind, TrapCode.UseAfterSend];
        Row(OpCode.TaskSpawn, "task.spawn", OperandKind.Function, null, [P], "[params] -> [ptr]", FlowKind.Next, 20,
            [TrapCode.TooManyTasks, TrapCode.UseAfterSend, TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "starts function f as a new task with these arguments (pointer arguments are moved) and pushes its task reference");
        HandsOver(SafepointHandOver.CalleeParameters);
        SizeCharged();
        Heap();
        Row(OpCode.TaskJoin, "task.join", OperandKind.Signature, [P], null, "[ptr] -> [results]", FlowKind.Next, 4,
            [.. refTraps, TrapCode.SignatureMismatch, TrapCode.TaskFailed, TrapCode.Deadlock, TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "waits for the task to finish and pushes its results (moved here), whose types signature s names; traps if it trapped");
        HandsOver(SafepointHandOver.Operands);
        SizeCharged();
        Heap();
        Row(OpCode.TaskSelf, "task.self", OperandKind.None, [], [P], "[] -> [ptr]", FlowKind.Next, 1, [TrapCode.OutOfMemory], true,
            "a reference to the running task");
        Heap();
        Row(OpCode.TaskCancel, "task.cancel", OperandKind.None, [P], [], "[ptr] -> []", FlowKind.Next, 2, refTraps, true,
            "cancels the task and every task it spawned, directly or not (each traps Cancelled)");
        HandsOver(SafepointHandOver.Operands);
        Row(OpCode.ChanNew, "chan.new", OperandKind.None, [I], [P], "[i64] -> [ptr]", FlowKind.Next, 4, [TrapCode.OutOfBounds, TrapCode.OutOfMemory], true,
            "creates a channel holding up to n messages (1 <= n <= 1,048,576) and pushes its reference");
        HandsOver(SafepointHandOver.Operands);
        Heap();
        Row(OpCode.ChanSend, "chan.send", OperandKind.None, [P, W], [], "[ptr word] -> []", FlowKind.Next, 4,
            [.. refTraps, TrapCode.ChannelClosed, TrapCode.Deadlock, TrapCode.OutOfFuel], true,
            "sends the word, moving the graph a pointer reaches; waits while the channel is full");
        HandsOver(SafepointHandOver.Operands);
        SizeCharged();
        Heap();
        Row(OpCode.ChanRecv, "chan.recv", OperandKind.None, [P], [W, I], "[ptr] -> [word i64]", FlowKind.Next, 4,
            [.. refTraps, TrapCode.Deadlock, TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "receives the oldest message and 1, waiting while the channel is empty; 0 and 0 once it is closed and empty");
        HandsOver(SafepointHandOver.Operands);
        SizeCharged();
        Heap();
        Row(OpCode.ChanRecvFor, "chan.recv_for", OperandKind.None, [P, I], [W, I], "[ptr i64] -> [word i64]", FlowKind.Next, 4,
            [.. refTraps, TrapCode.Deadlock, TrapCode.OutOfFuel, TrapCode.OutOfMemory], true,
            "as chan.recv, waiting at most t microseconds (0: not at all); 0 and -1 when the time ran out");
        HandsOver(SafepointHandOver.Operands);
        SizeCharged();
        Heap();
        Row(OpCode.ChanClose, "chan.close", OperandKind.None, [P], [], "[ptr] -> []", FlowKind.Next, 2, refTraps, true,
            "closes the channel: receivers drain it and then see it closed; waiting and later senders trap");
        HandsOver(SafepointHandOver.Operands);

        rows.Sort((a, b) => ((byte)a.OpCode).CompareTo((byte)b.OpCode));
        return [.. rows];
    }

    private static string Effect(VmType[] pops, VmType[] pushes)
    {
        // A loop, not LINQ over a value type, which the runtime would JIT-compile at every start-up (perf/RESULTS.md).
        var text = new System.Text.StringBuilder("[");
        for (var i = 0; i < pops.Length; i++) text.Append(i == 0 ? "" : " ").Append(pops[i].Name());
        text.Append("] -> [");
        for (var i = 0; i < pushes.Length; i++) text.Append(i == 0 ? "" : " ").Append(pushes[i].Name());
        return text.Append(']').ToString();
    }
}
