using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;

namespace JitVm.Jit;

/// <summary>
/// Exceptions (spec/exceptions.md): <c>throw</c> stages its payload in the fiber and throws the exception the runtime
/// makes, which unwinds compiled frames as a .NET exception; each protected range of the handler table is a CIL try
/// block whose one catch clause takes that exception type, picks the first entry of the range with the exception's
/// tag (or rethrows), restores the frame's state and leaves to the handler's block. The verifier's rules make this
/// CIL valid: ranges nest, are entered only at their first instruction (whose fuel charge and label are placed just
/// before the try), hold no tail call, and a handler lies outside its range.
/// </summary>
internal sealed partial class BodyEmitter
{
    private HandlerRegions _regions => _analysis.Regions;

    /// <summary>The open try blocks, innermost on top, each with the stubs of the code inside it (cold blocks must be
    /// inside the try they branch back into) and the stub list outside it.</summary>
    private readonly Stack<(int Region, List<(Label Label, Action Emit)> Outer, Label End)> _openRegions = new();

    private LocalBuilder? _savedFrameCount;
    private LocalBuilder? _savedSlotTop;
    private LocalBuilder? _caught;
    private LocalBuilder? _returnValue;
    private Label? _returnBlock;

    /// <summary>What a handler restores: the frame records and slot top this frame runs with (the exception may come
    /// from callees whose spill areas and frames it left behind).</summary>
    private void SaveFrameState()
    {
        _savedFrameCount = il.DeclareLocal(typeof(int));
        _savedSlotTop = il.DeclareLocal(typeof(int));
        _caught = il.DeclareLocal(typeof(Runtime.InFlightException));
        Runtime(Helpers.HandlerFrameCount, _savedFrameCount);
        Runtime(Helpers.HandlerSlotTop, _savedSlotTop);
    }

    /// <summary>True when a jump from this pc to <paramref name="target"/> leaves the innermost try block it is in.</summary>
    private bool Leaves(int target) => _regions.Any && _regions.LabelContext(target) != _regions.InnermostAt[_pc];

    /// <summary>The label a conditional branch or br_table case jumps to: the block itself, or, when that is outside
    /// the try block the branch is in, a stub in the try block that leaves to it (only leave may exit a try).</summary>
    private Label Target(int target)
    {
        if (!Leaves(target)) return Block(target);
        var block = _blocks[target - _first];
        return Stub(() => il.Emit(OpCodes.Leave, block));
    }

    /// <summary>Returns (the results are already where the convention wants them): <c>ret</c>, or from inside a try
    /// block, a leave to one shared return block after the body.</summary>
    private void Ret(Type returnType)
    {
        if (_openRegions.Count == 0)
        {
            il.Emit(OpCodes.Ret);
            return;
        }
        _returnValue ??= il.DeclareLocal(returnType);
        il.Emit(OpCodes.Stloc, _returnValue);
        _returnBlock ??= il.DefineLabel();
        il.Emit(OpCodes.Leave, _returnBlock.Value);
    }

    private void EmitReturnBlock(Label block)
    {
        il.MarkLabel(block);
        if (_returnValue is not null) il.Emit(OpCodes.Ldloc, _returnValue);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>Opens a try block for each range starting at this pc, outermost first.</summary>
    private void OpenRegions()
    {
        var starting = new List<int>();
        for (var r = _regions.InnermostAt[_pc]; r >= 0 && _regions.Regions[r].Start == _pc; r = _regions.Regions[r].Parent) starting.Add(r);
        for (var i = starting.Count - 1; i >= 0; i--)
        {
            var end = il.BeginTry();
            _openRegions.Push((starting[i], _stubs, end));
            _stubs = [];
        }
    }

    /// <summary>Closes the try block of each range ending at this pc, innermost first: the body falls out by leave, its
    /// stubs follow inside the try, then the catch clause.</summary>
    private void CloseRegions(System.Collections.Immutable.ImmutableArray<Instruction> code)
    {
        var fallsThrough = _pc > 0 && code[_pc - 1].OpCode.Info().Flow is not (FlowKind.Branch or FlowKind.Table or FlowKind.Return or FlowKind.Trap);
        while (_openRegions.Count > 0 && _regions.Regions[_openRegions.Peek().Region].End == _pc)
        {
            var (region, outer, end) = _openRegions.Pop();
            if (fallsThrough) il.Emit(OpCodes.Leave, end);
            EmitStubs(_stubs);
            _stubs = outer;
            il.BeginCatch(typeof(Runtime.InFlightException));
            il.Emit(OpCodes.Stloc, _caught!);
            foreach (var k in _regions.Regions[region].Entries) EmitHandlerEntry(_analysis.Definition.Handlers[k]);
            il.Emit(OpCodes.Rethrow);
            il.EndTry();
            fallsThrough = true;
        }
    }

    /// <summary>One entry of a range's catch clause: when the exception has the entry's tag, the frame takes it up
    /// again — its records and slot top as they were, the fuel the thrower left, the heap arrays and the pointer
    /// locals re-read (a collection may have moved them while callees ran), the payload as the operand stack — and
    /// leaves to the handler.</summary>
    private void EmitHandlerEntry(HandlerDefinition entry)
    {
        var other = il.DefineLabel();
        il.Emit(OpCodes.Ldloc, _caught!);
        il.Call(Helpers.CaughtTag);
        il.Emit(OpCodes.Ldc_I4, entry.Tag);
        il.Emit(OpCodes.Bne_Un, other);
        Arg(FiberArg);
        il.Emit(OpCodes.Ldloc, _savedFrameCount!);
        il.Emit(OpCodes.Ldloc, _savedSlotTop!);
        il.Call(Helpers.Caught);
        il.Emit(OpCodes.Stloc, _fuel);
        ReloadHeap();
        if (_spillBase is not null)
            for (var i = 0; i < _pointerLocals.Length; i++)
            {
                var local = _pointerLocals[i];
                Arg(FiberArg);
                il.Emit(OpCodes.Ldloc, _spillBase);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Add);
                il.Call(_analysis.LocalTypes[local] == VmType.Word ? Helpers.SlotWord : Helpers.GetSlot);
                il.Emit(OpCodes.Stloc, _locals[local]);
            }
        var payload = module.Definition.Tags[entry.Tag].Parameters;
        for (var i = 0; i < payload.Count; i++)
        {
            il.Emit(OpCodes.Ldloc, _caught!);
            il.Emit(OpCodes.Ldc_I4, i);
            if (payload[i] == VmType.Word) il.Call(Helpers.CaughtWord);
            else
            {
                il.Call(Helpers.CaughtValue);
                if (payload[i] == VmType.F64) il.Call(Helpers.BitsToDouble);
            }
            il.Emit(OpCodes.Stloc, StackLocal(i, payload[i]));
        }
        il.Emit(OpCodes.Leave, _blocks[entry.Handler - _first]);
        il.MarkLabel(other);
    }

    private void LowerThrow(int tag, int payload)
    {
        var h = _types.Length;
        for (var i = 0; i < payload; i++)
        {
            var height = h - payload + i;
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, i);
            Load(height);
            switch (_types[height])
            {
                case VmType.Word: il.Call(Helpers.ExceptionWord); break;
                case VmType.F64:
                    il.Call(Helpers.DoubleToBits);
                    il.Call(Helpers.ExceptionValue);
                    break;
                default: il.Call(Helpers.ExceptionValue); break;
            }
        }
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, tag);
        il.Emit(OpCodes.Ldc_I4, payload);
        LocationArguments();
        il.Call(Helpers.Throw);
        il.Emit(OpCodes.Throw);
    }
}
