using System.Text;

namespace JitVm.Tests;

/// <summary>
/// Generates a module whose function <c>big (n: i64, t: i64) -> (i64 f64)</c> has thousands of instructions in
/// "sections" that each leave the operand stack empty: additions, short loops, calls, allocations and loads and
/// stores through ptr and word locals that stay live from the first piece to the last, f64 arithmetic, a forward
/// branch over a hundred and fifty sections, a br_table and prints. The whole body is an outer loop run n times (a
/// loop that spans every piece); optional knobs add a trap, a throw or a self tail call at given sections.
/// </summary>
internal sealed class JitPieceGenerator
{
    /// <summary>How many sections (about eight instructions each).</summary>
    public int Sections { get; init; } = 1_000;

    /// <summary>The section before which <c>100 / (t - 1)</c> traps when t is 1; -1 for none. (The forward branches
    /// skip sections [300m + 10, 300m + 160) when the sum is odd, and [500m + 250, 500m + 350) in part: a trap or throw
    /// meant to be reached is placed outside them.)</summary>
    public int TrapAt { get; init; } = -1;

    /// <summary>The section before which the function throws <c>stop (acc)</c> when t is 2; -1 for none.</summary>
    public int ThrowAt { get; init; } = -1;

    /// <summary>Whether the outer loop is a self tail call (<c>return_call big</c>) instead of a backward branch, and a
    /// return_call_indirect to <c>finish</c> ends the function.</summary>
    public bool TailCalls { get; init; }

    /// <summary>Whether main runs big in three tasks (n, n + 1 and n + 2 rounds) and joins them, printing the first
    /// results of two and returning the third's: tasks that use up their quantum yield at a loop header inside a
    /// piece and resume in the interpreter.</summary>
    public bool Tasks { get; init; }

    /// <summary>Declared i64 locals that no instruction uses, after the others.</summary>
    public int UnusedLocals { get; init; }

