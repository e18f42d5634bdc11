using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// Typed function references in the formats (spec/values.md §1.5, spec/binary-format.md §2.7): the instructions and
/// the local type code 5 need format version 4; a typed local survives text → binary → text; a hand-built module
/// whose typed local is not an i64, or names no signature, is refused by the writer or the verifier.
/// </summary>
public sealed class TypedReferenceFormatTests
{
    private const string Source = """
        .type unary (i64) -> (i64)
        .func twice (x: i64) -> (i64)
            local.get x
            i64.const 2
            i64.mul
            return
        .end
        .func main () -> (i64)
            .local f ref unary
            ref.func twice
            local.set f
            i64.const 4
            local.get f
            call_ref unary
            return
        .end
        """;

    [Theory]
    [InlineData("ref.func", "i64.const 4\n    ref.func twice\n    call_indirect (i64) -> (i64)")]
    [InlineData("ref.cast", "i64.const 4\n    func.ref twice\n    ref.cast (i64) -> (i64)\n    call_indirect (i64) -> (i64)")]
    [InlineData("call_ref", "i64.const 4\n    ref.func twice\n    call_ref (i64) -> (i64)")]
    [InlineData("return_call_ref", "i64.const 4\n    ref.func twice\n    return_call_ref (i64) -> (i64)")]
    public void AVersion4InstructionNeedsVersion4(string mnemonic, string code)
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
                return
            .end
            """.Replace("return_call_ref (i64) -> (i64)\n    return", "return_call_ref (i64) -> (i64)", StringComparison.Ordinal), "v4.jvm");
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(4, binary[4]);
        var module = Module.FromDefinition(ModuleReader.Read(binary));
        Assert.Equal(8L, new Isolate(module, [], new IsolateOptions()).Invoke("main")[0].AsI64);
        var info = OpCodeTable.All.Single(r => r.Mnemonic == mnemonic);
        Assert.Equal(4, info.Since);
        binary[4] = 3;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(binary, "old.jvmb"));
        // call_ref and return_call_ref take their reference from ref.func, the first version 4 instruction there.
        var first = mnemonic is "call_ref" or "return_call_ref" ? OpCodeTable.All.Single(r => r.Mnemonic == "ref.func") : info;
        Assert.Contains($"{first.Mnemonic} (opcode 0x{(byte)first.OpCode:x2}) is new in format version 4, but the module declares version 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATypedLocalIsTypeCode5AndNeedsVersion4()
    {
        var definition = Assembler.Assemble(Source, "local.jvm");
        var main = definition.Functions[1];
        Assert.Equal([VmType.I64], main.Locals.ToArray());
        var signature = main.ReferenceLocals![0];
        Assert.Equal(new FunctionType([VmType.I64], [VmType.I64]), definition.Types[signature]);
        var binary = ModuleWriter.Write(definition);
        Assert.Equal(4, binary[4]);
        var read = ModuleReader.Read(binary);
        Assert.Equal(signature, read.Functions[1].ReferenceLocals![0]);
        Assert.Equal(8L, new Isolate(Module.FromDefinition(read), [], new IsolateOptions()).Invoke("main")[0].AsI64);

        // A module whose only version 4 feature is the typed local is still written as version 4; marked version 3,
        // it is refused at the local's type code.
        var stripped = new ModuleDefinition(definition.Types, definition.Imports,
            [definition.Functions[0], new FunctionDefinition("main", main.TypeIndex, false, main.Locals,
                [new(OpCode.I64Const, 8), new(OpCode.Return)]) { ReferenceLocals = main.ReferenceLocals }],
            definition.Globals, definition.Data);
        var bytes = ModuleWriter.Write(stripped);
        Assert.Equal(4, bytes[4]);
        bytes[4] = 3;
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(bytes, "old.jvmb"));
        Assert.Contains("local #0: a typed function reference (type 0x05) is new in format version 4, but the module declares version 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATypedLocalSurvivesDisassemblyAndReassembly()
    {
        var definition = Assembler.Assemble(Source, "local.jvm");
        var text = Disassembler.Disassemble(definition);
        Assert.Contains(".local f ref (i64) -> (i64)", text, StringComparison.Ordinal);
        Assert.Equal(ModuleWriter.Write(definition), ModuleWriter.Write(Assembler.Assemble(text, "local.jvm")));
        var unnamed = Assembler.Assemble(Source.Replace(".local f ref unary", ".local ref unary", StringComparison.Ordinal)
            .Replace("local.set f", "local.set 0", StringComparison.Ordinal).Replace("local.get f", "local.get 0", StringComparison.Ordinal), "unnamed.jvm");
        Assert.Equal(0, unnamed.Functions[1].ReferenceLocals!.Keys.Single());
        Assert.Contains(".local ref (i64) -> (i64)", Disassembler.Disassemble(unnamed), StringComparison.Ordinal);
        // A local named ref of a value type is still one.
        var named = Assembler.Assemble(".func main () -> (i64)\n    .local ref i64\n    local.get ref\n    return\n.end", "named.jvm");
        Assert.Null(named.Functions[0].ReferenceLocals);
        Assert.Equal("ref", named.Functions[0].LocalNames![0]);
    }

    [Fact]
    public void AMalformedTypedLocalIsRefusedByTheWriterAndTheVerifier()
    {
        var type = new FunctionType([], [VmType.I64]);
        FunctionDefinition With(VmType local, int signature) =>
            new("main", 0, true, [local], [new(OpCode.I64Const, 0), new(OpCode.Return)])
            {
                ReferenceLocals = new Dictionary<int, int> { [0] = signature },
            };
        ModuleDefinition ModuleOf(FunctionDefinition function) => new([type], [], [function], [], []);

        var notI64 = ModuleOf(With(VmType.F64, 0));
        Assert.Contains("must be a declared local of type i64", Assert.Throws<ArgumentException>(() => ModuleWriter.Write(notI64)).Message, StringComparison.Ordinal);
        var error = Assert.Throws<Verification.VerificationException>(() => Module.FromDefinition(notI64));
        Assert.Equal(Verification.VerificationRule.TypeMismatch, error.Rule);

        var noSignature = ModuleOf(With(VmType.I64, 3));
        error = Assert.Throws<Verification.VerificationException>(() => Module.FromDefinition(noSignature));
        Assert.Equal(Verification.VerificationRule.InvalidIndex, error.Rule);
        Assert.Contains("signature #3, which does not exist", error.Message, StringComparison.Ordinal);
    }

    /// <summary>return_call_indirect's signature mismatch names return_call_indirect, not call_indirect.</summary>
    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void AReturnCallIndirectMismatchNamesItsInstruction(ExecutionTier tier)
    {
        var definition = Assembler.Assemble("""
            .func pair (a: i64, b: i64) -> (i64)
                local.get a
                return
            .end
            .func main () -> (i64)
                i64.const 1
                func.ref pair
                return_call_indirect (i64) -> (i64)
            .end
            """, "tail.jvm");
        var isolate = new Isolate(Module.FromDefinition(definition), [], new IsolateOptions { Tier = tier });
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal(TrapCode.SignatureMismatch, trap.Code);
        Assert.Contains("return_call_indirect expects (i64) -> (i64)", trap.Message, StringComparison.Ordinal);
    }
}
