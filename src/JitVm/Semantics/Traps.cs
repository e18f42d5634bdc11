using JitVm.Diagnostics;

namespace JitVm.Semantics;

/// <summary>A trap an instruction raises: its code and the message people see. Both tiers raise it from here.</summary>
/// <param name="Code">The trap code.</param>
/// <param name="Message">The message, identical in every tier (the conformance suite compares it).</param>
internal readonly record struct TrapRule(TrapCode Code, string Message)
{
    /// <summary>A new exception for this trap, not yet located.</summary>
    public TrapException Create() => new(Code, Message);
}

/// <summary>
/// The traps whose conditions both tiers test themselves (the interpreter in C#, compiled code inline in CIL), with
/// their messages. Heap faults are not here: both tiers raise those through <see cref="Memory.Heap"/>'s checked
/// accessors, which compiled code re-runs when its inline check fails.
/// </summary>
internal static class Traps
{
    /// <summary>unreachable.</summary>
    public static readonly TrapRule Unreachable = new(TrapCode.Unreachable, "unreachable instruction executed");

    /// <summary>i64.div_s and i64.div_u by zero.</summary>
    public static readonly TrapRule DivisionByZero = new(TrapCode.DivideByZero, "integer division by zero");

    /// <summary>i64.rem_s and i64.rem_u by zero.</summary>
    public static readonly TrapRule RemainderByZero = new(TrapCode.DivideByZero, "integer remainder by zero");

    /// <summary>i64.div_s of MIN by -1.</summary>
    public static readonly TrapRule DivisionOverflow = new(TrapCode.IntegerOverflow, "i64.div_s of -9223372036854775808 by -1 overflows");

    /// <summary>word.as_ptr of an untagged word.</summary>
    public static readonly TrapRule PointerRequired = new(TrapCode.TagMismatch, "the word holds a number, but a pointer was required");

    /// <summary>word.as_i64 and word.as_f64 of a tagged word.</summary>
    public static readonly TrapRule NumberRequired = new(TrapCode.TagMismatch, "the word holds a pointer, but a number was required");

    /// <summary>i64.trunc_f64_s of a value whose truncation is outside the i64 range, or NaN; the value is written as
    /// the text format writes it, so a NaN's payload shows.</summary>
    public static TrapException CannotConvert(double value) =>
        new(TrapCode.InvalidConversion, $"{Text.Disassembler.FormatF64(BitConverter.DoubleToInt64Bits(value))} cannot be converted to i64");

    /// <summary>i64.trunc_f64_u of a value whose truncation is outside [0, 2^64), or NaN.</summary>
    public static TrapException CannotConvertUnsigned(double value) =>
        new(TrapCode.InvalidConversion, $"{Text.Disassembler.FormatF64(BitConverter.DoubleToInt64Bits(value))} cannot be converted to an unsigned 64-bit integer");
}
