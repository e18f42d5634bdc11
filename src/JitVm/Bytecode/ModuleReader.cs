using System.Buffers.Binary;
using System.Text;
using JitVm.Diagnostics;

namespace JitVm.Bytecode;

/// <summary>
/// Reads the binary format. Every length, count and index is checked against the bytes that remain and against
/// <see cref="ModuleLimits"/> before anything is allocated, so malformed or hostile input is rejected with a
/// <see cref="ModuleFormatException"/> naming the byte offset, never with another exception.
/// Index ranges that need the whole module (function, global, label indices) are the verifier's job.
/// </summary>
public static class ModuleReader
{
    /// <summary>True when the bytes start with the module magic (used to tell binary from text input).</summary>
    public static bool HasMagic(ReadOnlySpan<byte> bytes) => bytes.StartsWith(ModuleWriter.Magic);

    /// <summary>Decodes a module.</summary>
    /// <param name="bytes">The whole binary.</param>
    /// <param name="sourceName">The file name, for messages.</param>
    public static ModuleDefinition Read(ReadOnlySpan<byte> bytes, string? sourceName = null)
    {
        var reader = new Cursor(bytes.ToArray(), sourceName, deferCode: false);
        return reader.ReadModule();
    }

    /// <summary>
    /// Decodes the module a saved assembly carries, whose bytes matched the hash stamped on it: everything is read
    /// and checked as <see cref="Read"/> does, except each body's instructions, which are kept as their place in
    /// <paramref name="bytes"/> (the reader's own from then on) and decoded, with the same checks and messages, when
    /// <see cref="FunctionDefinition.Code"/> is first read. A call into saved code reads no function's code, so a
    /// load does work linear in the module's functions, not in its instructions.
    /// </summary>
    /// <remarks>A body whose instructions are malformed (possible only in an assembly forged with a matching hash, or
    /// made by a writer with another format) is refused with a <see cref="ModuleFormatException"/> at that first
    /// read, which is the first use of the function by the verifier, the interpreter or the JIT.</remarks>
    internal static ModuleDefinition ReadCarried(byte[] bytes, string? sourceName) =>
        new Cursor(bytes, sourceName, deferCode: true).ReadModule();

    /// <summary>A body's instructions not decoded yet: where they are in the module's bytes (which nothing changes),
    /// and what reading them needs: the format version (for instructions newer than it), the defined function's index
    /// and the body's declared size (for messages), and the instruction count, already checked against the body's
    /// bytes and the limits.</summary>
    internal sealed class DeferredCode(byte[] bytes, string? sourceName, int version, int function, int start, int end, int count, int size)
    {
        /// <summary>The number of instructions, known without decoding them.</summary>
        public int Count => count;

        /// <summary>Decodes the instructions, as <see cref="Read"/> would have at load.</summary>
        /// <exception cref="ModuleFormatException">The body is malformed.</exception>
        public Instruction[] Decode() => new Cursor(bytes, sourceName, deferCode: false).ReadInstructions(version, function, start, end, count, size);
    }

    private sealed class Cursor(byte[] bytes, string? sourceName, bool deferCode)
    {
        /// <summary>Names are strict UTF-8: an invalid sequence is an error, not a replacement character.</summary>
        private static readonly UTF8Encoding StrictUtf8 = new(false, true);

        /// <summary>The debug labels of a function that has none (read only: it is only ever asked its count).</summary>
        private static readonly Dictionary<int, string> NoLabels = [];

        private int _position;
        private int _end = bytes.Length;

        /// <summary>The module's format version: an instruction new in a later version is an error (spec/binary-format.md §1).</summary>
        private int _version;

