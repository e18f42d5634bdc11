using System.Reflection;
using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Module = JitVm.Hosting.Module;
using JitVm.Interpreter;
using JitVm.Semantics;
using JitVm.Verification;
using OpCode = JitVm.Bytecode.OpCode;

namespace JitVm.Jit;

/// <summary>How compiled code reaches a defined function: a method to call directly (whose frame takes at most
/// <paramref name="FrameBytes"/> of .NET stack), or null to go through the interpreter.</summary>
internal readonly record struct CalleeMethod(MethodInfo Method, Type[] ParameterTypes, Type ReturnType, int FrameBytes);

/// <summary>
/// Lowers verified functions to CIL. Calling convention: <c>R f(Fiber fiber, int depth, long fuel, P0 a0, ...)</c>
/// where i64 and ptr are <c>long</c>, f64 is <c>double</c> and word is <see cref="Word"/>; <c>fuel</c> is the
/// caller's slice and R gives back what is left of it: <see cref="ResultAndFuel{T}"/> of the single result's type,
/// or <c>long</c> (the fuel alone) with no result or several (left in the fiber's result buffer). See
/// <see cref="FuelConvention"/>.
/// </summary>
/// <remarks>
/// Every VM local and every operand-stack height (per type) is a CIL local, and each VM instruction loads its
/// operands from those locals and stores its result to one, leaving the CIL stack empty between VM instructions.
/// So every join point (block leader) is reached with an empty CIL stack, and the CLR JIT keeps those locals in
/// registers. Fuel lives in a local, passed to compiled callees and returned by them, and written to the fiber
/// only around calls into the runtime. The depth travels as an argument.
/// </remarks>
internal static class FunctionCompiler
{
    public static Type ClrType(VmType type) => type switch
    {
        VmType.F64 => typeof(double),
        VmType.Word => typeof(Word),
        _ => typeof(long),
    };

    public static Type ReturnType(FunctionType signature) => FuelConvention.ReturnType(signature);

    public static Type[] ParameterTypes(FunctionType signature) =>
        [typeof(Runtime.Fiber), typeof(int), typeof(long), .. signature.Parameters.Select(ClrType)];

    /// <summary>
    /// An upper bound of the .NET stack frame of a function's compiled body, measured against .NET 10's JIT. Its
    /// CIL locals are the VM locals and one per operand-stack height and CLR type: 8 bytes for an i64, ptr or f64
    /// local and 48 for a <see cref="Word"/> (the struct and its promoted fields). The CLR JIT does not share stack
    /// slots between locals or its own temporaries, and every use of a word value as a call argument or result
    /// (each spill and reload at a safepoint among them) gets a 16-byte temporary of its own, so a function with many
    /// word locals and many safepoints has a frame of megabytes. The bound doubles those figures, assumes every
    /// height may hold each type, counts every word local and every word on the operand stack at every safepoint
    /// (three times for the stack: spill and reload, and the two deoptimisation stubs)
    /// and the word operands of every other instruction, and adds 32 bytes per instruction: it only decides how early calls fall back to the
    /// interpreter, while an underestimate would let one huge frame overflow the stack. Linear in the function's
    /// size (stack states share their tails, so word counts are memoised per state).
    /// </summary>
    public static int FrameBytes(FunctionAnalysis analysis) => FrameBytes(analysis, null, 0);

