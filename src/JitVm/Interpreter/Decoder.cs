using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Verification;

namespace JitVm.Interpreter;

/// <summary>
/// Translates a verified function into the interpreter's register-style form. The verifier's per-pc stack heights
/// turn every stack operand into a fixed frame slot, and a peephole pass inside each basic block folds
/// <c>local.get</c>/<c>i64.const</c> into their consumer, a consumer into a following <c>local.set</c>, and a
/// comparison into a following conditional branch. Folding never crosses a block leader, so every branch target
/// still starts with its fuel charge.
/// </summary>
internal static class Decoder
{
    /// <summary>How many operations back the peephole pass looks for a <c>local.get</c> to fold into a binary
    /// operation. Folding one costs time proportional to the distance (the operations in between are checked and
    /// shifted), so an unbounded search is quadratic in the length of a block.</summary>
    internal const int MaxFoldLookBack = 16;

    public static DecodedFunction Decode(VerifiedModule module, int definedIndex)
    {
        var analysis = module.Functions[definedIndex];
        var definition = module.Definition;
        var function = analysis.Definition;
        var code = function.Code;
        var locals = analysis.LocalTypes.Length;
        var imports = definition.Imports.Count;

        var ops = new List<Op>(code.Length + 8);
        var sourcePc = new List<int>(code.Length + 8);
        var pcToOp = new int[code.Length];
        var tables = new List<int[]>();
        var pendingTables = new List<(int Table, int[] Targets)>();
        var barrier = 0;

        void Emit(OpKind kind, int pc, int a = 0, int b = 0, int c = 0, long k = 0)
        {
            ops.Add(new Op { Kind = kind, A = a, B = b, C = c, K = k });
            sourcePc.Add(pc);
        }

        bool LastIs(OpKind kind, out Op op)
        {
            if (ops.Count > barrier && ops[^1].Kind == kind)
            {
                op = ops[^1];
                return true;
            }
            op = default;
            return false;
        }

        void RemoveLast()
        {
            ops.RemoveAt(ops.Count - 1);
            sourcePc.RemoveAt(sourcePc.Count - 1);
        }

        Op TakeLast()
        {
            var last = ops[^1];
            RemoveLast();
            return last;
        }

        for (var pc = 0; pc < code.Length; pc++)
        {
            var instruction = code[pc];
            var stack = analysis.StackBefore[pc];
            var h = locals + TypeStack.HeightOf(stack);
            if (analysis.IsLeader[pc])
            {
                barrier = ops.Count;
                pcToOp[pc] = ops.Count;
                // A = 1 marks a block where a task may yield (a loop header or the entry), as in compiled code.
                Emit(OpKind.Charge, pc, a: pc == 0 || analysis.IsLoopHeader[pc] ? 1 : 0, k: analysis.BlockCost[pc]);
                barrier = ops.Count;
            }
            else
            {
                pcToOp[pc] = ops.Count;
            }

            var top = h - 1;
            var isWordTop = stack is not null && stack.Top == VmType.Word;
            switch (instruction.OpCode)
            {
                case OpCode.Nop:
                case OpCode.Drop:
                case OpCode.I64ReinterpretF64:
                case OpCode.F64ReinterpretI64:
                    break;
                case OpCode.Unreachable:
                    Emit(OpKind.Unreachable, pc);
                    break;
                case OpCode.Dup:
                    Emit(isWordTop ? OpKind.MoveW : OpKind.Move, pc, h, top);
                    break;
                case OpCode.Swap:
                    Emit(stack!.Top == VmType.Word || stack.Below!.Top == VmType.Word ? OpKind.SwapW : OpKind.Swap, pc, h - 2, top);
                    break;
                case OpCode.Select:
                    Emit(stack!.Below!.Top == VmType.Word ? OpKind.SelectW : OpKind.Select, pc, h - 3, h - 2, top);
                    break;
                case OpCode.I64Const:
                case OpCode.F64Const:
                    Emit(OpKind.Const, pc, h, k: instruction.Operand);
                    break;
                case OpCode.FuncRef:
                case OpCode.RefFunc:
                    Emit(OpKind.Const, pc, h, k: instruction.Operand);
                    break;
                case OpCode.RefCast:
                    Emit(OpKind.RefCast, pc, top, instruction.Index);
                    break;
                case OpCode.DataSize:
                    Emit(OpKind.Const, pc, h, k: definition.Data[instruction.Index].Bytes.Length);
                    break;
                case OpCode.LocalGet:
                    Emit(analysis.LocalTypes[instruction.Index] == VmType.Word ? OpKind.MoveW : OpKind.Move, pc, h, instruction.Index);
                    break;
                case OpCode.LocalSet:
                case OpCode.LocalTee:
                {
                    var local = instruction.Index;
                    var isWord = analysis.LocalTypes[local] == VmType.Word;
                    if (!isWord && ops.Count > barrier && WritesOnlyA(ops[^1].Kind) && ops[^1].A == top)
                    {
                        var producer = ops[^1];
                        producer.A = local;
                        ops[^1] = producer;
                        // local.tee keeps the value on the stack: re-read it from the local (usually folded away next).
                        if (instruction.OpCode == OpCode.LocalTee) Emit(OpKind.Move, pc, top, local);
                        break;
                    }
                    Emit(isWord ? OpKind.MoveW : OpKind.Move, pc, local, top);
                    break;
                }
                // An imported global (an index past the defined ones) reaches the exporter's cell through its own
                // kinds, C = 1 for a word global, so the defined globals' kinds stay a plain array access.
                case OpCode.GlobalGet when definition.IsGlobalImport(instruction.Index):
                    Emit(OpKind.ImportedGlobalGet, pc, h, instruction.Index - definition.Globals.Count, definition.GlobalTypeOf(instruction.Index) == VmType.Word ? 1 : 0);
                    break;
                case OpCode.GlobalSet when definition.IsGlobalImport(instruction.Index):
                    Emit(OpKind.ImportedGlobalSet, pc, instruction.Index - definition.Globals.Count, top, definition.GlobalTypeOf(instruction.Index) == VmType.Word ? 1 : 0);
                    break;
                case OpCode.GlobalGet:
                    Emit(definition.Globals[instruction.Index].Type == VmType.Word ? OpKind.GlobalGetW : OpKind.GlobalGet, pc, h, instruction.Index);
                    break;
                case OpCode.GlobalSet:
                    Emit(definition.Globals[instruction.Index].Type == VmType.Word ? OpKind.GlobalSetW : OpKind.GlobalSet, pc, instruction.Index, top);
                    break;
                case OpCode.Br:
                    Emit(OpKind.Jump, pc, instruction.Index);
                    break;
                case OpCode.BrIf:
                case OpCode.BrIfZ:
                    EmitConditionalBranch(instruction.OpCode == OpCode.BrIfZ, instruction.Index, top, pc);
                    break;
                case OpCode.BrTable:
                    pendingTables.Add((tables.Count, instruction.Targets!));
                    tables.Add([]);
                    Emit(OpKind.Table, pc, instruction.Index, top, tables.Count - 1);
                    break;
                case OpCode.Call:
                {
                    var callee = instruction.Index;
                    var parameters = definition.SignatureOf(callee).Parameters.Length;
                    Emit(callee < imports ? OpKind.CallHost : OpKind.Call, pc, h - parameters, callee < imports ? callee : callee - imports,
                        k: CallSites.Encode(imports + definedIndex, pc));
                    break;
                }
                case OpCode.CallIndirect:
                case OpCode.CallRef:
                {
                    // call_ref is call_indirect without the check: its signature operand is decoded as ~s (Instance.ResolveIndirect).
                    var signature = definition.Types[instruction.Index];
                    var operand = instruction.OpCode == OpCode.CallRef ? ~instruction.Index : instruction.Index;
                    Emit(OpKind.CallIndirect, pc, top - signature.Parameters.Length, operand, top, CallSites.Encode(imports + definedIndex, pc));
                    break;
                }
                case OpCode.ReturnCall:
                {
                    var callee = instruction.Index;
                    var signature = definition.SignatureOf(callee);
                    var first = h - signature.Parameters.Length;
                    var site = CallSites.Encode(imports + definedIndex, pc);
                    if (callee >= imports)
                    {
                        Emit(OpKind.TailCall, pc, first, callee - imports, k: site);
                        break;
                    }
                    // A host function is no VM frame: it runs from this frame, whose results it then returns.
                    Emit(OpKind.CallHost, pc, first, callee, k: site);
                    Emit(OpKind.Return, pc, first, signature.Results.Length, k: signature.Results.Contains(VmType.Word) ? 1 : 0);
                    break;
                }
                case OpCode.ReturnCallIndirect:
                case OpCode.ReturnCallRef:
                {
                    var signature = definition.Types[instruction.Index];
                    var operand = instruction.OpCode == OpCode.ReturnCallRef ? ~instruction.Index : instruction.Index;
                    Emit(OpKind.TailCallIndirect, pc, top - signature.Parameters.Length, operand, top, CallSites.Encode(imports + definedIndex, pc));
                    break;
                }
                case OpCode.Return:
                {
                    var results = analysis.Signature.Results;
                    var anyWord = results.Contains(VmType.Word);
                    var from = h - results.Length;
                    // A single number result is written by its producer straight to the frame base, where the caller
                    // reads it, so the return copies nothing (every local is dead once the function returns, and no
                    // safepoint lies between the two). A word's producer would have to move its tag too: not folded.
                    if (results.Length == 1 && !anyWord && ops.Count > barrier && WritesOnlyA(ops[^1].Kind) && ops[^1].A == from)
                    {
                        var producer = ops[^1];
                        producer.A = 0;
                        if (producer is { Kind: OpKind.Move, B: 0 }) RemoveLast();
                        else ops[^1] = producer;
                        from = 0;
                    }
                    Emit(OpKind.Return, pc, from, results.Length, k: anyWord ? 1 : 0);
                    break;
                }
                case OpCode.TaskSpawn:
                {
                    var parameters = definition.SignatureOf(instruction.Index).Parameters.Length;
                    Emit(OpKind.TaskSpawn, pc, h - parameters, instruction.Index);
                    break;
                }
                case OpCode.TaskJoin: Emit(OpKind.TaskJoin, pc, top, instruction.Index, definition.Types[instruction.Index].Results.Length); break;
                case OpCode.TaskSelf: Emit(OpKind.TaskSelf, pc, h); break;
                case OpCode.Throw:
                {
                    var payload = definition.Tags[instruction.Index].Parameters.Count;
                    Emit(OpKind.Throw, pc, h - payload, instruction.Index, payload, CallSites.Encode(imports + definedIndex, pc));
                    break;
                }
                case OpCode.TaskCancel: Emit(OpKind.TaskCancel, pc, top); break;
                case OpCode.ChanNew: Emit(OpKind.ChanNew, pc, top); break;
                case OpCode.ChanSend: Emit(OpKind.ChanSend, pc, h - 2, top); break;
                case OpCode.ChanRecv: Emit(OpKind.ChanRecv, pc, top); break;
                case OpCode.ChanRecvFor: Emit(OpKind.ChanRecvFor, pc, h - 2, top); break;
                case OpCode.ChanClose: Emit(OpKind.ChanClose, pc, top); break;
                case OpCode.Alloc: Emit(OpKind.Alloc, pc, top, top); break;
                case OpCode.Len: Emit(OpKind.Len, pc, top, top); break;
                case OpCode.AllocBytes: Emit(OpKind.AllocBytes, pc, top, top); break;
                case OpCode.LenBytes: Emit(OpKind.LenBytes, pc, top, top); break;
                case OpCode.LoadI: Emit(OpKind.LoadI, pc, h - 2, h - 2, top); break;
                case OpCode.LoadF: Emit(OpKind.LoadF, pc, h - 2, h - 2, top); break;
                case OpCode.LoadP: Emit(OpKind.LoadP, pc, h - 2, h - 2, top); break;
                case OpCode.LoadW: Emit(OpKind.LoadW, pc, h - 2, h - 2, top); break;
                case OpCode.LoadU8: Emit(OpKind.LoadU8, pc, h - 2, h - 2, top); break;
                case OpCode.StoreI:
                case OpCode.StoreF: Emit(OpKind.StoreI, pc, h - 3, h - 2, top); break;
                case OpCode.StoreP: Emit(OpKind.StoreP, pc, h - 3, h - 2, top); break;
                case OpCode.StoreW: Emit(OpKind.StoreW, pc, h - 3, h - 2, top); break;
                case OpCode.StoreU8: Emit(OpKind.StoreU8, pc, h - 3, h - 2, top); break;
                // isptr reads only the tag, so a word local.get before it is read in place.
                case OpCode.IsPtr: Emit(OpKind.IsPtr, pc, top, LastIs(OpKind.MoveW, out var word) && word.A == top ? TakeLast().B : top); break;
                case OpCode.PtrEq: Emit(OpKind.PtrEq, pc, h - 2, h - 2, top); break;
                case OpCode.DataAlloc: Emit(OpKind.DataAlloc, pc, h, instruction.Index); break;
                case OpCode.LoadS8 or OpCode.LoadU16 or OpCode.LoadS16 or OpCode.LoadU32 or OpCode.LoadS32 or OpCode.LoadU64 or OpCode.LoadF64:
                    Emit(OpKind.LoadBytes, pc, h - 2, h - 2, top, k: (long)instruction.OpCode);
                    break;
                case OpCode.StoreU16 or OpCode.StoreU32 or OpCode.StoreU64 or OpCode.StoreF64:
                    Emit(OpKind.StoreBytes, pc, h - 3, h - 2, top, k: (long)instruction.OpCode);
                    break;
                // The bulk operations read their operands from the consecutive slots A, A+1, ...
                case OpCode.MemCopy: Emit(OpKind.MemCopy, pc, h - 5); break;
                case OpCode.MemFill: Emit(OpKind.MemFill, pc, h - 4); break;
                case OpCode.MemCompare: Emit(OpKind.MemCompare, pc, h - 5); break;
                case OpCode.WordOfI64:
                case OpCode.WordOfF64: Emit(OpKind.SetTag0, pc, top); break;
                case OpCode.WordOfPtr: Emit(OpKind.SetTag1, pc, top); break;
                // A word local.get and the check of its tag are one operation, at the check's pc (where it traps);
                // the number it leaves needs no tag.
                case OpCode.WordAsI64:
                case OpCode.WordAsF64:
                    if (LastIs(OpKind.MoveW, out var number) && number.A == top) Emit(OpKind.MoveNotPtr, pc, top, TakeLast().B);
                    else Emit(OpKind.CheckNotPtr, pc, top);
                    break;
                case OpCode.WordAsPtr: Emit(OpKind.CheckPtr, pc, top); break;
                default:
                {
                    var info = instruction.OpCode.Info();
                    var kind = SimpleKind(instruction.OpCode);
                    if (info.Pops!.Length == 2) EmitBinary(kind, h - 2, pc);
                    else Emit(kind, pc, top, top);
                    break;
                }
            }
        }

        // Branch operands were source pcs; point them at the operations that start those blocks.
        var array = ops.ToArray();
        for (var i = 0; i < array.Length; i++)
        {
            ref var op = ref array[i];
            if (IsJump(op.Kind)) op.A = pcToOp[op.A];
        }
        foreach (var (table, targets) in pendingTables) tables[table] = [.. targets.Select(t => pcToOp[t])];

        return new DecodedFunction
        {
            Name = function.Name,
            Module = definition,
            FunctionIndex = imports + definedIndex,
            Analysis = analysis,
            Code = array,
            SourcePc = [.. sourcePc],
            Tables = [.. tables],
            ParameterCount = analysis.ParameterCount,
            LocalCount = locals,
            FrameSize = analysis.FrameSize,
        };

        void EmitBinary(OpKind kind, int dst, int pc)
        {
            var right = dst + 1;
            if (ConstantForm(kind) is { } constantKind && LastIs(OpKind.Const, out var constant) && constant.A == right)
            {
                RemoveLast();
                Emit(constantKind, pc, dst, FoldEarlierLocalGet(dst, dst), k: constant.K);
                return;
            }
            var b = dst;
            var c = right;
            if (LastIs(OpKind.Move, out var moveRight) && moveRight.A == right)
            {
                RemoveLast();
                c = moveRight.B;
            }
            // When the right operand is the left slot itself (dup), the left slot's writer must stay.
            if (c != dst) b = FoldEarlierLocalGet(dst, b);
            Emit(kind, pc, dst, b, c);
        }

        // Finds the local.get that pushed stack slot `slot` in this block and reads the local directly instead,
        // provided every operation since then writes only a slot above `slot` and neither reads `slot` (it would
        // no longer be written) nor writes the local. Returns the slot to read. It looks back at most
        // MaxFoldLookBack operations, so decoding stays linear however long a block is.
        int FoldEarlierLocalGet(int slot, int fallback)
        {
            var oldest = Math.Max(barrier, ops.Count - MaxFoldLookBack);
            for (var i = ops.Count - 1; i >= oldest; i--)
            {
                var candidate = ops[i];
                if (candidate.Kind == OpKind.Move && candidate.A == slot)
                {
                    for (var j = i + 1; j < ops.Count; j++)
                        if (ops[j].A == candidate.B) return fallback;
                    ops.RemoveAt(i);
                    sourcePc.RemoveAt(i);
                    return candidate.B;
                }
                // B and C are treated as reads even for operations that ignore them: that only folds less.
                if (!WritesOnlyA(candidate.Kind) || candidate.A <= slot || candidate.B == slot || candidate.C == slot) return fallback;
            }
            return fallback;
        }

        void EmitConditionalBranch(bool whenZero, int target, int condition, int pc)
        {
            if (LastIs(OpKind.IsPtr, out var test) && test.A == condition)
            {
                RemoveLast();
                Emit(whenZero ? OpKind.JumpIfNotPtr : OpKind.JumpIfPtr, pc, target, test.B);
                return;
            }
            if (ops.Count > barrier && ops[^1].A == condition && BranchForm(ops[^1].Kind, whenZero) is { } fused)
            {
                var compare = ops[^1];
                RemoveLast();
                if (LastIs(OpKind.AddK, out var step) && step.A == step.B && step.A == compare.B && StepForm(fused, compare, step) is { } stepped)
                {
                    RemoveLast();
                    Emit(stepped.Kind, pc, target, compare.B, stepped.C, stepped.K);
                    return;
                }
                Emit(fused, pc, target, compare.B, compare.C, compare.K);
                return;
            }
            Emit(whenZero ? OpKind.JumpIfZ : OpKind.JumpIf, pc, target, condition);
        }
    }

