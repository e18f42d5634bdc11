namespace JitVm.Benchmarks;

/// <summary>
/// The garbage-collector programs: binary-trees (as in examples/binary_trees.jvm, max depth 16, without printing)
/// and an allocation loop, each as JitVm assembly text and as the equivalent C#.
/// </summary>
internal static class GcPrograms
{
    /// <summary>Maximum tree depth, as in examples/binary_trees.jvm.</summary>
    public const long BinaryTreesMaxDepth = 16;

    /// <summary>Objects the allocation-rate loop allocates per invocation.</summary>
    public const long AllocationN = 10_000_000;

    /// <summary>
    /// binary-trees: a stretch tree of depth 17, a long-lived tree of depth 16 kept alive throughout, and
    /// 2^(16 - d + 4) short-lived trees of each depth d = 4, 6, ..., 16, each walked by <c>check</c> (its node count).
    /// <c>main</c> returns the sum of every check value the printing version prints. A node is two words: pointers
    /// to its children, or two untagged zeros for a leaf. bottom_up and check are copied from the example.
    /// </summary>
    public const string BinaryTreesText = """
        .func bottom_up (depth: i64) -> (ptr)
            .local node ptr
            i64.const 2
            alloc
            local.set node
            local.get depth
            br_ifz leaf
            local.get node
            i64.const 0
            local.get depth
            i64.const 1
            i64.sub
            call bottom_up
            store.p
            local.get node
            i64.const 1
            local.get depth
            i64.const 1
            i64.sub
            call bottom_up
            store.p
        leaf:
            local.get node
            return
        .end

        .func check (node: ptr) -> (i64)
            local.get node
            i64.const 0
            load.w
            isptr
            br_ifz leaf
            local.get node
            i64.const 0
            load.p
            call check
            local.get node
            i64.const 1
            load.p
            call check
            i64.add
            i64.const 1
            i64.add
            return
        leaf:
            i64.const 1
            return
        .end

        .func main () -> (i64) export
            .local max_depth i64
            .local long_lived_tree ptr
            .local depth i64
            .local iterations i64
            .local i i64
            .local total i64
            i64.const 16
            local.set max_depth
            local.get max_depth
            i64.const 1
            i64.add
            call bottom_up
            call check
            local.set total
            local.get max_depth
            call bottom_up
            local.set long_lived_tree
            i64.const 4
            local.set depth
        depths:
            i64.const 1
            local.get max_depth
            local.get depth
            i64.sub
            i64.const 4
            i64.add
            i64.shl
            local.set iterations
            i64.const 0
            local.set i
        trees:
            local.get total
            local.get depth
            call bottom_up
            call check
            i64.add
            local.set total
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get iterations
            i64.lt_s
            br_if trees
            local.get depth
            i64.const 2
            i64.add
            local.tee depth
            local.get max_depth
            i64.le_s
            br_if depths
            local.get total
            local.get long_lived_tree
            call check
            i64.add
            return
        .end
        """;

    /// <summary>The C# binary-trees node: two references, null for a leaf (two words of payload, like the VM's).</summary>
    public sealed class Node
    {
        public Node? Left;
        public Node? Right;
    }

    private static Node BottomUp(long depth)
    {
        var node = new Node();
        if (depth != 0)
        {
            node.Left = BottomUp(depth - 1);
            node.Right = BottomUp(depth - 1);
        }
        return node;
    }

    private static long Check(Node node) => node.Left is null ? 1 : Check(node.Left) + Check(node.Right!) + 1;

    /// <summary>The same program in C#: returns the sum of all check values (the VM's main has 16 built in).</summary>
    public static long BinaryTrees(long maxDepth)
    {
        var total = Check(BottomUp(maxDepth + 1));
        var longLived = BottomUp(maxDepth);
        for (var depth = 4L; depth <= maxDepth; depth += 2)
        {
            var iterations = 1L << (int)(maxDepth - depth + 4);
            for (var i = 0L; i < iterations; i++) total += Check(BottomUp(depth));
        }
        return total + Check(longLived);
    }

    /// <summary>
    /// Allocates n objects of 2 words (24 bytes with the header) in a bottom-tested loop, each kept in a local
    /// only until the next one replaces it (so all but the last are garbage), and returns n + the last object's
    /// length, so the result depends on the allocations. The loop is bottom-tested: n must be at least 1 (the
    /// verifier requires <c>last</c> to be assigned before it is read).
    /// </summary>
    public const string AllocationText = """
        .func allocate (n: i64) -> (i64) export
            .local i i64
            .local last ptr
        top:
            i64.const 2
            alloc
            local.set last
            local.get i
            i64.const 1
            i64.add
            local.tee i
            local.get n
            i64.lt_s
            br_if top
            local.get i
            local.get last
            len
            i64.add
            return
        .end
        """;

    /// <summary>Where the C# loop stores each array, so the arrays escape (no stack allocation, no elimination).</summary>
    public static long[]? Sink;

    /// <summary>Allocates n <c>new long[2]</c> (40 bytes each on x64: object header, method table, length, 2 elements), each stored into <see cref="Sink"/>; returns n + the last length.</summary>
    public static long Allocate(long n)
    {
        long i = 0;
        for (; i < n; i++) Sink = new long[2];
        return i + (Sink?.Length ?? 0);
    }
}
