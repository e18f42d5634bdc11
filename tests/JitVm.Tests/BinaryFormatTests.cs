using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Text;
using Xunit;

namespace JitVm.Tests;

/// <summary>The binary reader rejects malformed input cleanly: never an exception other than the VM's own.
/// Seeded byte mutations of every example and conformance case run in Fuzz/MutationFuzzTests.cs.</summary>
public sealed class BinaryFormatTests
{
    private static byte[] ExampleBinary(string name) =>
        ModuleWriter.Write(Assembler.Assemble(File.ReadAllText(RepositoryPaths.File("examples", name)), name));

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.File("examples"), "*.jvm").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleRoundTripsByteForByte(string name)
    {
        var binary = ExampleBinary(name);
        var text = Disassembler.Disassemble(ModuleReader.Read(binary));
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(text)));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void EveryTruncationIsAFormatError(string name)
    {
        var binary = ExampleBinary(name);
        for (var length = 0; length < binary.Length; length++)
        {
            var prefix = binary.AsSpan(0, length).ToArray();
            var error = Record.Exception(() => ModuleReader.Read(prefix));
            // A prefix that ends exactly between sections is a valid, smaller module, which the verifier then judges.
            if (error is null) continue;
            Assert.IsType<ModuleFormatException>(error);
        }
    }

    [Fact]
    public void BadMagicAndVersionAreNamed()
    {
        var binary = ExampleBinary("fib.jvm");
        var badMagic = (byte[])binary.Clone();
        badMagic[1] = (byte)'x';
        Assert.Contains("bad magic", Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(badMagic)).Message, StringComparison.Ordinal);
        var badVersion = (byte[])binary.Clone();
        badVersion[4] = 9;
        Assert.Contains("unsupported format version 9", Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(badVersion)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlongAndOverflowingVarintsAreRejected()
    {
        // A types section whose count is an 11-byte LEB128.
        byte[] module = [0x00, (byte)'j', (byte)'v', (byte)'m', 1, 0, 0, 0, 1, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(module));
    }
}
