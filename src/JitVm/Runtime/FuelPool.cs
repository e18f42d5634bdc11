namespace JitVm.Runtime;

/// <summary>
/// Fuel shared by the stores of every spawned task of one task tree (<see cref="Hosting.IsolateOptions.TaskFuel"/>).
/// Tasks draw from it a slice at a time and give back what they did not spend when they end, so the tree's spawned
/// tasks together never do more work than the pool held, however many of them are spawned one after another.
/// Thread-safe: tasks on different workers draw at once.
/// </summary>
internal sealed class FuelPool(long fuel)
{
    private long _remaining = fuel;

    /// <summary>Fuel not yet drawn.</summary>
    public long Remaining => Volatile.Read(ref _remaining);

    /// <summary>Draws up to <paramref name="wanted"/> (not negative) and returns how much was drawn: less when the pool
    /// holds less.</summary>
    public long Draw(long wanted)
    {
        while (true)
        {
            var remaining = Volatile.Read(ref _remaining);
            var drawn = Math.Min(remaining, wanted);
            if (Interlocked.CompareExchange(ref _remaining, remaining - drawn, remaining) == remaining) return drawn;
        }
    }

    /// <summary>Gives back fuel a task drew but did not spend.</summary>
    public void Return(long fuel)
    {
        if (fuel > 0) Interlocked.Add(ref _remaining, fuel);
    }
}
