using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Text;
using Xunit;

namespace JitVm.Tests.Hostile;

/// <summary>
/// What the assembler accepts, the writer writes, the reader reads and the disassembler prints back, for the edges
/// of source names and line numbers: every value is either accepted by all of them (and survives
/// text → binary → text → binary byte for byte) or rejected by each with a clear error.
/// </summary>
public sealed class TextBinaryAgreementTests
{
    private static byte[] Sleb(long value)
    {
        var bytes = new List<byte>();
        while (true)
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            var done = (value == 0 && (b & 0x40) == 0) || (value == -1 && (b & 0x40) != 0);
            bytes.Add(done ? b : (byte)(b | 0x80));
            if (done) return [.. bytes];
        }
    }

    private static byte[] Section(byte id, params byte[] payload) => [id, (byte)payload.Length, .. payload];

    /// <summary>A module with one function, main () -> () { return }, whose only instruction has source line
    /// <paramref name="line"/>, and no source name: exactly what the writer produces for that module.</summary>
    private static byte[] BinaryWithLine(long line) =>
    [
        0x00, (byte)'j', (byte)'v', (byte)'m', 1, 0, 0, 0,
        .. Section(1, 1, 0, 0),
        .. Section(3, 1, 4, (byte)'m', (byte)'a', (byte)'i', (byte)'n', 0, 0),
        .. Section(6, 1, 3, 0, 1, (byte)OpCode.Return),
        .. Section(7, [0, 1, 0, 1, .. Sleb(line), 0]),
    ];

    public static TheoryData<long> ExtremeLines() =>
        [int.MinValue, int.MinValue + 1L, -2, -1, 0, 1, 2, int.MaxValue - 1L, int.MaxValue, int.MaxValue + 1L, uint.MaxValue, long.MaxValue, long.MinValue];

    [Theory]
    [MemberData(nameof(ExtremeLines))]
    public void TheAssemblerAndTheReaderAcceptTheSameLineNumbers(long line)
    {
        var inRange = line is >= 0 and <= int.MaxValue;
        var binary = BinaryWithLine(line);
        // .line N on line 2 makes line 3, the return, source line N.
        var text = $".func main () -> ()\n.line {line}\n    return\n.end\n";
        if (!inRange)
        {
            var readError = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary));
            Assert.Contains($"line number {line} is out of range", readError.Message, StringComparison.Ordinal);
            var assembleError = Assert.Throws<ModuleFormatException>(() => Assembler.Assemble(text));
            Assert.Equal($"line 2: line number {line} is out of range: .line takes 0 to {int.MaxValue}", assembleError.Message);
            return;
        }

        var read = ModuleReader.Read(binary);
        Assert.Equal([(int)line], read.Functions[0].Lines!);
        var assembled = Assembler.Assemble(text);
        Assert.Equal([(int)line], assembled.Functions[0].Lines!);
        Assert.Equal(binary, ModuleWriter.Write(assembled));
        // Disassembling the binary gives text that assembles to the same bytes.
        var disassembly = Disassembler.Disassemble(read);
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(disassembly, "again.jvm")));
    }

    [Fact]
    public void AnInstructionPastTheLargestLineIsAnAssemblerError()
    {
        var error = Assert.Throws<ModuleFormatException>(() => Assembler.Assemble(".func main () -> ()\n.line 2147483647\n    nop\n\n    return\n.end\n", "max.jvm"));
        Assert.Equal("max.jvm:5: this instruction would be source line 2147483649, past the largest line number 2147483647 " +
                     "(.line 2147483647 on line 2 numbers the lines after it)", error.Message);
    }

    [Fact]
    public void LinesUpToTheLargestSurviveTextBinaryTextBinary()
    {
        var definition = Assembler.Assemble(".func main () -> ()\n.line 2147483645\n    nop\n    nop\n    return\n.end\n", "near.jvm");
        Assert.Equal([int.MaxValue - 2, int.MaxValue - 1, int.MaxValue], definition.Functions[0].Lines!);
        var binary = ModuleWriter.Write(definition);
        var text = Disassembler.Disassemble(ModuleReader.Read(binary));
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(text, "again.jvm")));
    }

    [Fact]
    public void TheWriterRejectsANegativeLineInsteadOfWritingWhatTheReaderRejects()
    {
        var function = new FunctionDefinition("main", 0, false, [], [new Instruction(OpCode.Nop), new Instruction(OpCode.Return)]) { Lines = [3, -1] };
        var module = new ModuleDefinition([new FunctionType([], [])], [], [function], [], []);
        var error = Assert.Throws<ArgumentException>(() => ModuleWriter.Write(module));
        Assert.StartsWith("function 'main', pc 1: source line -1 is negative", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBuilderAcceptsTheLargestLineAndItRoundTrips()
    {
        var builder = new ModuleBuilder("built.src");
        builder.Function("main", [], []).Line(int.MaxValue).Return();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModuleBuilder().Function("f", [], []).Line(-1));
        var binary = ModuleWriter.Write(builder.ToDefinition());
        var read = ModuleReader.Read(binary);
        Assert.Equal([int.MaxValue], read.Functions[0].Lines!);
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(Disassembler.Disassemble(read))));
    }

    [Theory]
    [InlineData(".source \"\"\n.func main () -> ()\n    return\n.end\n")]
    [InlineData(".source \"\"\n")]
    [InlineData(".source \"named.src\"\n.source \"\"\n")]
    public void AnEmptySourceNameSurvivesTextBinaryTextBinary(string text)
    {
        var definition = Assembler.Assemble(text, "first.jvm");
        Assert.Null(definition.SourceName);
        var binary = ModuleWriter.Write(definition);
        var disassembly = Disassembler.Disassemble(ModuleReader.Read(binary));
        Assert.StartsWith(".source \"\"\n", disassembly, StringComparison.Ordinal);
        var again = ModuleWriter.Write(Assembler.Assemble(disassembly, "second.jvm"));
        Assert.Equal(binary, again);
    }

    [Fact]
    public void AnEmptySourceNameMeansNoSourceNameEverywhere()
    {
        Assert.Null(new ModuleDefinition([], [], [], [], [], "").SourceName);
        Assert.Null(new ModuleBuilder("").ToDefinition().SourceName);
        // Without functions or a source name there is nothing to put in a debug section.
        Assert.Equal(8, ModuleWriter.Write(Assembler.Assemble(".source \"\"\n", "file.jvm")).Length);
    }

    [Fact]
    public void SourceAndQuotedNamesHaveTheBinaryFormatsLimits()
    {
        var longName = new string('a', ModuleLimits.MaxNameBytes + 1);
        Assert.Contains("names are at most 1024 bytes",
            Assert.Throws<ModuleFormatException>(() => Assembler.Assemble($".source \"{longName}\"\n")).Message, StringComparison.Ordinal);
        Assert.Contains("names are at most 1024 bytes",
            Assert.Throws<ModuleFormatException>(() => Assembler.Assemble($".global \"{longName}\" i64\n")).Message, StringComparison.Ordinal);
        Assert.Contains("the source name of .source is not valid UTF-8",
            Assert.Throws<ModuleFormatException>(() => Assembler.Assemble(".source \"\\xff\"\n")).Message, StringComparison.Ordinal);
        // The largest name is accepted everywhere.
        var largest = new string('é', ModuleLimits.MaxNameBytes / 2);
        var definition = Assembler.Assemble($".source \"{largest}\"\n.global \"{largest}\" i64\n");
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(largest, ModuleReader.Read(binary).Globals[0].Name);
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(Disassembler.Disassemble(ModuleReader.Read(binary)))));
        // A module built in code with a longer name cannot be written.
        var tooLong = new ModuleDefinition([], [], [], [new GlobalDefinition(largest + "é", VmType.I64, 0)], []);
        Assert.Contains("names are at most 1024 bytes", Assert.Throws<ArgumentException>(() => ModuleWriter.Write(tooLong)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QuotedAndBareSpellingsNameTheSameThing()
    {
        var text = ".global g i64 = 5\n.func main () -> (i64)\n    global.get \"g\"\n    return\n.end\n";
        var quoted = Assembler.Assemble(text.Replace(".global g", ".global \"g\"", StringComparison.Ordinal));
        Assert.Equal(ModuleWriter.Write(Assembler.Assemble(text)), ModuleWriter.Write(quoted));
        // An integer operand is an index; a quoted one is a name.
        var byName = Assembler.Assemble(".global \"1\" i64\n.global x i64\n.func main () -> (i64)\n    global.get \"1\"\n    global.get 1\n    i64.add\n    return\n.end\n");
        Assert.Equal([0L, 1L], byName.Functions[0].Code.Take(2).Select(i => i.Operand));
    }
}
