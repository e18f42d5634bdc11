using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using JitVm.Hosting;
using JitVm.Jit;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// The limits of the JIT (spec/execution.md §8.3): the table in the spec names exactly the constants of the code
/// with their values, and each limit holds at its boundary: a function exactly at it is compiled, one unit over it
/// stays interpreted, and both give the same result.
/// </summary>
public sealed partial class JitLimitTests
{
    /// <summary>The rows of the table under "Limits of the JIT" in spec/execution.md: value and constant.</summary>
    private static List<(string Limit, long Value, string Constant)> SpecifiedLimits()
    {
        var text = File.ReadAllText(RepositoryPaths.File("spec", "execution.md"));
        var start = text.IndexOf("**Limits of the JIT.**", StringComparison.Ordinal);
        Assert.True(start >= 0, "spec/execution.md has no 'Limits of the JIT' paragraph");
        var rows = new List<(string, long, string)>();
        var inTable = false;
        foreach (var line in text[start..].Split('\n'))
        {
            if (!line.StartsWith('|'))
            {
                if (inTable) break;
                continue;
            }
            inTable = true;
            var cells = line.Split('|').Select(c => c.Trim()).ToArray();
            if (cells[1] is "Limit" || cells[1].StartsWith("---", StringComparison.Ordinal)) continue;
            var value = Number().Match(cells[2]);
            var constant = Constant().Match(cells[3]);
            Assert.True(value.Success && constant.Success, $"a row of the JIT limits table has no value or constant: {line}");
            rows.Add((cells[1], long.Parse(value.Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture), constant.Groups[1].Value));
        }
        return rows;
    }

    [GeneratedRegex(@"^\d[\d,]*")]
    private static partial Regex Number();

    [GeneratedRegex(@"^`(\w+\.\w+)`$")]
    private static partial Regex Constant();

