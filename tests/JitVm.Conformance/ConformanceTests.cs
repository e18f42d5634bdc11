using JitVm.Bytecode;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;

namespace JitVm.Conformance;

/// <summary>Runs every case under cases/ and every example on every tier and checks their inline expectations; a
/// stress tier must also give exactly what its plain tier gives.</summary>
public sealed class ConformanceTests
{
    private static readonly string Root = AppContext.BaseDirectory;

    public static TheoryData<string, Tier> Cases()
    {
        var data = new TheoryData<string, Tier>();
        foreach (var name in CaseNames())
            foreach (var tier in Enum.GetValues<Tier>())
                // Examples allocate millions of objects and pass millions of safepoints; collecting at every
                // allocation or deoptimising at every safepoint would take hours.
                if (!(name.StartsWith("examples/", StringComparison.Ordinal) && CaseRunner.IsTestMode(tier)))
                    data.Add(name, tier);
        return data;
    }

    public static TheoryData<string> CaseFiles()
    {
        var data = new TheoryData<string>();
        foreach (var name in CaseNames()) data.Add(name);
        return data;
    }

    internal static IEnumerable<string> CaseNames()
    {
        foreach (var folder in new[] { "cases", "examples" })
        {
            var directory = Path.Combine(Root, folder);
            if (!Directory.Exists(directory)) continue;
            foreach (var file in Directory.EnumerateFiles(directory, "*.jvm", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                yield return Path.GetRelativePath(Root, file).Replace('\\', '/');
        }
    }

    internal static ConformanceCase Load(string name) => ConformanceCase.Parse(Path.Combine(Root, name), name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void CaseBehavesAsExpected(string name, Tier tier)
    {
        var testCase = Load(name);
        var outcome = CaseRunner.Run(testCase, tier);

        if (testCase.ExpectedFormatError is { } formatError)
        {
            Assert.True(outcome.LoadError is not null && outcome.Rule is null, $"expected a format error containing '{formatError}', got {outcome}");
            Assert.Contains(formatError, outcome.LoadError, StringComparison.Ordinal);
            return;
        }
        if (testCase.ExpectedVerifyError is { } rule)
        {
            Assert.True(outcome.Rule is not null, $"expected verification error {rule}, got {outcome}");
            Assert.Equal(rule, outcome.Rule.ToString());
            return;
        }
        Assert.True(outcome.LoadError is null, $"the case did not load: {outcome.LoadError}");

        var expectedOutput = string.Concat(testCase.ExpectedOutput.Select(line => line + "\n"));
        Assert.Equal(expectedOutput, outcome.Output);
        Assert.Equal(testCase.ExpectedTrap, outcome.Trap);
        if (testCase.ExpectedTrapLocation is { } location) Assert.Equal(location, outcome.TrapLocation);
        if (testCase.ExpectedFuel is { } fuel) Assert.Equal(fuel, outcome.FuelUsed);

        // A test mode changes when the VM collects or deoptimises, never what the program observes: a stress tier
        // gives the plain tier's output, trap, VM stack and fuel exactly; so does saved code, against the JIT's.
        var plain = CaseRunner.Plain(tier);
        if (plain != tier)
        {
            var reference = CaseRunner.Run(testCase, plain);
            // How far a program gets before a nonzero timeout depends on the machine's speed: compare the rest.
            if (testCase.TimeoutMilliseconds is > 0)
                (reference, outcome) = (Unclocked(reference), Unclocked(outcome));
            Assert.Equal(reference.Full, outcome.Full);
        }
    }

    private static CaseOutcome Unclocked(CaseOutcome outcome) => outcome with { FuelUsed = 0, TrapLocation = null, Stack = null };

    /// <summary>text → binary → text → binary gives identical bytes, and the binary module behaves like the text one.</summary>
    [Theory]
    [MemberData(nameof(CaseFiles))]
    public void CaseRoundTripsThroughBinaryAndText(string name)
    {
        var testCase = Load(name);
        // Modules that must fail to load may not survive the binary reader's limits; they have no round trip.
        if (testCase.ExpectsFailureToLoad) return;
        var definition = Assembler.Assemble(testCase.Text, Path.GetFileName(testCase.Path));
        var binary = ModuleWriter.Write(definition);
        var text = Disassembler.Disassemble(ModuleReader.Read(binary));
        var again = ModuleWriter.Write(Assembler.Assemble(text, "disassembly.jvm"));
        Assert.True(binary.AsSpan().SequenceEqual(again), $"round trip changed the binary ({binary.Length} vs {again.Length} bytes); disassembly:\n{text}");
    }

    [Fact]
    public void EveryInstructionIsCovered()
    {
        var used = new HashSet<OpCode>();
        foreach (var name in CaseNames())
        {
            var testCase = Load(name);
            if (testCase.ExpectsFailureToLoad) continue;
            foreach (var function in Assembler.Assemble(testCase.Text, name).Functions)
                foreach (var instruction in function.Code) used.Add(instruction.OpCode);
        }
        var missing = OpCodeTable.All.Where(info => !used.Contains(info.OpCode)).Select(info => info.Mnemonic).ToList();
        Assert.True(missing.Count == 0, "instructions no runnable case uses: " + string.Join(", ", missing));
    }

    /// <summary>Every trap code except HostError (raised by host code, tested in unit tests) occurs in some case.</summary>
    [Fact]
    public void EveryTrapCodeIsCovered()
    {
        var expected = CaseNames().Select(Load).Select(c => c.ExpectedTrap).Where(t => t is not null).ToHashSet();
        var missing = Enum.GetNames<Diagnostics.TrapCode>().Where(code => code != "HostError" && !expected.Contains(code)).ToList();
        Assert.True(missing.Count == 0, "trap codes no case expects: " + string.Join(", ", missing));
    }
}
