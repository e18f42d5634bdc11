using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Verification;

/// <summary>
/// Checks a module against the rules of spec/verification.md in one linear pass per function and records what it
/// proved (<see cref="FunctionAnalysis"/>). Verified code cannot underflow or overflow its frame, confuse types,
/// read an unassigned pointer, jump outside its function or run off its end, so the tiers need no such checks.
/// </summary>
internal static partial class Verifier
{
    public static VerifiedModule Verify(ModuleDefinition module)
    {
        VerifyModuleLevel(module);
        var analyses = new FunctionAnalysis[module.Functions.Count];
        for (var i = 0; i < analyses.Length; i++) analyses[i] = VerifyFunction(module, i);
        return new VerifiedModule(module, analyses);
    }

    /// <summary>
    /// The module a saved assembly carries, which was verified when the assembly was compiled and whose bytes have
    /// the hash stamped then (spec/execution.md §10): the module-wide rules are checked again (they are cheap), and
    /// each function's pass runs when its analysis is first needed (to interpret or deoptimise it), not at load.
    /// </summary>
    public static VerifiedModule VerifyCarried(ModuleDefinition module)
    {
        VerifyModuleLevel(module);
        return VerifiedModule.Deferred(module);
    }

    /// <summary>The pass over defined function <paramref name="definedIndex"/>, and what it proved.</summary>
    public static FunctionAnalysis VerifyFunction(ModuleDefinition module, int definedIndex) =>
        new FunctionVerifier(module, module.Functions[definedIndex]).Run();

    /// <summary>The rules about the module as a whole: signatures, names, globals and data segments.</summary>
    private static void VerifyModuleLevel(ModuleDefinition module)
    {
        var source = module.SourceName;
        VerificationException ModuleError(VerificationRule rule, string detail) => new(rule, source, null, -1, null, 0, detail);

        for (var i = 0; i < module.Types.Count; i++)
        {
            var type = module.Types[i];
            if (type.Parameters.Length > ModuleLimits.MaxSignatureArity || type.Results.Length > ModuleLimits.MaxSignatureArity)
                throw SignatureError(module, i,
                    $"signature #{i} has {type.Parameters.Length} parameters and {type.Results.Length} results; at most {ModuleLimits.MaxSignatureArity} of each are allowed");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var import in module.Imports)
        {
            if (!names.Add(import.Name)) throw ModuleError(VerificationRule.DuplicateName, $"function name {Printable.Quote(import.Name)} is used twice");
            if ((uint)import.TypeIndex >= (uint)module.Types.Count)
                throw ModuleError(VerificationRule.InvalidIndex, $"import {Printable.Quote(import.Name)} names signature #{import.TypeIndex}, but the module has {module.Types.Count}");
        }
        foreach (var function in module.Functions)
        {
            if (!names.Add(function.Name)) throw ModuleError(VerificationRule.DuplicateName, $"function name {Printable.Quote(function.Name)} is used twice");
            if ((uint)function.TypeIndex >= (uint)module.Types.Count)
                throw ModuleError(VerificationRule.InvalidIndex, $"function {Printable.Quote(function.Name)} names signature #{function.TypeIndex}, but the module has {module.Types.Count}");
        }
        names.Clear();
        foreach (var global in module.Globals)
        {
            if (!names.Add(global.Name)) throw ModuleError(VerificationRule.DuplicateName, $"global name {Printable.Quote(global.Name)} is used twice");
            if (global.Type == VmType.Ptr)
                throw ModuleError(VerificationRule.InvalidGlobal, $"global {Printable.Quote(global.Name)} has type ptr; a global cannot hold a bare pointer (there is no null to start with): use word");
            if (!VmTypeNames.IsDefined((byte)global.Type))
                throw ModuleError(VerificationRule.InvalidGlobal, $"global {Printable.Quote(global.Name)} has an invalid type");
        }
        // Imported globals share the global names: an instruction's operand names one global of either kind.
        foreach (var import in module.GlobalImports)
        {
            if (!names.Add(import.Name)) throw ModuleError(VerificationRule.DuplicateName, $"global name {Printable.Quote(import.Name)} is used twice");
            if (import.Type == VmType.Ptr)
                throw ModuleError(VerificationRule.InvalidGlobal, $"imported global {Printable.Quote(import.Name)} has type ptr; a global cannot hold a bare pointer: use word");
            if (!VmTypeNames.IsDefined((byte)import.Type))
                throw ModuleError(VerificationRule.InvalidGlobal, $"imported global {Printable.Quote(import.Name)} has an invalid type");
            if (Hosting.Linker.SplitImport(import.Name) is null)
                throw ModuleError(VerificationRule.InvalidGlobal, $"imported global {Printable.Quote(import.Name)} must be named MODULE.GLOBAL (a global is imported only from another module)");
        }
        names.Clear();
        foreach (var segment in module.Data)
            if (!names.Add(segment.Name)) throw ModuleError(VerificationRule.DuplicateName, $"data segment name {Printable.Quote(segment.Name)} is used twice");
        names.Clear();
        foreach (var tag in module.Tags)
        {
            if (!names.Add(tag.Name)) throw ModuleError(VerificationRule.DuplicateName, $"tag name {Printable.Quote(tag.Name)} is used twice");
            if (tag.Parameters.Count > ModuleLimits.MaxSignatureArity)
                throw ModuleError(VerificationRule.InvalidSignature, $"tag {Printable.Quote(tag.Name)} has {tag.Parameters.Count} payload values; at most {ModuleLimits.MaxSignatureArity} are allowed");
            if (tag.Parameters.Any(t => !VmTypeNames.IsDefined((byte)t)))
                throw ModuleError(VerificationRule.InvalidSignature, $"tag {Printable.Quote(tag.Name)} has a payload value of an invalid type");
        }
    }