        public ModuleDefinition ReadModule()
        {
            if (bytes.Length < 8) throw Fail(0, $"the input is {bytes.Length} bytes long; a binary module starts with an 8-byte header (magic and version)");
            if (!bytes.AsSpan(0, 4).SequenceEqual(ModuleWriter.Magic))
                throw Fail(0, $"bad magic: expected 00 6a 76 6d (\"\\0jvm\"), found {Convert.ToHexString(bytes, 0, 4).ToLowerInvariant()}");
            var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
            if (version < ModuleWriter.FirstVersion || version > ModuleWriter.Version)
                throw Fail(4, $"unsupported format version {version}; this reader understands versions {ModuleWriter.FirstVersion} to {ModuleWriter.Version}");
            _version = (int)version;
            _position = 8;

            List<FunctionType> types = [];
            List<ImportDefinition> imports = [];
            List<(string Name, int Type, bool Exported)> headers = [];
            List<GlobalDefinition> globals = [];
            List<DataSegment> data = [];
            List<(VmType[] Locals, Dictionary<int, int>? References, Instruction[]? Code, DeferredCode? Deferred)> bodies = [];
            DebugSection? debug = null;
            List<TagDefinition> tags = [];
            List<(int Function, HandlerDefinition[] Entries)> handlers = [];
            List<GlobalImportDefinition> globalImports = [];
            HashSet<int> exportedGlobals = [];
            var lastId = 0;

            while (_position < bytes.Length)
            {
                var idOffset = _position;
                var id = Byte();
                if (id is < (byte)SectionId.Types or > (byte)SectionId.GlobalLinks)
                    throw Fail(idOffset, $"unknown section id {id}; expected 1 (types) to 10 (global links)");
                if (id >= (byte)SectionId.Tags && _version < 4)
                    throw Fail(idOffset, $"section {id} ({((SectionId)id).ToString().ToLowerInvariant()}) is new in format version 4, but the module declares version {_version}");
                if (id == (byte)SectionId.GlobalLinks && _version < ModuleWriter.GlobalLinksSince)
                    throw Fail(idOffset, $"section {id} (global links) is new in format version {ModuleWriter.GlobalLinksSince}, but the module declares version {_version}");
                if (id <= lastId)
                    throw Fail(idOffset, $"section {(SectionId)id} is out of order or repeated: sections must appear once each, in increasing id order");
                lastId = id;
                var length = Length("section length");
                var sectionEnd = _position + length;
                var outerEnd = _end;
                _end = sectionEnd;
                switch ((SectionId)id)
                {
                    case SectionId.Types: types = ReadTypes(); break;
                    case SectionId.Imports: imports = ReadImports(); break;
                    case SectionId.Functions: headers = ReadFunctionHeaders(); break;
                    case SectionId.Globals: globals = ReadGlobals(); break;
                    case SectionId.Data: data = ReadData(); break;
                    case SectionId.Code: bodies = ReadCode(); break;
                    case SectionId.Debug: debug = ReadDebug(); break;
                    case SectionId.Tags: tags = ReadTags(); break;
                    case SectionId.Handlers: handlers = ReadHandlers(headers.Count); break;
                    case SectionId.GlobalLinks: (globalImports, exportedGlobals) = ReadGlobalLinks(globals.Count); break;
                }
                if (_position != sectionEnd)
                    throw Fail(_position, $"section {(SectionId)id} declares {length} bytes but its contents end after {_position - (sectionEnd - length)}");
                _end = outerEnd;
            }

            if (bodies.Count != headers.Count)
                throw Fail(_position, $"the function section declares {headers.Count} functions but the code section has {bodies.Count} bodies");
            if (debug is not null && debug.Functions.Count != headers.Count)
                throw Fail(_position, $"the debug section describes {debug.Functions.Count} functions but the module has {headers.Count}");

            var handlerTables = new Dictionary<int, HandlerDefinition[]>();
            foreach (var (function, entries) in handlers) handlerTables[function] = entries;
            var functions = new List<FunctionDefinition>(headers.Count);
            for (var i = 0; i < headers.Count; i++)
            {
                var info = debug?.Functions[i];
                var table = handlerTables.GetValueOrDefault(i, []);
                functions.Add(new FunctionDefinition(headers[i].Name, headers[i].Type, headers[i].Exported, bodies[i].Locals, bodies[i].Code, bodies[i].Deferred)
                {
                    ReferenceLocals = bodies[i].References,
                    LocalNames = info is { LocalNames.Length: > 0 } ? info.LocalNames : null,
                    Lines = info is { Lines.Length: > 0 } ? info.Lines : null,
                    LabelNames = info is { Labels.Count: > 0 } ? info.Labels : null,
                    Handlers = table,
                });
            }
            var source = debug is { SourceName.Length: > 0 } ? debug.SourceName : null;
            if (exportedGlobals.Count > 0)
                for (var i = 0; i < globals.Count; i++)
                    if (exportedGlobals.Contains(i)) globals[i] = globals[i] with { Exported = true };
            return new ModuleDefinition(types, imports, functions, globals, data, source) { Tags = tags, GlobalImports = globalImports };
        }

        private List<TagDefinition> ReadTags()
        {
            var count = Count("tag count", ModuleLimits.MaxEntries, 2);
            var list = new List<TagDefinition>(count);
            for (var i = 0; i < count; i++)
            {
                var name = Name();
                list.Add(new TagDefinition(name, ReadTypeList("tag parameter", ModuleLimits.MaxSignatureArity)));
            }
            return list;
        }