    private static bool IsJump(OpKind kind) => kind is OpKind.Jump or OpKind.JumpIf or OpKind.JumpIfZ or OpKind.Table ||
                                               kind is >= OpKind.JumpIfLtS and <= OpKind.JumpIfNe ||
                                               kind is >= OpKind.JumpIfLtSK and <= OpKind.JumpIfNotPtr;

    /// <summary>
    /// The step-and-branch for an in-place <c>local += step</c> (<paramref name="step"/>, an AddK whose source and
    /// destination are one local) followed by the compare-and-branch <paramref name="branch"/> on that local, with
    /// the slot or constant the branch compares against: null when the step of a constant comparison does not fit
    /// the C operand. Neither part can trap and fuel is charged by block, so one operation is exact.
    /// </summary>
    private static (OpKind Kind, int C, long K)? StepForm(OpKind branch, in Op compare, in Op step)
    {
        if (branch is >= OpKind.JumpIfLtS and <= OpKind.JumpIfNe)
            return (branch - OpKind.JumpIfLtS + OpKind.StepJumpIfLtS, compare.C, step.K);
        if (step.K is < int.MinValue or > int.MaxValue) return null;
        return (branch - OpKind.JumpIfLtSK + OpKind.StepJumpIfLtSK, (int)step.K, compare.K);
    }