    /// <summary>
    /// An error about signature <paramref name="typeIndex"/>, located at its first user so that a person can find it:
    /// the function declared with it (at the function's first line), else the first instruction naming it
    /// (<c>call_indirect</c>, <c>call_ref</c>, <c>ref.cast</c>, <c>task.join</c> …, at that instruction), else the import declared with it. A signature no one uses is reported module-wide.
    /// </summary>
    private static VerificationException SignatureError(ModuleDefinition module, int typeIndex, string detail)
    {
        var source = module.SourceName;
        foreach (var function in module.Functions)
            if (function.TypeIndex == typeIndex)
                return new(VerificationRule.InvalidSignature, source, function.Name, -1, null, function.LineAt(0),
                    $"{detail} (the signature of function {Printable.Quote(function.Name)})");
        foreach (var function in module.Functions)
            for (var pc = 0; pc < function.Code.Length; pc++)
                if (function.Code[pc].OpCode.Info().Operand == OperandKind.Signature && function.Code[pc].Operand == typeIndex)
                    return new(VerificationRule.InvalidSignature, source, function.Name, pc, function.Code[pc].OpCode.Mnemonic(),
                        function.LineAt(pc), detail);
        foreach (var import in module.Imports)
            if (import.TypeIndex == typeIndex)
                return new(VerificationRule.InvalidSignature, source, null, -1, null, 0,
                    $"{detail} (the signature of import {Printable.Quote(import.Name)})");
        return new(VerificationRule.InvalidSignature, source, null, -1, null, 0, detail);
    }

    /// <summary>The state that flows along one control-flow edge. <see cref="Assigned"/> is never changed once an
    /// edge state holds it: states share arrays, and the pass copies before it assigns a local in a shared one.</summary>
    private readonly record struct EdgeState(TypeStack? Stack, ulong[] Assigned);

    private sealed partial class FunctionVerifier(ModuleDefinition module, FunctionDefinition function)
    {
        private FunctionType _signature = null!;
        private VmType[] _locals = null!;
        private int _pc;

        /// <summary>While the pass is in code that no earlier instruction reaches (it follows an unconditional
        /// transfer and no forward branch targets it), the pc of that transfer; else -1. The stack there is assumed
        /// empty, which an underflow message must say, or "found 0" reads as a contradiction.</summary>
        private int _assumedEmptyAfter = -1;

        /// <summary>For each local, its bit in the assigned set, or -1 when it is always assigned (a parameter or
        /// a local of another type than ptr or ref). Only declared ptr and ref locals are tracked, so the set's size
        /// is bounded by <see cref="ModuleLimits.MaxPointerLocals"/>.</summary>
        private int[] _trackedBit = null!;

        /// <summary>Stack nodes by (top type, reference, node below): equal stacks are one object, so comparing the
        /// stacks that meet at a label costs O(1) however deep they are (otherwise every edge into a label could walk
        /// both). The key packs the three into one long (<see cref="NodeKey"/>): a tuple key's comparer would be made by
        /// reflection and JIT-compiled at every start-up.</summary>
        private readonly Dictionary<long, TypeStack> _stackNodes = [];