        /// <summary>The handler tables: per function that has one (in increasing function order), its entries.
        /// Ranges, tags and handlers are checked by the verifier, like every other index into the module.</summary>
        private List<(int, HandlerDefinition[])> ReadHandlers(int functionCount)
        {
            var count = Count("handler table count", ModuleLimits.MaxEntries, 2);
            var list = new List<(int, HandlerDefinition[])>(count);
            var previous = -1;
            for (var i = 0; i < count; i++)
            {
                var offset = _position;
                var function = Index("function index");
                if (function <= previous || function >= functionCount)
                    throw Fail(offset, $"handler table #{i} names function #{function}; tables name defined functions (0 to {functionCount - 1}) once each, in increasing order (the functions section comes first)");
                previous = function;
                var entries = new HandlerDefinition[Count("handler count", ModuleLimits.MaxHandlers, 4)];
                for (var k = 0; k < entries.Length; k++)
                    entries[k] = new HandlerDefinition(Index("handler start"), Index("handler end"), Index("handler tag"), Index("handler target"));
                list.Add((function, entries));
            }
            return list;
        }

        /// <summary>The global links section: the imported globals (name and type), then the indices of the exported
        /// defined globals, in increasing order (the globals section comes first).</summary>
        private (List<GlobalImportDefinition>, HashSet<int>) ReadGlobalLinks(int globalCount)
        {
            var count = Count("global import count", ModuleLimits.MaxEntries, 2);
            var imports = new List<GlobalImportDefinition>(count);
            for (var i = 0; i < count; i++)
            {
                var name = Name();
                var offset = _position;
                var type = ReadValueType("global import");
                if (type == VmType.Ptr)
                    throw Fail(offset, $"imported global {Printable.Quote(name)} has type ptr; globals cannot hold a bare pointer (there is no null): use word");
                imports.Add(new GlobalImportDefinition(name, type));
            }
            var exportCount = Count("exported global count", ModuleLimits.MaxEntries, 1);
            var exported = new HashSet<int>();
            var previous = -1;
            for (var i = 0; i < exportCount; i++)
            {
                var offset = _position;
                var index = Index("exported global index");
                if (index <= previous || index >= globalCount)
                    throw Fail(offset, $"exported global #{i} names global #{index}; exports name defined globals (0 to {globalCount - 1}) once each, in increasing order");
                previous = index;
                exported.Add(index);
            }
            return (imports, exported);
        }

        private List<FunctionType> ReadTypes()
        {
            var count = Count("signature count", ModuleLimits.MaxEntries, 2);
            var types = new List<FunctionType>(count);
            for (var i = 0; i < count; i++)
            {
                var parameters = ReadTypeList("parameter", ModuleLimits.MaxSignatureArity);
                var results = ReadTypeList("result", ModuleLimits.MaxSignatureArity);
                types.Add(new FunctionType(parameters, results));
            }
            return types;
        }

        private VmType[] ReadTypeList(string what, int max)
        {
            var count = Count($"{what} count", max, 1);
            var list = new VmType[count];
            for (var i = 0; i < count; i++) list[i] = ReadValueType(what);
            return list;
        }

        private VmType ReadValueType(string what)
        {
            var offset = _position;
            var code = Byte();
            if (!VmTypeNames.IsDefined(code))
                throw Fail(offset, $"bad {what} type byte 0x{code:x2}; expected 1 (i64), 2 (f64), 3 (ptr) or 4 (word)");
            return (VmType)code;
        }

        private List<ImportDefinition> ReadImports()
        {
            var count = Count("import count", ModuleLimits.MaxEntries, 2);
            var list = new List<ImportDefinition>(count);
            for (var i = 0; i < count; i++) list.Add(new ImportDefinition(Name(), Index("signature index")));
            return list;
        }

        private List<(string, int, bool)> ReadFunctionHeaders()
        {
            var count = Count("function count", ModuleLimits.MaxEntries, 3);
            var list = new List<(string, int, bool)>(count);
            for (var i = 0; i < count; i++)
            {
                var name = Name();
                var type = Index("signature index");
                var flagsOffset = _position;
                var flags = Byte();
                if (flags > 1) throw Fail(flagsOffset, $"bad function flags 0x{flags:x2}; only bit 0 (exported) is defined");
                list.Add((name, type, flags == 1));
            }
            return list;
        }

        private List<GlobalDefinition> ReadGlobals()
        {
            var count = Count("global count", ModuleLimits.MaxEntries, 3);
            var list = new List<GlobalDefinition>(count);
            for (var i = 0; i < count; i++)
            {
                var name = Name();
                var offset = _position;
                var type = ReadValueType("global");
                if (type == VmType.Ptr)
                    throw Fail(offset, $"global {Printable.Quote(name)} has type ptr; globals cannot hold a bare pointer (there is no null): use word");
                list.Add(new GlobalDefinition(name, type, Sleb()));
            }
            return list;
        }