    /// <summary>
    /// <see cref="FrameBytes(FunctionAnalysis)"/> of the whole function, or of piece <paramref name="piece"/> of
    /// <paramref name="plan"/>: its own instructions, plus what its prologue and exits add (every local loaded, cleared
    /// and written back once, and the operand stack of each entry and exit, 32 bytes each besides), counting only the
    /// locals the piece uses.
    /// </summary>
    public static int FrameBytes(FunctionAnalysis analysis, PiecePlan? plan, int piece)
    {
        var code = analysis.Definition.Code;
        var first = plan is null ? 0 : plan.Starts[piece];
        var end = plan is null ? code.Length : plan.Starts[piece + 1];
        // A piece keeps only the locals it uses (PiecePlan.Locals).
        var locals = plan is null ? analysis.LocalTypes : [.. plan.Locals[piece].Select(i => analysis.LocalTypes[i])];
        var wordLocals = locals.Count(t => t == VmType.Word);
        long bytes = FixedFrameBytes + 32L * (end - first) + (16 + 16 + 96) * (long)analysis.MaxStack +
                     16L * locals.Length + 80L * wordLocals;
        var wordsIn = new Dictionary<TypeStack, long>(ReferenceEqualityComparer.Instance);
        long wordUses = 0;
        if (plan is not null)
        {
            wordUses += 3 * wordLocals;
            var edges = new List<int>(plan.Entries[piece]);
            for (var pc = first; pc < end; pc++)
                foreach (var target in OpCodeTable.BranchTargets(code[pc]))
                    if (target < first || target >= end) edges.Add(target);
            edges.Add(end);
            bytes += 32L * edges.Count;
            foreach (var pc in edges)
                if (pc < code.Length) wordUses += WordsIn(analysis.StackBefore[pc], wordsIn);
        }
        for (var pc = first; pc < end; pc++)
        {
            var stack = analysis.StackBefore[pc];
            if (code[pc].OpCode.Info().IsSafepoint)
            {
                // A safepoint spills and reloads every word local and every word on the stack, and its deopt stubs
                // (before it, and after a call) write every word on the stack into an image.
                wordUses += wordLocals + 3 * WordsIn(stack, wordsIn);
                continue;
            }
            // Other instructions use at most their operands: three, or a return's results.
            var operands = code[pc].OpCode == OpCode.Return ? analysis.Signature.Results.Length : 3;
            for (var s = stack; s is not null && operands > 0; s = s.Below, operands--)
                if (s.Top == VmType.Word) wordUses++;
        }
        // The shared deopt block writes every word local once.
        bytes += 48 * (wordUses + wordLocals);
        return (int)Math.Min(bytes, int.MaxValue / 2);
    }

    /// <summary>How many words <paramref name="stack"/> holds; <paramref name="memo"/> keeps the answer for every state visited.</summary>
    private static long WordsIn(TypeStack? stack, Dictionary<TypeStack, long> memo)
    {
        var pending = new Stack<TypeStack>();
        long below = 0;
        for (var s = stack; s is not null; s = s.Below)
        {
            if (memo.TryGetValue(s, out below)) break;
            pending.Push(s);
        }
        while (pending.TryPop(out var s))
        {
            below += s.Top == VmType.Word ? 1 : 0;
            memo[s] = below;
        }
        return stack is null ? 0 : memo[stack];
    }

    /// <summary>Saved registers, the runtime state the body keeps in locals, and outgoing arguments.</summary>
    private const int FixedFrameBytes = 2048;

    /// <summary>The adapter's own frame (it holds one result) on top of the body's (see <see cref="EmitAdapter"/>).</summary>
    public const int AdapterFrameBytes = 256;

    /// <summary>How many times a group, or a function's pieces, may be emitted again after measuring over what the
    /// CLR JIT optimises: each emission is linear in the code, so a module cannot make the cutting cost more than a
    /// few times that (a cut in proportion to the measure fits at once for ordinary code).</summary>
    private const int MaxRecuts = 3;

    /// <summary>A function compiled whole: its body, its adapter and the body's IL size.</summary>
    internal readonly record struct WholeFunction(DecodedFunction Function, DynamicMethod Body, SlotAdapter Adapter, int IlSize);

    /// <summary>A function compiled in pieces, with the plan it was compiled by.</summary>
    internal readonly record struct FunctionInPieces(DecodedFunction Function, PiecePlan Plan, CompiledFunction Code);