        public FunctionAnalysis Run()
        {
            _signature = module.Types[function.TypeIndex];
            var localCount = _signature.Parameters.Length + function.Locals.Length;
            if (localCount > ModuleLimits.MaxLocals)
                throw Error(VerificationRule.TooManyLocals, -1, $"{localCount} parameters and locals exceed the limit of {ModuleLimits.MaxLocals}");
            _locals = [.. _signature.Parameters, .. function.Locals];
            _localReference = new int[localCount];
            Array.Fill(_localReference, TypeStack.NoReference);
            if (function.ReferenceLocals is { } references)
                foreach (var (declared, typeIndex) in references)
                {
                    if ((uint)declared >= (uint)function.Locals.Length)
                        throw Error(VerificationRule.InvalidIndex, -1, $"typed reference local #{declared} does not exist (the function declares {function.Locals.Length} locals)");
                    if ((uint)typeIndex >= (uint)module.Types.Count)
                        throw Error(VerificationRule.InvalidIndex, -1, $"local {LocalName(_signature.Parameters.Length + declared)} has type ref of signature #{typeIndex}, which does not exist (the module has {module.Types.Count})");
                    if (function.Locals[declared] != VmType.I64)
                        throw Error(VerificationRule.TypeMismatch, -1, $"local {LocalName(_signature.Parameters.Length + declared)} is a typed reference, so its declared type must be i64 (a reference is a function index), not {function.Locals[declared].Name()}");
                    _localReference[_signature.Parameters.Length + declared] = Canonical(typeIndex);
                }
            _trackedBit = new int[localCount];
            var tracked = 0;
            for (var i = 0; i < localCount; i++)
                // A declared ref local starts as the integer 0, which need not name a function of its signature:
                // like a ptr local, it must be assigned before it is read.
                _trackedBit[i] = i >= _signature.Parameters.Length && (_locals[i] == VmType.Ptr || _localReference[i] != TypeStack.NoReference) ? tracked++ : -1;
            if (tracked > ModuleLimits.MaxPointerLocals)
                throw Error(VerificationRule.TooManyLocals, -1, $"{tracked} declared ptr and ref locals exceed the limit of {ModuleLimits.MaxPointerLocals}");
            if (function.Code.Length > ModuleLimits.MaxInstructions)
                throw Error(VerificationRule.FunctionTooLarge, -1, $"{function.Code.Length} instructions exceed the limit of {ModuleLimits.MaxInstructions}");
            if (function.Code.Length == 0)
                throw Error(VerificationRule.FallOffEnd, -1, "the function has no instructions; it must end in return, br, br_table or unreachable");

            var count = function.Code.Length;
            var isLeader = new bool[count];
            var isBackwardTarget = new bool[count];
            FindLeaders(isLeader, isBackwardTarget);
            var regions = CheckHandlerTable(isLeader, isBackwardTarget);

            // Edge states are kept only at branch targets: pending ones for targets not reached yet, and the entry
            // state of every target of a backward branch. Straight-line code shares one assigned array, copied only
            // when a local.set adds a local to an array an edge state holds, so the pass costs O(instructions x
            // (1 + tracked locals / 64)) time and memory at worst.
            var stackBefore = new TypeStack?[count];
            var pending = new EdgeState?[count];
            var visited = new bool[count];
            var isLoopHeader = new bool[count];
            var assigned = new ulong[(tracked + 63) / 64];
            var ownsAssigned = true;

            TypeStack? stack = null;
            var reachable = true;
            var maxStack = 0;

            for (_pc = 0; _pc < count; _pc++)
            {
                if (pending[_pc] is { } incoming)
                {
                    if (reachable)
                    {
                        CheckSameStack(incoming.Stack, stack, _pc, "falls through into it");
                        assigned = Intersect(incoming.Assigned, assigned, ref ownsAssigned);
                    }
                    else
                    {
                        assigned = incoming.Assigned;
                        ownsAssigned = false;
                    }
                    stack = incoming.Stack;
                    _assumedEmptyAfter = -1;
                }
                else if (!reachable)
                {
                    // Reached, if at all, only by later backward branches: assume an empty stack and the assigned set
                    // of the transfer just before; every backward edge is checked against that assumption.
                    stack = null;
                    _assumedEmptyAfter = _pc - 1;
                }
                // Backward branches are checked against the entry state, which is kept for their targets only.
                pending[_pc] = isBackwardTarget[_pc] ? new EdgeState(stack, assigned) : null;
                if (isBackwardTarget[_pc]) ownsAssigned = false;
                visited[_pc] = true;
                stackBefore[_pc] = stack;
                reachable = true;

                var instruction = function.Code[_pc];
                var info = instruction.OpCode.Info();
                if (regions.Any)
                {
                    CheckProtectedInstruction(regions, instruction, info);
                    // A handler is entered with its tag's payload on an empty stack and, as ptr locals go, what is
                    // assigned where its range starts (every pc of the range is reached from there).
                    for (var r = regions.InnermostAt[_pc]; r >= 0 && regions.Regions[r].Start == _pc; r = regions.Regions[r].Parent)
                        foreach (var k in regions.Regions[r].Entries)
                        {
                            var handler = function.Handlers[k];
                            TypeStack? payload = null;
                            foreach (var type in module.Tags[handler.Tag].Parameters) payload = Push(type, payload);
                            // The frame must hold the payload even where nothing else in the function stacks as high.
                            maxStack = Math.Max(maxStack, module.Tags[handler.Tag].Parameters.Count);
                            Edge(handler.Handler, payload, assigned, ref ownsAssigned, pending, visited, isLoopHeader, $"handler #{k}'s exception reaches it");
                        }
                }
                if (info.Operand == OperandKind.LabelTable && instruction.Targets is null)
                    throw Error(VerificationRule.InvalidBranchTarget, _pc, "br_table has no case list");
                switch (instruction.OpCode)
                {
                    case OpCode.Drop:
                        Pop(ref stack, 1);
                        stack = stack!.Below;
                        break;
                    case OpCode.Dup:
                        Pop(ref stack, 1);
                        stack = Push(stack!.Top, stack, stack!.Reference);
                        break;
                    case OpCode.Swap:
                        Pop(ref stack, 2);
                        var top = stack!;
                        var second = top.Below!;
                        stack = Push(second.Top, Push(top.Top, second.Below, top.Reference), second.Reference);
                        break;
                    case OpCode.Select:
                        Pop(ref stack, 3);
                        Expect(stack, VmType.I64, "select needs an i64 condition on top");
                        var a = stack!.Below!.Below!.Top;
                        var b = stack.Below.Top;
                        if (a != b) throw Error(VerificationRule.TypeMismatch, _pc, $"select needs two values of the same type under the condition, but found {a.Name()} and {b.Name()}");
                        // Two typed references of one signature give one of it; otherwise the result is what both
                        // are at least, an i64.
                        var chosen = stack.Below.Below!;
                        var reference = chosen.Reference == stack.Below.Reference ? chosen.Reference : TypeStack.NoReference;
                        stack = chosen.Reference == reference ? chosen : Push(chosen.Top, chosen.Below, reference);
                        break;
                    case OpCode.LocalGet:
                    {
                        var local = LocalIndex(instruction);
                        var bit = _trackedBit[local];
                        if (bit >= 0 && (assigned[bit / 64] & (1UL << bit)) == 0)
                            throw Error(VerificationRule.UninitializedLocal, _pc,
                                $"{LocalKind(local)} local {LocalName(local)} is read here but is not assigned on every path that reaches this instruction");
                        stack = Push(_locals[local], stack, _localReference[local]);
                        break;
                    }
                    case OpCode.LocalSet:
                    case OpCode.LocalTee:
                    {
                        var local = LocalIndex(instruction);
                        Pop(ref stack, 1);
                        // A typed reference may go into an i64 local (it is one), but only a reference of the same
                        // signature into a typed reference local.
                        if (stack!.Top != _locals[local] ||
                            (_localReference[local] != TypeStack.NoReference && stack.Reference != _localReference[local]))
                            throw Error(VerificationRule.TypeMismatch, _pc, $"local {LocalName(local)} has type {LocalTypeName(local)} but the value on top is {stack.Name(module.Types)}");
                        var bit = _trackedBit[local];
                        if (bit >= 0 && (assigned[bit / 64] & (1UL << bit)) == 0)
                        {
                            if (!ownsAssigned)
                            {
                                assigned = (ulong[])assigned.Clone();
                                ownsAssigned = true;
                            }
                            assigned[bit / 64] |= 1UL << bit;
                        }
                        if (instruction.OpCode == OpCode.LocalSet) stack = stack.Below;
                        break;
                    }
                    case OpCode.GlobalGet:
                        stack = Push(module.GlobalTypeOf(GlobalIndex(instruction)), stack);
                        break;
                    case OpCode.GlobalSet:
                    {
                        var global = GlobalIndex(instruction);
                        var globalType = module.GlobalTypeOf(global);
                        Pop(ref stack, 1);
                        if (stack!.Top != globalType)
                            throw Error(VerificationRule.TypeMismatch, _pc, $"global {Printable.Quote(module.GlobalNameOf(global))} has type {globalType.Name()} but the value on top is {stack.Name(module.Types)}");
                        stack = stack.Below;
                        break;
                    }
                    case OpCode.Call:
                    {
                        var callee = FunctionIndex(instruction);
                        stack = ApplySignature(stack, module.SignatureOf(callee), $"call to {Printable.Quote(module.NameOf(callee))}");
                        break;
                    }
                    case OpCode.TaskSpawn:
                    {
                        var callee = FunctionIndex(instruction);
                        var signature = module.SignatureOf(callee);
                        stack = ApplySignature(stack, new FunctionType(signature.Parameters, [VmType.Ptr]), $"task.spawn of {Printable.Quote(module.NameOf(callee))}");
                        break;
                    }
                    case OpCode.TaskJoin:
                    {
                        var typeIndex = instruction.Index;
                        if ((uint)typeIndex >= (uint)module.Types.Count)
                            throw Error(VerificationRule.InvalidIndex, _pc, $"signature #{instruction.Operand} does not exist (the module has {module.Types.Count})");
                        stack = ApplySignature(stack, new FunctionType([VmType.Ptr], module.Types[typeIndex].Results), "task.join");
                        break;
                    }
                    case OpCode.CallIndirect:
                    {
                        var typeIndex = instruction.Index;
                        if ((uint)typeIndex >= (uint)module.Types.Count)
                            throw Error(VerificationRule.InvalidIndex, _pc, $"signature #{instruction.Operand} does not exist (the module has {module.Types.Count})");
                        Pop(ref stack, 1);
                        Expect(stack, VmType.I64, "call_indirect needs an i64 function reference on top");
                        stack = ApplySignature(stack!.Below, module.Types[typeIndex], "call_indirect");
                        break;
                    }
                    case OpCode.Return:
                        CheckResults(stack);
                        break;
                    case OpCode.ReturnCall:
                    {
                        var callee = FunctionIndex(instruction);
                        CheckTailCall(stack, module.SignatureOf(callee), $"return_call to {Printable.Quote(module.NameOf(callee))}");
                        break;
                    }
                    case OpCode.ReturnCallIndirect:
                    {
                        var typeIndex = instruction.Index;
                        if ((uint)typeIndex >= (uint)module.Types.Count)
                            throw Error(VerificationRule.InvalidIndex, _pc, $"signature #{instruction.Operand} does not exist (the module has {module.Types.Count})");
                        Pop(ref stack, 1);
                        Expect(stack, VmType.I64, "return_call_indirect needs an i64 function reference on top");
                        CheckTailCall(stack!.Below, module.Types[typeIndex], "return_call_indirect");
                        break;
                    }
                    case OpCode.Throw:
                    {
                        if ((uint)instruction.Operand >= (uint)module.Tags.Count)
                            throw Error(VerificationRule.InvalidIndex, _pc, $"tag #{instruction.Operand} does not exist (the module has {module.Tags.Count})");
                        var tag = module.Tags[instruction.Index];
                        stack = ApplySignature(stack, new FunctionType(tag.Parameters, []), $"throw of tag {Printable.Quote(tag.Name)}");
                        break;
                    }
                    case OpCode.FuncRef:
                        FunctionIndex(instruction);
                        stack = Push(VmType.I64, stack);
                        break;
                    case OpCode.RefFunc:
                    {
                        var callee = FunctionIndex(instruction);
                        var imports = module.Imports.Count;
                        stack = PushReference(callee < imports ? module.Imports[callee].TypeIndex : module.Functions[callee - imports].TypeIndex, stack);
                        break;
                    }
                    case OpCode.RefCast:
                    {
                        var typeIndex = SignatureIndex(instruction);
                        Pop(ref stack, 1);
                        Expect(stack, VmType.I64, "ref.cast needs an i64 function reference on top");
                        stack = PushReference(typeIndex, stack!.Below);
                        break;
                    }
                    case OpCode.CallRef:
                    {
                        var signature = ExpectReference(ref stack, instruction);
                        stack = ApplySignature(stack, signature, "call_ref");
                        break;
                    }
                    case OpCode.ReturnCallRef:
                    {
                        var signature = ExpectReference(ref stack, instruction);
                        CheckTailCall(stack, signature, "return_call_ref");
                        break;
                    }
                    case OpCode.DataAlloc:
                    case OpCode.DataSize:
                        if ((uint)instruction.Operand >= (uint)module.Data.Count)
                            throw Error(VerificationRule.InvalidIndex, _pc, $"data segment #{instruction.Operand} does not exist (the module has {module.Data.Count})");
                        stack = Push(info.Pushes![0], stack);
                        break;
                    default:
                        stack = ApplyFixed(stack, info);
                        break;
                }

                var height = TypeStack.HeightOf(stack);
                if (height > ModuleLimits.MaxStackDepth)
                    throw Error(VerificationRule.StackTooDeep, _pc, $"the operand stack reaches {height} values; the limit is {ModuleLimits.MaxStackDepth}");
                maxStack = Math.Max(maxStack, height);

                switch (info.Flow)
                {
                    case FlowKind.Branch:
                        Edge(instruction.Index, stack, assigned, ref ownsAssigned, pending, visited, isLoopHeader);
                        reachable = false;
                        break;
                    case FlowKind.ConditionalBranch:
                        Edge(instruction.Index, stack, assigned, ref ownsAssigned, pending, visited, isLoopHeader);
                        break;
                    case FlowKind.Table:
                        foreach (var target in instruction.Targets ?? []) Edge(target, stack, assigned, ref ownsAssigned, pending, visited, isLoopHeader);
                        Edge(instruction.Index, stack, assigned, ref ownsAssigned, pending, visited, isLoopHeader);
                        reachable = false;
                        break;
                    case FlowKind.Return:
                    case FlowKind.Trap:
                        reachable = false;
                        break;
                }
            }
            if (reachable)
                throw Error(VerificationRule.FallOffEnd, count - 1,
                    "control can run past the last instruction; a function must end in return, br, br_table or unreachable");

            var blockCost = new int[count];
            var leader = 0;
            for (var pc = 0; pc < count; pc++)
            {
                if (isLeader[pc]) leader = pc;
                blockCost[leader] += function.Code[pc].OpCode.Info().Fuel;
            }
            return new FunctionAnalysis
            {
                Definition = function,
                Signature = _signature,
                LocalTypes = _locals,
                MaxStack = maxStack,
                StackBefore = stackBefore,
                IsLeader = isLeader,
                BlockCost = blockCost,
                IsLoopHeader = isLoopHeader,
                Regions = regions,
            };
        }

