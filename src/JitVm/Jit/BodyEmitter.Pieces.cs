using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Verification;
using static JitVm.Jit.FunctionCompiler;

namespace JitVm.Jit;

/// <summary>
/// One piece of a function compiled in pieces (spec/internals.md §4.2): <c>int piece(Fiber fiber, int depth, int fp,
/// int entry)</c>. The function's interpreter frame at <c>fp</c> owns its locals between pieces. A piece loads the
/// locals it uses (and, at an entry where the operand stack is not empty, the stack) from the frame into its CIL
/// locals, clears the frame's copies of those that are pointers (its spill area holds them while it runs, so the
/// collector sees each pointer once, as in the other tiers), and runs as any compiled body does. Leaving its range by
/// a branch or by falling through, it writes those locals and the target's stack back into the frame and returns the
/// target's pc; a return writes the results to the frame's first slots and returns <see cref="Returned"/>; a
/// deoptimisation writes the locals and the live stack into the frame and returns <see cref="Deoptimised"/> minus the
/// index of its point in <see cref="PieceDeopts"/>, and the driver writes the frame's image from the slots. The driver
/// (<see cref="PiecedFunction"/>) calls the piece holding the next pc.
/// </summary>
internal sealed partial class BodyEmitter
{
    /// <summary>What a piece returns when the function has returned: its results are in the frame's first slots.</summary>
    public const int Returned = -1;

    /// <summary>What a piece returns, minus the index in <see cref="PieceDeopts"/>, when it deoptimised (or its task
    /// is suspending): the frame holds every local and the stack of that entry, from which the driver writes the
    /// frame's image.</summary>
    public const int Deoptimised = -2;

    /// <summary>A piece's deoptimisation points, by the index its return value gives: the operation the image resumes
    /// at and the types of the operand-stack values it holds (written to the frame's stack slots).</summary>
    public List<(int Ip, VmType[] Stack)> PieceDeopts { get; } = [];

    private Label? _pieceDeoptShared;

    private const int FrameArg = 2;
    private const int EntryArg = 3;

    /// <summary>The pcs this body covers: the whole function, or one piece.</summary>
    private int _first, _end;

    private readonly Dictionary<int, Label> _exits = [];
    private Label? _exitShared;
    private LocalBuilder? _exitPc;

    /// <summary>The parameters of a piece's method.</summary>
    public static readonly Type[] PieceParameters = [typeof(Runtime.Fiber), typeof(int), typeof(int), typeof(int)];

    /// <summary>Where a branch to <paramref name="pc"/> goes: its block, or, outside this piece, an exit to it.</summary>
    private Label Block(int pc) => pc >= _first && pc < _end ? _blocks[pc - _first] : Exit(pc);

    /// <summary>The prologue of a piece: locals from the frame, the frame's pointers cleared, then a jump to the entry.</summary>
    private void EnterPiece()
    {
        var types = _analysis.LocalTypes;
        foreach (var i in _usedLocals)
        {
            LoadFromFrame(i, types[i]);
            il.Emit(OpCodes.Stloc, _locals[i]);
        }
        foreach (var i in _usedLocals)
            if (IsTraced(types[i])) StoreZeroToFrame(i);
        var entries = plan!.Entries[piece];
        var labels = new Label[entries.Length];
        for (var e = 0; e < entries.Length; e++)
        {
            var pc = entries[e];
            var stack = TypeStack.ToArray(_analysis.StackBefore[pc]);
            var block = _blocks[pc - _first];
            labels[e] = stack.Length == 0 ? block : Stub(() =>
            {
                for (var h = 0; h < stack.Length; h++)
                {
                    LoadFromFrame(types.Length + h, stack[h]);
                    il.Emit(OpCodes.Stloc, StackLocal(h, stack[h]));
                }
                il.Emit(OpCodes.Br, block);
            });
        }
        Arg(EntryArg);
        il.Emit(OpCodes.Switch, labels);
        il.Emit(OpCodes.Br, labels[0]);
    }

    /// <summary>An exit to <paramref name="pc"/> of another piece: writes the stack there into the frame, then the
    /// shared block writes the locals and returns the pc.</summary>
    private Label Exit(int pc)
    {
        if (_exits.TryGetValue(pc, out var exit)) return exit;
        _exitPc ??= il.DeclareLocal(typeof(int));
        _exitShared ??= Stub(_methodStubs, EmitSharedExit);
        var shared = _exitShared.Value;
        var stack = TypeStack.ToArray(_analysis.StackBefore[pc]);
        var locals = _analysis.LocalTypes.Length;
        var target = _exitPc;
        exit = Stub(() =>
        {
            for (var h = 0; h < stack.Length; h++) StoreToFrame(locals + h, StackLocal(h, stack[h]), stack[h]);
            il.Emit(OpCodes.Ldc_I4, pc);
            il.Emit(OpCodes.Stloc, target);
            il.Emit(OpCodes.Br, shared);
        });
        _exits[pc] = exit;
        return exit;
    }

