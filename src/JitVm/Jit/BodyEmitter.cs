using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Emits the CIL body of one verified function (see <see cref="FunctionCompiler"/> for the conventions).</summary>
internal sealed class BodyEmitter(
    VerifiedModule module,
    FunctionAnalysis analysis,
    int functionIndex,
    CheckedIL il,
    Func<int, CalleeMethod?> resolveCallee)
{
    private const int IsolateArg = 0;
    private const int DepthArg = 1;
    private const int FirstParameterArg = 2;

    private readonly Dictionary<(int Height, VmType Type), LocalBuilder> _stackLocals = [];
    private readonly List<(Label Label, Action Emit)> _stubs = [];
    private LocalBuilder[] _locals = [];
    private Label[] _blocks = [];
    private LocalBuilder _fuel = null!;
    private LocalBuilder _words = null!;
    private LocalBuilder _tags = null!;
    private LocalBuilder _sites = null!;
    private LocalBuilder _maxDepth = null!;
    private LocalBuilder _index = null!;
    private LocalBuilder _scratch = null!;
    private LocalBuilder _nurseryEnd = null!;
    private LocalBuilder _stackLimit = null!;
    private LocalBuilder _stackProbe = null!;
    private int _spillSize;
    private bool _usesHeap;
    private VmType[] _types = [];
    private int _pc;
    private LocalBuilder? _spillBase;
    private int[] _pointerLocals = [];

    /// <summary>
    /// Safepoints keep every pointer (and word) the function still needs in a spill area on the frame stack, where
    /// the collector can see and move it, and reload them afterwards. The area holds the pointer locals, then the
    /// live pointer values of the operand stack; its size is the largest such set over the function's safepoints.
    /// </summary>
    private int SpillAreaSize()
    {
        var code = analysis.Definition.Code;
        _pointerLocals = [.. Enumerable.Range(0, analysis.LocalTypes.Length).Where(i => IsTraced(analysis.LocalTypes[i]))];
        var stackMax = 0;
        for (var pc = 0; pc < code.Length; pc++)
        {
            var consumed = Consumed(code[pc]);
            if (consumed < 0) continue;
            var types = TypeStack.ToArray(analysis.StackBefore[pc]);
            stackMax = Math.Max(stackMax, types.Take(types.Length - consumed).Count(IsTraced));
        }
        return _pointerLocals.Length + stackMax;
    }

    private static bool IsTraced(VmType type) => type is VmType.Ptr or VmType.Word;

    /// <summary>How many operands a safepoint instruction consumes, or -1 when the instruction is not a safepoint.</summary>
    private int Consumed(Instruction instruction) => instruction.OpCode switch
    {
        OpCode.Call => module.Definition.SignatureOf(instruction.Index).Parameters.Length,
        OpCode.CallIndirect => module.Definition.Types[instruction.Index].Parameters.Length + 1,
        OpCode.Alloc => 1,
        OpCode.DataAlloc => 0,
        _ => -1,
    };

    /// <summary>Before a safepoint: spill pointer locals and live pointer stack values (returns what to reload).</summary>
    private List<(int Slot, LocalBuilder Local, VmType Type)> Spill(int consumed)
    {
        var spilled = new List<(int, LocalBuilder, VmType)>();
        if (_spillBase is null) return spilled;
        foreach (var local in _pointerLocals) spilled.Add((spilled.Count, _locals[local], analysis.LocalTypes[local]));
        for (var height = 0; height < _types.Length - consumed; height++)
            if (IsTraced(_types[height])) spilled.Add((spilled.Count, StackLocal(height, _types[height]), _types[height]));
        foreach (var (slot, local, type) in spilled)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldloc, local);
            il.Call(type == VmType.Word ? Helpers.SetSlotWord : Helpers.SpillPointer);
        }
        // Clear the rest of the area: a pointer left from an earlier safepoint would keep a dead object alive here
        // but not in the interpreter, and the tiers must agree even on when the heap is full.
        for (var slot = spilled.Count; slot < _spillSize; slot++)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Call(Helpers.SpillPointer);
        }
        return spilled;
    }

    /// <summary>After a safepoint: reload what was spilled, as the collector may have moved it.</summary>
    private void Reload(List<(int Slot, LocalBuilder Local, VmType Type)> spilled)
    {
        foreach (var (slot, local, type) in spilled)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldloc, _spillBase!);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Add);
            il.Call(type == VmType.Word ? Helpers.SlotWord : Helpers.GetSlot);
            il.Emit(OpCodes.Stloc, local);
        }
    }

    private long Site => CallSites.Encode(functionIndex, _pc);

    public void Emit(Type[] parameterTypes)
    {
        var code = analysis.Definition.Code;
        il.SetArguments(parameterTypes);
        _fuel = il.DeclareLocal(typeof(long));
        _words = il.DeclareLocal(typeof(long[]));
        _tags = il.DeclareLocal(typeof(ulong[]));
        _sites = il.DeclareLocal(typeof(long[]));
        _maxDepth = il.DeclareLocal(typeof(int));
        _index = il.DeclareLocal(typeof(long));
        _scratch = il.DeclareLocal(typeof(int));
        _nurseryEnd = il.DeclareLocal(typeof(long));
        _stackLimit = il.DeclareLocal(typeof(nuint));
        _stackProbe = il.DeclareLocal(typeof(int));
        _locals = [.. analysis.LocalTypes.Select(t => il.DeclareLocal(ClrType(t)))];
        _blocks = new Label[code.Length];
        for (var pc = 0; pc < code.Length; pc++)
            if (analysis.IsLeader[pc]) _blocks[pc] = il.DefineLabel();

        var spillSize = _spillSize = SpillAreaSize();
        if (spillSize > 0)
        {
            _spillBase = il.DeclareLocal(typeof(int));
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldc_I4, spillSize);
            il.Call(Helpers.EnterSpillArea);
            il.Emit(OpCodes.Stloc, _spillBase);
        }
        Runtime(Helpers.GetFuel, _fuel);
        // Load only the runtime state this function uses: for a small function the loads are a noticeable share
        // of a call.
        _usesHeap = code.Any(i => i.OpCode is OpCode.Len or (>= OpCode.LoadI and <= OpCode.StoreW) or OpCode.Alloc);
        var callsDefined = code.Any(i => i.OpCode == OpCode.Call && i.Index >= module.Definition.Imports.Count);
        if (callsDefined)
        {
            Runtime(Helpers.Sites, _sites);
            Runtime(Helpers.MaxDepth, _maxDepth);
            Runtime(Helpers.StackLimit, _stackLimit);
        }
        if (code.Any(i => i.OpCode is OpCode.StoreP or OpCode.StoreW)) Runtime(Helpers.NurseryEnd, _nurseryEnd);
        ReloadHeap();
        for (var i = 0; i < analysis.ParameterCount; i++)
        {
            il.LoadArgument(FirstParameterArg + i);
            il.Emit(OpCodes.Stloc, _locals[i]);
        }

        for (_pc = 0; _pc < code.Length; _pc++)
        {
            il.Pc = _pc;
            _types = TypeStack.ToArray(analysis.StackBefore[_pc]);
            if (analysis.IsLeader[_pc])
            {
                il.MarkLabel(_blocks[_pc]);
                ChargeFuel(analysis.BlockCost[_pc]);
            }
            Lower(code[_pc]);
            il.ExpectEmpty();
        }
        foreach (var (label, emit) in _stubs)
        {
            il.MarkLabel(label);
            emit();
        }
    }

    /// <summary>
    /// Charges a block: when the slice in the fuel local cannot pay, a cold block asks the isolate for a new slice
    /// (which is where cancellation and deadlines are checked, and where running out of fuel traps) and comes back.
    /// </summary>
    private void ChargeFuel(long cost)
    {
        if (cost == 0) return;
        var paid = il.DefineLabel();
        var site = Site;
        var refill = Stub(() =>
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldc_I8, cost);
            il.Emit(OpCodes.Ldc_I8, site);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldloc, _fuel);
            il.Call(Helpers.Refuel);
            il.Emit(OpCodes.Stloc, _fuel);
            il.Emit(OpCodes.Br, paid);
        });
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Emit(OpCodes.Ldc_I8, cost);
        il.Emit(OpCodes.Blt, refill);
        il.MarkLabel(paid);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Emit(OpCodes.Ldc_I8, cost);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stloc, _fuel);
    }

    private void Lower(Instruction instruction)
    {
        var consumed = Consumed(instruction);
        if (consumed < 0)
        {
            LowerInstruction(instruction);
            return;
        }
        if (instruction.OpCode == OpCode.Alloc)
        {
            LowerAlloc(consumed);
            return;
        }
        var spilled = Spill(consumed);
        LowerInstruction(instruction);
        Reload(spilled);
    }

    /// <summary>
    /// alloc: pay the size part of its cost (only lengths of 8 words or more have one, so small objects pay one
    /// compare), then try the inline nursery bump; only when it fails spill, call the allocator (which may collect
    /// and trap), and reload. So the common case costs no spills.
    /// </summary>
    private void LowerAlloc(int consumed)
    {
        var h = _types.Length;
        var done = il.DefineLabel();
        var paid = il.DefineLabel();
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, (long)SizeFuel.UnitsPerFuel);
        il.Emit(OpCodes.Blt_Un, paid);
        Arg(IsolateArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.ChargeAllocation);
        il.Emit(OpCodes.Stloc, _fuel);
        il.MarkLabel(paid);
        Arg(IsolateArg);
        Load(h - 1);
        il.Call(Helpers.AllocFast);
        il.Emit(OpCodes.Stloc, _index);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Brtrue, done);
        var spilled = Spill(consumed);
        Arg(IsolateArg);
        Load(h - 1);
        LocationArguments();
        il.Call(Helpers.Alloc);
        il.Emit(OpCodes.Stloc, _index);
        Reload(spilled);
        ReloadHeap();
        il.MarkLabel(done);
        il.Emit(OpCodes.Ldloc, _index);
        Store(h - 1, VmType.Ptr);
    }

    private void LowerInstruction(Instruction instruction)
    {
        var h = _types.Length;
        switch (instruction.OpCode)
        {
            case OpCode.Nop:
            case OpCode.Drop:
                return;
            case OpCode.Unreachable:
                il.Emit(OpCodes.Br, TrapStub(TrapCode.Unreachable, "unreachable instruction executed"));
                return;
            case OpCode.Dup:
                Load(h - 1);
                Store(h, _types[h - 1]);
                return;
            case OpCode.Swap:
            {
                var a = _types[h - 2];
                var b = _types[h - 1];
                var temp = il.DeclareLocal(ClrType(a));
                Load(h - 2);
                il.Emit(OpCodes.Stloc, temp);
                Load(h - 1);
                Store(h - 2, b);
                il.Emit(OpCodes.Ldloc, temp);
                Store(h - 1, a);
                return;
            }
            case OpCode.Select:
            {
                var keep = il.DefineLabel();
                Load(h - 1);
                il.Emit(OpCodes.Brtrue, keep);
                Load(h - 2);
                Store(h - 3, _types[h - 3]);
                il.MarkLabel(keep);
                return;
            }
            case OpCode.I64Const:
                il.Emit(OpCodes.Ldc_I8, instruction.Operand);
                Store(h, VmType.I64);
                return;
            case OpCode.F64Const:
                il.Emit(OpCodes.Ldc_R8, instruction.F64);
                Store(h, VmType.F64);
                return;
            case OpCode.FuncRef:
                il.Emit(OpCodes.Ldc_I8, instruction.Operand);
                Store(h, VmType.I64);
                return;
            case OpCode.DataSize:
                il.Emit(OpCodes.Ldc_I8, (long)module.Definition.Data[instruction.Index].Bytes.Length);
                Store(h, VmType.I64);
                return;
            case OpCode.LocalGet:
                il.Emit(OpCodes.Ldloc, _locals[instruction.Index]);
                Store(h, analysis.LocalTypes[instruction.Index]);
                return;
            case OpCode.LocalSet:
            case OpCode.LocalTee:
                Load(h - 1);
                il.Emit(OpCodes.Stloc, _locals[instruction.Index]);
                return;
            case OpCode.GlobalGet:
            {
                var type = module.Definition.Globals[instruction.Index].Type;
                Arg(IsolateArg);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                if (type == VmType.Word) il.Call(Helpers.GetGlobalWord);
                else
                {
                    il.Call(Helpers.GetGlobal);
                    if (type == VmType.F64) il.Call(Helpers.BitsToDouble);
                }
                Store(h, type);
                return;
            }
            case OpCode.GlobalSet:
            {
                var type = module.Definition.Globals[instruction.Index].Type;
                Arg(IsolateArg);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                Load(h - 1);
                if (type == VmType.Word) il.Call(Helpers.SetGlobalWord);
                else
                {
                    if (type == VmType.F64) il.Call(Helpers.DoubleToBits);
                    il.Call(Helpers.SetGlobal);
                }
                return;
            }

            case OpCode.Br:
                il.Emit(OpCodes.Br, _blocks[instruction.Index]);
                return;
            case OpCode.BrIf:
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Bne_Un, _blocks[instruction.Index]);
                return;
            case OpCode.BrIfZ:
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Beq, _blocks[instruction.Index]);
                return;
            case OpCode.BrTable:
            {
                var targets = instruction.Targets!;
                var fallback = _blocks[instruction.Index];
                if (targets.Length == 0)
                {
                    il.Emit(OpCodes.Br, fallback);
                    return;
                }
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I8, (long)targets.Length);
                il.Emit(OpCodes.Bge_Un, fallback);
                Load(h - 1);
                il.Emit(OpCodes.Conv_I4);
                il.Emit(OpCodes.Switch, [.. targets.Select(t => _blocks[t])]);
                il.Emit(OpCodes.Br, fallback);
                return;
            }
            case OpCode.Return:
                EmitReturn(h);
                return;
            case OpCode.Call:
                EmitCall(instruction.Index, h);
                return;
            case OpCode.CallIndirect:
                EmitCallIndirect(instruction.Index, h);
                return;

            case OpCode.I64Add: Binary(h, OpCodes.Add); return;
            case OpCode.I64Sub: Binary(h, OpCodes.Sub); return;
            case OpCode.I64Mul: Binary(h, OpCodes.Mul); return;
            case OpCode.I64And: Binary(h, OpCodes.And); return;
            case OpCode.I64Or: Binary(h, OpCodes.Or); return;
            case OpCode.I64Xor: Binary(h, OpCodes.Xor); return;
            case OpCode.I64DivS: Divide(h, signed: true, remainder: false); return;
            case OpCode.I64DivU: Divide(h, signed: false, remainder: false); return;
            case OpCode.I64RemS: Divide(h, signed: true, remainder: true); return;
            case OpCode.I64RemU: Divide(h, signed: false, remainder: true); return;
            case OpCode.I64Shl: Shift(h, OpCodes.Shl); return;
            case OpCode.I64ShrS: Shift(h, OpCodes.Shr); return;
            case OpCode.I64ShrU: Shift(h, OpCodes.Shr_Un); return;
            case OpCode.I64Rotl: Load(h - 2); Load(h - 1); il.Call(Helpers.Rotl); Store(h - 2, VmType.I64); return;
            case OpCode.I64Rotr: Load(h - 2); Load(h - 1); il.Call(Helpers.Rotr); Store(h - 2, VmType.I64); return;
            case OpCode.I64Clz: Load(h - 1); il.Call(Helpers.Clz); Store(h - 1, VmType.I64); return;
            case OpCode.I64Ctz: Load(h - 1); il.Call(Helpers.Ctz); Store(h - 1, VmType.I64); return;
            case OpCode.I64Popcnt: Load(h - 1); il.Call(Helpers.Popcnt); Store(h - 1, VmType.I64); return;
            case OpCode.I64Eqz:
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Ceq);
                il.Emit(OpCodes.Conv_I8);
                Store(h - 1, VmType.I64);
                return;
            case OpCode.I64Eq: Compare(h, OpCodes.Ceq, negate: false); return;
            case OpCode.I64Ne: Compare(h, OpCodes.Ceq, negate: true); return;
            case OpCode.I64LtS: Compare(h, OpCodes.Clt, negate: false); return;
            case OpCode.I64LtU: Compare(h, OpCodes.Clt_Un, negate: false); return;
            case OpCode.I64GtS: Compare(h, OpCodes.Cgt, negate: false); return;
            case OpCode.I64GtU: Compare(h, OpCodes.Cgt_Un, negate: false); return;
            case OpCode.I64LeS: Compare(h, OpCodes.Cgt, negate: true); return;
            case OpCode.I64LeU: Compare(h, OpCodes.Cgt_Un, negate: true); return;
            case OpCode.I64GeS: Compare(h, OpCodes.Clt, negate: true); return;
            case OpCode.I64GeU: Compare(h, OpCodes.Clt_Un, negate: true); return;
            case OpCode.I64Extend8S: Extend(h, OpCodes.Conv_I1); return;
            case OpCode.I64Extend16S: Extend(h, OpCodes.Conv_I2); return;
            case OpCode.I64Extend32S: Extend(h, OpCodes.Conv_I4); return;

            case OpCode.F64Add: Binary(h, OpCodes.Add, canonical: true); return;
            case OpCode.F64Sub: Binary(h, OpCodes.Sub, canonical: true); return;
            case OpCode.F64Mul: Binary(h, OpCodes.Mul, canonical: true); return;
            case OpCode.F64Div: Binary(h, OpCodes.Div, canonical: true); return;
            case OpCode.F64Min: Load(h - 2); Load(h - 1); il.Call(Helpers.Min); Store(h - 2, VmType.F64); return;
            case OpCode.F64Max: Load(h - 2); Load(h - 1); il.Call(Helpers.Max); Store(h - 2, VmType.F64); return;
            case OpCode.F64Neg: Load(h - 1); il.Emit(OpCodes.Neg); Store(h - 1, VmType.F64); return;
            case OpCode.F64Abs: Unary(h, Helpers.Abs, VmType.F64); return;
            case OpCode.F64Sqrt: Unary(h, Helpers.Sqrt, VmType.F64, canonical: true); return;
            case OpCode.F64Floor: Unary(h, Helpers.Floor, VmType.F64, canonical: true); return;
            case OpCode.F64Ceil: Unary(h, Helpers.Ceiling, VmType.F64, canonical: true); return;
            case OpCode.F64Trunc: Unary(h, Helpers.Truncate, VmType.F64, canonical: true); return;
            case OpCode.F64Nearest: Unary(h, Helpers.Round, VmType.F64, canonical: true); return;
            case OpCode.F64Eq: Compare(h, OpCodes.Ceq, negate: false); return;
            case OpCode.F64Ne: Compare(h, OpCodes.Ceq, negate: true); return;
            case OpCode.F64Lt: Compare(h, OpCodes.Clt, negate: false); return;
            case OpCode.F64Gt: Compare(h, OpCodes.Cgt, negate: false); return;
            // a <= b is !(a > b or unordered); a >= b is !(a < b or unordered).
            case OpCode.F64Le: Compare(h, OpCodes.Cgt_Un, negate: true); return;
            case OpCode.F64Ge: Compare(h, OpCodes.Clt_Un, negate: true); return;

            case OpCode.I64TruncF64S:
                Load(h - 1);
                Arg(IsolateArg);
                il.Emit(OpCodes.Ldc_I8, Site);
                Arg(DepthArg);
                il.Emit(OpCodes.Ldloc, _fuel);
                il.Call(Helpers.TruncS);
                Store(h - 1, VmType.I64);
                return;
            case OpCode.I64TruncSatF64S: Unary(h, Helpers.TruncSat, VmType.I64); return;
            case OpCode.F64ConvertI64S: Load(h - 1); il.Emit(OpCodes.Conv_R8); Store(h - 1, VmType.F64); return;
            case OpCode.F64ConvertI64U: Load(h - 1); il.Emit(OpCodes.Conv_R_Un); il.Emit(OpCodes.Conv_R8); Store(h - 1, VmType.F64); return;
            case OpCode.I64ReinterpretF64: Unary(h, Helpers.DoubleToBits, VmType.I64); return;
            case OpCode.F64ReinterpretI64: Unary(h, Helpers.BitsToDouble, VmType.F64); return;

            case OpCode.DataAlloc:
                if (SizeFuel.ForSegment(module.Definition.Data[instruction.Index].Bytes.Length) > 0)
                {
                    Arg(IsolateArg);
                    il.Emit(OpCodes.Ldc_I4, instruction.Index);
                    LocationArguments();
                    il.Call(Helpers.ChargeDataAllocation);
                    il.Emit(OpCodes.Stloc, _fuel);
                }
                Arg(IsolateArg);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                LocationArguments();
                il.Call(Helpers.AllocData);
                Store(h, VmType.Ptr);
                ReloadHeap();
                return;
            case OpCode.Len:
                LoadLength(h - 1);
                Store(h - 1, VmType.I64);
                return;
            case OpCode.LoadI:
            case OpCode.LoadF:
            case OpCode.LoadP:
            case OpCode.LoadW:
                EmitLoad(instruction.OpCode, h);
                return;
            case OpCode.StoreI:
            case OpCode.StoreF:
            case OpCode.StoreP:
            case OpCode.StoreW:
                EmitStore(instruction.OpCode, h);
                return;
            case OpCode.LoadU8:
                Arg(IsolateArg);
                Load(h - 2);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.LoadByte);
                Store(h - 2, VmType.I64);
                return;
            case OpCode.StoreU8:
                Arg(IsolateArg);
                Load(h - 3);
                Load(h - 2);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.StoreByte);
                return;
            case OpCode.IsPtr:
                Load(h - 1);
                il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
                il.Emit(OpCodes.Conv_U8);
                Store(h - 1, VmType.I64);
                return;
            case OpCode.PtrEq: Compare(h, OpCodes.Ceq, negate: false); return;

            case OpCode.WordOfI64:
            case OpCode.WordOfPtr:
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I4, instruction.OpCode == OpCode.WordOfPtr ? 1 : 0);
                il.Call(Helpers.MakeWord);
                Store(h - 1, VmType.Word);
                return;
            case OpCode.WordOfF64:
                Load(h - 1);
                il.Call(Helpers.DoubleToBits);
                il.Emit(OpCodes.Ldc_I4, 0);
                il.Call(Helpers.MakeWord);
                Store(h - 1, VmType.Word);
                return;
            case OpCode.WordAsI64:
            case OpCode.WordAsF64:
            case OpCode.WordAsPtr:
            {
                var wantPointer = instruction.OpCode == OpCode.WordAsPtr;
                var stub = ThrowingStub(Helpers.WordMismatch, () => il.Emit(OpCodes.Ldc_I4, wantPointer ? 1 : 0));
                Load(h - 1);
                il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
                il.Emit(wantPointer ? OpCodes.Brfalse : OpCodes.Brtrue, stub);
                Load(h - 1);
                il.Emit(OpCodes.Ldfld, Helpers.WordBits);
                if (instruction.OpCode == OpCode.WordAsF64) il.Call(Helpers.BitsToDouble);
                Store(h - 1, instruction.OpCode switch { OpCode.WordAsF64 => VmType.F64, OpCode.WordAsPtr => VmType.Ptr, _ => VmType.I64 });
                return;
            }
            default:
                throw new InvalidOperationException($"the JIT has no lowering for {instruction.OpCode}");
        }
    }

    // ---- Arithmetic ----

    // canonical: for f64 arithmetic, replace a NaN result by the canonical NaN, as the interpreter does.
    private void Binary(int h, System.Reflection.Emit.OpCode op, bool canonical = false)
    {
        var type = _types[h - 2];
        Load(h - 2);
        Load(h - 1);
        il.Emit(op);
        if (canonical) il.Call(Helpers.Canonical);
        Store(h - 2, type);
    }

    private void Unary(int h, System.Reflection.MethodInfo method, VmType result, bool canonical = false)
    {
        Load(h - 1);
        il.Call(method);
        if (canonical) il.Call(Helpers.Canonical);
        Store(h - 1, result);
    }

    private void Shift(int h, System.Reflection.Emit.OpCode op)
    {
        Load(h - 2);
        Load(h - 1);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, 63);
        il.Emit(OpCodes.And);
        il.Emit(op);
        Store(h - 2, VmType.I64);
    }

    private void Compare(int h, System.Reflection.Emit.OpCode op, bool negate)
    {
        Load(h - 2);
        Load(h - 1);
        il.Emit(op);
        if (negate)
        {
            il.Emit(OpCodes.Ldc_I4, 0);
            il.Emit(OpCodes.Ceq);
        }
        il.Emit(OpCodes.Conv_I8);
        Store(h - 2, VmType.I64);
    }

    private void Extend(int h, System.Reflection.Emit.OpCode narrow)
    {
        Load(h - 1);
        il.Emit(narrow);
        il.Emit(OpCodes.Conv_I8);
        Store(h - 1, VmType.I64);
    }

    /// <summary>Division and remainder with the VM's traps: zero divisor, and MIN / -1 (which CIL would fault on).</summary>
    private void Divide(int h, bool signed, bool remainder)
    {
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Beq, TrapStub(TrapCode.DivideByZero, remainder ? "integer remainder by zero" : "integer division by zero"));
        if (!signed)
        {
            Load(h - 2);
            Load(h - 1);
            il.Emit(remainder ? OpCodes.Rem_Un : OpCodes.Div_Un);
            Store(h - 2, VmType.I64);
            return;
        }
        var normal = il.DefineLabel();
        var done = il.DefineLabel();
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I8, -1L);
        il.Emit(OpCodes.Bne_Un, normal);
        if (remainder)
        {
            il.Emit(OpCodes.Ldc_I8, 0L);
            Store(h - 2, VmType.I64);
            il.Emit(OpCodes.Br, done);
        }
        else
        {
            Load(h - 2);
            il.Emit(OpCodes.Ldc_I8, long.MinValue);
            il.Emit(OpCodes.Beq, TrapStub(TrapCode.IntegerOverflow, "i64.div_s of -9223372036854775808 by -1 overflows"));
        }
        il.MarkLabel(normal);
        Load(h - 2);
        Load(h - 1);
        il.Emit(remainder ? OpCodes.Rem : OpCodes.Div);
        Store(h - 2, VmType.I64);
        il.MarkLabel(done);
    }

    // ---- Heap ----

    /// <summary>Pushes the length of the object whose pointer is at stack height <paramref name="pointer"/>.</summary>
    private void LoadLength(int pointer)
    {
        il.Emit(OpCodes.Ldloc, _words);
        Load(pointer);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldc_I8, 0xFFFF_FFFFL);
        il.Emit(OpCodes.And);
    }

    /// <summary>Bounds-checks field (pointer, index) and leaves the arena index of the field in <see cref="_index"/>.</summary>
    private void FieldIndex(OpCode opCode, int pointer, int index, Label fault)
    {
        Load(index);
        LoadLength(pointer);
        il.Emit(OpCodes.Bge_Un, fault);
        Load(pointer);
        Load(index);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, _index);
        _ = opCode;
    }

    private Label HeapFaultStub(OpCode opCode, int pointer, int index)
    {
        var pointerLocal = StackLocal(pointer, _types[pointer]);
        var indexLocal = StackLocal(index, _types[index]);
        return ThrowingStub(Helpers.HeapFault, () =>
        {
            il.Emit(OpCodes.Ldc_I4, (int)opCode);
            il.Emit(OpCodes.Ldloc, pointerLocal);
            il.Emit(OpCodes.Ldloc, indexLocal);
        });
    }

    /// <summary>Pushes the tag bit (0 or 1, as I8) of arena word <see cref="_index"/>.</summary>
    private void LoadTagBit()
    {
        il.Emit(OpCodes.Ldloc, _tags);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, 6);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, 63);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.And);
    }

    private void EmitLoad(OpCode opCode, int h)
    {
        var fault = HeapFaultStub(opCode, h - 2, h - 1);
        FieldIndex(opCode, h - 2, h - 1, fault);
        if (opCode != OpCode.LoadW)
        {
            LoadTagBit();
            il.Emit(opCode == OpCode.LoadP ? OpCodes.Brfalse : OpCodes.Brtrue, fault);
        }
        il.Emit(OpCodes.Ldloc, _words);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        switch (opCode)
        {
            case OpCode.LoadF:
                il.Call(Helpers.BitsToDouble);
                Store(h - 2, VmType.F64);
                break;
            case OpCode.LoadP:
                Store(h - 2, VmType.Ptr);
                break;
            case OpCode.LoadW:
                LoadTagBit();
                il.Emit(OpCodes.Conv_I4);
                il.Call(Helpers.MakeWord);
                Store(h - 2, VmType.Word);
                break;
            default:
                Store(h - 2, VmType.I64);
                break;
        }
    }

    private void EmitStore(OpCode opCode, int h)
    {
        var fault = HeapFaultStub(opCode, h - 3, h - 2);
        FieldIndex(opCode, h - 3, h - 2, fault);
        il.Emit(OpCodes.Ldloc, _words);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I);
        Load(h - 1);
        if (opCode == OpCode.StoreF) il.Call(Helpers.DoubleToBits);
        if (opCode == OpCode.StoreW) il.Emit(OpCodes.Ldfld, Helpers.WordBits);
        il.Emit(OpCodes.Stelem_I8);
        switch (opCode)
        {
            case OpCode.StoreP:
                SetTagBit(set: true);
                WriteBarrier(h - 3, h - 1);
                break;
            case OpCode.StoreW:
            {
                var clear = il.DefineLabel();
                var done = il.DefineLabel();
                Load(h - 1);
                il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
                il.Emit(OpCodes.Brfalse, clear);
                SetTagBit(set: true);
                WriteBarrier(h - 3, h - 1);
                il.Emit(OpCodes.Br, done);
                il.MarkLabel(clear);
                SetTagBit(set: false);
                il.MarkLabel(done);
                break;
            }
            default:
                SetTagBit(set: false);
                break;
        }
    }

    /// <summary>The write barrier: when an old object (pointer at stack height <paramref name="pointer"/>) now holds a
    /// young pointer (at height <paramref name="value"/>; a ptr or a tagged word), tell the heap.</summary>
    private void WriteBarrier(int pointer, int value)
    {
        var skip = il.DefineLabel();
        LoadBits(value);
        il.Emit(OpCodes.Ldloc, _nurseryEnd);
        il.Emit(OpCodes.Bge, skip);
        Load(pointer);
        il.Emit(OpCodes.Ldloc, _nurseryEnd);
        il.Emit(OpCodes.Blt, skip);
        Arg(IsolateArg);
        Load(pointer);
        LoadBits(value);
        il.Call(Helpers.RecordWrite);
        il.MarkLabel(skip);
    }

    private void LoadBits(int height)
    {
        Load(height);
        if (_types[height] == VmType.Word) il.Emit(OpCodes.Ldfld, Helpers.WordBits);
    }

    /// <summary>tags[index >> 6] |= bit (or &amp;= ~bit) for arena word <see cref="_index"/>.</summary>
    private void SetTagBit(bool set)
    {
        il.Emit(OpCodes.Ldloc, _tags);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, 6);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldloc, _tags);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Ldc_I4, 6);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.Ldloc, _index);
        il.Emit(OpCodes.Conv_I4);
        il.Emit(OpCodes.Ldc_I4, 63);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Shl);
        if (!set) il.Emit(OpCodes.Not);
        il.Emit(set ? OpCodes.Or : OpCodes.And);
        il.Emit(OpCodes.Stelem_I8);
    }

    private void ReloadHeap()
    {
        if (!_usesHeap) return;
        Runtime(Helpers.HeapWords, _words);
        Runtime(Helpers.HeapTags, _tags);
    }

    // ---- Calls and returns ----

    private void EmitReturn(int h)
    {
        var results = analysis.Signature.Results;
        if (_spillBase is not null)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Call(Helpers.ExitSpillArea);
        }
        Arg(IsolateArg);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Call(Helpers.SetFuel);
        if (results.Length == 1)
        {
            Load(h - 1);
        }
        else if (results.Length > 1)
        {
            for (var i = 0; i < results.Length; i++)
            {
                var height = h - results.Length + i;
                Arg(IsolateArg);
                il.Emit(OpCodes.Ldc_I4, i);
                switch (results[i])
                {
                    case VmType.Word:
                        Load(height);
                        il.Emit(OpCodes.Ldfld, Helpers.WordBits);
                        Load(height);
                        il.Emit(OpCodes.Ldfld, Helpers.WordIsPointer);
                        break;
                    case VmType.F64:
                        Load(height);
                        il.Call(Helpers.DoubleToBits);
                        il.Emit(OpCodes.Ldc_I4, 0);
                        break;
                    default:
                        Load(height);
                        il.Emit(OpCodes.Ldc_I4, results[i] == VmType.Ptr ? 1 : 0);
                        break;
                }
                il.Call(Helpers.SetResult);
            }
        }
        il.Emit(OpCodes.Ret);
    }

    private void EmitCall(int callee, int h)
    {
        var definition = module.Definition;
        var imports = definition.Imports.Count;
        var signature = definition.SignatureOf(callee);
        var first = h - signature.Parameters.Length;
        var site = Site;
        if (callee < imports && TypedHostCall(signature) is { } typedCall)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldc_I4, callee);
            LocationArguments();
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.Call(typedCall);
            if (signature.Results.Length == 1) Store(first, signature.Results[0]);
            AfterCall();
            return;
        }
        if (callee < imports)
        {
            StoreArgumentsToScratch(signature, first);
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldc_I4, callee);
            il.Emit(OpCodes.Ldloc, _scratch);
            LocationArguments();
            il.Call(Helpers.CallHost);
            LoadResultsFromScratch(signature, first);
            AfterCall();
            return;
        }

        var definedIndex = callee - imports;
        var depthStub = ThrowingStub(Helpers.CallDepth, () => il.Emit(OpCodes.Ldc_I4, definedIndex));
        Arg(DepthArg);
        il.Emit(OpCodes.Ldloc, _maxDepth);
        il.Emit(OpCodes.Bge, depthStub);
        il.Emit(OpCodes.Ldloc, _sites);
        Arg(DepthArg);
        il.Emit(OpCodes.Ldc_I8, site);
        il.Emit(OpCodes.Stelem_I8);
        Arg(IsolateArg);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Call(Helpers.SetFuel);

        var interpreted = il.DefineLabel();
        var done = il.DefineLabel();
        if (resolveCallee(definedIndex) is { } target)
        {
            // A direct call uses .NET stack: unless the callee's whole frame fits above the limit, run the callee in
            // the interpreter instead (see Isolate.StackLimit).
            il.Emit(OpCodes.Ldloca, _stackProbe);
            il.Emit(OpCodes.Conv_U);
            il.Emit(OpCodes.Ldc_I4, target.FrameBytes);
            il.Emit(OpCodes.Conv_U);
            il.Emit(OpCodes.Sub);
            il.Emit(OpCodes.Ldloc, _stackLimit);
            il.Emit(OpCodes.Ble_Un, interpreted);
            Arg(IsolateArg);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldc_I4, 1);
            il.Emit(OpCodes.Add);
            for (var i = 0; i < signature.Parameters.Length; i++) Load(first + i);
            il.Call(target.Method, target.ParameterTypes, target.ReturnType);
            if (signature.Results.Length == 1) Store(first, signature.Results[0]);
            else
                for (var i = 0; i < signature.Results.Length; i++)
                {
                    Arg(IsolateArg);
                    il.Emit(OpCodes.Ldc_I4, i);
                    if (signature.Results[i] == VmType.Word) il.Call(Helpers.GetResultWord);
                    else
                    {
                        il.Call(Helpers.GetResult);
                        if (signature.Results[i] == VmType.F64) il.Call(Helpers.BitsToDouble);
                    }
                    Store(first + i, signature.Results[i]);
                }
            il.Emit(OpCodes.Br, done);
        }
        il.MarkLabel(interpreted);
        StoreArgumentsToScratch(signature, first);
        Arg(IsolateArg);
        il.Emit(OpCodes.Ldc_I4, definedIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        Arg(DepthArg);
        il.Call(Helpers.CallInterpreted);
        LoadResultsFromScratch(signature, first);
        il.MarkLabel(done);
        AfterCall();
    }

    private void EmitCallIndirect(int typeIndex, int h)
    {
        var signature = module.Definition.Types[typeIndex];
        var first = h - 1 - signature.Parameters.Length;
        StoreArgumentsToScratch(signature, first);
        Arg(IsolateArg);
        Load(h - 1);
        il.Emit(OpCodes.Ldc_I4, typeIndex);
        il.Emit(OpCodes.Ldloc, _scratch);
        LocationArguments();
        il.Call(Helpers.CallIndirect);
        LoadResultsFromScratch(signature, first);
        AfterCall();
    }

    /// <summary>Reserves scratch slots above the interpreter frames and stores the call's arguments there.</summary>
    /// <summary>
    /// The helper that calls a host import of this signature with its arguments in registers (see
    /// <c>JitRuntime.HostFunc0</c> and its siblings), or null when a parameter or result is a ptr or word, there are
    /// more than eight parameters, or more than one result.
    /// </summary>
    private static System.Reflection.MethodInfo? TypedHostCall(FunctionType signature)
    {
        if (signature.Parameters.Length > Hosting.Isolate.MaxTypedArity || signature.Results.Length > 1) return null;
        if (signature.Parameters.Concat(signature.Results).Any(t => t is not (VmType.I64 or VmType.F64))) return null;
        var types = signature.Parameters.Concat(signature.Results).Select(ClrType).ToArray();
        var name = (signature.Results.Length == 1 ? "HostFunc" : "HostAction") + signature.Parameters.Length;
        var helper = typeof(JitRuntime).GetMethod(name)!;
        return types.Length == 0 ? helper : helper.MakeGenericMethod(types);
    }

    private void StoreArgumentsToScratch(FunctionType signature, int first)
    {
        Arg(IsolateArg);
        il.Emit(OpCodes.Ldc_I4, Math.Max(signature.Parameters.Length, signature.Results.Length));
        il.Call(Helpers.Scratch);
        il.Emit(OpCodes.Stloc, _scratch);
        for (var i = 0; i < signature.Parameters.Length; i++)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldloc, _scratch);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Add);
            Load(first + i);
            switch (signature.Parameters[i])
            {
                case VmType.Word: il.Call(Helpers.SetSlotWord); break;
                case VmType.F64: il.Call(Helpers.DoubleToBits); il.Call(Helpers.SetSlot); break;
                case VmType.Ptr: il.Call(Helpers.SetSlotPointer); break;
                default: il.Call(Helpers.SetSlot); break;
            }
        }
    }

    private void LoadResultsFromScratch(FunctionType signature, int first)
    {
        for (var i = 0; i < signature.Results.Length; i++)
        {
            Arg(IsolateArg);
            il.Emit(OpCodes.Ldloc, _scratch);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Add);
            if (signature.Results[i] == VmType.Word) il.Call(Helpers.SlotWord);
            else
            {
                il.Call(Helpers.GetSlot);
                if (signature.Results[i] == VmType.F64) il.Call(Helpers.BitsToDouble);
            }
            Store(first + i, signature.Results[i]);
        }
    }

    /// <summary>After any call the fuel may have been spent and the heap arena replaced.</summary>
    private void AfterCall()
    {
        Runtime(Helpers.GetFuel, _fuel);
        ReloadHeap();
    }

    // ---- Plumbing ----

    private void LocationArguments()
    {
        il.Emit(OpCodes.Ldc_I8, Site);
        Arg(DepthArg);
        il.Emit(OpCodes.Ldloc, _fuel);
    }

    private Label TrapStub(TrapCode code, string message) =>
        ThrowingStub(Helpers.Trap, () =>
        {
            il.Emit(OpCodes.Ldc_I4, (int)code);
            il.Emit(OpCodes.Ldstr, message);
        });

    /// <summary>
    /// A cold block that raises a trap through <paramref name="helper"/>, whose parameters are the isolate, the
    /// operands <paramref name="loadOperands"/> pushes, and this instruction's site, the depth and the fuel.
    /// </summary>
    private Label ThrowingStub(System.Reflection.MethodInfo helper, Action loadOperands)
    {
        var site = Site;
        return Stub(() =>
        {
            Arg(IsolateArg);
            loadOperands();
            il.Emit(OpCodes.Ldc_I8, site);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldloc, _fuel);
            il.Call(helper);
            il.Emit(OpCodes.Throw);
        });
    }

    /// <summary>A cold block at the end of the method, entered with an empty CIL stack.</summary>
    private Label Stub(Action emit)
    {
        var label = il.DefineLabel();
        _stubs.Add((label, emit));
        return label;
    }

    private void Runtime(System.Reflection.MethodInfo getter, LocalBuilder target)
    {
        Arg(IsolateArg);
        il.Call(getter);
        il.Emit(OpCodes.Stloc, target);
    }

    private void Arg(int index) => il.LoadArgument(index);

    private LocalBuilder StackLocal(int height, VmType type)
    {
        if (!_stackLocals.TryGetValue((height, type), out var local))
        {
            local = il.DeclareLocal(ClrType(type));
            _stackLocals[(height, type)] = local;
        }
        return local;
    }

    private void Load(int height) => il.Emit(OpCodes.Ldloc, StackLocal(height, _types[height]));

    private void Store(int height, VmType type) => il.Emit(OpCodes.Stloc, StackLocal(height, type));
}
