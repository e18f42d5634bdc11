namespace JitVm.Benchmarks;

/// <summary>The VM programs of the task and channel benchmarks (<see cref="TaskBenchmarks"/>), and their C# twins
/// over <see cref="System.Threading.Channels.Channel{T}"/> and <see cref="Task"/>.</summary>
internal static class TaskPrograms
{
    /// <summary>Spawns and joins per invocation.</summary>
    public const int Spawns = 2_000;

    /// <summary>Round trips per invocation (two one-way messages each).</summary>
    public const int RoundTrips = 2_000;

    /// <summary>Tasks in the ring, and laps per invocation (hops = tasks × laps).</summary>
    public const int RingTasks = 100, RingLaps = 50;

    /// <summary>The parallel-map work: Collatz steps of 1 .. MapRange over MapTasks tasks.</summary>
    public const int MapRange = 200_000, MapTasks = 8;

    public const string Text = """
        .func noop () -> ()
            return
        .end

        ; n times: spawn a task that returns at once, and join it.
        .func spawn_join (n: i64) -> (i64)
        loop:
            local.get n
            br_ifz done
            task.spawn noop
            task.join () -> ()
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br loop
        done:
            i64.const 0
            return
        .end

        ; Sends every word it receives on in back on out, until in is closed.
        .func echo (in: ptr, out: ptr) -> ()
            .local w word
        loop:
            local.get in
            chan.recv
            br_ifz done
            local.set w
            local.get out
            local.get w
            chan.send
            br loop
        done:
            drop
            return
        .end

        ; n round trips with an echo task over two channels of capacity 1; the sum of what came back.
        .func ping_pong (n: i64) -> (i64)
            .local a ptr
            .local b ptr
            .local t ptr
            .local sum i64
            i64.const 1
            chan.new
            local.set a
            i64.const 1
            chan.new
            local.set b
            local.get a
            local.get b
            task.spawn echo
            local.set t
        loop:
            local.get n
            br_ifz done
            local.get a
            local.get n
            word.of_i64
            chan.send
            local.get b
            chan.recv
            drop
            word.as_i64
            local.get sum
            i64.add
            local.set sum
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br loop
        done:
            local.get a
            chan.close
            local.get t
            task.join () -> ()
            local.get sum
            return
        .end

        .func node (in: ptr, out: ptr, laps: i64) -> ()
        loop:
            local.get laps
            br_ifz done
            local.get out
            local.get in
            chan.recv
            drop
            word.as_i64
            i64.const 1
            i64.add
            word.of_i64
            chan.send
            local.get laps
            i64.const 1
            i64.sub
            local.set laps
            br loop
        done:
            return
        .end

        ; examples/ring.jvm as a function: n tasks between n + 1 channels, main closing the ring; the final token.
        .func ring (n: i64, laps: i64) -> (i64)
            .local channels ptr
            .local tasks ptr
            .local k i64
            .local token i64
            local.get n
            i64.const 1
            i64.add
            alloc
            local.set channels
            local.get n
            alloc
            local.set tasks
        make:
            local.get channels
            local.get k
            i64.const 1
            chan.new
            store.p
            local.get k
            i64.const 1
            i64.add
            local.tee k
            local.get n
            i64.le_s
            br_if make
            i64.const 0
            local.set k
        spawn:
            local.get tasks
            local.get k
            local.get channels
            local.get k
            load.p
            local.get channels
            local.get k
            i64.const 1
            i64.add
            load.p
            local.get laps
            task.spawn node
            store.p
            local.get k
            i64.const 1
            i64.add
            local.tee k
            local.get n
            i64.lt_s
            br_if spawn
        lap:
            local.get channels
            i64.const 0
            load.p
            local.get token
            word.of_i64
            chan.send
            local.get channels
            local.get n
            load.p
            chan.recv
            drop
            word.as_i64
            local.set token
            local.get laps
            i64.const 1
            i64.sub
            local.tee laps
            br_if lap
            i64.const 0
            local.set k
        join:
            local.get tasks
            local.get k
            load.p
            task.join () -> ()
            local.get k
            i64.const 1
            i64.add
            local.tee k
            local.get n
            i64.lt_s
            br_if join
            local.get token
            return
        .end

        .func steps (n: i64) -> (i64)
            .local count i64
        loop:
            local.get n
            i64.const 1
            i64.eq
            br_if done
            local.get count
            i64.const 1
            i64.add
            local.set count
            local.get n
            i64.const 1
            i64.and
            br_if odd
            local.get n
            i64.const 1
            i64.shr_u
            local.set n
            br loop
        odd:
            local.get n
            i64.const 3
            i64.mul
            i64.const 1
            i64.add
            local.set n
            br loop
        done:
            local.get count
            return
        .end

        .func chunk (from: i64, to: i64) -> (i64)
            .local sum i64
        loop:
            local.get from
            local.get to
            i64.ge_s
            br_if done
            local.get sum
            local.get from
            call steps
            i64.add
            local.set sum
            local.get from
            i64.const 1
            i64.add
            local.set from
            br loop
        done:
            local.get sum
            return
        .end

        ; examples/parallel_map.jvm as a function: Collatz steps of 1 .. range - 1 in `tasks` chunks, joined and summed.
        .func parallel_map (range: i64, tasks: i64) -> (i64)
            .local handles ptr
            .local size i64
            .local k i64
            .local total i64
            local.get tasks
            alloc
            local.set handles
            local.get range
            local.get tasks
            i64.div_s
            local.set size
        spawn:
            local.get handles
            local.get k
            local.get k
            local.get size
            i64.mul
            i64.const 1
            i64.add
            local.get k
            i64.const 1
            i64.add
            local.get size
            i64.mul
            i64.const 1
            i64.add
            task.spawn chunk
            store.p
            local.get k
            i64.const 1
            i64.add
            local.tee k
            local.get tasks
            i64.lt_s
            br_if spawn
            i64.const 0
            local.set k
        join:
            local.get total
            local.get handles
            local.get k
            load.p
            task.join (i64 i64) -> (i64)
            i64.add
            local.set total
            local.get k
            i64.const 1
            i64.add
            local.tee k
            local.get tasks
            i64.lt_s
            br_if join
            local.get total
            return
        .end
        """;

    public static long CollatzSteps(long n)
    {
        var count = 0L;
        while (n != 1)
        {
            n = (n & 1) == 0 ? n >> 1 : 3 * n + 1;
            count++;
        }
        return count;
    }

    /// <summary>What parallel_map returns: the steps of 1 .. (range / tasks) × tasks.</summary>
    public static long ParallelMapExpected(long range, long tasks)
    {
        var total = 0L;
        for (var n = 1L; n < range / tasks * tasks + 1; n++) total += CollatzSteps(n);
        return total;
    }
}