        /// <summary>Marks block leaders and targets of backward (or self) branches, and checks every branch target
        /// is inside the function.</summary>
        private void FindLeaders(bool[] isLeader, bool[] isBackwardTarget)
        {
            var count = isLeader.Length;
            isLeader[0] = true;
            for (var pc = 0; pc < count; pc++)
            {
                var instruction = function.Code[pc];
                if (!OpCodeTable.TryGet((byte)instruction.OpCode, out var info))
                {
                    _pc = pc;
                    throw Error(VerificationRule.InvalidIndex, -1, $"pc {pc} holds unknown opcode 0x{(byte)instruction.OpCode:x2}");
                }
                if (info.Operand == OperandKind.Label) MarkTarget(pc, instruction.Index, isLeader, isBackwardTarget);
                if (info.Operand == OperandKind.LabelTable)
                {
                    foreach (var target in instruction.Targets ?? []) MarkTarget(pc, target, isLeader, isBackwardTarget);
                    MarkTarget(pc, instruction.Index, isLeader, isBackwardTarget);
                }
                var endsBlock = info.Flow is FlowKind.Branch or FlowKind.ConditionalBranch or FlowKind.Table or FlowKind.Return or FlowKind.Trap;
                if (endsBlock && pc + 1 < count) isLeader[pc + 1] = true;
            }
        }

