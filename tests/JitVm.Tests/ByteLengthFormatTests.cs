using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// spec/binary-format.md §1: alloc.bytes and len.bytes are new in format version 5. A module using one is written as
/// version 5; the same bytes marked version 4 are rejected at the instruction, naming it; a module without them keeps
/// its older version.
/// </summary>
public sealed class ByteLengthFormatTests
{
    [Theory]
    [InlineData("alloc.bytes", "i64.const 13\n    alloc.bytes\n    len.bytes", 13L)]
    [InlineData("len.bytes", "data.alloc s\n    len.bytes", 5L)]
    public void AVersion5InstructionNeedsVersion5(string mnemonic, string code, long expected)
    {
        var definition = Assembler.Assemble($"""
            .data s "hello"
            .func main () -> (i64)
                {code}
                return
            .end
            """, "v5.jvm");
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(5, binary[4]);
        var module = Module.FromDefinition(ModuleReader.Read(binary));
        Assert.Equal(expected, new Isolate(module, [], new IsolateOptions()).Invoke("main")[0].AsI64);
        var info = OpCodeTable.All.Single(r => r.Mnemonic == mnemonic);
        Assert.Equal(5, info.Since);
        binary[4] = 4;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary, "old.jvmb"));
        Assert.Contains($"{mnemonic} (opcode 0x{(byte)info.OpCode:x2}) is new in format version 5, but the module declares version 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModuleWithoutByteLengthInstructionsKeepsItsOlderVersion()
    {
        var definition = Assembler.Assemble("""
            .data s "hello"
            .func main () -> (i64)
                data.alloc s
                len
                return
            .end
            """, "v1.jvm");
        Assert.Equal(1, ModuleWriter.Write(definition)[4]);
    }
}
