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
/// The collector: a stop-the-world copying (Cheney) collection of the whole arena. Roots are updated first, then a
/// scan finger walks the copied objects and copies what their tagged fields point to. A copied object's header in
/// the old arena becomes a forwarding word (sign bit set, new pointer below), so shared objects are copied once and
/// cycles terminate. Cost is proportional to the live data; garbage is never touched.
/// </summary>
internal sealed partial class Heap
{
    /// <summary>Collect for the first time once 2 MiB (256K words) are in use.</summary>
    private const long InitialCollectWords = 256 * 1024;

    private const long Forwarded = long.MinValue;

    private long _collectAt;
    private long _allocationsSinceCollection;
    private long[]? _to;
    private ulong[]? _toTags;
    private long _toTop;
    private Random? _stressRandom;

    /// <summary>The roots to update when collecting; without one the heap never collects.</summary>
    public IRootSet? Roots { get; set; }

    public GcStressMode Stress { get; set; }

    /// <summary>N for <see cref="GcStressMode.EveryN"/> and <see cref="GcStressMode.Random"/>.</summary>
    public int StressInterval { get; set; } = 1;

    /// <summary>Where collections are logged (at Debug level).</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Check the heap's invariants before and after every collection (slow; for tests).</summary>
    public bool VerifyEveryCollection { get; set; }

    public int Collections { get; private set; }

    public TimeSpan TotalPause { get; private set; }

    public TimeSpan LongestPause { get; private set; }

    /// <summary>Bytes that survived the most recent collection.</summary>
    public long LiveBytesAfterLastCollection { get; private set; }

    /// <summary>Bytes copied by all collections together.</summary>
    public long CopiedBytes { get; private set; }

    private bool ShouldCollect(long needed)
    {
        if (Roots is null) return false;
        _allocationsSinceCollection++;
        switch (Stress)
        {
            case GcStressMode.EveryAllocation:
                return true;
            case GcStressMode.EveryN when _allocationsSinceCollection >= StressInterval:
                return true;
            case GcStressMode.Random:
                _stressRandom ??= new Random(StressInterval);
                if (_stressRandom.Next(Math.Max(1, StressInterval)) == 0) return true;
                break;
        }
        return _top + needed > _collectAt;
    }

    /// <summary>Collects now, then makes room for <paramref name="reserve"/> more words.</summary>
    public void Collect(long reserve = 0)
    {
        if (Roots is null) throw new InvalidOperationException("the heap has no roots to collect from");
        if (VerifyEveryCollection) Verify("before a collection");
        var started = Stopwatch.GetTimestamp();
        var usedBefore = UsedBytes;

        _to = new long[Math.Max(_top + 1, 64)];
        _toTags = new ulong[(_to.Length + 63) / 64];
        _toTop = 1;
        Roots.UpdateRoots(this);
        // Cheney scan: everything below the finger has had its fields forwarded.
        for (var scan = 1L; scan < _toTop;)
        {
            var length = _to[scan] & LengthMask;
            for (var field = scan + 1; field <= scan + length; field++)
                if ((_toTags[field >> 6] & (1UL << (int)field)) != 0) _to[field] = Forward(_to[field]);
            scan += length + 1;
        }

        CopiedBytes += (_toTop - 1) * 8;
        _words = _to;
        _tags = _toTags;
        _top = _toTop;
        _to = null;
        _toTags = null;
        LiveBytesAfterLastCollection = UsedBytes;
        _allocationsSinceCollection = 0;
        // Collect again when the heap has doubled (as Lua's and OCaml's major pacing), within the limit.
        _collectAt = Math.Min(Math.Max(2 * _top + reserve, InitialCollectWords), LimitWords + 1);
        if (_top + reserve > _words.Length && _top + reserve <= LimitWords + 1) Grow(_top + reserve);

        var pause = Stopwatch.GetElapsedTime(started);
        Collections++;
        TotalPause += pause;
        if (pause > LongestPause) LongestPause = pause;
        if (Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            Diagnostics.Log.Collected(Logger, Collections, LiveBytesAfterLastCollection, usedBefore, pause.TotalMicroseconds);
        if (VerifyEveryCollection) Verify("after a collection");
    }

    /// <summary>During a collection: the new location of the object at <paramref name="pointer"/>, copying it on first visit.</summary>
    public long Forward(long pointer)
    {
        var header = _words[pointer - 1];
        if (header < 0) return header & ~Forwarded;
        var length = header & LengthMask;
        var to = _to!;
        var target = _toTop;
        Array.Copy(_words, pointer - 1, to, target, length + 1);
        for (var i = 0L; i < length; i++)
            if (IsPointer(pointer + i)) _toTags![(target + 1 + i) >> 6] |= 1UL << (int)(target + 1 + i);
        _toTop = target + length + 1;
        _words[pointer - 1] = Forwarded | (target + 1);
        return target + 1;
    }

    /// <summary>
    /// Checks the heap's invariants: headers are sane and untagged, objects tile the used arena exactly, and every
    /// tagged word points at the first field of an object. Throws on the first violation (a VM defect).
    /// </summary>
    public void Verify(string when)
    {
        var starts = new System.Collections.BitArray((int)Math.Max(_top, 1));
        for (var index = 1L; index < _top;)
        {
            var header = _words[index];
            if (header < 0) Fail(when, $"header at {index} is a forwarding word");
            if (IsPointer(index)) Fail(when, $"header at {index} is tagged as a pointer");
            var length = header & LengthMask;
            if (index + 1 + length > _top) Fail(when, $"object at {index + 1} (length {length}) runs past the end of the used arena ({_top})");
            starts[(int)index] = true;
            index += length + 1;
        }
        for (var index = 1L; index < _top; index++)
        {
            if (!IsPointer(index)) continue;
            var target = _words[index];
            if (target < 2 || target > _top || !starts[(int)(target - 1)])
                Fail(when, $"word {index} is tagged as a pointer but holds {target}, which is not the start of an object");
        }
    }

    /// <summary>True when <paramref name="pointer"/> is the first field of an object (for root checks in tests).</summary>
    public bool IsObjectStart(long pointer)
    {
        for (var index = 1L; index < _top;)
        {
            if (index + 1 == pointer) return true;
            index += (_words[index] & LengthMask) + 1;
        }
        return false;
    }

    private static void Fail(string when, string detail) =>
        throw new InvalidOperationException($"heap verification failed {when}: {detail}");
}