        private void MarkTarget(int pc, long target, bool[] isLeader, bool[] isBackwardTarget)
        {
            if ((ulong)target >= (ulong)isLeader.Length)
            {
                _pc = pc;
                throw Error(VerificationRule.InvalidBranchTarget, pc, $"branch target {target} is outside the function (which has {isLeader.Length} instructions)");
            }
            isLeader[target] = true;
            if (target <= pc) isBackwardTarget[target] = true;
        }

        private void Edge(int target, TypeStack? stack, ulong[] assigned, ref bool ownsAssigned, EdgeState?[] pending, bool[] visited, bool[] isLoopHeader, string? how = null)
        {
            how ??= $"the branch at pc {_pc} reaches it";
            if (visited[target])
            {
                isLoopHeader[target] = true;
                var recorded = pending[target]!.Value;
                CheckSameStack(recorded.Stack, stack, target, how);
                for (var i = 0; i < assigned.Length; i++)
                {
                    var missing = recorded.Assigned[i] & ~assigned[i];
                    if (missing == 0) continue;
                    var local = Array.IndexOf(_trackedBit, i * 64 + System.Numerics.BitOperations.TrailingZeroCount(missing));
                    throw Error(VerificationRule.UninitializedLocal, _pc,
                        $"this branch back to pc {target} arrives without {LocalKind(local)} local {LocalName(local)} assigned, but the code at pc {target} assumes it is");
                }
                return;
            }
            if (pending[target] is { } existing)
            {
                CheckSameStack(existing.Stack, stack, target, how);
                var owned = false;
                pending[target] = new EdgeState(existing.Stack, Intersect(existing.Assigned, assigned, ref owned));
            }
            else
            {
                pending[target] = new EdgeState(stack, assigned);
                // The edge state holds the pass's array now: the next local.set must copy it.
                ownsAssigned = false;
            }
        }

