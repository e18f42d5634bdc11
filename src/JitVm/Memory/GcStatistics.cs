namespace JitVm.Memory;

/// <summary>What an isolate's collector has done so far.</summary>
/// <param name="MinorCollections">Nursery collections.</param>
/// <param name="FullCollections">Collections of the whole heap.</param>
/// <param name="TotalPause">Time spent in all collections.</param>
/// <param name="LongestPause">The longest single collection.</param>
/// <param name="LongestMinorPause">The longest nursery collection.</param>
/// <param name="LiveBytes">Bytes in use right after the most recent collection.</param>
/// <param name="PromotedBytes">Bytes copied out of the nursery into the old space.</param>
public readonly record struct GcStatistics(
    int MinorCollections, int FullCollections, TimeSpan TotalPause, TimeSpan LongestPause, TimeSpan LongestMinorPause, long LiveBytes, long PromotedBytes)
{
    /// <summary>All collections.</summary>
    public int Collections => MinorCollections + FullCollections;
}
