using System.Globalization;
using JitVm.Bytecode;

namespace JitVm.Hosting;

/// <summary>
/// A VM value with its static type, as passed to and returned from <c>Isolate.Invoke</c>. Numbers can be made
/// freely; pointer values only come from the VM (results, <see cref="Handle.Value"/>, <see cref="Pointer.Value"/>):
/// a pointer value the host makes itself names no object and every isolate refuses it (spec/embedding.md §9).
/// </summary>
/// <param name="Type">The value's type.</param>
/// <param name="Bits">The 64 bits: an integer or a float's bits. For a pointer, an opaque token the isolate that gave
/// the value out resolves while the value is fresh; never the pointer's own bits, which the host cannot see.</param>
/// <param name="IsPointer">For a word, whether it carries the pointer tag (always true for ptr values).</param>
public readonly record struct Value(VmType Type, long Bits, bool IsPointer = false)
{
    /// <summary>The isolate that gave a pointer value out, or the channel a <see cref="HostChannel"/>'s value stands
    /// for; one field for both, so that a value stays as small as it was (values live in deep host-call frames).</summary>
    private readonly object? _owner;

    /// <summary>For a pointer value, the isolate that gave it out (null for numbers and for values the host made).</summary>
    internal Isolate? Origin { get => _owner as Isolate; init => _owner = value; }

    /// <summary>For the value of a <see cref="HostChannel"/>, the channel it stands for (only spawning accepts it).</summary>
    internal object? Capability { get => _owner is Isolate ? null : _owner; init => _owner = value; }

    /// <summary>An i64 value.</summary>
    public static Value I64(long value) => new(VmType.I64, value);

    /// <summary>An f64 value.</summary>
    public static Value F64(double value) => new(VmType.F64, BitConverter.DoubleToInt64Bits(value));

    /// <summary>The value as an integer.</summary>
    public long AsI64 => Bits;

    /// <summary>The value as a float.</summary>
    public double AsF64 => BitConverter.Int64BitsToDouble(Bits);

    /// <summary>Formats a float the way the VM prints it: shortest round-trip, ".0" on integers, inf, -inf, nan.</summary>
    public static string FormatF64(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }

    /// <summary>
    /// Parses a command-line argument for a parameter of the given type, in exactly the spellings of
    /// spec/execution.md §10: for i64 a decimal integer with an optional sign; for f64 a decimal number
    /// (<c>2.5</c>, <c>-1e10</c>), <c>inf</c>, <c>nan</c> (the canonical NaN, bits 0x7FF8000000000000, as in the
    /// text format), <c>-nan</c> (0xFFF8000000000000) or <c>nan:0x</c> with the NaN's exact bits.
    /// </summary>
    public static bool TryParse(string text, VmType type, out Value value)
    {
        value = default;
        switch (type)
        {
            case VmType.I64:
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)) return false;
                value = I64(integer);
                return true;
            case VmType.F64:
                if (!TryParseF64Bits(text, out var bits)) return false;
                value = new Value(VmType.F64, bits);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// The f64 argument grammar: sign? (decimal | inf | nan | nan:0xHEX), the words in any case. A decimal is one or
    /// more digits, optionally a '.' and more digits, optionally e or E, a sign and digits, correctly rounded (too
    /// large gives an infinity). NaN bits follow the text format (spec/text-format.md §2.3): .NET's double.NaN has
    /// the sign bit set, so it is never used here.
    /// </summary>
    private static bool TryParseF64Bits(string text, out long bits)
    {
        bits = 0;
        var negative = text.StartsWith('-');
        var body = text.Length > 0 && text[0] is '-' or '+' ? text[1..] : text;
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase))
        {
            bits = BitConverter.DoubleToInt64Bits(negative ? double.NegativeInfinity : double.PositiveInfinity);
            return true;
        }
        if (body.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            bits = negative ? Semantics.Arithmetic.CanonicalNaNBits | long.MinValue : Semantics.Arithmetic.CanonicalNaNBits;
            return true;
        }
        if (body.StartsWith("nan:0x", StringComparison.OrdinalIgnoreCase))
        {
            // The sign written before nan is ignored: the bits alone decide, as in the text format.
            var hex = body.AsSpan(6);
            if (hex.Length is 0 or > 16 || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var payload) ||
                !double.IsNaN(BitConverter.UInt64BitsToDouble(payload)))
                return false;
            bits = (long)payload;
            return true;
        }
        if (!Text.Lexer.IsDecimalFloat(body)) return false;
        bits = BitConverter.DoubleToInt64Bits(double.Parse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>The value as the CLI prints a result (pointers show as <c>&lt;ptr&gt;</c>; see <see cref="Isolate.Describe"/> for lengths).</summary>
    public override string ToString() => Type switch
    {
        VmType.I64 => Bits.ToString(CultureInfo.InvariantCulture),
        VmType.F64 => FormatF64(AsF64),
        VmType.Ptr => "<ptr>",
        _ => IsPointer ? "<ptr>" : Bits.ToString(CultureInfo.InvariantCulture),
    };
}