    /// <summary>Operations that read B/C (or K) and write only slot A, so A can be redirected to a local.</summary>
    private static bool WritesOnlyA(OpKind kind) =>
        kind is OpKind.Move or OpKind.Const or (>= OpKind.Add and <= OpKind.Extend32U) or (>= OpKind.FAdd and <= OpKind.ConvertU) or
            OpKind.Len or OpKind.LenBytes or OpKind.LoadI or OpKind.LoadF or OpKind.LoadU8 or OpKind.LoadBytes or OpKind.PtrEq or OpKind.IsPtr or
            (>= OpKind.AddK and <= OpKind.GeSK);

    private static OpKind? ConstantForm(OpKind kind) => kind switch
    {
        OpKind.Add => OpKind.AddK,
        OpKind.Sub => OpKind.SubK,
        OpKind.Mul => OpKind.MulK,
        OpKind.And => OpKind.AndK,
        OpKind.RemS => OpKind.RemSK,
        OpKind.RemU => OpKind.RemUK,
        OpKind.Shl => OpKind.ShlK,
        OpKind.ShrS => OpKind.ShrSK,
        OpKind.ShrU => OpKind.ShrUK,
        OpKind.Eq => OpKind.EqK,
        OpKind.Ne => OpKind.NeK,
        OpKind.LtS => OpKind.LtSK,
        OpKind.LeS => OpKind.LeSK,
        OpKind.GtS => OpKind.GtSK,
        OpKind.GeS => OpKind.GeSK,
        _ => null,
    };

