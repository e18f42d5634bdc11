// The peer table's C# programs, one per argument: hello, loop, mulmod, fib or binary_trees (perf/peers/run.sh).
// Plain code as a C# programmer writes it: long arithmetic, a recursive static method, a class for the tree.
return args is [var program] && Programs.Run(program) ? 0 : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: peers-csharp hello|loop|mulmod|fib|binary_trees");
    return 2;
}

/// <summary>The programs of the peer table.</summary>
internal static class Programs
{
    /// <summary>Runs the named program and prints its result; false when there is no such program.</summary>
    public static bool Run(string program)
    {
        switch (program)
        {
            case "hello": Console.WriteLine("Hello, world!"); break;
            case "loop": Console.WriteLine(Loop()); break;
            case "mulmod": Console.WriteLine(MulMod()); break;
            case "fib": Console.WriteLine(Fib(32)); break;
            case "binary_trees": BinaryTrees.Run(); break;
            default: return false;
        }
        return true;
    }

    private static long Loop()
    {
        long sum = 0;
        for (long i = 1; i <= 100_000_000; i++)
            sum = sum + i * 2;
        return sum;
    }

    private static long MulMod()
    {
        long x = 0;
        for (long i = 1; i <= 100_000_000; i++)
            x = (x * 31 + i) % 1_000_003;
        return x;
    }

    private static long Fib(long n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);
}
