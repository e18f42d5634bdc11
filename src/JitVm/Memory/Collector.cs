using System.Diagnostics;

namespace JitVm.Memory;

/// <summary>What the collector needs from the isolate: to update every root slot through <see cref="Heap.Forward"/>.</summary>
internal interface IRootSet
{
    /// <summary>Calls <see cref="Heap.Forward"/> on every root that holds a pointer and stores the result back.</summary>
    void UpdateRoots(Heap heap);
}

/// <summary>When the test modes force collections.</summary>
public enum GcStressMode
{
    /// <summary>Collect only when the heap is full.</summary>
    Off,

    /// <summary>Collect before every allocation.</summary>
    EveryAllocation,

    /// <summary>Collect before every Nth allocation.</summary>
    EveryN,

    /// <summary>Collect before a pseudo-random one in N allocations (seeded, so runs repeat).</summary>
    Random,
}

/// <summary>
/// The collector, generational and copying (Cheney). A minor collection copies the nursery's live objects into the
/// old space ("promote every survivor", as OCaml does): roots and remembered old objects are forwarded first, then a
/// scan finger walks the promoted objects and forwards what their tagged fields point to; the nursery is then
/// empty. A full collection copies every live object, young or old, into a fresh arena (so the old space is
/// compacted and the arena shrinks or grows to fit). A forwarded object's header holds the forwarding bit and its
/// new pointer, so shared objects are copied once and cycles terminate. Both cost time proportional to live data.
/// </summary>
internal sealed partial class Heap
{
    /// <summary>Run the first full collection once the old space holds 8 MiB.</summary>
    private const long InitialOldWords = 1024 * 1024;

    private const long Forwarded = long.MinValue;

    private long _majorAt;
    private long _allocations;
    private int _stressCollections;
    private bool _full;
    private long[]? _to;
    private ulong[]? _toTags;

    /// <summary>The arena the last full collection copied out of, kept as the next one's to-space (or null).
    /// Words [0, <see cref="_spareDirty"/>) may hold old data; the rest, and its tags past that, are zero.</summary>
    private long[]? _spare;
    private ulong[]? _spareTags;
    private long _spareDirty;
    private long _toTop;
    private Random? _stressRandom;

    /// <summary>The roots to update when collecting; without one the heap never collects.</summary>
    public IRootSet? Roots { get; set; }

    public GcStressMode Stress
    {
        get => _stress;
        set
        {
            _stress = value;
            UpdateBumpLimit();
        }
    }

    private GcStressMode _stress;

    /// <summary>N for <see cref="GcStressMode.EveryN"/> and <see cref="GcStressMode.Random"/>.</summary>
    public int StressInterval { get; set; } = 1;

    /// <summary>Where collections are logged (at Debug level).</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Check the heap's invariants before and after every collection (slow; for tests).</summary>
    public bool VerifyEveryCollection { get; set; }

    public int Collections => MinorCollections + MajorCollections;

    /// <summary>New arenas full collections have allocated (the others reused the previous arena).</summary>
    public int ArenasAllocated { get; private set; }

    public int MinorCollections { get; private set; }

    /// <summary>
    /// Counts collections, as a field compiled code can read cheaply: only a collection moves objects (and so changes
    /// the pointers in roots), so compiled code that sees it unchanged across a safepoint keeps the pointers it holds.
    /// </summary>
    public int CollectionCount;

    public int MajorCollections { get; private set; }

    public TimeSpan TotalPause { get; private set; }

    public TimeSpan LongestPause { get; private set; }

    public TimeSpan LongestMinorPause { get; private set; }

    /// <summary>Bytes in use right after the most recent collection.</summary>
    public long LiveBytesAfterLastCollection { get; private set; }

    /// <summary>Bytes copied out of the nursery by minor collections.</summary>
    public long PromotedBytes { get; private set; }

    /// <summary>In stress mode, collects before this allocation when the mode says so (every eighth one is full).</summary>
    private void StressCollect()
    {
        if (Roots is null || Stress == GcStressMode.Off) return;
        _allocations++;
        var collect = Stress switch
        {
            GcStressMode.EveryAllocation => true,
            GcStressMode.EveryN => _allocations % StressInterval == 0,
            _ => (_stressRandom ??= new Random(StressInterval)).Next(Math.Max(1, StressInterval)) == 0,
        };
        if (collect) Collect(full: ++_stressCollections % 8 == 0);
    }