        private List<DataSegment> ReadData()
        {
            var count = Count("data segment count", ModuleLimits.MaxEntries, 2);
            var list = new List<DataSegment>(count);
            for (var i = 0; i < count; i++)
            {
                var name = Name();
                var length = Count("data length", ModuleLimits.MaxDataBytes, 1);
                list.Add(new DataSegment(name, bytes.AsSpan(_position, length).ToArray()));
                _position += length;
            }
            return list;
        }

        /// <summary>The bodies: locals, and instructions decoded now or, for a carried module (<see cref="ReadCarried"/>),
        /// their place, checked now against the body's size and the instruction limit.</summary>
        private List<(VmType[], Dictionary<int, int>?, Instruction[]?, DeferredCode?)> ReadCode()
        {
            var count = Count("body count", ModuleLimits.MaxEntries, 3);
            var list = new List<(VmType[], Dictionary<int, int>?, Instruction[]?, DeferredCode?)>(count);
            for (var i = 0; i < count; i++)
            {
                var size = Length("body size");
                var bodyEnd = _position + size;
                var outerEnd = _end;
                _end = bodyEnd;
                var (locals, references) = ReadLocals(i);
                var instructionCount = Count("instruction count", ModuleLimits.MaxInstructions, 1);
                if (deferCode)
                {
                    list.Add((locals, references, null, new DeferredCode(bytes, sourceName, _version, i, _position, bodyEnd, instructionCount, size)));
                    _position = bodyEnd;
                }
                else
                {
                    list.Add((locals, references, ReadInstructions(i, bodyEnd, instructionCount, size), null));
                }
                _end = outerEnd;
            }
            return list;
        }

        /// <summary>A deferred body's instructions (<see cref="DeferredCode.Decode"/>): this cursor, new, reads only them.</summary>
        public Instruction[] ReadInstructions(int version, int function, int start, int end, int count, int size)
        {
            _version = version;
            _position = start;
            _end = end;
            return ReadInstructions(function, end, count, size);
        }

        /// <summary>A body's <paramref name="count"/> instructions from here, which must end exactly at <paramref name="bodyEnd"/>.</summary>
        private Instruction[] ReadInstructions(int function, int bodyEnd, int count, int size)
        {
            var code = new Instruction[count];
            for (var pc = 0; pc < count; pc++) code[pc] = ReadInstruction(function, pc);
            if (_position != bodyEnd)
                throw Fail(_position, $"body of function #{function} declares {size} bytes but its instructions end at a different place");
            return code;
        }

        /// <summary>A body's local declarations: value types, and from format version 4 also typed function
        /// references (type code 5 and a signature index), which are i64 locals at run time.</summary>
        private (VmType[], Dictionary<int, int>?) ReadLocals(int function)
        {
            var count = Count("local count", ModuleLimits.MaxLocals, 1);
            var list = new VmType[count];
            Dictionary<int, int>? references = null;
            for (var i = 0; i < count; i++)
            {
                if (_position < _end && bytes[_position] == ModuleWriter.ReferenceTypeCode)
                {
                    var offset = _position;
                    if (_version < ModuleWriter.ReferenceLocalsSince)
                        throw Fail(offset, $"function #{function}, local #{i}: a typed function reference (type 0x05) is new in format version {ModuleWriter.ReferenceLocalsSince}, but the module declares version {_version}");
                    _position++;
                    (references ??= [])[i] = Index("signature index");
                    list[i] = VmType.I64;
                    continue;
                }
                list[i] = ReadValueType("local");
            }
            return (list, references);
        }

        private Instruction ReadInstruction(int function, int pc)
        {
            var offset = _position;
            var code = Byte();
            if (!OpCodeTable.TryGet(code, out var info))
                throw Fail(offset, $"function #{function}, pc {pc}: unknown opcode 0x{code:x2}");
            if (info.Since > _version)
                throw Fail(offset, $"function #{function}, pc {pc}: {info.Mnemonic} (opcode 0x{code:x2}) is new in format version {info.Since}, but the module declares version {_version}");
            switch (info.Operand)
            {
                case OperandKind.None:
                    return new Instruction(info.OpCode);
                case OperandKind.I64:
                    return new Instruction(info.OpCode, Sleb());
                case OperandKind.F64:
                    Need(8, "f64 constant");
                    var bits = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(_position));
                    _position += 8;
                    return new Instruction(info.OpCode, bits);
                case OperandKind.LabelTable:
                    var n = Count("br_table size", ModuleLimits.MaxBranchTableSize, 1);
                    var targets = new int[n];
                    for (var k = 0; k < n; k++) targets[k] = Index("br_table target");
                    return new Instruction(info.OpCode, Index("br_table default target"), targets);
                default:
                    return new Instruction(info.OpCode, Index(info.Operand.ToString().ToLowerInvariant() + " index"));
            }
        }

