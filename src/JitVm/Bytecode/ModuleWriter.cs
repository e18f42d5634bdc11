using System.Buffers.Binary;
using System.Text;

namespace JitVm.Bytecode;

/// <summary>
/// Writes a <see cref="ModuleDefinition"/> in the binary format of spec/binary-format.md. The output is a pure
/// function of the module, so equal modules always give identical bytes.
/// </summary>
public static class ModuleWriter
{
    /// <summary>The four bytes every module starts with: <c>\0jvm</c>.</summary>
    public static ReadOnlySpan<byte> Magic => [0x00, (byte)'j', (byte)'v', (byte)'m'];

    /// <summary>The newest format version: the reader accepts it and every version from 1 up to it. The writer writes
    /// the oldest version whose instruction set holds every instruction of the module (1 unless the module uses an
    /// instruction new in version 2), so a module a version-1 reader could run stays readable by one.</summary>
    public const uint Version = 5;

    /// <summary>The first format version whose local declarations may hold a typed function reference (type code
    /// <see cref="ReferenceTypeCode"/> followed by a signature index).</summary>
    internal const uint ReferenceLocalsSince = 4;

    /// <summary>The type code of a typed function reference <c>ref s</c> in a local declaration; a signature index follows it.</summary>
    internal const byte ReferenceTypeCode = 5;

    /// <summary>The first format version that may carry the global links section (imported and exported globals).</summary>
    internal const uint GlobalLinksSince = 5;

    private static bool HasGlobalLinks(ModuleDefinition module) => module.GlobalImports.Count > 0 || module.Globals.Any(g => g.Exported);

    /// <summary>The oldest format version the reader accepts.</summary>
    internal const uint FirstVersion = 1;

    /// <summary>The version <see cref="Write"/> gives <paramref name="module"/>: the newest <see cref="OpCodeInfo.Since"/>
    /// among its instructions, at least 1.</summary>
    internal static uint VersionFor(ModuleDefinition module)
    {
        var version = FirstVersion;
        foreach (var function in module.Functions)
        {
            if (function.ReferenceLocals is { Count: > 0 }) version = Math.Max(version, ReferenceLocalsSince);
            foreach (var instruction in function.Code)
                version = Math.Max(version, (uint)OpCodeTable.Get(instruction.OpCode).Since);
        }
        // Tags and handler tables are new in version 4 (spec/binary-format.md §1).
        if (module.Tags.Count > 0 || module.Functions.Any(f => f.Handlers.Count > 0)) version = Math.Max(version, 4);
        // Imported and exported globals are new in version 5 (the global links section, spec/binary-format.md §2.11).
        if (HasGlobalLinks(module)) version = Math.Max(version, GlobalLinksSince);
        return version;
    }

