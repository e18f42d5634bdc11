using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.FuzzDriver;

/// <summary>
/// Instruction-level edits of a binary module: it is read (without verification), one function's code, locals or
/// signature is changed, and it is written again, so the mutant is well formed and tests the verifier and the
/// tiers rather than the reader. Part of <see cref="ByteMutator"/>.
/// </summary>
internal static class InstructionMutator
{
    private static readonly long[] InterestingOperands =
    [
        0, 1, -1, 2, 3, 7, 8, 255, 256, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x1_0000_0001, long.MaxValue, long.MinValue, 1L << 61, 1L << 35, 65_535, 1_000_000,
    ];

    private static readonly VmType[] Types = [VmType.I64, VmType.F64, VmType.Ptr, VmType.Word];

    /// <summary>The mutant, or null when <paramref name="bytes"/> does not read as a module (an earlier edit broke it).</summary>
    public static byte[]? Mutate(byte[] bytes, Random random)
    {
        ModuleDefinition module;
        try
        {
            module = ModuleReader.Read(bytes);
        }
        catch (JitVmException)
        {
            return null;
        }
        if (module.Functions.Count == 0) return null;
        var functions = module.Functions.ToList();
        var which = random.Next(functions.Count);
        var function = functions[which];
        var code = function.Code.ToList();
        var locals = function.Locals.ToList();
        var typeIndex = function.TypeIndex;
        switch (random.Next(10))
        {
            case 0:
            case 1:
                // Another instruction with the same kind of operand keeps the operand meaningful.
                if (code.Count > 0)
                {
                    var at = random.Next(code.Count);
                    var kind = code[at].OpCode.Info().Operand;
                    var same = OpCodeTable.All.Where(i => i.Operand == kind).ToList();
                    code[at] = code[at] with { OpCode = same[random.Next(same.Count)].OpCode };
                }
                break;
            case 2:
                if (code.Count > 0)
                {
                    var at = random.Next(code.Count);
                    code[at] = code[at] with { Operand = InterestingOperands[random.Next(InterestingOperands.Length)] };
                }
                break;
            case 3:
                if (code.Count > 0) code.RemoveAt(random.Next(code.Count));
                break;
            case 4:
                if (code.Count > 0)
                {
                    var at = random.Next(code.Count);
                    code.Insert(random.Next(code.Count + 1), code[at]);
                }
                break;
            case 5:
                if (code.Count > 1)
                {
                    int a = random.Next(code.Count), b = random.Next(code.Count);
                    (code[a], code[b]) = (code[b], code[a]);
                }
                break;
            case 6:
                {
                    // A new operand-free instruction (conversions, heap access, stack shuffles ...).
                    var plain = OpCodeTable.All.Where(i => i.Operand == OperandKind.None).ToList();
                    code.Insert(random.Next(code.Count + 1), new Instruction(plain[random.Next(plain.Count)].OpCode));
                    break;
                }
            case 7:
                if (locals.Count > 0 && random.Next(2) == 0) locals[random.Next(locals.Count)] = Types[random.Next(Types.Length)];
                else locals.Add(Types[random.Next(Types.Length)]);
                break;
            case 8:
                if (module.Types.Count > 0) typeIndex = random.Next(module.Types.Count);
                break;
            default:
                if (code.Count > 0)
                {
                    // Move a branch target (or one of a br_table's) somewhere else in the function.
                    var at = random.Next(code.Count);
                    var target = random.Next(code.Count + 1);
                    code[at] = code[at].Targets is { Length: > 0 } targets
                        ? code[at] with { Targets = [.. targets.Select((t, i) => i == random.Next(targets.Length) ? target : t)] }
                        : code[at] with { Operand = target };
                }
                break;
        }
        functions[which] = new FunctionDefinition(function.Name, typeIndex, function.Exported, locals, code)
        {
            LocalNames = function.LocalNames,
            Lines = function.Lines,
            LabelNames = function.LabelNames,
        };
        var mutated = new ModuleDefinition(module.Types, module.Imports, functions, module.Globals, module.Data, module.SourceName);
        try
        {
            return ModuleWriter.Write(mutated);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or JitVmException)
        {
            // The writer refuses what it cannot encode (an operand out of its kind's range): try another edit.
            return null;
        }
    }
}
