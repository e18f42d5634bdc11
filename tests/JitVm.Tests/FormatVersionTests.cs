using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// spec/binary-format.md: the reader accepts versions 1 to 5; a module may hold only instructions of its version or
/// older; the writer writes the oldest version that holds the module's instructions.
/// </summary>
public sealed partial class FormatVersionTests
{
    [GeneratedRegex(@"^((?:[0-9a-f]{2} )+)\s")]
    private static partial Regex HexPrefix();

    /// <summary>The bytes of the example in spec/binary-format.md §6, as printed there: a version 1 module written
    /// before version 2 existed, so reading it does not depend on this writer.</summary>
    private static byte[] SpecExample()
    {
        var spec = File.ReadAllText(RepositoryPaths.File("spec", "binary-format.md"));
        var block = spec[spec.IndexOf("00 6a 76 6d                 magic", StringComparison.Ordinal)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        var bytes = new List<byte>();
        foreach (var line in block.Split('\n'))
        {
            var match = HexPrefix().Match(line.TrimStart() + " ");
            if (!match.Success) continue;
            foreach (var hex in match.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                bytes.Add(byte.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        return [.. bytes];
    }

    [Fact]
    public void AVersion1BinaryStillLoadsRunsAndIsWrittenAgainAsVersion1()
    {
        var binary = SpecExample();
        Assert.Equal(1, binary[4]);
        var definition = ModuleReader.Read(binary, "ex.jvmb");
        var module = Module.FromDefinition(definition);
        var output = new MemoryStream();
        var isolate = new Isolate(module, StandardImports.Create(output), new IsolateOptions());
        isolate.Invoke("main");
        Assert.Equal("5\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.Equal(binary, ModuleWriter.Write(definition));
    }

    private static ModuleDefinition WithInstruction(string instruction) => Assembler.Assemble($"""
        .func main () -> (i64)
            .local p ptr
            i64.const 2
            alloc
            local.set p
            {instruction}
            return
        .end
        """, "v.jvm");

    public static TheoryData<string> Version2Instructions()
    {
        var data = new TheoryData<string>();
        foreach (var row in OpCodeTable.All.Where(r => r.Since == 2)) data.Add(row.Mnemonic);
        return data;
    }

    /// <summary>Every version 2 instruction makes the writer write version 2, and the same bytes marked version 1
    /// are rejected at that instruction's opcode, naming it.</summary>
    [Theory]
    [MemberData(nameof(Version2Instructions))]
    public void AVersion2InstructionNeedsVersion2(string mnemonic)
    {
        var info = OpCodeTable.All.Single(r => r.Mnemonic == mnemonic);
        var code = new List<Instruction> { new(OpCode.LocalGet, 0) };
        foreach (var type in info.Pops!)
        {
            code.Add(type switch
            {
                VmType.Ptr => new(OpCode.LocalGet, 0),
                VmType.F64 => new(OpCode.F64Const, 0),
                _ => new(OpCode.I64Const, 0),
            });
            if (type == VmType.Word) code.Add(new(OpCode.WordOfI64));
        }
        code.Add(new(info.OpCode));
        var definition = new ModuleDefinition([new FunctionType([VmType.Ptr], [])],
            [], [new FunctionDefinition("main", 0, exported: true, [], [.. code, new(OpCode.Return)])], [], []);
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(2, binary[4]);
        Assert.NotNull(ModuleReader.Read(binary));
        binary[4] = 1;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary, "old.jvmb"));
        Assert.Contains($"{mnemonic} (opcode 0x{(byte)info.OpCode:x2}) is new in format version 2, but the module declares version 1", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The version 3 instructions (the tail calls) make the writer write version 3; the same bytes marked
    /// version 2 are rejected at the instruction, naming it, and a version 2 module still reads as before.</summary>
    [Theory]
    [InlineData("return_call", "i64.const 4\n    return_call twice")]
    [InlineData("return_call_indirect", "i64.const 4\n    func.ref twice\n    return_call_indirect (i64) -> (i64)")]
    public void AVersion3InstructionNeedsVersion3(string mnemonic, string code)
    {
        var definition = Assembler.Assemble($"""
            .func twice (x: i64) -> (i64)
                local.get x
                i64.const 2
                i64.mul
                return
            .end
            .func main () -> (i64)
                {code}
            .end
            """, "v3.jvm");
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(3, binary[4]);
        var module = Module.FromDefinition(ModuleReader.Read(binary));
        Assert.Equal(8L, new Isolate(module, [], new IsolateOptions()).Invoke("main")[0].AsI64);
        var info = OpCodeTable.All.Single(r => r.Mnemonic == mnemonic);
        Assert.Equal(3, info.Since);
        binary[4] = 2;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary, "old.jvmb"));
        Assert.Contains($"{mnemonic} (opcode 0x{(byte)info.OpCode:x2}) is new in format version 3, but the module declares version 2", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, ModuleWriter.Write(WithInstruction("local.get p\n    i64.const 0\n    load.u16"))[4]);
    }

    [Fact]
    public void AModuleOfVersion1InstructionsIsWrittenAsVersion1()
    {
        Assert.Equal(1, ModuleWriter.Write(WithInstruction("local.get p\n    len"))[4]);
        Assert.Equal(2, ModuleWriter.Write(WithInstruction("local.get p\n    i64.const 0\n    load.u16"))[4]);
        Assert.All(OpCodeTable.All, row => Assert.InRange(row.Since, 1, (int)ModuleWriter.Version));
    }

    private const string WithHandler = """
        .tag oops (i64)
        .func main () -> (i64)
            .catch oops start after caught
        start:
            i64.const 41
            throw oops
        after:
            unreachable
        caught:
            i64.const 1
            i64.add
            return
        .end
        """;

    /// <summary>Tags and handler tables make the writer write version 4 (spec/binary-format.md §2.9, §2.10): the
    /// module reads back equal, disassembles to text that assembles to the same bytes, and runs; the same bytes
    /// marked version 3 are rejected at the tags section, naming it.</summary>
    [Fact]
    public void TagsAndHandlerTablesNeedVersion4()
    {
        var definition = Assembler.Assemble(WithHandler, "v4.jvm");
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(4, binary[4]);
        var read = ModuleReader.Read(binary);
        Assert.Equal(definition.Functions[0].Handlers, read.Functions[0].Handlers);
        Assert.Equal("oops", Assert.Single(read.Tags).Name);
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(Disassembler.Disassemble(read), "again.jvm")));
        Assert.Equal(42L, new Isolate(Module.FromDefinition(read), [], new IsolateOptions()).Invoke("main")[0].AsI64);
        Assert.Equal(4, OpCodeTable.Get(OpCode.Throw).Since);
        binary[4] = 3;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary, "old.jvmb"));
        Assert.Contains("throw (opcode 0xa0) is new in format version 4, but the module declares version 3", error.Message, StringComparison.Ordinal);
        // A tag alone (no throw) makes a version 4 module too, whose tags section a version 3 module may not have.
        var tagOnly = ModuleWriter.Write(Assembler.Assemble(".tag t ()\n.func main () -> ()\n    return\n.end\n", "tag.jvm"));
        Assert.Equal(4, tagOnly[4]);
        tagOnly[4] = 3;
        error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(tagOnly, "old.jvmb"));
        Assert.Contains("section 8 (tags) is new in format version 4, but the module declares version 3", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A module without tags or handler tables has no tags or handlers section, so modules of versions 1 to 3
    /// keep their bytes and versions (the cases above, and every conformance case's round trip, check it too).</summary>
    [Fact]
    public void AModuleWithoutExceptionsKeepsItsOlderVersionAndBytes()
    {
        var definition = WithInstruction("local.get p\n    len");
        var before = ModuleWriter.Write(definition);
        Assert.Equal(1, before[4]);
        var roundTrip = ModuleWriter.Write(ModuleReader.Read(before));
        Assert.Equal(before, roundTrip);
        Assert.DoesNotContain((byte)8, SectionIds(before));
    }

    /// <summary>Imported and exported globals travel in the global links section (id 10), new in version 5: a module
    /// that has them is written as version 5 and reads back equal; the same bytes marked version 4 are rejected at
    /// the section; a module without them keeps its older version and has no such section.</summary>
    [Fact]
    public void GlobalLinksNeedVersion5AndOtherModulesKeepTheirBytes()
    {
        var definition = Assembler.Assemble("""
            .global shared i64 = 3 export
            .global own f64
            .import global lib.count word
            .func f () -> ()
                global.get lib.count
                global.set lib.count
                return
            .end
            """, "g.jvm");
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(5, binary[4]);
        Assert.Contains((byte)10, SectionIds(binary));
        var read = ModuleReader.Read(binary, "g.jvmb");
        Assert.True(read.Globals[0].Exported);
        Assert.False(read.Globals[1].Exported);
        Assert.Equal([new GlobalImportDefinition("lib.count", VmType.Word)], read.GlobalImports);
        Assert.Equal(binary, ModuleWriter.Write(read));

        var older = (byte[])binary.Clone();
        older[4] = 4;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(older, "g.jvmb"));
        Assert.Contains("section 10 (global links) is new in format version 5, but the module declares version 4", error.Message, StringComparison.Ordinal);

        var plain = Assembler.Assemble(".global own i64 = 3\n.func f () -> ()\n    return\n.end\n", "p.jvm");
        var plainBinary = ModuleWriter.Write(plain);
        Assert.Equal(1, plainBinary[4]);
        Assert.DoesNotContain((byte)10, SectionIds(plainBinary));
    }

    private static List<byte> SectionIds(byte[] binary)
    {
        var ids = new List<byte>();
        for (var at = 8; at < binary.Length;)
        {
            ids.Add(binary[at++]);
            ulong length = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = binary[at++];
                length |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            at += (int)length;
        }
        return ids;
    }
}