    /// <summary>Encodes the module, including its debug section when it carries names or lines.</summary>
    /// <exception cref="ArgumentException">The module holds something the binary format cannot represent, so the
    /// reader would reject the output: a name (or source name) longer than 1,024 bytes in UTF-8 or holding a lone
    /// surrogate, or a negative source line.</exception>
    public static byte[] Write(ModuleDefinition module)
    {
        var output = new ByteSink();
        output.Bytes(Magic);
        output.U32(VersionFor(module));

        Section(output, SectionId.Types, module.Types.Count > 0, body =>
        {
            body.Uleb((ulong)module.Types.Count);
            foreach (var type in module.Types)
            {
                body.Uleb((ulong)type.Parameters.Length);
                foreach (var p in type.Parameters) body.Byte((byte)p);
                body.Uleb((ulong)type.Results.Length);
                foreach (var r in type.Results) body.Byte((byte)r);
            }
        });
        Section(output, SectionId.Imports, module.Imports.Count > 0, body =>
        {
            body.Uleb((ulong)module.Imports.Count);
            foreach (var import in module.Imports)
            {
                body.Name(import.Name);
                body.Uleb((ulong)import.TypeIndex);
            }
        });
        Section(output, SectionId.Functions, module.Functions.Count > 0, body =>
        {
            body.Uleb((ulong)module.Functions.Count);
            foreach (var function in module.Functions)
            {
                body.Name(function.Name);
                body.Uleb((ulong)function.TypeIndex);
                body.Byte(function.Exported ? (byte)1 : (byte)0);
            }
        });
        Section(output, SectionId.Globals, module.Globals.Count > 0, body =>
        {
            body.Uleb((ulong)module.Globals.Count);
            foreach (var global in module.Globals)
            {
                body.Name(global.Name);
                body.Byte((byte)global.Type);
                body.Sleb(global.InitialBits);
            }
        });
        Section(output, SectionId.Data, module.Data.Count > 0, body =>
        {
            body.Uleb((ulong)module.Data.Count);
            foreach (var segment in module.Data)
            {
                body.Name(segment.Name);
                body.Uleb((ulong)segment.Bytes.Length);
                body.Bytes(segment.Bytes);
            }
        });
        Section(output, SectionId.Code, module.Functions.Count > 0, body =>
        {
            body.Uleb((ulong)module.Functions.Count);
            foreach (var function in module.Functions)
            {
                var code = new ByteSink();
                code.Uleb((ulong)function.Locals.Length);
                WriteLocals(code, function);
                code.Uleb((ulong)function.Code.Length);
                foreach (var instruction in function.Code) WriteInstruction(code, instruction);
                body.Uleb((ulong)code.Length);
                body.Bytes(code.AsSpan());
            }
        });
        var hasDebug = module.SourceName is not null ||
                       module.Functions.Any(f => f.LocalNames is not null || f.Lines is not null || f.LabelNames is not null);
        Section(output, SectionId.Debug, hasDebug, body =>
        {
            body.Name(module.SourceName ?? "");
            body.Uleb((ulong)module.Functions.Count);
            foreach (var function in module.Functions)
            {
                var names = function.LocalNames ?? [];
                body.Uleb((ulong)names.Count);
                foreach (var name in names) body.Name(name);

                var lines = function.Lines ?? [];
                body.Uleb((ulong)lines.Count);
                var previous = 0;
                for (var pc = 0; pc < lines.Count; pc++)
                {
                    var line = lines[pc];
                    if (line < 0)
                        throw new ArgumentException(
                            $"function {Diagnostics.Printable.Quote(function.Name)}, pc {pc}: source line {line} is negative; lines are 0 (unknown) to {int.MaxValue}",
                            nameof(module));
                    body.Sleb(line - previous);
                    previous = line;
                }

                var labels = function.LabelNames is null ? [] : function.LabelNames.OrderBy(l => l.Key).ToArray();
                body.Uleb((ulong)labels.Length);
                foreach (var (pc, name) in labels)
                {
                    body.Uleb((ulong)pc);
                    body.Name(name);
                }
            }
        });
        // Version 4: written only when present, so a module without them keeps the bytes an older writer gave it.
        Section(output, SectionId.Tags, module.Tags.Count > 0, body =>
        {
            body.Uleb((ulong)module.Tags.Count);
            foreach (var tag in module.Tags)
            {
                body.Name(tag.Name);
                body.Uleb((ulong)tag.Parameters.Count);
                foreach (var p in tag.Parameters) body.Byte((byte)p);
            }
        });
        var withHandlers = module.Functions.Select((f, i) => (Function: f, Index: i)).Where(x => x.Function.Handlers.Count > 0).ToArray();
        Section(output, SectionId.Handlers, withHandlers.Length > 0, body =>
        {
            body.Uleb((ulong)withHandlers.Length);
            foreach (var (function, index) in withHandlers)
            {
                body.Uleb((ulong)index);
                body.Uleb((ulong)function.Handlers.Count);
                foreach (var handler in function.Handlers)
                {
                    body.Uleb((ulong)handler.Start);
                    body.Uleb((ulong)handler.End);
                    body.Uleb((ulong)handler.Tag);
                    body.Uleb((ulong)handler.Handler);
                }
            }
        });
        Section(output, SectionId.GlobalLinks, HasGlobalLinks(module), body =>
        {
            body.Uleb((ulong)module.GlobalImports.Count);
            foreach (var import in module.GlobalImports)
            {
                body.Name(import.Name);
                body.Byte((byte)import.Type);
            }
            var exported = module.Globals.Select((g, i) => (Global: g, Index: i)).Where(x => x.Global.Exported).ToArray();
            body.Uleb((ulong)exported.Length);
            foreach (var (_, index) in exported) body.Uleb((ulong)index);
        });
        return output.ToArray();
    }

