using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>Shared setup of the task and channel benchmarks: one isolate per tier and worker count, checked once.</summary>
internal static class TaskSetup
{
    public const int Warmup = 3;

    public const int Iterations = 10;

    private static readonly Module Module = Vm.Load(TaskPrograms.Text, "tasks.jvm");

    /// <summary>A JIT-tier isolate with unlimited fuel and <paramref name="workers"/> workers (null: one per processor),
    /// run once on <paramref name="arguments"/> and checked to return <paramref name="expected"/>.</summary>
    public static (Isolate Isolate, int Function) Isolate(string function, long expected, int? workers, params long[] arguments)
    {
        var isolate = new Isolate(Module, StandardImports.Create(Stream.Null),
            new IsolateOptions { Fuel = null, Tier = ExecutionTier.Jit, Workers = workers });
        var index = Vm.Function(Module, function);
        var actual = Run(isolate, index, arguments);
        if (actual != expected) throw new InvalidOperationException($"{function} returned {actual}, expected {expected}");
        return (isolate, index);
    }

    public static long Run(Isolate isolate, int function, long[] arguments) =>
        isolate.Invoke(function, [.. arguments.Select(Value.I64)])[0].AsI64;
}

/// <summary>Spawn cost: a task that returns at once, spawned and joined; per spawn+join. .NET: Task.Run + Wait.</summary>
[SimpleJob(warmupCount: TaskSetup.Warmup, iterationCount: TaskSetup.Iterations)]
[MedianColumn]
public class SpawnJoinBenchmark
{
    private Isolate _isolate = null!;
    private int _function;
    private readonly long[] _arguments = [TaskPrograms.Spawns];

    [GlobalSetup(Target = nameof(JitVm))]
    public void Setup() => (_isolate, _function) = TaskSetup.Isolate("spawn_join", 0, null, TaskPrograms.Spawns);

    [Benchmark(Baseline = true, Description = ".NET Task.Run + Wait", OperationsPerInvoke = TaskPrograms.Spawns)]
    public long DotNet()
    {
        for (var i = 0; i < TaskPrograms.Spawns; i++) Task.Run(static () => { }).Wait();
        return 0;
    }

    [Benchmark(Description = "JitVm task.spawn + task.join", OperationsPerInvoke = TaskPrograms.Spawns)]
    public long JitVm() => TaskSetup.Run(_isolate, _function, _arguments);
}

/// <summary>Ping-pong between two tasks over two channels of capacity 1; per round trip (two one-way messages).</summary>
[SimpleJob(warmupCount: TaskSetup.Warmup, iterationCount: TaskSetup.Iterations)]
[MedianColumn]
public class PingPongBenchmark
{
    private static readonly long Expected = (long)TaskPrograms.RoundTrips * (TaskPrograms.RoundTrips + 1) / 2;
    private Isolate _isolate = null!;
    private int _function;
    private readonly long[] _arguments = [TaskPrograms.RoundTrips];

    [GlobalSetup(Target = nameof(JitVm))]
    public void Setup() => (_isolate, _function) = TaskSetup.Isolate("ping_pong", Expected, null, TaskPrograms.RoundTrips);

    [Benchmark(Baseline = true, Description = ".NET Channel<long> + Task", OperationsPerInvoke = TaskPrograms.RoundTrips)]
    public async Task<long> DotNet()
    {
        var a = Channel.CreateBounded<long>(1);
        var b = Channel.CreateBounded<long>(1);
        var echo = Task.Run(async () =>
        {
            await foreach (var x in a.Reader.ReadAllAsync()) await b.Writer.WriteAsync(x);
        });
        var sum = 0L;
        for (long n = TaskPrograms.RoundTrips; n > 0; n--)
        {
            await a.Writer.WriteAsync(n);
            sum += await b.Reader.ReadAsync();
        }
        a.Writer.Complete();
        await echo;
        return sum == Expected ? sum : throw new InvalidOperationException($"ping-pong summed {sum}");
    }

    [Benchmark(Description = "JitVm chan.send/chan.recv", OperationsPerInvoke = TaskPrograms.RoundTrips)]
    public long JitVm() => TaskSetup.Run(_isolate, _function, _arguments);
}

/// <summary>A ring of 100 tasks passing a token (examples/ring.jvm); per hop, task creation included.</summary>
[SimpleJob(warmupCount: TaskSetup.Warmup, iterationCount: TaskSetup.Iterations)]
[MedianColumn]
public class RingBenchmark
{
    private const int Hops = TaskPrograms.RingTasks * TaskPrograms.RingLaps;
    private Isolate _isolate = null!;
    private int _function;
    private readonly long[] _arguments = [TaskPrograms.RingTasks, TaskPrograms.RingLaps];

    [GlobalSetup(Target = nameof(JitVm))]
    public void Setup() => (_isolate, _function) = TaskSetup.Isolate("ring", Hops, null, _arguments);

    [Benchmark(Baseline = true, Description = ".NET Channel<long> + Task", OperationsPerInvoke = Hops)]
    public async Task<long> DotNet()
    {
        var channels = Enumerable.Range(0, TaskPrograms.RingTasks + 1).Select(_ => Channel.CreateBounded<long>(1)).ToArray();
        var nodes = new Task[TaskPrograms.RingTasks];
        for (var k = 0; k < nodes.Length; k++)
        {
            var (input, output) = (channels[k].Reader, channels[k + 1].Writer);
            nodes[k] = Task.Run(async () =>
            {
                for (var lap = 0; lap < TaskPrograms.RingLaps; lap++) await output.WriteAsync(await input.ReadAsync() + 1);
            });
        }
        var token = 0L;
        for (var lap = 0; lap < TaskPrograms.RingLaps; lap++)
        {
            await channels[0].Writer.WriteAsync(token);
            token = await channels[^1].Reader.ReadAsync();
        }
        await Task.WhenAll(nodes);
        return token == Hops ? token : throw new InvalidOperationException($"ring ended at {token}");
    }

    [Benchmark(Description = "JitVm tasks and channels", OperationsPerInvoke = Hops)]
    public long JitVm() => TaskSetup.Run(_isolate, _function, _arguments);
}

/// <summary>examples/parallel_map.jvm's work (Collatz steps of 1 .. 200,000 in 8 tasks) with 1 and 2 workers:
/// the ratio is the parallel speed-up on this machine.</summary>
[SimpleJob(warmupCount: TaskSetup.Warmup, iterationCount: TaskSetup.Iterations)]
[MedianColumn]
public class ParallelMapBenchmark
{
    private static readonly long Expected = TaskPrograms.ParallelMapExpected(TaskPrograms.MapRange, TaskPrograms.MapTasks);
    private readonly long[] _arguments = [TaskPrograms.MapRange, TaskPrograms.MapTasks];
    private Isolate _isolate = null!;
    private int _function;

    [GlobalSetup(Target = nameof(OneWorker))]
    public void SetupOne() => (_isolate, _function) = TaskSetup.Isolate("parallel_map", Expected, 1, _arguments);

    [GlobalSetup(Target = nameof(TwoWorkers))]
    public void SetupTwo() => (_isolate, _function) = TaskSetup.Isolate("parallel_map", Expected, 2, _arguments);

    [Benchmark(Baseline = true, Description = "JitVm, 1 worker")]
    public long OneWorker() => TaskSetup.Run(_isolate, _function, _arguments);

    [Benchmark(Description = "JitVm, 2 workers")]
    public long TwoWorkers() => TaskSetup.Run(_isolate, _function, _arguments);
}