    /// <summary>The fused compare-and-branch for a comparison followed by br_if (or br_ifz, which negates it).</summary>
    private static OpKind? BranchForm(OpKind compare, bool whenZero) => (compare, whenZero) switch
    {
        (OpKind.LtS, false) or (OpKind.GeS, true) => OpKind.JumpIfLtS,
        (OpKind.LeS, false) or (OpKind.GtS, true) => OpKind.JumpIfLeS,
        (OpKind.GtS, false) or (OpKind.LeS, true) => OpKind.JumpIfGtS,
        (OpKind.GeS, false) or (OpKind.LtS, true) => OpKind.JumpIfGeS,
        (OpKind.Eq, false) or (OpKind.Ne, true) => OpKind.JumpIfEq,
        (OpKind.Ne, false) or (OpKind.Eq, true) => OpKind.JumpIfNe,
        (OpKind.LtSK, false) or (OpKind.GeSK, true) => OpKind.JumpIfLtSK,
        (OpKind.LeSK, false) or (OpKind.GtSK, true) => OpKind.JumpIfLeSK,
        (OpKind.GtSK, false) or (OpKind.LeSK, true) => OpKind.JumpIfGtSK,
        (OpKind.GeSK, false) or (OpKind.LtSK, true) => OpKind.JumpIfGeSK,
        (OpKind.EqK, false) or (OpKind.NeK, true) => OpKind.JumpIfEqK,
        (OpKind.NeK, false) or (OpKind.EqK, true) => OpKind.JumpIfNeK,
        _ => null,
    };

