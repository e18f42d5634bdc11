namespace JitVm.Benchmarks;

/// <summary>
/// The benchmark kernels, once as JitVm assembly text and once as the equivalent C#. The VM programs are written
/// as straightforward stack code (local.get/local.set, i64 ops, bottom-tested br_if loops), the way a simple
/// compiler would emit them; the C# methods are the obvious loops over the same values.
/// </summary>
internal static class VmPrograms
{
    /// <summary>fib(30) = 832,040: 2,692,537 calls.</summary>
    public const long FibN = 30;

    /// <summary>The seed loop's size from the issue: 1e8 iterations.</summary>
    public const long LoopN = 100_000_000;

    /// <summary>Primes up to 1e7 (664,579): one 10,000,001-word (80 MB) object per run.</summary>
    public const long SieveN = 10_000_000;

    /// <summary>1e8 multiply/remainder steps.</summary>
    public const long MulModN = 100_000_000;

    /// <summary>Every kernel, for <c>--check</c>.</summary>
    public static readonly Kernel[] Kernels =
    [
        new("fib", FibText, FibN, Fib),
        new("loop", LoopText, LoopN, Loop),
        new("sieve", SieveText, SieveN, Sieve),
        new("mulmod", MulModText, MulModN, MulMod),
    ];

    /// <summary>Recursive fib, the same shape as the C# <see cref="Fib"/>.</summary>
    public const string FibText = """
        .func fib (n: i64) -> (i64) export
            local.get n
            i64.const 2
            i64.lt_s
            br_if small
            local.get n
            i64.const 1
            i64.sub
            call fib
            local.get n
            i64.const 2
            i64.sub
            call fib
            i64.add
            return
        small:
            local.get n
            return
        .end
        """;

    /// <summary>The seed loop: s = s + i*2 for i = 1..n (wrapping i64), returns s.</summary>
    public const string LoopText = """
        .func loop (n: i64) -> (i64) export
            .local i i64
            .local s i64
            i64.const 1
            local.set i
            local.get n
            i64.const 1
            i64.lt_s
            br_if done
        top:
            local.get s
            local.get i
            i64.const 2
            i64.mul
            i64.add
            local.set s
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.le_s
            br_if top
        done:
            local.get s
            return
        .end
        """;

    /// <summary>
    /// Sieve of Eratosthenes up to n: allocates n+1 words (0 = still a prime candidate, 1 = composite), returns
    /// the number of primes in [2, n].
    /// </summary>
    public const string SieveText = """
        .func sieve (n: i64) -> (i64) export
            .local flags ptr
            .local i i64
            .local j i64
            .local count i64
            local.get n
            i64.const 1
            i64.add
            alloc
            local.set flags
            i64.const 2
            local.set i
        outer:
            local.get i
            local.get n
            i64.gt_s
            br_if done
            local.get flags
            local.get i
            load.i
            br_if next
            local.get count
            i64.const 1
            i64.add
            local.set count
            local.get i
            local.get i
            i64.mul
            local.set j
        inner:
            local.get j
            local.get n
            i64.gt_s
            br_if next
            local.get flags
            local.get j
            i64.const 1
            store.i
            local.get j
            local.get i
            i64.add
            local.set j
            br inner
        next:
            local.get i
            i64.const 1
            i64.add
            local.set i
            br outer
        done:
            local.get count
            return
        .end
        """;

    /// <summary>x = (x*31 + i) % 1000003 for i = 0..n-1, x starting at 0; returns x.</summary>
    public const string MulModText = """
        .func mulmod (n: i64) -> (i64) export
            .local i i64
            .local x i64
            local.get n
            i64.const 0
            i64.le_s
            br_if done
        top:
            local.get x
            i64.const 31
            i64.mul
            local.get i
            i64.add
            i64.const 1000003
            i64.rem_s
            local.set x
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if top
        done:
            local.get x
            return
        .end
        """;

    public static long Fib(long n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);

    public static long Loop(long n)
    {
        long s = 0;
        for (long i = 1; i <= n; i++) s = unchecked(s + (i * 2));
        return s;
    }

    /// <summary>One 64-bit word per entry, like the VM's heap object, so both touch the same amount of memory.</summary>
    public static long Sieve(long n)
    {
        var composite = new long[n + 1];
        long count = 0;
        for (long i = 2; i <= n; i++)
        {
            if (composite[i] != 0) continue;
            count++;
            for (var j = i * i; j <= n; j += i) composite[j] = 1;
        }
        return count;
    }

    public static long MulMod(long n)
    {
        long x = 0;
        for (long i = 0; i < n; i++) x = ((x * 31) + i) % 1000003;
        return x;
    }
}

/// <summary>A benchmark kernel: the VM program (its exported function has the kernel's name), its input, and the C# version.</summary>
internal sealed record Kernel(string Name, string Text, long N, Func<long, long> Reference);
