using JitVm.Interpreter;
using JitVm.Runtime;

namespace JitVm.Jit;

/// <summary>A compiled piece (see BodyEmitter.Pieces.cs): runs from entry <paramref name="entry"/> with the function's
/// frame at <paramref name="fp"/>; returns the pc to continue at, <see cref="BodyEmitter.Returned"/> or
/// <see cref="BodyEmitter.Deoptimised"/>.</summary>
internal delegate int PieceBody(Fiber fiber, int depth, int fp, int entry);

/// <summary>
/// A function compiled in pieces (spec/internals.md §4.4): its <see cref="Run"/> is the function's
/// <see cref="CompiledFunction.Adapter"/>, so every caller reaches it as it reaches any compiled function. It opens an
/// interpreter frame for the function — the owner of its locals between pieces, a root the collector reads as it reads
/// any interpreter frame — and calls the piece holding each next pc until one returns or deoptimises.
/// </summary>
/// <remarks>While a piece runs, the frame record names operation 0 (the fuel charge of pc 0, where the operand stack
/// is empty), so the collector reads only its locals, whose pointers the piece has cleared: they are in the piece's
/// spill area. A piece that deoptimises has written the whole frame's image; the frame record goes, and whoever called
/// the function lays the image out at <c>fp</c> (Fiber.Deopt.cs) exactly as for a compiled function.</remarks>
internal sealed class PiecedFunction(DecodedFunction function, PiecePlan plan, PieceBody[] pieces)
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
        try
        {
            var pc = 0;
            while (true)
            {
                var piece = Plan.PieceAt[pc];
                PiecesEntered++;
                pc = pieces[piece](fiber, depth, fp, Plan.EntryAt[pc]);
                if (pc < 0) return;
            }
        }
        finally
        {
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
}