    private static void WriteLocals(ByteSink code, FunctionDefinition function)
    {
        var references = function.ReferenceLocals;
        if (references is { Count: > 0 })
            foreach (var (local, _) in references)
                if ((uint)local >= (uint)function.Locals.Length || function.Locals[local] != VmType.I64)
                    throw new ArgumentException(
                        $"function {Diagnostics.Printable.Quote(function.Name)}: typed reference local #{local} must be a declared local of type i64 " +
                        $"(the function declares {function.Locals.Length})", "module");
        for (var i = 0; i < function.Locals.Length; i++)
        {
            if (references is not null && references.TryGetValue(i, out var signature))
            {
                code.Byte(ReferenceTypeCode);
                code.Uleb((ulong)signature);
            }
            else
            {
                code.Byte((byte)function.Locals[i]);
            }
        }
    }

    private static void WriteInstruction(ByteSink code, Instruction instruction)
    {
        code.Byte((byte)instruction.OpCode);
        switch (instruction.OpCode.Info().Operand)
        {
            case OperandKind.None:
                break;
            case OperandKind.I64:
                code.Sleb(instruction.Operand);
                break;
            case OperandKind.F64:
                code.U64((ulong)instruction.Operand);
                break;
            case OperandKind.LabelTable:
                var targets = instruction.Targets ?? [];
                code.Uleb((ulong)targets.Length);
                foreach (var target in targets) code.Uleb((ulong)target);
                code.Uleb((ulong)instruction.Operand);
                break;
            default:
                code.Uleb((ulong)instruction.Operand);
                break;
        }
    }

    private static void Section(ByteSink output, SectionId id, bool present, Action<ByteSink> writeBody)
    {
        if (!present) return;
        var body = new ByteSink();
        writeBody(body);
        output.Byte((byte)id);
        output.Uleb((ulong)body.Length);
        output.Bytes(body.AsSpan());
    }

    /// <summary>A growable byte buffer with the format's primitive encodings.</summary>
    private sealed class ByteSink
    {
        private byte[] _buffer = new byte[256];

        public int Length { get; private set; }

        public ReadOnlySpan<byte> AsSpan() => _buffer.AsSpan(0, Length);

        public byte[] ToArray() => _buffer.AsSpan(0, Length).ToArray();

        public void Byte(byte value)
        {
            Ensure(1);
            _buffer[Length++] = value;
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            Ensure(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(Length));
            Length += bytes.Length;
        }

        public void U32(uint value)
        {
            Ensure(4);
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(Length), value);
            Length += 4;
        }

        public void U64(ulong value)
        {
            Ensure(8);
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(Length), value);
            Length += 8;
        }

        public void Uleb(ulong value)
        {
            do
            {
                var b = (byte)(value & 0x7F);
                value >>= 7;
                Byte(value != 0 ? (byte)(b | 0x80) : b);
            }
            while (value != 0);
        }

        public void Sleb(long value)
        {
            while (true)
            {
                var b = (byte)(value & 0x7F);
                value >>= 7;
                var done = (value == 0 && (b & 0x40) == 0) || (value == -1 && (b & 0x40) != 0);
                Byte(done ? b : (byte)(b | 0x80));
                if (done) return;
            }
        }

        public void Name(string name)
        {
            byte[] bytes;
            try
            {
                bytes = StrictUtf8.GetBytes(name);
            }
            catch (EncoderFallbackException)
            {
                throw new ArgumentException($"the name {Diagnostics.Printable.Quote(name)} holds a lone surrogate, which UTF-8 cannot encode", "module");
            }
            if (bytes.Length > ModuleLimits.MaxNameBytes)
                throw new ArgumentException(
                    $"the name {Diagnostics.Printable.Quote(name[..Math.Min(name.Length, 32)])}... is {bytes.Length} bytes long in UTF-8; names are at most {ModuleLimits.MaxNameBytes} bytes",
                    "module");
            Uleb((ulong)bytes.Length);
            Bytes(bytes);
        }

        private static readonly UTF8Encoding StrictUtf8 = new(false, true);

        private void Ensure(int extra)
        {
            if (Length + extra <= _buffer.Length) return;
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + extra));
        }
    }
}

/// <summary>Section identifiers of the binary format, in the order sections must appear.</summary>
internal enum SectionId : byte
{
    Types = 1,
    Imports = 2,
    Functions = 3,
    Globals = 4,
    Data = 5,
    Code = 6,
    Debug = 7,
    Tags = 8,
    Handlers = 9,
    GlobalLinks = 10,
}
