using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// The module a saved assembly carries is read with each body's instructions decoded on first use
/// (<see cref="ModuleReader.ReadCarried"/>): what it reads is what the eager reader reads, a truncation is still
/// refused at load, and a malformed body is refused, with the eager reader's message, when its code is first read.
/// </summary>
public sealed class CarriedModuleReaderTests
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
    public void ACarriedModuleReadsAsTheEagerReaderReadsIt(string name)
    {
        var binary = ExampleBinary(name);
        var carried = ModuleReader.ReadCarried(binary.ToArray(), name);
        var eager = ModuleReader.Read(binary, name);
        Assert.Equal(eager.Functions.Count, carried.Functions.Count);
        for (var i = 0; i < eager.Functions.Count; i++)
            Assert.Equal(eager.Functions[i].Code.AsSpan().ToArray(), carried.Functions[i].Code.AsSpan().ToArray());
        Assert.Equal(binary, ModuleWriter.Write(carried));
    }

    /// <summary>Section and body sizes are checked at load, so a carried module cut short is refused there, as by
    /// the eager reader: deferring the instructions defers no check of the module's extent.</summary>
    [Theory]
    [MemberData(nameof(Examples))]
    public void EveryTruncationIsRefusedAtLoadAsByTheEagerReader(string name)
    {
        var binary = ExampleBinary(name);
        for (var length = 0; length < binary.Length; length++)
        {
            var prefix = binary.AsSpan(0, length).ToArray();
            var eager = Record.Exception(() => ModuleReader.Read(prefix));
            var carried = Record.Exception(() => ModuleReader.ReadCarried(prefix.ToArray(), null));
            // A prefix that ends between sections is a smaller module whose bodies are whole, which both readers read.
            Assert.Equal(eager is null, carried is null);
            if (carried is not null) Assert.IsType<ModuleFormatException>(carried);
        }
    }

    /// <summary>A body of the right size with an unknown opcode: the eager reader refuses the module; the carried one
    /// loads it (with its module-wide checks), and refuses the function with the same message when its code is first
    /// read, which running the function does.</summary>
    [Fact]
    public void AMalformedBodyIsRefusedAtFirstUse()
    {
        var binary = ModuleWriter.Write(Module.FromText(".func f () -> (i64) export\n    i64.const 5\n    return\n.end\n").Definition);
        ReadOnlySpan<byte> constant = [(byte)OpCode.I64Const, 5];
        var at = binary.AsSpan().IndexOf(constant);
        Assert.True(at > 0, "the constant is not in the binary");
        Assert.Equal(-1, binary.AsSpan(at + 1).IndexOf(constant));
        byte unknown = 0xFF;
        Assert.False(OpCodeTable.TryGet(unknown, out _));
        binary[at] = unknown;

        var eager = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary, "damaged"));
        Assert.Contains("function #0, pc 0: unknown opcode 0xff", eager.Message, StringComparison.Ordinal);

        var module = Module.FromCarried(ModuleReader.ReadCarried(binary, "damaged"));
        var atFirstRead = Assert.Throws<ModuleFormatException>(() => module.Definition.Functions[0].Code);
        Assert.Equal(eager.Message, atFirstRead.Message);
        var atFirstCall = Assert.Throws<ModuleFormatException>(() => new Isolate(module).Invoke(0));
        Assert.Equal(eager.Message, atFirstCall.Message);
    }
}