        private void CheckSameStack(TypeStack? expected, TypeStack? found, int target, string how)
        {
            if (TypeStack.SameTypes(expected, found)) return;
            var depth = Math.Max(TypeStack.HeightOf(expected), TypeStack.HeightOf(found));
            throw Error(VerificationRule.StackMismatchAtLabel, _pc,
                $"pc {target}{LabelSuffix(target)} is reached with stack {DescribeStack(expected, Math.Min(depth, 8))} on one path, " +
                $"but {how} with {DescribeStack(found, Math.Min(depth, 8))}");
        }

        private string LabelSuffix(int pc) => function.LabelNames is { } labels && labels.TryGetValue(pc, out var name) ? $" (label {Printable.Quote(name)})" : "";

        /// <summary>The intersection of two assigned sets: <paramref name="a"/> itself when it is contained in
        /// <paramref name="b"/> (the common case at a join; <paramref name="owned"/> becomes false, as an edge state
        /// may hold it), else a new array (<paramref name="owned"/> becomes true).</summary>
        private static ulong[] Intersect(ulong[] a, ulong[] b, ref bool owned)
        {
            var contained = true;
            for (var i = 0; i < a.Length && contained; i++) contained = (a[i] & ~b[i]) == 0;
            if (contained)
            {
                owned = false;
                return a;
            }
            var result = new ulong[a.Length];
            for (var i = 0; i < a.Length; i++) result[i] = a[i] & b[i];
            owned = true;
            return result;
        }

