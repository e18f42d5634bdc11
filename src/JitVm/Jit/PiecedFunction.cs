using JitVm.Interpreter;
using JitVm.Runtime;

namespace JitVm.Jit;

/// <summary>A compiled piece (see BodyEmitter.Pieces.cs): runs from entry <paramref name="entry"/> with the function's
/// frame at <paramref name="fp"/>; returns the pc to continue at, <see cref="BodyEmitter.Returned"/> or
/// <see cref="BodyEmitter.Deoptimised"/>.</summary>
internal delegate int PieceBody(Fiber fiber, int depth, int fp, int entry);

/// <summary>
/// A function compiled in pieces (spec/internals.md §4.2): its <see cref="Run"/> is the function's
/// <see cref="CompiledFunction.Adapter"/>, so every caller reaches it as it reaches any compiled function. It opens an
/// interpreter frame for the function — the owner of its locals between pieces, a root the collector reads as it reads
/// any interpreter frame — and calls the piece holding each next pc until one returns or deoptimises.
/// </summary>
/// <remarks>While a piece runs, the frame record names operation 0 (the fuel charge of pc 0, where the operand stack
/// is empty), so the collector reads only its locals: the ones the piece uses it has cleared (they are in the piece's
/// spill area), the others are current. A piece that deoptimises leaves the whole frame — every local and the stack
/// of its deoptimisation point — in the slots; the driver writes the frame's image from them, the frame record goes,
/// and whoever called the function lays the image out at <c>fp</c> (Fiber.Deopt.cs) exactly as for a compiled
/// function.</remarks>
internal sealed class PiecedFunction(DecodedFunction function, PiecePlan plan, PieceBody[] pieces, (int Ip, Bytecode.VmType[] Stack)[][] deopts)
{
    /// <summary>The driver's own frame, on top of a piece's (see <see cref="FunctionCompiler.FrameBytes(Verification.FunctionAnalysis, PiecePlan?, int)"/>).</summary>
    public const int DriverFrameBytes = 256;

    /// <summary>How the function is cut.</summary>
    public PiecePlan Plan { get; } = plan;

    /// <summary>How many pieces have been entered (a statistic: races only lose counts).</summary>
    public long PiecesEntered;

    /// <summary>Runs the function at depth <paramref name="depth"/> with its arguments in slots [fp, ...); the
    /// results replace them. The caller has checked the depth and the stack room.</summary>
    public void Run(Fiber fiber, int depth, int fp)
    {
        var frameEnd = fp + function.FrameSize;
        fiber.EnsureSlots(frameEnd + 1);
        // Declared locals start as zero (and untagged), as in EnterFrame.
        Array.Clear(fiber.Slots, fp + function.ParameterCount, function.LocalCount - function.ParameterCount);
        Array.Clear(fiber.SlotTags, fp + function.ParameterCount, function.LocalCount - function.ParameterCount);
        var callDepth = fiber.CallDepth;
        var slotTop = fiber.SlotTop;
        var frames = fiber.FrameCount;
        fiber.CallDepth = depth;
        fiber.SlotTop = Math.Max(slotTop, frameEnd);
        fiber.PushRecord(function, fp);
        fiber.Frames[frames].Ip = 1;
        fiber.Frames[frames].EveryLocalLive = true;
        try
        {
            var pc = 0;
            while (true)
            {
                var piece = Plan.PieceAt[pc];
                PiecesEntered++;
                pc = pieces[piece](fiber, depth, fp, Plan.EntryAt[pc]);
                if (pc == BodyEmitter.Returned) return;
                if (pc < 0)
                {
                    WriteImage(fiber, fp, deopts[piece][BodyEmitter.Deoptimised - pc]);
                    return;
                }
            }
        }
        finally
        {
            // Normally, after a trap and after a deoptimisation alike, the frame ends here (its image replaces it).
            fiber.CallDepth = callDepth;
            fiber.SlotTop = slotTop;
            // A suspension leaves the records of deeper interpreter activations above this frame's (Fiber.Suspend.cs):
            // only this one goes, as its image replaces it.
            if (fiber.IsSuspending && fiber.FrameCount > frames + 1)
            {
                Array.Copy(fiber.Frames, frames + 1, fiber.Frames, frames, fiber.FrameCount - frames - 1);
                fiber.FrameCount--;
            }
            else fiber.FrameCount = frames;
        }
    }

    /// <summary>The frame's image (Fiber.Deopt.cs) from its slots: every local and the stack values of the
    /// deoptimisation point, resuming at its operation. It goes after the images of callees that deoptimised (they are
    /// deeper), and keeps the fiber's slice as the real one unless a deeper image already did.</summary>
    private void WriteImage(Fiber fiber, int fp, (int Ip, Bytecode.VmType[] Stack) point)
    {
        var types = function.Analysis.LocalTypes;
        var count = types.Length + point.Stack.Length;
        var start = fiber.BeginImage(count);
        for (var i = 0; i < count; i++)
        {
            var bits = fiber.Slots[fp + i];
            var type = i < types.Length ? types[i] : point.Stack[i - types.Length];
            fiber.SetImageValue(start + i, bits, type == Bytecode.VmType.Ptr ? bits != 0 : type == Bytecode.VmType.Word && fiber.SlotTags[fp + i] != 0);
        }
        fiber.EndImage(function.FunctionIndex - function.Module.Imports.Count, point.Ip, start, fiber.FuelSlice);
    }
}