    private void EmitSharedExit()
    {
        foreach (var i in _usedLocals) StoreToFrame(i, _locals[i], _analysis.LocalTypes[i]);
        CloseFrame();
        il.Emit(OpCodes.Ldloc, _exitPc!);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>A deoptimisation point of a piece: the bottom <paramref name="height"/> stack values go to the frame's
    /// stack slots, and the shared block writes the locals and returns <see cref="Deoptimised"/> minus the point's
    /// index; the image resumes at operation <paramref name="ip"/>.</summary>
    private Label PieceDeoptStub(int height, int ip)
    {
        _imageIp ??= il.DeclareLocal(typeof(int));
        _pieceDeoptShared ??= Stub(_methodStubs, EmitSharedPieceDeopt);
        var shared = _pieceDeoptShared.Value;
        var stack = _types[..height];
        var locals = _analysis.LocalTypes.Length;
        var code = Deoptimised - PieceDeopts.Count;
        PieceDeopts.Add((ip, stack));
        var values = stack.Select((type, h) => StackLocal(h, type)).ToArray();
        var result = _imageIp;
        return Stub(() =>
        {
            for (var h = 0; h < stack.Length; h++) StoreToFrame(locals + h, values[h], stack[h]);
            il.Emit(OpCodes.Ldc_I4, code);
            il.Emit(OpCodes.Stloc, result);
            il.Emit(OpCodes.Br, shared);
        });
    }

    /// <summary>Writes the locals this piece keeps to the frame, closes the spill area wherever it lies, leaves the
    /// slice (the real one, or the negative one of a deoptimisation under way) in the fiber and returns.</summary>
    private void EmitSharedPieceDeopt()
    {
        foreach (var i in _usedLocals) StoreToFrame(i, _locals[i], _analysis.LocalTypes[i]);
        CloseFrame(exitSpillArea: Helpers.ExitSpillAreaDeoptimising);
        il.Emit(OpCodes.Ldloc, _imageIp!);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>A return from a piece: the results (the top values, heights below <paramref name="h"/>) go to the
    /// frame's first slots, where the interpreter's return leaves them too.</summary>
    private void ReturnFromPiece(int h, bool spillAreaOpen)
    {
        var results = _analysis.Signature.Results;
        for (var i = 0; i < results.Length; i++)
        {
            var height = h - results.Length + i;
            StoreToFrame(i, StackLocal(height, _types[height]), results[i]);
        }
        CloseFrame(spillAreaOpen);
        il.Emit(OpCodes.Ldc_I4, Returned);
        il.Emit(OpCodes.Ret);
    }

    private void FrameSlot(int offset)
    {
        Arg(FiberArg);
        Arg(FrameArg);
        il.Emit(OpCodes.Ldc_I4, offset);
        il.Emit(OpCodes.Add);
    }

    private void LoadFromFrame(int offset, VmType type)
    {
        FrameSlot(offset);
        switch (type)
        {
            case VmType.Word: il.Call(Helpers.SlotWord); break;
            case VmType.F64:
                il.Call(Helpers.GetSlot);
                il.Call(Helpers.BitsToDouble);
                break;
            default: il.Call(Helpers.GetSlot); break;
        }
    }

    private void StoreToFrame(int offset, LocalBuilder value, VmType type)
    {
        FrameSlot(offset);
        il.Emit(OpCodes.Ldloc, value);
        switch (type)
        {
            case VmType.Word: il.Call(Helpers.SetSlotWord); break;
            case VmType.F64: il.Call(Helpers.DoubleToBits); il.Call(Helpers.SetSlot); break;
            case VmType.Ptr: il.Call(Helpers.SetSlotPointer); break;
            default: il.Call(Helpers.SetSlot); break;
        }
    }

    /// <summary>Clears a pointer (0, an unassigned ptr local) or word (untagged) slot of the frame.</summary>
    private void StoreZeroToFrame(int offset)
    {
        FrameSlot(offset);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Call(Helpers.SetSlot);
    }
}