        private TypeStack Push(VmType type, TypeStack? below, int reference = TypeStack.NoReference)
        {
            var key = NodeKey(type, reference, below);
            if (_stackNodes.TryGetValue(key, out var node)) return node;
            node = new TypeStack(type, below, reference) { Id = _stackNodes.Count + 1 };
            _stackNodes.Add(key, node);
            return node;
        }

        /// <summary>The node below's <see cref="TypeStack.Id"/> (0 for the empty stack; at most one per instruction, so
        /// below 2^31) in the high 32 bits, the type in the next 8 and the reference + 1 (a signature index below
        /// <see cref="ModuleLimits.MaxEntries"/>, so below 2^24) in the low 24.</summary>
        private static long NodeKey(VmType type, int reference, TypeStack? below) =>
            ((long)(below?.Id ?? 0) << 32) | ((long)(byte)type << 24) | (uint)(reference + 1);

        private TypeStack? ApplyFixed(TypeStack? stack, OpCodeInfo info)
        {
            var pops = info.Pops!;
            if (TypeStack.HeightOf(stack) < pops.Length)
                throw Error(VerificationRule.StackUnderflow, _pc,
                    $"{info.Mnemonic} expects {Describe(pops)} but the stack has only {DescribeStack(stack, pops.Length)}");
            var node = stack;
            for (var i = pops.Length - 1; i >= 0; i--, node = node!.Below)
            {
                if (node!.Top != pops[i])
                    throw Error(VerificationRule.TypeMismatch, _pc,
                        $"{info.Mnemonic} expects {Describe(pops)} but the stack has {DescribeStack(stack, pops.Length)}");
            }
            foreach (var push in info.Pushes!) node = Push(push, node);
            return node;
        }

