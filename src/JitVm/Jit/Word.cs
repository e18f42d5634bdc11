namespace JitVm.Jit;

/// <summary>A tagged word as compiled code holds it: 64 bits and whether they are a pointer.</summary>
/// <param name="bits">The 64 bits.</param>
/// <param name="isPointer">True when the word is a pointer.</param>
internal readonly struct Word(long bits, bool isPointer)
{
    /// <summary>The 64 bits.</summary>
    public readonly long Bits = bits;

    /// <summary>True when the bits are a pointer.</summary>
    public readonly bool IsPointer = isPointer;
}
