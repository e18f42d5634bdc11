using System.Text;
using System.Text.RegularExpressions;
using JitVm.Bytecode;
using Xunit;

namespace JitVm.Tests;

/// <summary>The instruction table is the single source of truth: it must be complete and the spec must match it.</summary>
public sealed class InstructionTableTests
{
    private const string Begin = "<!-- BEGIN INSTRUCTION TABLE (generated from OpCodeTable; JITVM_UPDATE_SPEC=1 dotnet test regenerates) -->";
    private const string End = "<!-- END INSTRUCTION TABLE -->";
    private const string HandOverBegin = "<!-- BEGIN HAND-OVER LIST (generated from OpCodeTable; JITVM_UPDATE_SPEC=1 dotnet test regenerates) -->";
    private const string HandOverEnd = "<!-- END HAND-OVER LIST -->";

    [Fact]
    public void EveryOpCodeHasExactlyOneRow()
    {
        var rows = OpCodeTable.All.Select(r => r.OpCode).ToList();
        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Equal(Enum.GetValues<OpCode>().Order(), rows.Order());
    }

    [Fact]
    public void MnemonicsAreUniqueAndMatchTheEnumNames()
    {
        var mnemonics = OpCodeTable.All.Select(r => r.Mnemonic).ToList();
        Assert.Equal(mnemonics.Count, mnemonics.Distinct(StringComparer.Ordinal).Count());
        foreach (var row in OpCodeTable.All)
        {
            // i64.div_s ↔ I64DivS: the enum name is the mnemonic with separators removed, case-insensitively.
            var flattened = row.Mnemonic.Replace(".", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
            Assert.True(string.Equals(flattened, row.OpCode.ToString(), StringComparison.OrdinalIgnoreCase), $"{row.OpCode} has mnemonic {row.Mnemonic}");
        }
    }

    [Fact]
    public void FixedStackEffectsMatchTheirText()
    {
        foreach (var row in OpCodeTable.All.Where(r => r.Pops is not null && r.Pushes is not null))
        {
            var text = $"[{string.Join(' ', row.Pops!.Select(t => t.Name()))}] -> [{string.Join(' ', row.Pushes!.Select(t => t.Name()))}]";
            Assert.Equal(text, row.StackEffect);
        }
    }

    [Fact]
    public void TrappingAndSafepointColumnsAreConsistent()
    {
        foreach (var row in OpCodeTable.All)
        {
            if (row.Flow == FlowKind.Call) Assert.True(row.IsSafepoint, $"{row.Mnemonic} calls, so it is a safepoint");
            Assert.InRange(row.Fuel, 0, 100);
        }
    }

    [Fact]
    public void OnlySafepointsHandOverValuesAndOnlyCallsHandOverTheirOperands()
    {
        foreach (var row in OpCodeTable.All)
        {
            if (!row.IsSafepoint) Assert.Equal(SafepointHandOver.None, row.HandOver);
            // Calls (tail calls too) hand over their arguments; so does task.spawn (to the new task); the other task and channel
            // instructions read their operands before they can collect, and replace them.
            var isTaskInstruction = row.OpCode is >= OpCode.TaskSpawn and <= OpCode.ChanClose;
            // throw hands its payload to the handler (spec/exceptions.md).
            var expected = row.OpCode == OpCode.Throw ? SafepointHandOver.TagPayload
                : row.OpCode == OpCode.TaskSpawn ? SafepointHandOver.CalleeParameters
                : isTaskInstruction ? (row.Pops is { Length: > 0 } ? SafepointHandOver.Operands : SafepointHandOver.None)
                : row.Flow != FlowKind.Call && row.OpCode is not (OpCode.ReturnCall or OpCode.ReturnCallIndirect or OpCode.ReturnCallRef) ? SafepointHandOver.None
                : row.Operand == OperandKind.Function ? SafepointHandOver.CalleeParameters : SafepointHandOver.SignatureParametersAndReference;
            Assert.Equal(expected, row.HandOver);
            // An instruction that may store a pointer into an object touches the heap.
            if (row.StoresPointer) Assert.True(row.UsesHeap, row.Mnemonic);
        }
    }

    [Fact]
    public void OnlyInstructionsThatZeroOrCopyASizedObjectChargeBySize()
    {
        var sized = OpCodeTable.All.Where(r => r.WordsPerFuel != 0).Select(r => r.OpCode).Order().ToList();
        // alloc, data.alloc and alloc.bytes zero or copy an object; the task instructions that move a graph copy its
        // words. mem.copy, mem.fill and mem.compare copy, write or read a run-time number of words.
        Assert.Equal([OpCode.Alloc, OpCode.DataAlloc, OpCode.TaskSpawn, OpCode.TaskJoin, OpCode.ChanSend, OpCode.ChanRecv, OpCode.ChanRecvFor,
            OpCode.MemCopy, OpCode.MemFill, OpCode.MemCompare, OpCode.AllocBytes], sized);
        foreach (var op in sized)
        {
            Assert.Equal(SizeFuel.UnitsPerFuel, op.Info().WordsPerFuel);
            Assert.Contains(Diagnostics.TrapCode.OutOfFuel, op.Info().Traps);
        }
    }

    [Fact]
    public void SpecInstructionTableMatchesTheCode()
    {
        var path = RepositoryPaths.File("spec", "instructions.md");
        var spec = File.ReadAllText(path);
        var start = spec.IndexOf(Begin, StringComparison.Ordinal);
        var end = spec.IndexOf(End, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"{path} must contain the generated-table markers");
        var generated = "\n" + GenerateTable();
        var current = spec[(start + Begin.Length)..end];
        if (current != generated && Environment.GetEnvironmentVariable("JITVM_UPDATE_SPEC") == "1")
        {
            File.WriteAllText(path, spec[..(start + Begin.Length)] + generated + spec[end..]);
            return;
        }
        Assert.True(current == generated,
            "spec/instructions.md's instruction table differs from OpCodeTable; run JITVM_UPDATE_SPEC=1 dotnet test to regenerate it, then review the diff.");
    }

    [Fact]
    public void SpecHandOverListMatchesTheCode()
    {
        var path = RepositoryPaths.File("spec", "gc.md");
        var spec = File.ReadAllText(path);
        var start = spec.IndexOf(HandOverBegin, StringComparison.Ordinal);
        var end = spec.IndexOf(HandOverEnd, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"{path} must contain the generated hand-over list's markers");
        var generated = "\n" + GenerateHandOverList() + "  ";
        var current = spec[(start + HandOverBegin.Length)..end];
        if (current != generated && Environment.GetEnvironmentVariable("JITVM_UPDATE_SPEC") == "1")
        {
            File.WriteAllText(path, spec[..(start + HandOverBegin.Length)] + generated + spec[end..]);
            return;
        }
        Assert.True(current == generated,
            "spec/gc.md's hand-over list (§4.1) differs from OpCodeTable; run JITVM_UPDATE_SPEC=1 dotnet test to regenerate it, then review the diff.");
    }

    /// <summary>The prose that names the safepoints lists exactly the table's, in table order.</summary>
    [Theory]
    [InlineData("values.md", "marks as a safepoint (", ")")]
    [InlineData("gc.md", "Safepoint column in the instruction table is `yes`: ", " ([instructions.md]")]
    public void SpecProseNamesExactlyTheTablesSafepoints(string file, string before, string after)
    {
        var spec = File.ReadAllText(RepositoryPaths.File("spec", file));
        var start = spec.IndexOf(before, StringComparison.Ordinal);
        Assert.True(start >= 0, $"spec/{file} no longer says \"{before}\"; update this test with the sentence that lists the safepoints");
        start += before.Length;
        var end = spec.IndexOf(after, start, StringComparison.Ordinal);
        var named = Regex.Matches(spec[start..end], "`([a-z0-9_.]+)`").Select(m => m.Groups[1].Value);
        Assert.Equal(OpCodeTable.All.Where(r => r.IsSafepoint).Select(r => r.Mnemonic), named);
    }

    private static string GenerateHandOverList()
    {
        var text = new StringBuilder();
        var safepoints = OpCodeTable.All.Where(r => r.IsSafepoint).ToList();
        foreach (var row in safepoints)
        {
            var operand = row.Operand switch { OperandKind.Function => "f", OperandKind.Signature => "sig", OperandKind.Data => "d", _ => "" };
            var name = operand.Length == 0 ? row.Mnemonic : $"{row.Mnemonic} {operand}";
            var count = row.HandOver switch
            {
                SafepointHandOver.CalleeParameters => $"the number of parameters of `{operand}`",
                SafepointHandOver.SignatureParametersAndReference => $"the number of parameters of `{operand}`, plus 1 (the function reference)",
                SafepointHandOver.Operands => $"{row.Pops!.Length} (its `{string.Join(' ', row.Pops.Select(t => t.Name()))}` operand{(row.Pops.Length > 1 ? "s are" : " is")} read before it can collect, then replaced by its results)",
                _ => row.Pops is { Length: > 0 } pops
                    ? $"0 (its `{string.Join(' ', pops.Select(t => t.Name()))}` operand{(pops.Length > 1 ? "s are" : " is")} read, not handed over)"
                    : "0",
            };
            text.Append($"  - `{name}`: {count}{(row == safepoints[^1] ? "." : ";")}\n");
        }
        return text.ToString();
    }

    private static string GenerateTable()
    {
        var text = new StringBuilder();
        text.Append("| Opcode | Since | Mnemonic | Operand | Stack effect | Flow | Fuel | Traps | Safepoint | Meaning |\n");
        text.Append("|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var row in OpCodeTable.All)
        {
            var traps = row.Traps.Length == 0 ? "—" : string.Join(", ", row.Traps);
            var operand = row.Operand == OperandKind.None ? "—" : row.Operand.ToString().ToLowerInvariant();
            var fuel = row.WordsPerFuel == 0 ? $"{row.Fuel}" : $"{row.Fuel} + ⌊words/{row.WordsPerFuel}⌋";
            text.Append($"| 0x{(byte)row.OpCode:x2} | {row.Since} | `{row.Mnemonic}` | {operand} | `{row.StackEffect}` | {row.Flow.ToString().ToLowerInvariant()} | {fuel} | {traps} | {(row.IsSafepoint ? "yes" : "no")} | {row.Meaning.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }
        return text.ToString();
    }
}
