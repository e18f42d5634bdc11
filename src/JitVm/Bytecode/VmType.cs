namespace JitVm.Bytecode;

/// <summary>
/// The static type of a 64-bit VM value, as the verifier tracks it on the operand stack, in locals and in globals.
/// </summary>
/// <remarks>
/// Every value is one 64-bit word. <see cref="Ptr"/> values carry the pointer tag; <see cref="I64"/> and
/// <see cref="F64"/> never do. A <see cref="Word"/> is a value whose tag is only known at run time (read
/// generically from memory); it must be converted with a checked <c>word.as_*</c> instruction before use.
/// </remarks>
public enum VmType : byte
{
    /// <summary>A 64-bit two's-complement integer.</summary>
    I64 = 1,

    /// <summary>A 64-bit IEEE 754 binary floating-point number.</summary>
    F64 = 2,

    /// <summary>A pointer to a heap object. Never null: a pointer can only come from an allocation.</summary>
    Ptr = 3,

    /// <summary>A tagged word: either a pointer or 64 non-pointer bits, decided at run time.</summary>
    Word = 4,
}

/// <summary>Text names of <see cref="VmType"/> values as they appear in the assembly language.</summary>
public static class VmTypeNames
{
    /// <summary>Returns the assembly-language name of a value type (<c>i64</c>, <c>f64</c>, <c>ptr</c>, <c>word</c>).</summary>
    public static string Name(this VmType type) => type switch
    {
        VmType.I64 => "i64",
        VmType.F64 => "f64",
        VmType.Ptr => "ptr",
        VmType.Word => "word",
        _ => $"<invalid type {(byte)type}>",
    };

    /// <summary>Parses an assembly-language type name; returns false when the name is not a value type.</summary>
    public static bool TryParse(string text, out VmType type)
    {
        switch (text)
        {
            case "i64": type = VmType.I64; return true;
            case "f64": type = VmType.F64; return true;
            case "ptr": type = VmType.Ptr; return true;
            case "word": type = VmType.Word; return true;
            default: type = default; return false;
        }
    }

    /// <summary>True for the byte values that name a <see cref="VmType"/> in the binary format.</summary>
    public static bool IsDefined(byte code) => code is >= 1 and <= 4;
}