    /// <summary>Collects the nursery (minor) or everything (full). A minor collection that might not fit under the
    /// full-collection threshold becomes a full one.</summary>
    public void Collect(bool full)
    {
        if (Roots is null) throw new InvalidOperationException("the heap has no roots to collect from");
        // Nothing was ever allocated: there is nothing to collect (and no arena to collect in).
        if (!HasArena) return;
        if (!full && _oldTop + (_youngTop - 1) > _majorAt) full = true;
        if (VerifyEveryCollection) Verify("before a collection");
        var started = Stopwatch.GetTimestamp();
        var usedBefore = UsedBytes;
        CollectionCount++;
        if (full) CollectFull();
        else CollectMinor();
        LiveBytesAfterLastCollection = UsedBytes;
        UpdateBumpLimit();

        var pause = Stopwatch.GetElapsedTime(started);
        TotalPause += pause;
        if (pause > LongestPause) LongestPause = pause;
        if (!full && pause > LongestMinorPause) LongestMinorPause = pause;
        if (Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            Diagnostics.Log.Collected(Logger, full ? "full" : "minor", Collections, LiveBytesAfterLastCollection, usedBefore, pause.TotalMicroseconds);
        if (VerifyEveryCollection) Verify("after a collection");
    }

    private void CollectMinor()
    {
        _full = false;
        var promotedFrom = _oldTop;
        // Room for every young object to survive, reserved in one step: growing object by object would copy the
        // arena once per doubling inside the pause (15 times for a first minor collection of a full 2 MiB nursery).
        // Promotion then never grows the arena (ForwardYoung relies on it).
        if (_oldTop + _youngTop >= _words.Length) Grow(_oldTop + _youngTop + 1);
        Roots!.UpdateRoots(this);
        if (_rememberedOverflowed)
        {
            // Too many to list: find them by their header bits, walking the old space as it was before promoting.
            for (var header = NurseryEnd; header < promotedFrom; header += (_words[header] & LengthMask) + 1)
            {
                if ((_words[header] & RememberedBit) == 0) continue;
                _words[header] &= ~RememberedBit;
                ForwardFields(_words, _tags, header + 1);
            }
            _rememberedOverflowed = false;
        }
        else if (_remembered is not null)
        {
            foreach (var pointer in _remembered)
            {
                _words[pointer - 1] &= ~RememberedBit;
                ForwardFields(_words, _tags, pointer);
            }
        }
        _remembered?.Clear();
        for (var scan = promotedFrom; scan < _oldTop;)
        {
            ForwardFields(_words, _tags, scan + 1);
            scan += (_words[scan] & LengthMask) + 1;
        }
        PromotedBytes += (_oldTop - promotedFrom) * 8;
        SweepYoungReferences();
        // The nursery is empty now; clear what was used so new objects start as zero, untagged words.
        Array.Clear(_words, 1, (int)(_youngTop - 1));
        Array.Clear(_tags, 0, (int)((_youngTop + 63) / 64));
        _youngTop = 1;
        MinorCollections++;
    }

    private void CollectFull()
    {
        _full = true;
        // Room for everything to survive, and for the old space to double before the next full collection, so the
        // arena is not resized in between; never more than the arena can ever need.
        var usedWords = (_oldTop - NurseryEnd) + (_youngTop - 1);
        var needed = RoundUp(NurseryEnd + usedWords + 64);
        var wanted = Math.Max(needed, Math.Min(MaxArenaWords, RoundUp(NurseryEnd + 2 * usedWords + 64)));
        long toDirty;
        if (_spare is not null && _spare.Length >= needed && _spare.Length <= 2 * wanted)
        {
            // The previous arena again: allocating a new one per collection would leave the .NET collector a
            // dropped arena to reclaim each time, and it does so lazily, so process memory would grow to several
            // arenas. Words past its dirty mark were never written; the copy rewrites [NurseryEnd, _toTop), and
            // everything else must start zero and untagged.
            _to = _spare;
            _toTags = _spareTags!;
            toDirty = _spareDirty;
            Array.Clear(_to, 0, (int)NurseryEnd);
            Array.Clear(_toTags, 0, (int)Math.Min(_toTags.Length, (toDirty + 63) / 64));
        }
        else
        {
            // Drop a spare too small to use first, so the .NET collector can reclaim it for the new arena.
            _spare = null;
            _spareTags = null;
            _to = new long[wanted];
            _toTags = new ulong[_to.Length / 64];
            toDirty = 0;
            ArenasAllocated++;
        }
        _spare = null;
        _spareTags = null;
        NoteReserved(_to.LongLength * 8 + _toTags.LongLength * 8);
        _toTop = NurseryEnd;
        Roots!.UpdateRoots(this);
        for (var scan = NurseryEnd; scan < _toTop;)
        {
            ForwardFields(_to, _toTags, scan + 1);
            scan += (_to[scan] & LengthMask) + 1;
        }
        if (toDirty > _toTop) Array.Clear(_to, (int)_toTop, (int)(toDirty - _toTop));
        var (from, fromTags, fromDirty) = (_words, _tags, Math.Max(_oldTop, NurseryEnd));
        _words = _to;
        _tags = _toTags;
        // Keep the old arena as the next collection's to-space, unless the heap has shrunk so far that it would
        // hold memory the heap no longer needs.
        if (from.Length <= 2 * _words.Length) (_spare, _spareTags, _spareDirty) = (from, fromTags, fromDirty);
        _oldTop = _toTop;
        SweepAllReferences();
        _youngTop = 1;
        _to = null;
        _toTags = null;
        _remembered?.Clear();
        _rememberedOverflowed = false;
        // Collect fully again when the old space has doubled (as Lua's and OCaml's major pacing), within the limit.
        _majorAt = Math.Min(NurseryEnd + Math.Max(2 * (_oldTop - NurseryEnd), InitialOldWords), NurseryEnd + LimitWords + 1);
        MajorCollections++;
    }

    /// <summary>
    /// During a collection: the new location of the object at <paramref name="pointer"/>, copying it on its first
    /// visit. A minor collection leaves old objects where they are.
    /// </summary>
    public long Forward(long pointer)
    {
        if (!_full) return pointer >= NurseryEnd ? pointer : ForwardYoung(pointer);
        var header = _words[pointer - 1];
        if (header < 0) return header & ~Forwarded;
        var length = header & LengthMask;
        var target = _toTop;
        _words.AsSpan((int)(pointer - 1), (int)(length + 1)).CopyTo(_to.AsSpan((int)target));
        // The copy keeps the object's kind bits (sent, reference) but not the collector's own.
        _to![target] = header & ~(Forwarded | RememberedBit);
        NoteLiveReference(header);
        CopyTagBits(_tags, pointer, _toTags!, target + 1, length);
        _toTop = target + length + 1;
        _words[pointer - 1] = Forwarded | (target + 1);
        return target + 1;
    }

    /// <summary>
    /// In a minor collection: the new location of the young object at <paramref name="pointer"/>, copied to the top
    /// of the old space on its first visit, with its tag bits. The arena has room: CollectMinor reserved room for the
    /// whole nursery before it began.
    /// </summary>
    private long ForwardYoung(long pointer)
    {
        var header = _words[pointer - 1];
        if (header < 0) return header & ~Forwarded;
        var length = header & LengthMask;
        var target = _oldTop;
        _words.AsSpan((int)(pointer - 1), (int)(length + 1)).CopyTo(_words.AsSpan((int)target));
        CopyTagBits(_tags, pointer, _tags, target + 1, length);
        _oldTop = target + length + 1;
        _words[pointer - 1] = Forwarded | (target + 1);
        return target + 1;
    }

    /// <summary>Forwards the pointers held in the fields of the object at <paramref name="pointer"/> in
    /// <paramref name="words"/> (the arena in a minor collection, the to-space in a full one), visiting only the fields
    /// whose tag bit is set, 32 tag bits at a time. Neither array is replaced meanwhile: a minor collection reserves its
    /// room before it begins, a full one sizes its to-space for everything.</summary>
    private void ForwardFields(long[] words, ulong[] tags, long pointer)
    {
        var length = words[pointer - 1] & LengthMask;
        for (var chunk = 0L; chunk < length; chunk += 32)
        {
            var bits = TagBits(tags, pointer + chunk, (int)Math.Min(32, length - chunk));
            while (bits != 0)
            {
                var field = pointer + chunk + System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                words[field] = Forward(words[field]);
            }
        }
    }

    /// <summary>The bits of <paramref name="tags"/> for words [<paramref name="index"/>, <paramref name="index"/> +
    /// <paramref name="count"/>), <paramref name="count"/> at most 32, lowest first.</summary>
    private static ulong TagBits(ulong[] tags, long index, int count)
    {
        var offset = (int)(index & 63);
        var bits = tags[index >> 6] >> offset;
        // Shifts count modulo 64, so the next tag word is read only when the range really reaches into it.
        if (offset + count > 64) bits |= tags[(index >> 6) + 1] << (64 - offset);
        return bits & ((1UL << count) - 1);
    }

    /// <summary>Copies the tag bits of <paramref name="count"/> words from <paramref name="from"/> in
    /// <paramref name="fromTags"/> to <paramref name="to"/> in <paramref name="toTags"/>, whose bits there are clear,
    /// 32 at a time (an object's fields are mostly a handful of words).</summary>
    private static void CopyTagBits(ulong[] fromTags, long from, ulong[] toTags, long to, long count)
    {
        for (var chunk = 0L; chunk < count; chunk += 32)
        {
            var n = (int)Math.Min(32, count - chunk);
            var bits = TagBits(fromTags, from + chunk, n);
            if (bits == 0) continue;
            var index = to + chunk;
            var offset = (int)(index & 63);
            toTags[index >> 6] |= bits << offset;
            if (offset + n > 64) toTags[(index >> 6) + 1] |= bits >> (64 - offset);
        }
    }

    /// <summary>
    /// Checks the heap's invariants: headers are sane and untagged, objects tile the nursery and the old space
    /// exactly, every tagged word points at the first field of an object, and every old object holding a young
    /// pointer is remembered. Throws on the first violation (a VM defect).
    /// </summary>
    public void Verify(string when)
    {
        var starts = new System.Collections.BitArray((int)Math.Max(_oldTop, NurseryEnd));
        WalkObjects(1, _youngTop, when, starts);
        WalkObjects(NurseryEnd, _oldTop, when, starts);
        foreach (var (from, to) in new[] { (1L, _youngTop), (NurseryEnd, _oldTop) })
        {
            for (var index = from; index < to;)
            {
                var header = _words[index];
                var length = header & LengthMask;
                for (var field = index + 1; field <= index + length; field++)
                {
                    if (!IsPointer(field)) continue;
                    var target = _words[field];
                    // A pointer is one past its header, which lies below the space's top: an object of length 0 that was the
                    // last allocated has a pointer equal to the top.
                    var valid = target >= 2 && (target <= _youngTop || (target > NurseryEnd && target <= _oldTop)) && starts[(int)(target - 1)];
                    if (!valid) Fail(when, $"word {field} is tagged as a pointer but holds {target}, which is not the start of an object");
                    if (index >= NurseryEnd && target < NurseryEnd && (header & RememberedBit) == 0)
                        Fail(when, $"old object at {index + 1} points to young object {target} but is not in the remembered set");
                }
                index += length + 1;
            }
        }
    }

    private void WalkObjects(long from, long to, string when, System.Collections.BitArray starts)
    {
        for (var index = from; index < to;)
        {
            var header = _words[index];
            if (header < 0) Fail(when, $"header at {index} is a forwarding word");
            if (IsPointer(index)) Fail(when, $"header at {index} is tagged as a pointer");
            var length = header & LengthMask;
            if (index + 1 + length > to) Fail(when, $"object at {index + 1} (length {length}) runs past the end of its space ({to})");
            if ((header & NotPlainBits) == 0 && ByteLengthOf(header) < Math.Max(0, 8 * length - 7))
                Fail(when, $"object at {index + 1} (length {length}) records {(header & UnusedBytesMask) >> UnusedBytesShift} unused bytes, more than its last word holds");
            starts[(int)index] = true;
            index += length + 1;
        }
    }

    private static void Fail(string when, string detail) =>
        throw new InvalidOperationException($"heap verification failed {when}: {detail}");
}
