using JitVm.Bytecode;
using JitVm.Cli;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;

namespace JitVm.Tests;

/// <summary>Requirements of spec/ (listed in spec/coverage.md) that no other test or conformance case checks.</summary>
public sealed class SpecStatementTests
{
    /// <summary>Two one-function modules whose binaries differ only in the first instruction's opcode byte, and
    /// that byte's offset.</summary>
    private static (byte[] Binary, int Offset) WithFirstOpcodeAt()
    {
        static byte[] Write(OpCode first) => ModuleWriter.Write(new ModuleDefinition([new FunctionType([], [])], [],
            [new FunctionDefinition("f", 0, true, [], [new Instruction(first), new Instruction(OpCode.Return)])], [], []));
        var nop = Write(OpCode.Nop);
        var other = Write(OpCode.Drop);
        Assert.Equal(nop.Length, other.Length);
        var differing = Enumerable.Range(0, nop.Length).Where(i => nop[i] != other[i]).ToList();
        return (nop, Assert.Single(differing));
    }

    /// <summary>spec/README.md: implementations give reserved encodings no meaning. Every opcode byte the table does
    /// not assign is a format error at its offset, and so is every format version but 1 and 2.</summary>
    [Fact]
    public void ReservedEncodingsAreRejected()
    {
        var (binary, offset) = WithFirstOpcodeAt();
        Assert.NotNull(ModuleReader.Read(binary));
        var assigned = OpCodeTable.All.Select(info => (int)info.OpCode).ToHashSet();
        var reserved = Enumerable.Range(0, 256).Where(b => !assigned.Contains(b)).ToList();
        Assert.NotEmpty(reserved);
        foreach (var value in reserved)
        {
            var mutated = (byte[])binary.Clone();
            mutated[offset] = (byte)value;
            var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(mutated, "reserved.jvmb"));
            Assert.Contains($"byte 0x{offset:x}", error.Message, StringComparison.Ordinal);
            Assert.Contains($"unknown opcode 0x{value:x2}", error.Message, StringComparison.Ordinal);
        }
        foreach (var version in new byte[] { 0, 6, 255 })
        {
            var mutated = (byte[])binary.Clone();
            mutated[4] = version;
            Assert.Contains($"unsupported format version {version}", Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(mutated)).Message, StringComparison.Ordinal);
        }
    }

    /// <summary>spec/binary-format.md §2.8: a debug section with fewer local names than locals and fewer lines than
    /// instructions is read; the missing locals are unnamed and the missing lines unknown, in traps and in the
    /// disassembly, which assembles to the same code.</summary>
    [Fact]
    public void MissingDebugEntriesAreUnnamedOrUnknown()
    {
        // f (a: i64) with one declared local: a / local1 traps DivideByZero at pc 2, which has no line entry.
        var definition = new ModuleDefinition([new FunctionType([VmType.I64], [VmType.I64])], [],
            [new FunctionDefinition("f", 0, true, [VmType.I64],
                [new Instruction(OpCode.LocalGet, 0), new Instruction(OpCode.LocalGet, 1), new Instruction(OpCode.I64DivS), new Instruction(OpCode.Return)])
            {
                LocalNames = ["a"],
                Lines = [10, 11],
            }], [], [], "short.src");
        var read = ModuleReader.Read(ModuleWriter.Write(definition), "short.jvmb");
        Assert.Equal(["a"], read.Functions[0].LocalNames!);
        Assert.Equal(2, read.Functions[0].Lines!.Count);
        Assert.Equal(0, read.Functions[0].LineAt(2));

        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit })
        {
            var isolate = new Isolate(Module.FromDefinition(read), options: new IsolateOptions { Tier = tier });
            var trap = Assert.Throws<TrapException>(() => isolate.Invoke("f", Value.I64(7)));
            Assert.Equal(TrapCode.DivideByZero, trap.Code);
            Assert.Equal("  at f (short.src, pc 2: i64.div_s)", trap.Report().ReplaceLineEndings("\n").Split('\n')[1]);
        }

        var text = Disassembler.Disassemble(read);
        Assert.Contains(".func f (a: i64) -> (i64) export", text, StringComparison.Ordinal);
        Assert.Contains("    .local i64\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        var again = Assembler.Assemble(text, "again.jvm");
        Assert.Equal(read.Functions[0].Code.Select(i => (i.OpCode, i.Operand)), again.Functions[0].Code.Select(i => (i.OpCode, i.Operand)));
        Assert.Equal(text, Disassembler.Disassemble(again));
        Assert.Equal(0, again.Functions[0].LineAt(2));
    }

    /// <summary>spec/execution.md §5.2: a fuel limit is never negative, whichever way it is given.</summary>
    [Fact]
    public void ANegativeFuelLimitIsRejectedEverywhere()
    {
        var module = Module.FromText(".func main () -> (i64)\n    i64.const 1\n    return\n.end\n", "fuel.jvm");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Isolate(module, options: new IsolateOptions { Fuel = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Isolate(module, options: new IsolateOptions { Fuel = long.MinValue }));
        var isolate = new Isolate(module, options: new IsolateOptions { Fuel = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => isolate.Fuel = -1);
        Assert.Equal(0, isolate.Fuel);
        isolate.Fuel = 10;
        Assert.Equal(1, isolate.Invoke("main")[0].AsI64);

        var path = Path.Combine(Directory.CreateTempSubdirectory("jitvm-fuel-").FullName, "fuel.jvm");
        File.WriteAllText(path, ".func main () -> (i64)\n    i64.const 1\n    return\n.end\n");
        var stderr = new StringWriter();
        Assert.Equal(64, new CliApp(new MemoryStream(), stderr).Run(["run", path, "--fuel", "-1"]));
        Assert.Equal("jitvm: --fuel must not be negative\n", stderr.ToString().ReplaceLineEndings("\n"));
        Directory.Delete(Path.GetDirectoryName(path)!, true);
    }
}