    private static long ConstantValue(string name)
    {
        var (typeName, member) = (name[..name.IndexOf('.', StringComparison.Ordinal)], name[(name.IndexOf('.', StringComparison.Ordinal) + 1)..]);
        var types = typeof(Isolate).Assembly.GetTypes().Where(t => t.Name == typeName).ToList();
        var type = Assert.Single(types);
        var field = type.GetField(member, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static);
        Assert.True(field is { IsLiteral: true }, $"{name} is not a constant of {type.FullName}");
        return Convert.ToInt64(field!.GetRawConstantValue(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public void TheSpecifiedLimitsAreTheConstantsOfTheCode()
    {
        var rows = SpecifiedLimits();
        Assert.True(rows.Count >= 7, $"the JIT limits table of spec/execution.md §8.3 has {rows.Count} rows");
        foreach (var (limit, value, constant) in rows)
            Assert.True(ConstantValue(constant) == value, $"spec/execution.md §8.3 gives {limit} as {value}, but {constant} is {ConstantValue(constant)}");

        // Every limit the JIT enforces is in the table: a new constant in JitLimits must be specified.
        var named = rows.Select(r => r.Constant).ToHashSet();
        var constants = typeof(JitLimits).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => $"JitLimits.{f.Name}");
        var unspecified = constants.Where(c => !named.Contains(c)).ToList();
        Assert.True(unspecified.Count == 0, "JIT limits missing from spec/execution.md §8.3: " + string.Join(", ", unspecified));
        Assert.Contains("Store.StackReserve", named);
        Assert.Contains("IsolateOptions.DefaultCompileBudget", named);
    }

    /// <summary>Compiles the module under the jit policy on a thread with room for any frame, runs
    /// <paramref name="entry"/>, and says for each named function whether it was compiled.</summary>
    private static (long Result, Dictionary<string, bool> Compiled, Dictionary<string, string?> Reasons) RunUnderJit(
        string text, string entry, IsolateOptions? options = null)
    {
        var module = Module.FromText(text, "limits.jvm");
        long result = 0;
        Exception? failure = null;
        // 64 MiB: the compiled frames of these functions are hundreds of KiB; on a smaller stack a call would run in
        // the interpreter for lack of room, and the test would not see compiled code run.
        var thread = new Thread(() =>
        {
            try
            {
                var isolate = new Isolate(module, options: (options ?? new IsolateOptions()) with { Tier = ExecutionTier.Jit });
                result = isolate.Invoke(entry)[0].AsI64;
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 64 * 1024 * 1024);
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException("the run failed", failure);
        var compiled = new Dictionary<string, bool>();
        var reasons = new Dictionary<string, string?>();
        for (var i = 0; i < module.Definition.Functions.Count; i++)
        {
            var function = module.Decoded(i);
            compiled[function.Name] = function.Compiled is not null;
            reasons[function.Name] = function.NotCompiledReason;
        }
        return (result, compiled, reasons);
    }

    private static DecodedBounds Bounds(string text, string function)
    {
        var module = Module.FromText(text, "limits.jvm");
        var decoded = module.Decoded(module.FindFunction(function) - module.Definition.Imports.Count);
        return new DecodedBounds(decoded.Analysis.Definition.Code.Length, JitLimits.CilLocalsBound(decoded), JitLimits.SpillWorkBound(decoded));
    }

    private readonly record struct DecodedBounds(int Instructions, long CilLocals, long SpillWork);

    /// <summary>0 + 1 + 1 + ... in <paramref name="instructions"/> instructions (a nop pads an odd count).</summary>
    private static string Sums(string name, int instructions)
    {
        var text = new StringBuilder($".func {name} () -> (i64)\n    i64.const 0\n");
        var additions = (instructions - 2) / 2;
        for (var i = 0; i < additions; i++) text.Append("    i64.const 1\n    i64.add\n");
        if ((instructions - 2) % 2 == 1) text.Append("    nop\n");
        return text.Append("    return\n.end\n").ToString();
    }

    /// <summary>A function over the limit is compiled in pieces where its operand stack is empty (JitPieceTests); a
    /// sum whose stack never empties has no such place, so one instruction over the limit keeps it interpreted.</summary>
    [Fact]
    public void AFunctionOfMaxInstructionsIsCompiledAndOneMoreWithNoPlaceToCutStaysInterpreted()
    {
        var text = Sums("at", JitLimits.MaxInstructions) + Sums("over", JitLimits.MaxInstructions + 1) + """
            .func main () -> (i64)
                call at
                call over
                i64.sub
                return
            .end
            """;
        Assert.Equal(JitLimits.MaxInstructions, Bounds(text, "at").Instructions);
        Assert.Equal(JitLimits.MaxInstructions + 1, Bounds(text, "over").Instructions);
        var (result, compiled, reasons) = RunUnderJit(text, "main");
        Assert.Equal(0, result); // both add 1 the same 1,999 times
        Assert.True(compiled["at"]);
        Assert.False(compiled["over"]);
        Assert.Equal($"{JitLimits.MaxInstructions + 1} instructions exceed the JIT limit of {JitLimits.MaxInstructions} and the operand stack is never " +
                     $"empty in the {JitLimits.MaxPieceInstructions} instructions after pc 0, so the function cannot be compiled in pieces", reasons["over"]);
    }

    /// <summary>A function with <paramref name="locals"/> i64 locals that stores 41 in the last, adds 1 and
    /// returns it: the largest operand stack is 2 and it has 6 instructions.</summary>
    private static string ManyLocals(string name, int locals)
    {
        var text = new StringBuilder($".func {name} () -> (i64)\n");
        for (var i = 0; i < locals; i++) text.Append("    .local i64\n");
        return text.Append($"    i64.const 41\n    local.set {locals - 1}\n    local.get {locals - 1}\n    i64.const 1\n    i64.add\n    return\n.end\n").ToString();
    }

    [Fact]
    public void AFunctionAtTheCilLocalsBoundIsCompiledAndOneLocalMoreStaysInterpreted()
    {
        // 16 + L + 4 * 2 + 6 = L + 30.
        var atLimit = JitLimits.MaxCilLocals - JitLimits.RuntimeStateLocals - 4 * 2 - 6;
        var text = ManyLocals("at", atLimit) + ManyLocals("over", atLimit + 1) + """
            .func main () -> (i64)
                call at
                call over
                i64.add
                return
            .end
            """;
        Assert.Equal(JitLimits.MaxCilLocals, Bounds(text, "at").CilLocals);
        Assert.Equal(JitLimits.MaxCilLocals + 1, Bounds(text, "over").CilLocals);
        var (result, compiled, reasons) = RunUnderJit(text, "main");
        Assert.Equal(84, result);
        Assert.True(compiled["at"]);
        Assert.False(compiled["over"]);
        Assert.Contains($"could need {JitLimits.MaxCilLocals + 1} CIL locals, over the JIT limit of {JitLimits.MaxCilLocals}", reasons["over"], StringComparison.Ordinal);
    }

    /// <summary>A function with <paramref name="words"/> word locals and <paramref name="safepoints"/> calls of
    /// <c>nothing</c>, returning 1: its largest operand stack is 1, so each safepoint may spill words + 1 values.</summary>
    private static string Spills(string name, int words, int safepoints)
    {
        var text = new StringBuilder($".func {name} () -> (i64)\n");
        for (var i = 0; i < words; i++) text.Append("    .local word\n");
        for (var i = 0; i < safepoints; i++) text.Append("    call nothing\n");
        return text.Append("    i64.const 1\n    return\n.end\n").ToString();
    }

    [Fact]
    public void AFunctionAtTheSpillWorkBoundIsCompiledAndOneOverStaysInterpreted()
    {
        // 128 x (2,047 + 1) = 262,144 = MaxSpillWork; 109 x (2,404 + 1) = 262,145, one over.
        Assert.Equal(262_144, JitLimits.MaxSpillWork);
        var text = Spills("at", 2_047, 128) + Spills("over", 2_404, 109) + """
            .func nothing () -> ()
                return
            .end
            .func main () -> (i64)
                i64.const 2
                return
            .end
            """;
        Assert.Equal(JitLimits.MaxSpillWork, Bounds(text, "at").SpillWork);
        Assert.Equal(JitLimits.MaxSpillWork + 1, Bounds(text, "over").SpillWork);
        // The jit policy compiles every function at the first entry; main does not call the two, whose frames
        // (every word local spilled at every safepoint) are megabytes: the limit is about what is compiled.
        var (result, compiled, reasons) = RunUnderJit(text, "main");
        Assert.Equal(2, result);
        Assert.True(compiled["at"]);
        Assert.False(compiled["over"]);
        Assert.Equal($"its safepoints could spill {JitLimits.MaxSpillWork + 1} values, over the JIT limit of {JitLimits.MaxSpillWork}", reasons["over"]);
    }

    [Fact]
    public void AFunctionWhoseCostIsTheBudgetIsCompiledAndOneUnitLessKeepsItInterpreted()
    {
        var text = Sums("main", 10);
        var cost = 10 + IsolateOptions.CompileCostPerFunction;
        var fits = RunUnderJit(text, "main", new IsolateOptions { CompileBudget = cost });
        Assert.Equal(4, fits.Result);
        Assert.True(fits.Compiled["main"]);

        var short1 = RunUnderJit(text, "main", new IsolateOptions { CompileBudget = cost - 1 });
        Assert.Equal(4, short1.Result);
        Assert.False(short1.Compiled["main"]);
        Assert.Null(short1.Reasons["main"]); // not a limit of the function: another isolate with budget compiles it
    }
}
