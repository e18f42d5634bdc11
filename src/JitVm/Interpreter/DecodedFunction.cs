using JitVm.Bytecode;
using JitVm.Verification;

namespace JitVm.Interpreter;

/// <summary>
/// Operations of the interpreter's pre-decoded form. Operands are frame slot numbers (relative to the frame
/// pointer) fixed at decode time from the verifier's stack heights, so the interpreter keeps no stack pointer:
/// the operand stack value at height h lives in slot (locals + h).
/// </summary>
internal enum OpKind : ushort
{
    Charge, Unreachable, Move, MoveW, Swap, SwapW, Select, SelectW, Const,
    GlobalGet, GlobalGetW, GlobalSet, GlobalSetW, ImportedGlobalGet, ImportedGlobalSet,
    Jump, JumpIf, JumpIfZ, Table, Call, CallHost, CallIndirect, Return, TailCall, TailCallIndirect,
    Add, Sub, Mul, DivS, DivU, RemS, RemU, And, Or, Xor, Shl, ShrS, ShrU, Rotl, Rotr,
    Eq, Ne, LtS, LtU, GtS, GtU, LeS, LeU, GeS, GeU,
    Clz, Ctz, Popcnt, Eqz, Extend8S, Extend16S, Extend32S, Extend32U,
    FAdd, FSub, FMul, FDiv, FMin, FMax, FEq, FNe, FLt, FGt, FLe, FGe,
    FNeg, FAbs, FSqrt, FFloor, FCeil, FTrunc, FNearest, FCopySign,
    TruncS, TruncSatS, TruncU, TruncSatU, ConvertS, ConvertU,
    Alloc, Len, LoadI, LoadF, LoadP, LoadW, StoreI, StoreP, StoreW, LoadU8, StoreU8, IsPtr, PtrEq, DataAlloc,
    LoadBytes, StoreBytes, MemCopy, MemFill, MemCompare, AllocBytes, LenBytes,
    SetTag0, SetTag1, CheckNotPtr, CheckPtr, RefCast,
    TaskSpawn, TaskJoin, TaskSelf, TaskCancel, ChanNew, ChanSend, ChanRecv, ChanRecvFor, ChanClose, Throw,

    // Fused forms made by the decoder's peephole pass (see Decoder.Fuse).
    AddK, SubK, MulK, AndK, RemSK, RemUK, ShlK, ShrSK, ShrUK,
    JumpIfLtS, JumpIfLeS, JumpIfGtS, JumpIfGeS, JumpIfEq, JumpIfNe,
    EqK, NeK, LtSK, LeSK, GtSK, GeSK,
    JumpIfLtSK, JumpIfLeSK, JumpIfGtSK, JumpIfGeSK, JumpIfEqK, JumpIfNeK,

    // A counted loop's step fused into the compare-and-branch after it: local B += step, then the branch compares
    // local B. StepJumpIf*: with slot C, step K. StepJumpIf*K: with constant K, step C. In the JumpIf* order.
    StepJumpIfLtS, StepJumpIfLeS, StepJumpIfGtS, StepJumpIfGeS, StepJumpIfEq, StepJumpIfNe,
    StepJumpIfLtSK, StepJumpIfLeSK, StepJumpIfGtSK, StepJumpIfGeSK, StepJumpIfEqK, StepJumpIfNeK,

    // isptr and a branch on it: jump to A when slot B's tag says pointer (or not).
    JumpIfPtr, JumpIfNotPtr,

    // A word local.get and word.as_i64/as_f64: slot A = slot B, trapping first unless B's tag says number.
    MoveNotPtr,
}

/// <summary>One decoded operation: a kind and up to three slot (or index) operands plus a 64-bit immediate.</summary>
internal struct Op
{
    public OpKind Kind;
    public int A;
    public int B;
    public int C;
    public long K;

    public override readonly string ToString() => $"{Kind} a={A} b={B} c={C} k={K}";
}

/// <summary>
/// A function in the interpreter's form, built once per module and shared by every isolate. Most are decoded when
/// made (<see cref="Decoder.Decode"/>). A function of a module loaded with saved code (<see cref="Deferred"/>) is
/// decoded, and its verification pass run, only when something first reads its decoded form (the interpreter, deopt,
/// the JIT): a call into its compiled code needs only its name, index, signature and <see cref="Compiled"/> entry.
/// </summary>
internal sealed class DecodedFunction
{
    /// <summary>A function decoded when made: every member is set by the initializer.</summary>
    public DecodedFunction()
    {
    }

    /// <summary>See <see cref="Deferred"/>. (The decoded members are left to <see cref="Decode"/>; their getters never
    /// return them unset.)</summary>
#pragma warning disable CS8618
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    private DecodedFunction(VerifiedModule module, int definedIndex)
#pragma warning restore CS8618
    {
        _deferred = module;
        Module = module.Definition;
        Name = Module.Functions[definedIndex].Name;
        FunctionIndex = Module.Imports.Count + definedIndex;
        ParameterCount = Signature.Parameters.Length;
    }

    /// <summary>Defined function <paramref name="definedIndex"/> of <paramref name="module"/>, to be decoded on first use.</summary>
    public static DecodedFunction Deferred(VerifiedModule module, int definedIndex) => new(module, definedIndex);

    /// <summary>The module to decode from, until decoded; null for a function decoded when made.</summary>
    private VerifiedModule? _deferred;

    // The decoded form. _code is written last (and read first): once it is non-null every other field is set.
    private Op[]? _code;
    private FunctionAnalysis _analysis = null!;
    private int[] _sourcePc = null!;
    private int[][] _tables = null!;
    private int _localCount;
    private int _frameSize;

    public required string Name { get; init; }