    public string Generate()
    {
        var o = new StringBuilder();
        o.Append(".import print_i64 (i64) -> ()\n");
        o.Append(".tag stop (i64)\n");
        o.Append(".type ending (i64 f64) -> (i64 f64)\n");
        o.Append(".func helper (x: i64) -> (i64)\n    local.get x\n    i64.const 3\n    i64.mul\n    return\n.end\n");
        o.Append(".func finish (a: i64, f: f64) -> (i64 f64)\n    local.get a\n    i64.const 1\n    i64.add\n    local.get f\n    return\n.end\n");
        o.Append(".func big (n: i64, t: i64) -> (i64 f64)\n");
        foreach (var local in new[] { "acc i64", "i i64", "p ptr", "q ptr", "w word", "f f64", "keep ptr", "kw word" }) o.Append("    .local ").Append(local).Append('\n');
        o.Append("    i64.const 4\n    alloc\n    local.set p\n    i64.const 1\n    alloc\n    local.set q\n    local.get q\n    word.of_ptr\n    local.set w\n");
        for (var i = 0; i < UnusedLocals; i++) o.Append("    .local unused").Append(i).Append(" i64\n");
        // keep and kw are set here and read only at the end of each round: the pieces between do not use them, so
        // they live in the frame only (a root the collector updates, part of any image) while those run.
        o.Append("    i64.const 3\n    alloc\n    local.set keep\n    local.get keep\n    i64.const 0\n    i64.const 99\n    store.i\n");
        o.Append("    i64.const 5\n    alloc\n    word.of_ptr\n    local.set kw\n");
        o.Append("outer:\n");
        var skip = -1;
        for (var k = 0; k < Sections; k++)
        {
            if (k == TrapAt) o.Append("    i64.const 100\n    local.get t\n    i64.const 1\n    i64.sub\n    i64.div_s\n    drop\n");
            if (k == ThrowAt) o.Append($"    local.get t\n    i64.const 2\n    i64.ne\n    br_if nothrow{k}\n    local.get acc\n    throw stop\nnothrow{k}:\n");
            if (k % 300 == 10 && k + 150 < Sections)
            {
                skip = k + 150;
                o.Append($"    local.get acc\n    i64.const 2\n    i64.rem_s\n    br_if skip{skip}\n");
            }
            if (k == skip) o.Append($"skip{k}:\n");
            if (k % 500 == 250 && k + 100 < Sections)
                o.Append($"    local.get acc\n    i64.const 3\n    i64.rem_u\n    br_table (table{k}a table{k}b) table{k + 100}\ntable{k}a:\n    local.get acc\n    i64.const 7\n    i64.add\n    local.set acc\ntable{k}b:\n");
            if (k % 500 == 350 && k >= 100) o.Append($"table{k}:\n");
            o.Append((k % 7) switch
            {
                0 => $"    local.get acc\n    i64.const {k}\n    i64.add\n    local.set acc\n",
                1 => $"    i64.const 0\n    local.set i\nl{k}:\n    local.get i\n    i64.const 1\n    i64.add\n    local.tee i\n    local.get acc\n    i64.add\n    local.set acc\n    local.get i\n    i64.const 5\n    i64.lt_s\n    br_if l{k}\n",
                2 => "    local.get acc\n    call helper\n    i64.const 1000003\n    i64.rem_s\n    local.set acc\n",
                3 => $"    local.get p\n    i64.const {k % 4}\n    local.get p\n    i64.const {(k + 1) % 4}\n    load.i\n    local.get acc\n    i64.add\n    store.i\n    i64.const 2\n    alloc\n    local.set q\n",
                4 => "    local.get f\n    f64.const 0.5\n    f64.add\n    local.set f\n",
                5 => "    local.get acc\n    local.get w\n    word.as_ptr\n    len\n    i64.add\n    local.get q\n    len\n    i64.add\n    local.set acc\n    local.get q\n    word.of_ptr\n    local.set w\n",
                _ => "    local.get p\n    i64.const 0\n    load.i\n    local.get acc\n    i64.xor\n    i64.const 1000003\n    i64.rem_u\n    local.set acc\n",
            });
            if (k % 400 == 399) o.Append("    local.get acc\n    call print_i64\n");
        }
        o.Append("    local.get acc\n    local.get keep\n    i64.const 0\n    load.i\n    i64.add\n    local.get kw\n    word.as_ptr\n    len\n    i64.add\n    local.set acc\n");
        if (TailCalls)
        {
            // The next round replaces this frame: the depth limit of the runs below would stop a call.
            o.Append("    local.get n\n    i64.const 1\n    i64.sub\n    local.tee n\n    i64.const 0\n    i64.gt_s\n    br_ifz last\n");
            o.Append("    local.get n\n    local.get t\n    return_call big\nlast:\n    local.get acc\n    local.get f\n    func.ref finish\n    return_call_indirect ending\n.end\n");
        }
        else
        {
            o.Append("    local.get n\n    i64.const 1\n    i64.sub\n    local.tee n\n    i64.const 0\n    i64.gt_s\n    br_if outer\n");
            o.Append("    local.get acc\n    local.get f\n    return\n.end\n");
        }
        if (Tasks)
        {
            o.Append(".func main (n: i64, t: i64) -> (i64 f64)\n    .local a ptr\n    .local b ptr\n    .local c ptr\n");
            foreach (var (task, extra) in new[] { ("a", 0), ("b", 1), ("c", 2) })
                o.Append($"    local.get n\n    i64.const {extra}\n    i64.add\n    local.get t\n    task.spawn big\n    local.set {task}\n");
            foreach (var task in new[] { "a", "c" })
                o.Append($"    local.get {task}\n    task.join (i64 i64) -> (i64 f64)\n    drop\n    call print_i64\n");
            o.Append("    local.get b\n    task.join (i64 i64) -> (i64 f64)\n    return\n.end\n");
            return o.ToString();
        }
        o.Append("""
            .func main (n: i64, t: i64) -> (i64 f64)
                .catch stop start after caught
            start:
                local.get n
                local.get t
                call big
                return
            after:
                unreachable
            caught:
                call print_i64
                i64.const -1
                f64.const 0
                return
            .end

            """);
        return o.ToString();
    }
}