    /// <summary>
    /// Compiles a group of functions into DynamicMethods (with direct calls among them) plus their adapters, and
    /// functions cut into pieces (each piece one DynamicMethod, with direct calls to the group's bodies).
    /// Every method is kept within what the CLR JIT optimises (<see cref="CilShape"/>): a body of the group that
    /// measures over is compiled in pieces instead (then the group is emitted again, since its other bodies call it
    /// directly), and a function whose pieces measure over is cut again into smaller ones. So the result may have
    /// moved functions from <paramref name="group"/> to the pieces; one that cannot be cut stays whole.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)]
    public static (List<WholeFunction> Whole, List<FunctionInPieces> Pieced) CompileGroup(
        Runtime.CodeTable code, List<DecodedFunction> group, List<(DecodedFunction Function, PiecePlan Plan)> pieced)
    {
        var whole = new List<DecodedFunction>(group);
        var inPieces = new List<(DecodedFunction Function, PiecePlan Plan)>(pieced);
        var keptWhole = new HashSet<DecodedFunction>();
        for (var round = 0; ; round++)
        {
            var (bodies, emitted) = EmitBodies(code, whole);
            var moved = false;
            for (var i = 0; i < whole.Count && round < MaxRecuts; i++)
            {
                var function = whole[i];
                if (emitted[i].Shape.Optimised || keptWhole.Contains(function)) continue;
                var length = function.Analysis.Definition.Code.Length;
                var size = Math.Clamp((int)(length / emitted[i].Shape.Fill), 1, JitLimits.MaxPieceInstructions);
                if (JitLimits.PlanPieces(function, size, out _) is { } plan)
                {
                    inPieces.Add((function, plan));
                    moved = true;
                }
                else keptWhole.Add(function);
            }
            if (moved)
            {
                whole.RemoveAll(f => inPieces.Any(p => p.Function == f));
                continue;
            }
            var result = new List<WholeFunction>(whole.Count);
            for (var i = 0; i < whole.Count; i++)
            {
                var function = whole[i];
                var adapter = new DynamicMethod(function.Name + "$adapter", typeof(void), [typeof(Runtime.Fiber), typeof(int), typeof(int)], typeof(JitRuntime).Module, skipVisibility: true);
                var (body, parameters, returnType) = bodies[function.FunctionIndex - code.Module.Definition.Imports.Count];
                EmitAdapter(new CheckedIL(adapter.GetILGenerator(), function.Name + "$adapter", CheckedIL.CheckingEnabled), function.Signature, body, parameters, returnType);
                result.Add(new WholeFunction(function, body, adapter.CreateDelegate<SlotAdapter>(), emitted[i].IlSize));
            }
            var piecedCode = new List<FunctionInPieces>(inPieces.Count);
            foreach (var (function, plan) in inPieces)
                piecedCode.Add(CompileInPieces(code, function, plan, Resolver(code, bodies)));
            return (result, piecedCode);
        }
    }

    /// <summary>Emits the whole bodies of <paramref name="group"/> into fresh DynamicMethods, each with its IL size and
    /// shape; the bodies map each defined function index to its method, for direct calls.</summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)]
    private static (Dictionary<int, (DynamicMethod Method, Type[] Parameters, Type Return)> Bodies, (int IlSize, CilShape Shape)[] Emitted) EmitBodies(
        Runtime.CodeTable code, List<DecodedFunction> group)
    {
        var module = code.Module;
        var imports = module.Definition.Imports.Count;
        var bodies = new Dictionary<int, (DynamicMethod Method, Type[] Parameters, Type Return)>();
        foreach (var function in group)
        {
            var signature = function.Signature;
            var parameters = ParameterTypes(signature);
            var method = new DynamicMethod(function.Name, ReturnType(signature), parameters, typeof(JitRuntime).Module, skipVisibility: true) { InitLocals = false };
            bodies[function.FunctionIndex - imports] = (method, parameters, ReturnType(signature));
        }
        var resolve = Resolver(code, bodies);
        var emitted = new (int, CilShape)[group.Count];
        for (var i = 0; i < group.Count; i++)
        {
            var function = group[i];
            var (method, parameters, _) = bodies[function.FunctionIndex - imports];
            var il = new CheckedIL(method.GetILGenerator(), function.Name, CheckedIL.CheckingEnabled);
            new BodyEmitter(module.Verified, function, code.DeoptStress, il, resolve).Emit(parameters);
            emitted[i] = (il.Generator.ILOffset, il.Shape);
        }
        return (bodies, emitted);
    }