        private TypeStack? ApplySignature(TypeStack? stack, FunctionType signature, string what)
        {
            var parameters = signature.Parameters;
            if (TypeStack.HeightOf(stack) < parameters.Length)
                throw Error(VerificationRule.StackUnderflow, _pc,
                    $"{what} expects arguments {Describe([.. parameters])} but the stack has only {DescribeStack(stack, parameters.Length)}");
            var node = stack;
            for (var i = parameters.Length - 1; i >= 0; i--, node = node!.Below)
                if (node!.Top != parameters[i])
                    throw Error(VerificationRule.TypeMismatch, _pc,
                        $"{what} expects arguments {Describe([.. parameters])} but the stack has {DescribeStack(stack, parameters.Length)}");
            foreach (var result in signature.Results) node = Push(result, node);
            return node;
        }

        /// <summary>A tail call: the arguments must be on the stack, and the callee's results must be exactly this
        /// function's, since they become its results (values below the arguments are discarded, as by return).</summary>
        private void CheckTailCall(TypeStack? stack, FunctionType signature, string what)
        {
            ApplySignature(stack, new FunctionType(signature.Parameters, []), what);
            if (!signature.Results.SequenceEqual(_signature.Results))
                throw Error(VerificationRule.ResultMismatch, _pc,
                    $"{what} returns {Describe([.. signature.Results])}, but a tail call must return this function's results {Describe([.. _signature.Results])}");
        }

        private void CheckResults(TypeStack? stack)
        {
            var results = _signature.Results;
            var node = stack;
            var ok = TypeStack.HeightOf(stack) >= results.Length;
            for (var i = results.Length - 1; ok && i >= 0; i--, node = node!.Below) ok = node!.Top == results[i];
            if (!ok)
                throw Error(VerificationRule.ResultMismatch, _pc,
                    $"return expects the results {Describe([.. results])} on top of the stack but found {DescribeStack(stack, Math.Max(results.Length, 1))}");
        }

        private void Pop(ref TypeStack? stack, int count)
        {
            if (TypeStack.HeightOf(stack) >= count) return;
            var mnemonic = function.Code[_pc].OpCode.Mnemonic();
            throw Error(VerificationRule.StackUnderflow, _pc,
                $"{mnemonic} needs {count} value{(count == 1 ? "" : "s")} on the stack but found {TypeStack.HeightOf(stack)}");
        }

        private void Expect(TypeStack? stack, VmType type, string what)
        {
            if (stack!.Top != type) throw Error(VerificationRule.TypeMismatch, _pc, $"{what}, found {stack.Name(module.Types)}");
        }

        private int LocalIndex(Instruction instruction)
        {
            if ((ulong)instruction.Operand < (ulong)_locals.Length) return (int)instruction.Operand;
            throw Error(VerificationRule.InvalidIndex, _pc, $"local {instruction.Operand} does not exist (the function has {_locals.Length} parameters and locals)");
        }

        private int GlobalIndex(Instruction instruction)
        {
            if ((ulong)instruction.Operand < (ulong)module.GlobalCount) return (int)instruction.Operand;
            throw Error(VerificationRule.InvalidIndex, _pc, $"global {instruction.Operand} does not exist (the module has {module.GlobalCount})");
        }

        private int FunctionIndex(Instruction instruction)
        {
            if ((ulong)instruction.Operand < (ulong)module.FunctionCount) return (int)instruction.Operand;
            throw Error(VerificationRule.InvalidIndex, _pc, $"function {instruction.Operand} does not exist (the module has {module.FunctionCount})");
        }

        private string LocalName(int local) =>
            function.LocalNames is { } names && local < names.Count && names[local].Length > 0 ? Printable.Quote(names[local]) : $"#{local}";

        private static string Describe(VmType[] types) => $"[{string.Join(' ', types.Select(t => t.Name()))}]";

        private VerificationException Error(VerificationRule rule, int pc, string detail)
        {
            var mnemonic = (uint)pc < (uint)function.Code.Length ? function.Code[pc].OpCode.Mnemonic() : null;
            if (rule == VerificationRule.StackUnderflow && _assumedEmptyAfter >= 0 && pc == _pc)
                detail += $"; the stack is empty here because this code is unreachable: it follows " +
                          $"{function.Code[_assumedEmptyAfter].OpCode.Mnemonic()} at pc {_assumedEmptyAfter} and no branch before it targets it";
            return new VerificationException(rule, module.SourceName, function.Name, pc, mnemonic, pc >= 0 ? function.LineAt(pc) : 0, detail);
        }
    }
}
