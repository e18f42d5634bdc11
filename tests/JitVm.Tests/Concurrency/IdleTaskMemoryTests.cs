using JitVm.Hosting;
using Xunit;
using Xunit.Abstractions;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Concurrency;

/// <summary>The managed memory an idle task costs. It is read as the growth of the whole process's live heap
/// (<see cref="GC.GetTotalMemory"/>), so nothing else may run beside it: its collection has parallelisation disabled,
/// which makes the runner run it alone, after the parallel collections.</summary>
[Collection(nameof(IdleTaskMemoryTests))]
public sealed class IdleTaskMemoryTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    /// <summary>An idle task: spawned, having run to a wait, and suspended there. The bound is the goal, 2 KiB
    /// (spec/concurrency.md §4, Size); this build measures 1,976 bytes per task (the task, isolate, store, heap,
    /// instance and fiber objects, an 8-word arena holding the two channel references, the first frame stack, frame
    /// records and call-site table, and the channel's waiter), and the figure is printed for the record.</summary>
    [Fact]
    public void AnIdleTaskCostsLittleMemory()
    {
        using var backstop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        const int n = 20_000;
        var bytes = new List<long>();
        var measure = new HostFunction("measure", new Bytecode.FunctionType([], []), (_, _) => bytes.Add(GC.GetTotalMemory(forceFullCollection: true)));
        // Deterministic mode: every task has run to its wait on the gate (suspended, holding no thread) by the time
        // main has received all the "ready" messages.
        var options = new IsolateOptions { Tier = ExecutionTier.Tiered, TierUpCalls = 2, CancellationToken = backstop.Token, Workers = 0 };
        var isolate = new Isolate(Module.FromText(Programs.ManyWaiting, "many.jvm"), [measure], options);
        Assert.Equal((long)n * (n - 1) / 2, isolate.Invoke("main", Value.I64(n))[0].AsI64);
        var perTask = (bytes[1] - bytes[0]) / (double)n;
        _output.WriteLine($"{perTask:F0} bytes per idle task ({n} tasks)");
        Assert.True(perTask < 2 * 1024, $"an idle task costs {perTask:F0} bytes (bound and goal 2048)");
    }
}

/// <summary>The collection of <see cref="IdleTaskMemoryTests"/>, which no other test runs beside.</summary>
[CollectionDefinition(nameof(IdleTaskMemoryTests), DisableParallelization = true)]
public sealed class IdleTaskMemoryCollection
{
}
