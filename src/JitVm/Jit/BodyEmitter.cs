using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Semantics;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>Emits the CIL body of one verified function (see <see cref="FunctionCompiler"/> for the conventions).</summary>
/// <param name="module">The function's module.</param>
/// <param name="decoded">The function, in the interpreter's form (deoptimised frames resume at its operations).</param>
/// <param name="deoptStress">Whether every safepoint asks whether to deoptimise (the deopt-stress code table).</param>
/// <param name="il">Where the body goes.</param>
/// <param name="resolveCallee">How to call each defined function directly, or null to call it through the interpreter.</param>
/// <param name="plan">For a function compiled in pieces, how it is cut (see BodyEmitter.Pieces.cs); null to emit the whole function.</param>
/// <param name="piece">Which piece of <paramref name="plan"/> to emit.</param>
[System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)]
internal sealed partial class BodyEmitter(
    VerifiedModule module,
    Interpreter.DecodedFunction decoded,
    bool deoptStress,
    CheckedIL il,
    Func<int, CalleeMethod?> resolveCallee,
    PiecePlan? plan = null,
    int piece = 0)
{
    private readonly FunctionAnalysis _analysis = decoded.Analysis;
    private readonly int _functionIndex = decoded.FunctionIndex;

    private const int FiberArg = 0;
    private const int DepthArg = 1;
    /// <summary>A whole function's fuel argument (pieces take their slice from the fiber instead).</summary>
    private const int FuelArg = 2;
    private const int FirstParameterArg = 3;

    private readonly Dictionary<(int Height, VmType Type), LocalBuilder> _stackLocals = [];
    /// <summary>The cold blocks to emit at the end of the innermost open protected range (or of the method).</summary>
    private List<(Label Label, Action Emit)> _stubs = null!;
    private readonly List<(Label Label, Action Emit)> _methodStubs = [];
    /// <summary>The VM locals by index: a CIL local for each of <see cref="_usedLocals"/>, null for the others.</summary>
    private LocalBuilder[] _locals = [];
    private int[] _usedLocals = [];
    private Label[] _blocks = [];
    private LocalBuilder _fuel = null!;
    private LocalBuilder _words = null!;
    private LocalBuilder _tags = null!;
    private LocalBuilder _maxDepth = null!;
    private LocalBuilder _index = null!;
    private LocalBuilder _scratch = null!;
    private LocalBuilder _nurseryEnd = null!;
    private LocalBuilder _stackLimit = null!;
    private LocalBuilder _stackProbe = null!;
    // Made at the first indirect call site (BodyEmitter.Calls.cs).
    private LocalBuilder? _indirectTarget;
    private LocalBuilder? _calleeIndex;
    private int _spillSize;
    private bool _usesHeap;
    private VmType[] _types = [];
    private int _pc;
    private LocalBuilder? _spillBase;
    private int[] _pointerLocals = [];
    private SpillPlan? _spillPlan;
    private LocalBuilder? _collections;
    private LocalBuilder? _slotsRef;
    private LocalBuilder? _tagsRef;

    private long Site => CallSites.Encode(_functionIndex, _pc);

    public void Emit(Type[] parameterTypes)
    {
        _stubs = _methodStubs;
        var code = _analysis.Definition.Code;
        _first = plan is null ? 0 : plan.Starts[piece];
        _end = plan is null ? code.Length : plan.Starts[piece + 1];
        var range = code[_first.._end];
        il.SetArguments(parameterTypes);
        _fuel = il.DeclareLocal(typeof(long));
        _words = il.DeclareLocal(typeof(long[]));
        _tags = il.DeclareLocal(typeof(ulong[]));
        _maxDepth = il.DeclareLocal(typeof(int));
        _index = il.DeclareLocal(typeof(long));
        _scratch = il.DeclareLocal(typeof(int));
        _nurseryEnd = il.DeclareLocal(typeof(long));
        _stackLimit = il.DeclareLocal(typeof(nuint));
        _stackProbe = il.DeclareLocal(typeof(int));
        // A piece keeps only the locals it uses in CIL locals; the frame holds the others (BodyEmitter.Pieces.cs).
        _usedLocals = plan?.Locals[piece] ?? [.. Enumerable.Range(0, _analysis.LocalTypes.Length)];
        _locals = new LocalBuilder[_analysis.LocalTypes.Length];
        foreach (var i in _usedLocals) _locals[i] = il.DeclareLocal(ClrType(_analysis.LocalTypes[i]));
        _blocks = new Label[_end - _first];
        for (var pc = _first; pc < _end; pc++)
            if (_analysis.IsLeader[pc] || plan?.EntryAt[pc] >= 0) _blocks[pc - _first] = il.DefineLabel();

        var spillSize = _spillSize = SpillAreaSize();
        if (spillSize > 0)
        {
            _spillBase = il.DeclareLocal(typeof(int));
            _collections = il.DeclareLocal(typeof(int));
            _spillPlan = MakeSpillPlan();
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, spillSize);
            il.Call(Helpers.EnterSpillArea);
            il.Emit(OpCodes.Stloc, _spillBase);
        }
        if (plan is null)
        {
            Arg(FuelArg);
            il.Emit(OpCodes.Stloc, _fuel);
        }
        else Runtime(Helpers.GetFuel, _fuel);
        // Load only the runtime state this function uses: for a small function the loads are a noticeable share
        // of a call.
        _usesHeap = range.Any(i => i.OpCode.Info().UsesHeap);
        var callsDefined = range.Any(i => i.OpCode is OpCode.Call or OpCode.ReturnCall && i.Index >= module.Definition.Imports.Count
            || i.OpCode is OpCode.CallIndirect or OpCode.CallRef);
        if (callsDefined)
        {
            Runtime(Helpers.MaxDepth, _maxDepth);
            Runtime(Helpers.StackLimit, _stackLimit);
        }
        if (range.Any(i => i.OpCode.Info().StoresPointer)) Runtime(Helpers.NurseryEnd, _nurseryEnd);
        ReloadHeap();
        if (plan is not null) EnterPiece();
        else
        {
            for (var i = 0; i < _analysis.ParameterCount; i++)
            {
                il.LoadArgument(FirstParameterArg + i);
                il.Emit(OpCodes.Stloc, _locals[i]);
            }
            // Declared locals start as zero; the method does not zero its CIL locals (InitLocals is off, so the
            // CLR JIT does not clear the whole frame on every call), and every other CIL local is written before
            // it is read.
            for (var i = _analysis.ParameterCount; i < _analysis.LocalTypes.Length; i++)
            {
                switch (_analysis.LocalTypes[i])
                {
                    case VmType.F64: il.Emit(OpCodes.Ldc_R8, 0.0); break;
                    case VmType.Word: il.Emit(OpCodes.Ldc_I8, 0L); il.Emit(OpCodes.Ldc_I4_0); il.Call(Helpers.MakeWord); break;
                    default: il.Emit(OpCodes.Ldc_I8, 0L); break;
                }
                il.Emit(OpCodes.Stloc, _locals[i]);
            }
        }
        if (_regions.Any) SaveFrameState();

        for (_pc = _first; _pc < _end; _pc++)
        {
            il.Pc = _pc;
            _types = TypeStack.ToArray(_analysis.StackBefore[_pc]);
            // A range's try block closes before the label at its end and opens after the fuel charge at its start, so
            // a branch to either lands outside it (spec/exceptions.md §6).
            if (_regions.Any) CloseRegions(code);
            if (_analysis.IsLeader[_pc])
            {
                il.MarkLabel(_blocks[_pc - _first]);
                ChargeFuel(_analysis.BlockCost[_pc]);
            }
            else if (plan?.EntryAt[_pc] >= 0) il.MarkLabel(_blocks[_pc - _first]);
            if (_regions.Any) OpenRegions();
            Lower(code[_pc]);
            il.ExpectEmpty();
        }
        // The next piece starts where the operand stack is empty: falling into it leaves with the locals only.
        if (plan is not null && _end < code.Length && code[_end - 1].OpCode.Info().Flow is FlowKind.Next or FlowKind.ConditionalBranch or FlowKind.Call)
            il.Emit(OpCodes.Br, Block(_end));
        EmitStubs(_stubs);
        if (_returnBlock is { } returnBlock) EmitReturnBlock(returnBlock);
    }

    private void EmitStubs(List<(Label Label, Action Emit)> stubs)
    {
        // A stub may add stubs (a refuel stub's yield), so the list is walked by index.
        for (var i = 0; i < stubs.Count; i++)
        {
            il.MarkLabel(stubs[i].Label);
            stubs[i].Emit();
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
        // A task whose quantum is used up yields instead of taking a new slice, at a loop header or the function's
        // entry (every endless run of code passes one): the frame deoptimises to charge the block again in the
        // interpreter when the task resumes. Other blocks only refuel, which keeps the code small.
        Label? yield = _pc == 0 || _analysis.IsLoopHeader[_pc] ? DeoptStub(_types.Length, decoded.ChargeOperation(_pc)) : null;
        var refill = Stub(() =>
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I8, cost);
            il.Emit(OpCodes.Ldc_I8, site);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldloc, _fuel);
            il.Call(yield is null ? Helpers.Refuel : Helpers.RefuelOrYield);
            il.Emit(OpCodes.Stloc, _fuel);
            if (yield is { } yielding)
            {
                Arg(FiberArg);
                il.Call(Helpers.IsSuspending);
                il.Emit(OpCodes.Brtrue, yielding);
            }
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
        if (deoptStress) DeoptimiseIfAsked();
        if (LowerTailCall(instruction, consumed)) return;
        if (instruction.OpCode == OpCode.Throw)
        {
            // A handler of this frame reloads the pointers from the spill area; nothing follows a throw here.
            if (_regions.Any) Spill(consumed);
            LowerThrow(instruction.Index, consumed);
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
        if (instruction.OpCode is OpCode.Call or OpCode.CallIndirect or OpCode.CallRef) DeoptimiseIfCalleeDid(consumed);
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
                il.Emit(OpCodes.Br, TrapStub(Traps.Unreachable.Code, Traps.Unreachable.Message));
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
            case OpCode.RefFunc:
                il.Emit(OpCodes.Ldc_I8, instruction.Operand);
                Store(h, VmType.I64);
                return;
            case OpCode.RefCast:
                Arg(FiberArg);
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                LocationArguments();
                il.Call(Helpers.CastReference);
                return;
            case OpCode.DataSize:
                il.Emit(OpCodes.Ldc_I8, (long)module.Definition.Data[instruction.Index].Bytes.Length);
                Store(h, VmType.I64);
                return;
            case OpCode.LocalGet:
                il.Emit(OpCodes.Ldloc, _locals[instruction.Index]);
                Store(h, _analysis.LocalTypes[instruction.Index]);
                return;
            case OpCode.LocalSet:
            case OpCode.LocalTee:
                Load(h - 1);
                il.Emit(OpCodes.Stloc, _locals[instruction.Index]);
                return;
            case OpCode.GlobalGet:
            {
                // An imported global (an index past the defined ones) goes through its own helpers, which reach
                // the exporter's cell; the operand is then the import's number.
                var definition = module.Definition;
                var imported = definition.IsGlobalImport(instruction.Index);
                var type = definition.GlobalTypeOf(instruction.Index);
                Arg(FiberArg);
                il.Emit(OpCodes.Ldc_I4, imported ? instruction.Index - definition.Globals.Count : instruction.Index);
                if (type == VmType.Word) il.Call(imported ? Helpers.GetImportedGlobalWord : Helpers.GetGlobalWord);
                else
                {
                    il.Call(imported ? Helpers.GetImportedGlobal : Helpers.GetGlobal);
                    if (type == VmType.F64) il.Call(Helpers.BitsToDouble);
                }
                Store(h, type);
                return;
            }
            case OpCode.GlobalSet:
            {
                var definition = module.Definition;
                var imported = definition.IsGlobalImport(instruction.Index);
                var type = definition.GlobalTypeOf(instruction.Index);
                Arg(FiberArg);
                il.Emit(OpCodes.Ldc_I4, imported ? instruction.Index - definition.Globals.Count : instruction.Index);
                Load(h - 1);
                if (type == VmType.Word) il.Call(imported ? Helpers.SetImportedGlobalWord : Helpers.SetGlobalWord);
                else
                {
                    if (type == VmType.F64) il.Call(Helpers.DoubleToBits);
                    il.Call(imported ? Helpers.SetImportedGlobal : Helpers.SetGlobal);
                }
                return;
            }

            case OpCode.Br:
                il.Emit(Leaves(instruction.Index) ? OpCodes.Leave : OpCodes.Br, Block(instruction.Index));
                return;
            case OpCode.BrIf:
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Bne_Un, Target(instruction.Index));
                return;
            case OpCode.BrIfZ:
                Load(h - 1);
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Beq, Target(instruction.Index));
                return;
            case OpCode.BrTable:
            {
                var targets = instruction.Targets!;
                var fallback = Target(instruction.Index);
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
                il.Emit(OpCodes.Switch, [.. targets.Select(Target)]);
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
                EmitCallIndirect(instruction.Index, h, checkSignature: true);
                return;
            case OpCode.CallRef:
                EmitCallIndirect(instruction.Index, h, checkSignature: false);
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
            case OpCode.I64Extend32U: Load(h - 1); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); Store(h - 1, VmType.I64); return;

            case OpCode.F64Add: Binary(h, OpCodes.Add, canonical: true); return;
            case OpCode.F64Sub: Binary(h, OpCodes.Sub, canonical: true); return;
            case OpCode.F64Mul: Binary(h, OpCodes.Mul, canonical: true); return;
            case OpCode.F64Div: Binary(h, OpCodes.Div, canonical: true); return;
            case OpCode.F64Min: Load(h - 2); Load(h - 1); il.Call(Helpers.Min); Store(h - 2, VmType.F64); return;
            case OpCode.F64Max: Load(h - 2); Load(h - 1); il.Call(Helpers.Max); Store(h - 2, VmType.F64); return;
            case OpCode.F64CopySign: Load(h - 2); Load(h - 1); il.Call(Helpers.CopySign); Store(h - 2, VmType.F64); return;
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

            case OpCode.I64TruncF64S: Truncate(h, Helpers.TruncS); return;
            case OpCode.I64TruncSatF64S: Unary(h, Helpers.TruncSat, VmType.I64); return;
            case OpCode.I64TruncF64U: Truncate(h, Helpers.TruncU); return;
            case OpCode.I64TruncSatF64U: Unary(h, Helpers.TruncSatU, VmType.I64); return;
            case OpCode.F64ConvertI64S: Load(h - 1); il.Emit(OpCodes.Conv_R8); Store(h - 1, VmType.F64); return;
            case OpCode.F64ConvertI64U: Unary(h, Helpers.ConvertU, VmType.F64); return;
            case OpCode.I64ReinterpretF64: Unary(h, Helpers.DoubleToBits, VmType.I64); return;
            case OpCode.F64ReinterpretI64: Unary(h, Helpers.BitsToDouble, VmType.F64); return;

            case OpCode.DataAlloc:
                if (SizeFuel.ForSegment(module.Definition.Data[instruction.Index].Bytes.Length) > 0)
                {
                    Arg(FiberArg);
                    il.Emit(OpCodes.Ldc_I4, instruction.Index);
                    LocationArguments();
                    il.Call(Helpers.ChargeDataAllocation);
                    il.Emit(OpCodes.Stloc, _fuel);
                }
                Arg(FiberArg);
                il.Emit(OpCodes.Ldc_I4, instruction.Index);
                LocationArguments();
                il.Call(Helpers.AllocData);
                Store(h, VmType.Ptr);
                ReloadHeap();
                return;
            case OpCode.AllocBytes:
                LowerAllocBytes();
                return;
            case OpCode.LenBytes:
                LowerLenBytes();
                return;
            case OpCode.Len:
            {
                // A sent object reads as length 0: only then does the checked form run, to trap UseAfterSend.
                var known = il.DefineLabel();
                LoadLength(h - 1);
                il.Emit(OpCodes.Stloc, _index);
                il.Emit(OpCodes.Ldloc, _index);
                il.Emit(OpCodes.Brtrue, known);
                Arg(FiberArg);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.CheckedLength);
                il.Emit(OpCodes.Stloc, _index);
                il.MarkLabel(known);
                il.Emit(OpCodes.Ldloc, _index);
                Store(h - 1, VmType.I64);
                return;
            }
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
                Arg(FiberArg);
                Load(h - 2);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.LoadByte);
                Store(h - 2, VmType.I64);
                return;
            case OpCode.StoreU8:
                Arg(FiberArg);
                Load(h - 3);
                Load(h - 2);
                Load(h - 1);
                LocationArguments();
                il.Call(Helpers.StoreByte);
                return;
            case OpCode.LoadS8 or OpCode.LoadU16 or OpCode.LoadS16 or OpCode.LoadU32 or OpCode.LoadS32 or OpCode.LoadU64 or OpCode.LoadF64:
                EmitLoadBytes(instruction.OpCode, h);
                return;
            case OpCode.StoreU16 or OpCode.StoreU32 or OpCode.StoreU64 or OpCode.StoreF64:
                EmitStoreBytes(instruction.OpCode, h);
                return;
            case OpCode.MemCopy: EmitMemCopy(h); return;
            case OpCode.MemFill: EmitMemFill(h); return;
            case OpCode.MemCompare: EmitMemCompare(h); return;
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
                if (LowerTaskInstruction(instruction)) return;
                throw new InvalidOperationException($"the JIT has no lowering for {instruction.OpCode}");
        }
    }
}