    private static OpKind SimpleKind(OpCode opCode) => opCode switch
    {
        OpCode.I64Add => OpKind.Add, OpCode.I64Sub => OpKind.Sub, OpCode.I64Mul => OpKind.Mul,
        OpCode.I64DivS => OpKind.DivS, OpCode.I64DivU => OpKind.DivU, OpCode.I64RemS => OpKind.RemS, OpCode.I64RemU => OpKind.RemU,
        OpCode.I64And => OpKind.And, OpCode.I64Or => OpKind.Or, OpCode.I64Xor => OpKind.Xor,
        OpCode.I64Shl => OpKind.Shl, OpCode.I64ShrS => OpKind.ShrS, OpCode.I64ShrU => OpKind.ShrU,
        OpCode.I64Rotl => OpKind.Rotl, OpCode.I64Rotr => OpKind.Rotr,
        OpCode.I64Clz => OpKind.Clz, OpCode.I64Ctz => OpKind.Ctz, OpCode.I64Popcnt => OpKind.Popcnt, OpCode.I64Eqz => OpKind.Eqz,
        OpCode.I64Eq => OpKind.Eq, OpCode.I64Ne => OpKind.Ne, OpCode.I64LtS => OpKind.LtS, OpCode.I64LtU => OpKind.LtU,
        OpCode.I64GtS => OpKind.GtS, OpCode.I64GtU => OpKind.GtU, OpCode.I64LeS => OpKind.LeS, OpCode.I64LeU => OpKind.LeU,
        OpCode.I64GeS => OpKind.GeS, OpCode.I64GeU => OpKind.GeU,
        OpCode.I64Extend8S => OpKind.Extend8S, OpCode.I64Extend16S => OpKind.Extend16S, OpCode.I64Extend32S => OpKind.Extend32S, OpCode.I64Extend32U => OpKind.Extend32U,
        OpCode.F64Add => OpKind.FAdd, OpCode.F64Sub => OpKind.FSub, OpCode.F64Mul => OpKind.FMul, OpCode.F64Div => OpKind.FDiv,
        OpCode.F64Min => OpKind.FMin, OpCode.F64Max => OpKind.FMax, OpCode.F64Neg => OpKind.FNeg, OpCode.F64Abs => OpKind.FAbs,
        OpCode.F64Sqrt => OpKind.FSqrt, OpCode.F64Floor => OpKind.FFloor, OpCode.F64Ceil => OpKind.FCeil,
        OpCode.F64Trunc => OpKind.FTrunc, OpCode.F64Nearest => OpKind.FNearest, OpCode.F64CopySign => OpKind.FCopySign,
        OpCode.F64Eq => OpKind.FEq, OpCode.F64Ne => OpKind.FNe, OpCode.F64Lt => OpKind.FLt, OpCode.F64Gt => OpKind.FGt,
        OpCode.F64Le => OpKind.FLe, OpCode.F64Ge => OpKind.FGe,
        OpCode.I64TruncF64S => OpKind.TruncS, OpCode.I64TruncSatF64S => OpKind.TruncSatS,
        OpCode.I64TruncF64U => OpKind.TruncU, OpCode.I64TruncSatF64U => OpKind.TruncSatU,
        OpCode.F64ConvertI64S => OpKind.ConvertS, OpCode.F64ConvertI64U => OpKind.ConvertU,
        _ => throw new InvalidOperationException($"the decoder has no operation for {opCode}"),
    };
}
