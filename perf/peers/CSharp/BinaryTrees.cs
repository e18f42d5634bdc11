/// <summary>The Crafting Interpreters binary-trees benchmark's class: a node with item, depth, left and right.</summary>
internal sealed class Tree
{
    private readonly long _item;
    private readonly long _depth;
    private readonly Tree? _left;
    private readonly Tree? _right;

    /// <summary>Builds a complete tree of the given depth whose children have the items 2 item - 1 and 2 item.</summary>
    public Tree(long item, long depth)
    {
        _item = item;
        _depth = depth;
        if (depth > 0)
        {
            var item2 = item + item;
            depth = depth - 1;
            _left = new Tree(item2 - 1, depth);
            _right = new Tree(item2, depth);
        }
    }

    /// <summary>The node's depth as built; the book stores it and never reads it, nor does this program.</summary>
    public long Depth => _depth;

    /// <summary>The book's check: the item of a leaf, else item + left's check - right's check.</summary>
    public long Check() => _left is null ? _item : _item + _left.Check() - _right!.Check();
}

/// <summary>
/// The Crafting Interpreters binary-trees benchmark (test/benchmark/binary_trees.lox): the same loops and output as
/// the book's version, without its final "elapsed:" lines.
/// </summary>
internal static class BinaryTrees
{
    /// <summary>Runs the benchmark and prints its lines.</summary>
    public static void Run()
    {
        const long minDepth = 4;
        const long maxDepth = 14;
        const long stretchDepth = maxDepth + 1;

        Console.WriteLine("stretch tree of depth:");
        Console.WriteLine(stretchDepth);
        Console.WriteLine("check:");
        Console.WriteLine(new Tree(0, stretchDepth).Check());

        var longLivedTree = new Tree(0, maxDepth);

        // iterations = 2 ** maxDepth
        long iterations = 1;
        for (long d = 0; d < maxDepth; d++)
            iterations = iterations * 2;

        for (var depth = minDepth; depth < stretchDepth; depth += 2)
        {
            long check = 0;
            for (long i = 1; i <= iterations; i++)
                check = check + new Tree(i, depth).Check() + new Tree(-i, depth).Check();

            Console.WriteLine("num trees:");
            Console.WriteLine(iterations * 2);
            Console.WriteLine("depth:");
            Console.WriteLine(depth);
            Console.WriteLine("check:");
            Console.WriteLine(check);

            iterations = iterations / 4;
        }

        Console.WriteLine("long lived tree of depth:");
        Console.WriteLine(maxDepth);
        Console.WriteLine("check:");
        Console.WriteLine(longLivedTree.Check());
    }
}