    /// <summary>How emitted code reaches a defined function: the group's body being emitted, else its compiled body,
    /// else null (through the interpreter).</summary>
    private static Func<int, CalleeMethod?> Resolver(Runtime.CodeTable code, Dictionary<int, (DynamicMethod Method, Type[] Parameters, Type Return)> bodies) =>
        definedIndex =>
        {
            var decoded = code.Decoded(definedIndex);
            if (bodies.TryGetValue(definedIndex, out var body)) return new CalleeMethod(body.Method, body.Parameters, body.Return, decoded.FrameBytes);
            if (decoded.Compiled is { Body: { } compiledBody })
                return new CalleeMethod(compiledBody, ParameterTypes(decoded.Signature), ReturnType(decoded.Signature), decoded.FrameBytes);
            return null;
        };

    /// <summary>
    /// Compiles <paramref name="function"/> in the pieces of <paramref name="plan"/>; while a piece measures over what
    /// the CLR JIT optimises (<see cref="CilShape"/>), cuts the function again into pieces smaller in proportion and
    /// emits them again (pieces are called by nothing but their driver, so nothing else is emitted again). Stops
    /// when every piece fits or no smaller cut exists.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)]
    private static FunctionInPieces CompileInPieces(Runtime.CodeTable code, DecodedFunction function, PiecePlan plan, Func<int, CalleeMethod?> resolve)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var round = 0; ; round++)
        {
            var methods = new DynamicMethod[plan.Count];
            var deopts = new (int Ip, VmType[] Stack)[plan.Count][];
            var ilSize = 0;
            var frameBytes = 0;
            var worst = 0.0;
            for (var k = 0; k < plan.Count; k++)
            {
                methods[k] = new DynamicMethod($"{function.Name}$piece{k}", typeof(int), BodyEmitter.PieceParameters, typeof(JitRuntime).Module, skipVisibility: true) { InitLocals = false };
                var il = new CheckedIL(methods[k].GetILGenerator(), $"{function.Name}$piece{k}", CheckedIL.CheckingEnabled);
                var emitter = new BodyEmitter(code.Module.Verified, function, code.DeoptStress, il, resolve, plan, k);
                emitter.Emit(BodyEmitter.PieceParameters);
                deopts[k] = [.. emitter.PieceDeopts];
                ilSize += il.Generator.ILOffset;
                worst = Math.Max(worst, il.Shape.Fill);
                frameBytes = Math.Max(frameBytes, FrameBytes(function.Analysis, plan, k));
            }
            var largest = plan.LargestPiece;
            if (worst > 1 && largest > 1 && round < MaxRecuts && JitLimits.PlanPieces(function, Math.Clamp((int)(largest / worst), 1, largest - 1), out _) is { } smaller)
            {
                plan = smaller;
                continue;
            }
            var pieceBodies = methods.Select(m => m.CreateDelegate<PieceBody>()).ToArray();
            return new FunctionInPieces(function, plan, new CompiledFunction(new PiecedFunction(function, plan, pieceBodies, deopts), watch.Elapsed, ilSize,
                frameBytes + PiecedFunction.DriverFrameBytes + AdapterFrameBytes));
        }
    }

    /// <summary>Emits <c>void adapter(Fiber, int depth, int fp)</c>: arguments from slots, call, results to slots.</summary>
    public static void EmitAdapter(CheckedIL il, FunctionType signature, MethodInfo body, Type[] parameters, Type returnType)
    {
        il.SetArguments([typeof(Runtime.Fiber), typeof(int), typeof(int)]);
        il.LoadArgument(0);
        il.LoadArgument(1);
        EmitFiberFuel(il);
        for (var i = 0; i < signature.Parameters.Length; i++) EmitArgumentFromSlot(il, signature.Parameters[i], i);
        il.Call(body, parameters, returnType);
        EmitResultsToSlots(il, signature, returnType);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>Pushes the fiber's fuel slice, a body's fuel argument when runtime code whose argument 0 is the fiber
    /// calls it (see <see cref="FuelConvention"/>).</summary>
    public static void EmitFiberFuel(CheckedIL il)
    {
        il.LoadArgument(0);
        il.Call(Helpers.GetFuel);
    }

    /// <summary>Pushes argument <paramref name="index"/> of type <paramref name="type"/>, read from slot fp + index, in the
    /// CLR type of the calling convention: arguments 0 and 2 of the method being emitted are the fiber and fp.</summary>
    public static void EmitArgumentFromSlot(CheckedIL il, VmType type, int index)
    {
        il.LoadArgument(0);
        il.LoadArgument(2);
        il.Emit(OpCodes.Ldc_I4, index);
        il.Emit(OpCodes.Add);
        switch (type)
        {
            case VmType.Word:
                il.Call(Helpers.SlotWord);
                break;
            case VmType.F64:
                il.Call(Helpers.GetSlot);
                il.Call(Helpers.BitsToDouble);
                break;
            default:
                il.Call(Helpers.GetSlot);
                break;
        }
    }

    /// <summary>Takes a body's return value (of <paramref name="returnType"/>) from the CIL stack: its fuel to the
    /// fiber's slice, and its results to slots fp onwards: the single result to slot fp, or several from the
    /// fiber's result buffer (none for no result). Arguments 0 and 2 of the method being emitted are the fiber and fp.</summary>
    public static void EmitResultsToSlots(CheckedIL il, FunctionType signature, Type returnType)
    {
        FuelConvention.SplitToFiber(il, returnType, FuelConvention.Temporaries(il));
        if (signature.Results.Length == 1)
        {
            var value = il.DeclareLocal(FuelConvention.ValueType(returnType)!);
            il.Emit(OpCodes.Stloc, value);
            il.LoadArgument(0);
            il.LoadArgument(2);
            il.Emit(OpCodes.Ldloc, value);
            switch (signature.Results[0])
            {
                case VmType.Word: il.Call(Helpers.SetSlotWord); break;
                case VmType.F64: il.Call(Helpers.DoubleToBits); il.Call(Helpers.SetSlot); break;
                default: il.Call(Helpers.SetSlot); break;
            }
        }
        else if (signature.Results.Length > 1)
        {
            il.LoadArgument(0);
            il.LoadArgument(2);
            il.Emit(OpCodes.Ldc_I4, signature.Results.Length);
            il.Call(Helpers.CopyResultsToSlots);
        }
    }

    /// <summary>Reflection handles of the helpers generated code calls.</summary>
    internal static class Helpers
    {
        private static MethodInfo Runtime(string name) =>
            typeof(JitRuntime).GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(nameof(JitRuntime), name);

        /// <summary>A rule both tiers share: compiled code calls the very function the interpreter does.</summary>
        private static MethodInfo Shared(string name) =>
            typeof(Arithmetic).GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(nameof(Arithmetic), name);

        public static readonly MethodInfo GetFuel = Runtime(nameof(JitRuntime.GetFuel));
        public static readonly MethodInfo TaskSpawn = Runtime(nameof(JitRuntime.TaskSpawn));
        public static readonly MethodInfo TaskJoin = Runtime(nameof(JitRuntime.TaskJoin));
        public static readonly MethodInfo TaskSelf = Runtime(nameof(JitRuntime.TaskSelf));
        public static readonly MethodInfo TaskCancel = Runtime(nameof(JitRuntime.TaskCancel));
        public static readonly MethodInfo ChanNew = Runtime(nameof(JitRuntime.ChanNew));
        public static readonly MethodInfo ChanSend = Runtime(nameof(JitRuntime.ChanSend));
        public static readonly MethodInfo ChanRecv = Runtime(nameof(JitRuntime.ChanRecv));
        public static readonly MethodInfo ChanClose = Runtime(nameof(JitRuntime.ChanClose));
        public static readonly MethodInfo RefuelOrYield = Runtime(nameof(JitRuntime.RefuelOrYield));
        public static readonly MethodInfo CheckedLength = Runtime(nameof(JitRuntime.CheckedLength));
        public static readonly MethodInfo IsSuspending = Runtime(nameof(JitRuntime.IsSuspending));
        public static readonly MethodInfo ExitSpillAreaDeoptimising = Runtime(nameof(JitRuntime.ExitSpillAreaDeoptimising));
        public static readonly MethodInfo MaxInt64 = typeof(Math).GetMethod(nameof(Math.Max), [typeof(long), typeof(long)])!;
        public static readonly MethodInfo SetFuel = Runtime(nameof(JitRuntime.SetFuel));
        public static readonly MethodInfo Sites = Runtime(nameof(JitRuntime.Sites));
        public static readonly MethodInfo MaxDepth = Runtime(nameof(JitRuntime.MaxDepth));
        public static readonly MethodInfo IndirectTarget = Runtime(nameof(JitRuntime.IndirectTarget));
        public static readonly MethodInfo IndirectBody = Runtime(nameof(JitRuntime.IndirectBody));
        public static readonly FieldInfo IndirectSignatureId = typeof(Jit.IndirectTarget).GetField(nameof(Jit.IndirectTarget.SignatureId))!;
        public static readonly FieldInfo IndirectFrameBytes = typeof(Jit.IndirectTarget).GetField(nameof(Jit.IndirectTarget.FrameBytes))!;
        public static readonly MethodInfo HeapWords = Runtime(nameof(JitRuntime.HeapWords));
        public static readonly MethodInfo HeapTags = Runtime(nameof(JitRuntime.HeapTags));
        public static readonly MethodInfo NurseryEnd = Runtime(nameof(JitRuntime.NurseryEnd));
        public static readonly MethodInfo StackLimit = Runtime(nameof(JitRuntime.StackLimit));
        public static readonly MethodInfo ExecuteInterpreted = Runtime(nameof(JitRuntime.ExecuteInterpreted));
        public static readonly MethodInfo ExceptionValue = Runtime(nameof(JitRuntime.ExceptionValue));
        public static readonly MethodInfo ExceptionWord = Runtime(nameof(JitRuntime.ExceptionWord));
        public static readonly MethodInfo Throw = Runtime(nameof(JitRuntime.Throw));
        public static readonly MethodInfo UncaughtTrap = Runtime(nameof(JitRuntime.UncaughtTrap));
        public static readonly MethodInfo HandlerFrameCount = Runtime(nameof(JitRuntime.HandlerFrameCount));
        public static readonly MethodInfo HandlerSlotTop = Runtime(nameof(JitRuntime.HandlerSlotTop));
        public static readonly MethodInfo Caught = Runtime(nameof(JitRuntime.Caught));
        public static readonly MethodInfo CaughtTag = Runtime(nameof(JitRuntime.CaughtTag));
        public static readonly MethodInfo CaughtValue = Runtime(nameof(JitRuntime.CaughtValue));
        public static readonly MethodInfo CaughtWord = Runtime(nameof(JitRuntime.CaughtWord));
        public static readonly MethodInfo RecordWrite = Runtime(nameof(JitRuntime.RecordWrite));
        public static readonly MethodInfo GetGlobal = Runtime(nameof(JitRuntime.GetGlobal));
        public static readonly MethodInfo SetGlobal = Runtime(nameof(JitRuntime.SetGlobal));
        public static readonly MethodInfo GetGlobalWord = Runtime(nameof(JitRuntime.GetGlobalWord));
        public static readonly MethodInfo SetGlobalWord = Runtime(nameof(JitRuntime.SetGlobalWord));
        public static readonly MethodInfo GetImportedGlobal = Runtime(nameof(JitRuntime.GetImportedGlobal));
        public static readonly MethodInfo SetImportedGlobal = Runtime(nameof(JitRuntime.SetImportedGlobal));
        public static readonly MethodInfo GetImportedGlobalWord = Runtime(nameof(JitRuntime.GetImportedGlobalWord));
        public static readonly MethodInfo SetImportedGlobalWord = Runtime(nameof(JitRuntime.SetImportedGlobalWord));
        public static readonly MethodInfo SlotWord = Runtime(nameof(JitRuntime.SlotWord));
        public static readonly MethodInfo SetSlotWord = Runtime(nameof(JitRuntime.SetSlotWord));
        public static readonly MethodInfo GetSlot = Runtime(nameof(JitRuntime.GetSlot));
        public static readonly MethodInfo SetSlot = Runtime(nameof(JitRuntime.SetSlot));
        public static readonly MethodInfo Scratch = Runtime(nameof(JitRuntime.Scratch));
        public static readonly MethodInfo EnterSpillArea = Runtime(nameof(JitRuntime.EnterSpillArea));
        public static readonly MethodInfo BeginEntry = Runtime(nameof(JitRuntime.BeginEntry));
        public static readonly MethodInfo EndEntry = Runtime(nameof(JitRuntime.EndEntry));
        public static readonly MethodInfo EntryCallDepth = Runtime(nameof(JitRuntime.EntryCallDepth));
        public static readonly MethodInfo SetEntryArgument = Runtime(nameof(JitRuntime.SetEntryArgument));
        public static readonly MethodInfo ExitSpillArea = Runtime(nameof(JitRuntime.ExitSpillArea));
        public static readonly MethodInfo SpillPointer = Runtime(nameof(JitRuntime.SpillPointer));
        public static readonly MethodInfo Collections = Runtime(nameof(JitRuntime.Collections));
        public static readonly MethodInfo SlotReference = Runtime(nameof(JitRuntime.SlotReference));
        public static readonly MethodInfo TagReference = Runtime(nameof(JitRuntime.TagReference));
        public static readonly MethodInfo SetSlotPointer = Runtime(nameof(JitRuntime.SetSlotPointer));
        public static readonly MethodInfo MakeWord = Runtime(nameof(JitRuntime.MakeWord));
        public static readonly MethodInfo CopyResultsToSlots = Runtime(nameof(JitRuntime.CopyResultsToSlots));
        public static readonly MethodInfo SetResult = Runtime(nameof(JitRuntime.SetResult));
        public static readonly MethodInfo GetResult = Runtime(nameof(JitRuntime.GetResult));
        public static readonly MethodInfo GetResultWord = Runtime(nameof(JitRuntime.GetResultWord));
        public static readonly MethodInfo Min = Shared(nameof(Arithmetic.Min));
        public static readonly MethodInfo Canonical = Shared(nameof(Arithmetic.Canonical));
        public static readonly MethodInfo Max = Shared(nameof(Arithmetic.Max));
        public static readonly MethodInfo TruncS = Runtime(nameof(JitRuntime.TruncS));
        public static readonly MethodInfo TruncSat = Shared(nameof(Arithmetic.TruncSatS));
        public static readonly MethodInfo ConvertU = Shared(nameof(Arithmetic.ConvertU));
        public static readonly MethodInfo TruncU = Runtime(nameof(JitRuntime.TruncU));
        public static readonly MethodInfo TruncSatU = Shared(nameof(Arithmetic.TruncSatU));
        public static readonly MethodInfo CopySign = Shared(nameof(Arithmetic.CopySign));
        public static readonly MethodInfo LoadBytes = Runtime(nameof(JitRuntime.LoadBytes));
        public static readonly MethodInfo StoreBytes = Runtime(nameof(JitRuntime.StoreBytes));
        public static readonly MethodInfo MemCopy = Runtime(nameof(JitRuntime.MemCopy));
        public static readonly MethodInfo MemFill = Runtime(nameof(JitRuntime.MemFill));
        public static readonly MethodInfo MemCompareCharge = Runtime(nameof(JitRuntime.MemCompareCharge));
        public static readonly MethodInfo MemCompareBytes = Runtime(nameof(JitRuntime.MemCompareBytes));
        public static readonly MethodInfo Rotl = Runtime(nameof(JitRuntime.Rotl));
        public static readonly MethodInfo Rotr = Runtime(nameof(JitRuntime.Rotr));
        public static readonly MethodInfo Clz = Runtime(nameof(JitRuntime.Clz));
        public static readonly MethodInfo Ctz = Runtime(nameof(JitRuntime.Ctz));
        public static readonly MethodInfo Popcnt = Runtime(nameof(JitRuntime.Popcnt));
        public static readonly MethodInfo Trap = Runtime(nameof(JitRuntime.Trap));
        public static readonly MethodInfo Refuel = Runtime(nameof(JitRuntime.Refuel));
        public static readonly MethodInfo EnsureDepth = Runtime(nameof(JitRuntime.EnsureDepth));
        public static readonly MethodInfo HeapFault = Runtime(nameof(JitRuntime.HeapFault));
        public static readonly MethodInfo WordMismatch = Runtime(nameof(JitRuntime.WordMismatch));
        public static readonly MethodInfo Alloc = Runtime(nameof(JitRuntime.Alloc));
        public static readonly MethodInfo AllocFast = Runtime(nameof(JitRuntime.AllocFast));
        public static readonly MethodInfo AllocData = Runtime(nameof(JitRuntime.AllocData));
        public static readonly MethodInfo ChargeBytesAllocation = Runtime(nameof(JitRuntime.ChargeBytesAllocation));
        public static readonly MethodInfo AllocBytes = Runtime(nameof(JitRuntime.AllocBytes));
        public static readonly MethodInfo CheckedByteLength = Runtime(nameof(JitRuntime.CheckedByteLength));
        public static readonly MethodInfo ChargeAllocation = Runtime(nameof(JitRuntime.ChargeAllocation));
        public static readonly MethodInfo ChargeDataAllocation = Runtime(nameof(JitRuntime.ChargeDataAllocation));
        public static readonly MethodInfo LoadByte = Runtime(nameof(JitRuntime.LoadByte));
        public static readonly MethodInfo StoreByte = Runtime(nameof(JitRuntime.StoreByte));
        public static readonly MethodInfo CallHost = Runtime(nameof(JitRuntime.CallHost));
        public static readonly MethodInfo CallInterpreted = Runtime(nameof(JitRuntime.CallInterpreted));
        public static readonly MethodInfo CallIndirect = Runtime(nameof(JitRuntime.CallIndirect));
        public static readonly MethodInfo TailCallIndirect = Runtime(nameof(JitRuntime.TailCallIndirect));
        public static readonly MethodInfo CastReference = Runtime(nameof(JitRuntime.CastReference));
        public static readonly MethodInfo IsDeoptimising = Runtime(nameof(JitRuntime.IsDeoptimising));
        public static readonly MethodInfo ResumeEntry = Runtime(nameof(JitRuntime.ResumeEntry));
        public static readonly MethodInfo DeoptStressTick = Runtime(nameof(JitRuntime.DeoptStressTick));
        public static readonly MethodInfo BeginImage = Runtime(nameof(JitRuntime.BeginImage));
        public static readonly MethodInfo ImageValue = Runtime(nameof(JitRuntime.ImageValue));
        public static readonly MethodInfo ImagePointer = Runtime(nameof(JitRuntime.ImagePointer));
        public static readonly MethodInfo ImageWord = Runtime(nameof(JitRuntime.ImageWord));
        public static readonly MethodInfo EndImage = Runtime(nameof(JitRuntime.EndImage));
        public static readonly MethodInfo BitsToDouble = typeof(BitConverter).GetMethod(nameof(BitConverter.Int64BitsToDouble))!;
        public static readonly MethodInfo DoubleToBits = typeof(BitConverter).GetMethod(nameof(BitConverter.DoubleToInt64Bits))!;
        public static readonly MethodInfo Sqrt = typeof(Math).GetMethod(nameof(Math.Sqrt), [typeof(double)])!;
        public static readonly MethodInfo Floor = typeof(Math).GetMethod(nameof(Math.Floor), [typeof(double)])!;
        public static readonly MethodInfo Ceiling = typeof(Math).GetMethod(nameof(Math.Ceiling), [typeof(double)])!;
        public static readonly MethodInfo Truncate = typeof(Math).GetMethod(nameof(Math.Truncate), [typeof(double)])!;
        public static readonly MethodInfo Round = Shared(nameof(Arithmetic.Nearest));
        public static readonly MethodInfo Abs = typeof(Math).GetMethod(nameof(Math.Abs), [typeof(double)])!;
        public static readonly FieldInfo WordBits = typeof(Word).GetField(nameof(Word.Bits))!;
        public static readonly FieldInfo WordIsPointer = typeof(Word).GetField(nameof(Word.IsPointer))!;
    }
}
