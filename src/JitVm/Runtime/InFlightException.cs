using System.Globalization;
using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Runtime;

/// <summary>
/// An exception VM code threw (spec/exceptions.md), on its way to a handler: the tag (an index into the module of
/// the instance it was thrown in), the payload with its tags, and the trap it becomes if nothing catches it, located
/// at the <c>throw</c> while the VM stack was still there. Both tiers unwind with it: compiled code catches it in CIL
/// handlers, the interpreter where a call into compiled code returns with it. It never leaves VM code as itself: the
/// places that run VM code for the host, for a task or for another instance throw <see cref="Uncaught"/> instead.
/// </summary>
internal sealed class InFlightException : Exception
{
    private InFlightException(int tag, long[] values, byte[] valueTags, TrapException uncaught)
        : base(uncaught.Detail)
    {
        Tag = tag;
        Values = values;
        ValueTags = valueTags;
        Uncaught = uncaught;
    }

    /// <summary>The tag's index in the thrower's module.</summary>
    public int Tag { get; }

    /// <summary>The payload, deepest first.</summary>
    public long[] Values { get; }

    /// <summary>1 where a payload value is a pointer (exact for every type: ptr values are 1, numbers 0).</summary>
    public byte[] ValueTags { get; }

    /// <summary>The trap <c>UncaughtException</c> at the throw site, with the VM stack then and the fuel left then.</summary>
    public TrapException Uncaught { get; }

    /// <summary>
    /// An exception of tag <paramref name="tag"/> thrown at <paramref name="site"/> by the frame at
    /// <paramref name="depth"/> with <paramref name="fuel"/> left in its slice; the payload is
    /// <paramref name="count"/> values from <paramref name="values"/> (and, for word values, their tags). The slice
    /// is published here: whichever frame catches the exception goes on with it.
    /// </summary>
    public static InFlightException Create(Fiber fiber, int tag, long[] values, byte[] tags, int first, int count, long site, int depth, long fuel)
    {
        var definition = fiber.Instance.Module.Definition.Tags[tag];
        var payload = new long[count];
        var payloadTags = new byte[count];
        for (var i = 0; i < count; i++)
        {
            payload[i] = values[first + i];
            payloadTags[i] = definition.Parameters[i] switch
            {
                VmType.Ptr => 1,
                VmType.Word => tags[first + i],
                _ => 0,
            };
        }
        var trap = new TrapException(TrapCode.UncaughtException,
            $"exception {Printable.Quote(definition.Name)}{Describe(definition, payload, payloadTags)} was thrown and not caught");
        var (frames, elided) = fiber.Trace(site, depth);
        trap.SetStack(frames, elided, fiber.Store.Owner);
        trap.FuelRecorded = true;
        fiber.FuelSlice = fuel;
        return new InFlightException(tag, payload, payloadTags, trap);
    }

    /// <summary>Writes the payload into slots [<paramref name="first"/>, +n): a handler's operand stack.</summary>
    public void WritePayload(Fiber fiber, int first)
    {
        for (var i = 0; i < Values.Length; i++)
        {
            fiber.Slots[first + i] = Values[i];
            fiber.SlotTags[first + i] = ValueTags[i];
        }
    }

    private static string Describe(TagDefinition tag, long[] payload, byte[] payloadTags)
    {
        if (payload.Length == 0) return "";
        var parts = new string[payload.Length];
        for (var i = 0; i < payload.Length; i++)
            parts[i] = payloadTags[i] != 0 ? "a pointer"
                : tag.Parameters[i] == VmType.F64 ? Text.Disassembler.FormatF64(payload[i])
                : payload[i].ToString(CultureInfo.InvariantCulture);
        return $" ({string.Join(", ", parts)})";
    }
}
