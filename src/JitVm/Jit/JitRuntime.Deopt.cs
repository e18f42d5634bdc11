using JitVm.Runtime;

namespace JitVm.Jit;

/// <summary>Deoptimisation from compiled code: writing a frame's image for the interpreter (see Fiber.Deopt.cs).</summary>
internal static partial class JitRuntime
{
#pragma warning disable CS1591 // Internal plumbing for generated code; each helper is named after what it does.
    public static bool IsDeoptimising(Fiber fiber) => fiber.IsDeoptimising;

    /// <summary>A typed export's body deoptimised: finishes it in the interpreter; returns the first result's bits.</summary>
    public static long ResumeEntry(Fiber fiber) => fiber.ResumeEntry();

    /// <summary>Deopt stress: whether compiled code deoptimises at the safepoint it is at.</summary>
    public static bool DeoptStressTick(Fiber fiber) => fiber.Store.DeoptStressTick();

    public static int BeginImage(Fiber fiber, int count) => fiber.BeginImage(count);

    public static void ImageValue(Fiber fiber, int index, long bits) => fiber.SetImageValue(index, bits, false);

    /// <summary>A ptr value of an image (0 is a pointer local not yet assigned, which holds no object).</summary>
    public static void ImagePointer(Fiber fiber, int index, long bits) => fiber.SetImageValue(index, bits, bits != 0);

    public static void ImageWord(Fiber fiber, int index, Word value) => fiber.SetImageValue(index, value.Bits, value.IsPointer);

    public static void EndImage(Fiber fiber, int definedIndex, int ip, int start, long fuel) => fiber.EndImage(definedIndex, ip, start, fuel);
#pragma warning restore CS1591
}
