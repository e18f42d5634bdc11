namespace JitVm.FuzzDriver;

/// <summary>
/// Seeded byte-level mutations of binary modules: the one mutation engine for binaries (the fuzz driver and the
/// in-process tests both use it). The same seed, case index and corpus always give the same mutant.
/// </summary>
public static class ByteMutator
{
    /// <summary>Values whose LEB128 encodings sit at the edges the reader and verifier must handle: 2^32 ± k,
    /// 2^63 - 1, negative numbers, and the counts and indices just past common caps.</summary>
    private static readonly long[] InterestingValues =
    [
        0, 1, -1, 2, 63, 64, 127, 128, 255, 256, 0x7FFF, 0xFFFF, 0x1_0000, 0x1_0001, 0x7FFF_FFFF, 0x8000_0000,
        0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0001, 0xFFFF_FFFFL - 7, 0x1_0000_0000L + 8, long.MaxValue, long.MinValue,
        -0x8000_0000L, 1L << 40, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1,
    ];

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x3F, 0x40, 0xC0];

    /// <summary>Makes one mutant of <paramref name="original"/>: one to four edits chosen from the random stream.</summary>
    /// <remarks>A third of the edits change instructions, locals or signatures of a decoded module and write it
    /// again (<see cref="InstructionMutator"/>), for the verifier and the tiers. Most others land inside one section
    /// payload, and in the code section inside one function body, and the enclosing lengths are rewritten
    /// afterwards, so the mutant gets past the section framing; the rest edit the raw file, framing included.</remarks>
    /// <param name="original">A valid binary module.</param>
    /// <param name="corpus">Every seed binary, for splicing a piece of another module in.</param>
    /// <param name="random">The case's random stream.</param>
    public static byte[] Mutate(byte[] original, IReadOnlyList<byte[]> corpus, Random random)
    {
        var bytes = original;
        var edits = 1 + random.Next(4);
        for (var k = 0; k < edits; k++)
        {
            if (random.Next(3) == 0 && InstructionMutator.Mutate(bytes, random) is { } edited)
            {
                bytes = edited;
                continue;
            }
            var sections = random.Next(6) != 0 ? Sections(bytes) : null;
            if (sections is null || sections.Count == 0)
            {
                var raw = new List<byte>(bytes);
                Edit(raw, 8, corpus, random);
                bytes = [.. raw];
                continue;
            }
            // The code section (id 6) gets most edits: that is where instructions are.
            var code = sections.FindIndex(s => s.Id == 6);
            var chosen = code >= 0 && random.Next(3) != 0 ? code : random.Next(sections.Count);
            var payload = sections[chosen].Payload;
            if (sections[chosen].Id == 6 && random.Next(5) != 0 && Bodies(payload) is { Count: > 0 } bodies)
            {
                var body = bodies.Bodies[random.Next(bodies.Bodies.Count)];
                Edit(body, 0, corpus, random);
                payload = [.. Unsigned(bodies.Count), .. bodies.Bodies.SelectMany(b => Unsigned(b.Count).Concat(b))];
            }
            else
            {
                Edit(payload, 0, corpus, random);
            }
            sections[chosen] = (sections[chosen].Id, payload);
            bytes = [.. original.AsSpan(0, 8), .. sections.SelectMany(s => new[] { s.Id }.Concat(Unsigned(s.Payload.Count)).Concat(s.Payload))];
        }
        return bytes;
    }

    /// <summary>The sections of a module, or null when its framing does not parse (an earlier edit broke it).</summary>
    private static List<(byte Id, List<byte> Payload)>? Sections(byte[] bytes)
    {
        var sections = new List<(byte, List<byte>)>();
        var at = 8;
        while (at < bytes.Length)
        {
            var id = bytes[at++];
            if (!TryReadUnsigned(bytes, ref at, out var length) || length > (ulong)(bytes.Length - at)) return null;
            sections.Add((id, new List<byte>(bytes.AsSpan(at, (int)length).ToArray())));
            at += (int)length;
        }
        return sections;
    }

    /// <summary>The count and bodies of a code section payload, or null when it does not parse.</summary>
    private static (ulong Count, List<List<byte>> Bodies)? Bodies(List<byte> payload)
    {
        var bytes = payload.ToArray();
        var at = 0;
        if (!TryReadUnsigned(bytes, ref at, out var count) || count > 100_000) return null;
        var bodies = new List<List<byte>>();
        for (ulong i = 0; i < count; i++)
        {
            if (!TryReadUnsigned(bytes, ref at, out var size) || size > (ulong)(bytes.Length - at)) return null;
            bodies.Add(new List<byte>(bytes.AsSpan(at, (int)size).ToArray()));
            at += (int)size;
        }
        return at == bytes.Length ? (count, bodies) : null;
    }

    private static bool TryReadUnsigned(byte[] bytes, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < bytes.Length; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }

    /// <summary>One edit of <paramref name="bytes"/> at or after <paramref name="start"/>.</summary>
    private static void Edit(List<byte> bytes, int start, IReadOnlyList<byte[]> corpus, Random random)
    {
        // In a raw edit the first 8 bytes are the magic and version: mutate them rarely, or almost every mutant is
        // rejected there.
        if (start > 0 && random.Next(50) == 0) start = 0;
        if (bytes.Count <= start)
        {
            bytes.Add((byte)random.Next(256));
            return;
        }
        var at = start + random.Next(bytes.Count - start);
        switch (random.Next(9))
        {
            case 0:
                bytes[at] = (byte)random.Next(256);
                break;
            case 1:
                bytes[at] ^= (byte)(1 << random.Next(8));
                break;
            case 2:
                bytes[at] = InterestingBytes[random.Next(InterestingBytes.Length)];
                break;
            case 3:
                {
                    var count = 1 + random.Next(8);
                    for (var i = 0; i < count; i++) bytes.Insert(at, (byte)random.Next(256));
                    break;
                }
            case 4:
                bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(16)));
                break;
            case 5:
                {
                    // Duplicate a chunk somewhere else: repeated sections, functions and instructions.
                    var length = Math.Min(bytes.Count - at, 1 + random.Next(32));
                    var chunk = bytes.GetRange(at, length);
                    bytes.InsertRange(start + random.Next(bytes.Count - start + 1), chunk);
                    break;
                }
            case 6:
            case 7:
                {
                    // Overwrite what is probably a count, index or immediate with an edge value.
                    var value = InterestingValues[random.Next(InterestingValues.Length)];
                    var encoding = random.Next(2) == 0 ? Unsigned(value) : Signed(value);
                    var replaced = Math.Min(bytes.Count - at, 1 + random.Next(4));
                    bytes.RemoveRange(at, replaced);
                    bytes.InsertRange(at, encoding);
                    break;
                }
            default:
                {
                    // Splice: keep this module's head and continue with the tail of another seed.
                    var other = corpus[random.Next(corpus.Count)];
                    if (other.Length <= 8) break;
                    var from = 8 + random.Next(other.Length - 8);
                    var length = start > 0 ? other.Length - from : Math.Min(other.Length - from, 1 + random.Next(24));
                    bytes.RemoveRange(at, start > 0 ? bytes.Count - at : Math.Min(bytes.Count - at, random.Next(24)));
                    bytes.InsertRange(at, other.AsSpan(from, length).ToArray());
                    break;
                }
        }
    }

    private static List<byte> Unsigned(ulong value) => Unsigned((long)value);

    private static List<byte> Unsigned(long value)
    {
        var result = new List<byte>();
        var bits = (ulong)value;
        do
        {
            var low = (byte)(bits & 0x7F);
            bits >>= 7;
            result.Add(bits != 0 ? (byte)(low | 0x80) : low);
        }
        while (bits != 0);
        return result;
    }

    private static List<byte> Signed(long value)
    {
        var result = new List<byte>();
        while (true)
        {
            var low = (byte)(value & 0x7F);
            value >>= 7;
            var done = (value == 0 && (low & 0x40) == 0) || (value == -1 && (low & 0x40) != 0);
            result.Add(done ? low : (byte)(low | 0x80));
            if (done) return result;
        }
    }
}