    /// <summary>The module the function belongs to.</summary>
    public required ModuleDefinition Module { get; init; }

    public required int FunctionIndex { get; init; }

    public required FunctionAnalysis Analysis { get => Ready()._analysis; init => _analysis = value; }

    public required Op[] Code { get => Volatile.Read(ref _code) ?? Decode()._code!; init => _code = value; }

    /// <summary>The source pc of each operation, for trap locations.</summary>
    public required int[] SourcePc { get => Ready()._sourcePc; init => _sourcePc = value; }

    /// <summary>br_table targets (as operation indices), referenced by <see cref="Op.C"/>.</summary>
    public required int[][] Tables { get => Ready()._tables; init => _tables = value; }

    public required int ParameterCount { get; init; }

    public required int LocalCount { get => Ready()._localCount; init => _localCount = value; }

    public required int FrameSize { get => Ready()._frameSize; init => _frameSize = value; }

    /// <summary>The function's signature (the module's, so reading it decodes nothing).</summary>
    public FunctionType Signature => _signature ??= Module.Types[Module.Functions[FunctionIndex - Module.Imports.Count].TypeIndex];

    private FunctionType? _signature;

    /// <summary>Whether the decoded form exists yet (always, except for a <see cref="Deferred"/> function not used yet).</summary>
    public bool IsDecoded => Volatile.Read(ref _code) is not null;

    private DecodedFunction Ready() => Volatile.Read(ref _code) is null ? Decode() : this;

    /// <summary>Decodes a deferred function (once: a racing thread waits for the first), copying the decoder's result in.</summary>
    private DecodedFunction Decode()
    {
        lock (this)
        {
            if (_code is not null) return this;
            var module = _deferred ?? throw new InvalidOperationException($"internal error: function {Name} has no decoded form");
            var decoded = Decoder.Decode(module, FunctionIndex - Module.Imports.Count);
            _analysis = decoded._analysis;
            _sourcePc = decoded._sourcePc;
            _tables = decoded._tables;
            _localCount = decoded._localCount;
            _frameSize = decoded._frameSize;
            Volatile.Write(ref _code, decoded._code);
            _deferred = null;
        }
        return this;
    }

    /// <summary>True when the function contains a loop (a backward branch); tiered mode compiles such functions at once.</summary>
    public bool HasLoops => Array.IndexOf(Analysis.IsLoopHeader, true) >= 0;

    /// <summary>The compiled form, once the JIT has made one; every caller checks it, so tier-up needs no patching.</summary>
    public volatile Jit.CompiledFunction? Compiled;

    /// <summary>An upper bound of this function's compiled frame (see <see cref="Jit.FunctionCompiler.FrameBytes(Verification.FunctionAnalysis)"/>), computed once.</summary>
    public int FrameBytes => _frameBytes != 0 ? _frameBytes : _frameBytes = Jit.FunctionCompiler.FrameBytes(Analysis);

    private int _frameBytes;

    /// <summary>Calls made to this function by the interpreter (a tier-up counter; races only lose counts).</summary>
    public int InterpretedCalls;

    /// <summary>
    /// The operation that performs the safepoint instruction at source pc <paramref name="pc"/> (a call, an
    /// allocation): where a frame deoptimised before that instruction resumes, and the one after it where a frame
    /// deoptimised during its call resumes. The decoder never removes a safepoint instruction's operation or folds
    /// it into another, so there is exactly one.
    /// </summary>
    public int SafepointOperation(int pc)
    {
        var map = _safepointOperations;
        if (map is null)
        {
            map = new int[Analysis.Definition.Code.Length];
            Array.Fill(map, -1);
            for (var i = 0; i < Code.Length; i++)
                if (Code[i].Kind is OpKind.Call or OpKind.CallHost or OpKind.CallIndirect or OpKind.TailCall or OpKind.TailCallIndirect or OpKind.Alloc or OpKind.DataAlloc or OpKind.AllocBytes
                    or >= OpKind.TaskSpawn and <= OpKind.ChanClose or OpKind.Throw)
                    map[SourcePc[i]] = i;
            _safepointOperations = map;
        }
        return map[pc] >= 0 ? map[pc] : throw new InvalidOperationException($"internal error: no safepoint operation for pc {pc} of {Name}");
    }

    private int[]? _safepointOperations;

    /// <summary>The fuel charge that starts the block at source pc <paramref name="pc"/> (a block leader): where a
    /// task that yields at that charge resumes.</summary>
    public int ChargeOperation(int pc)
    {
        for (var i = 0; i < Code.Length; i++)
            if (Code[i].Kind == OpKind.Charge && SourcePc[i] == pc) return i;
        throw new InvalidOperationException($"internal error: no fuel charge for the block at pc {pc} of {Name}");
    }

    /// <summary>
    /// The operation a handler for an exception of tag <paramref name="tag"/> thrown at source pc
    /// <paramref name="pc"/> starts at (its block's fuel charge), or -1: the first entry of the handler table whose range
    /// holds the pc and whose tag is the exception's (the verifier puts an inner range's entries first).
    /// </summary>
    public int FindHandler(int pc, int tag)
    {
        var handlers = Analysis.Definition.Handlers;
        for (var k = 0; k < handlers.Count; k++)
        {
            var entry = handlers[k];
            if (entry.Tag != tag || pc < entry.Start || pc >= entry.End) continue;
            var operations = _handlerOperations ??= [.. handlers.Select(h => ChargeOperation(h.Handler))];
            return operations[k];
        }
        return -1;
    }

    private int[]? _handlerOperations;

    /// <summary>Why the function is not compiled, when the JIT declined it (too large, or dynamic code unsupported).</summary>
    public volatile string? NotCompiledReason;
}