        private sealed record FunctionDebug(string[] LocalNames, int[] Lines, Dictionary<int, string> Labels);

        private sealed record DebugSection(string SourceName, List<FunctionDebug> Functions);

        private DebugSection ReadDebug()
        {
            var source = Name();
            var count = Count("debug function count", ModuleLimits.MaxEntries, 3);
            var functions = new List<FunctionDebug>(count);
            for (var i = 0; i < count; i++)
            {
                var nameCount = Count("local name count", ModuleLimits.MaxLocals, 1);
                var names = new string[nameCount];
                for (var k = 0; k < nameCount; k++) names[k] = Name();
                var lineCount = Count("line count", ModuleLimits.MaxInstructions, 1);
                var lines = new int[lineCount];
                long line = 0;
                for (var k = 0; k < lineCount; k++)
                {
                    var offset = _position;
                    line += Sleb();
                    if (line is < 0 or > int.MaxValue) throw Fail(offset, $"line number {line} is out of range");
                    lines[k] = (int)line;
                }
                var labelCount = Count("label count", ModuleLimits.MaxInstructions, 2);
                var labels = labelCount == 0 ? NoLabels : new Dictionary<int, string>(labelCount);
                for (var k = 0; k < labelCount; k++)
                {
                    var offset = _position;
                    var pc = Index("label pc");
                    if (!labels.TryAdd(pc, Name())) throw Fail(offset, $"two label names for pc {pc}");
                }
                functions.Add(new FunctionDebug(names, lines, labels));
            }
            return new DebugSection(source, functions);
        }

        private string Name()
        {
            var offset = _position;
            var length = Count("name length", ModuleLimits.MaxNameBytes, 1);
            try
            {
                var name = StrictUtf8.GetString(bytes, _position, length);
                _position += length;
                return name;
            }
            catch (DecoderFallbackException)
            {
                throw Fail(offset, "a name is not valid UTF-8");
            }
        }

        /// <summary>A count of items each at least <paramref name="minBytesEach"/> bytes long, so it cannot exceed what remains.</summary>
        private int Count(string what, int max, int minBytesEach)
        {
            var offset = _position;
            var value = Uleb();
            if (value > (ulong)max) throw Fail(offset, $"{what} {value} exceeds the limit of {max}");
            if (value * (ulong)minBytesEach > (ulong)(_end - _position))
                throw Fail(offset, $"{what} {value} is larger than the {_end - _position} bytes that remain");
            return (int)value;
        }

        private int Length(string what) => Count(what, int.MaxValue, 1);

        private int Index(string what)
        {
            var offset = _position;
            var value = Uleb();
            if (value > int.MaxValue) throw Fail(offset, $"{what} {value} is out of range");
            return (int)value;
        }

        private byte Byte()
        {
            Need(1, "byte");
            return bytes[_position++];
        }

        private void Need(int count, string what)
        {
            if (_end - _position < count)
                throw Fail(_position, _end == bytes.Length
                    ? $"unexpected end of file while reading a {what}"
                    : $"unexpected end of section or body while reading a {what}");
        }

        private ulong Uleb()
        {
            var offset = _position;
            ulong result = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = Byte();
                if (shift == 63 && (b & 0x7E) != 0) throw Fail(offset, "unsigned LEB128 value overflows 64 bits");
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return result;
                if (shift >= 63) throw Fail(offset, "unsigned LEB128 value is longer than 10 bytes");
            }
        }

        private long Sleb()
        {
            var offset = _position;
            long result = 0;
            var shift = 0;
            byte b;
            do
            {
                if (shift > 63) throw Fail(offset, "signed LEB128 value is longer than 10 bytes");
                b = Byte();
                if (shift == 63 && b != 0 && b != 0x7F) throw Fail(offset, "signed LEB128 value overflows 64 bits");
                result |= (long)(b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            if (shift < 64 && (b & 0x40) != 0) result |= -1L << shift;
            return result;
        }

        private ModuleFormatException Fail(int offset, string detail) =>
            new(sourceName, $"byte 0x{offset:x}", detail);
    }
}
