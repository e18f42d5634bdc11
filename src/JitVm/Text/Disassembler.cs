using System.Globalization;
using System.Text;
using JitVm.Bytecode;

namespace JitVm.Text;

/// <summary>
/// Prints a <see cref="ModuleDefinition"/> as assembly text that assembles back to the same module: for modules the
/// assembler produced, text → binary → text → binary is byte-identical (names, labels and line numbers included,
/// the latter through <c>.line</c> directives). A name that is not an identifier (it holds spaces, line breaks,
/// control or non-ASCII characters, as the binary format allows) is written as a quoted name, so the output never
/// holds a raw control character and every readable binary module disassembles to text the assembler reads back.
/// </summary>
public static class Disassembler
{
    /// <summary>Disassembles a module.</summary>
    public static string Disassemble(ModuleDefinition module)
    {
        var writer = new LineWriter();
        // Always written, "" for an unknown source: otherwise reassembling would store the new file's name.
        writer.Line($".source {QuoteText(module.SourceName ?? "")}");
        foreach (var import in module.Imports)
            writer.Line($".import {Name(import.Name)} {Signature(module, import.TypeIndex)}");
        foreach (var global in module.Globals)
            writer.Line((global.InitialBits == 0
                ? $".global {Name(global.Name)} {global.Type.Name()}"
                : $".global {Name(global.Name)} {global.Type.Name()} = {(global.Type == VmType.F64 ? FormatF64(global.InitialBits) : global.InitialBits.ToString(CultureInfo.InvariantCulture))}") +
                        (global.Exported ? " export" : ""));
        foreach (var import in module.GlobalImports)
            writer.Line($".import global {Name(import.Name)} {import.Type.Name()}");
        foreach (var segment in module.Data)
            writer.Line($".data {Name(segment.Name)} {Quote(segment.Bytes)}");
        foreach (var tag in module.Tags)
            writer.Line($".tag {Name(tag.Name)} ({string.Join(' ', tag.Parameters.Select(p => p.Name()))})");

        foreach (var function in module.Functions)
        {
            writer.Line("");
            WriteFunction(writer, module, function);
        }
        return writer.ToString();
    }

    private static void WriteFunction(LineWriter writer, ModuleDefinition module, FunctionDefinition function)
    {
        var type = (uint)function.TypeIndex < (uint)module.Types.Count ? module.Types[function.TypeIndex] : null;
        var parameterCount = type?.Parameters.Length ?? 0;
        string LocalName(int index) =>
            function.LocalNames is { } names && index < names.Count && names[index].Length > 0 ? Name(names[index]) : index.ToString(CultureInfo.InvariantCulture);

        var header = new StringBuilder($".func {Name(function.Name)} (");
        for (var i = 0; i < parameterCount; i++)
        {
            if (i > 0) header.Append(", ");
            var name = function.LocalNames is { } names && i < names.Count ? names[i] : "";
            header.Append(name.Length > 0 ? $"{Name(name)}: {type!.Parameters[i].Name()}" : type!.Parameters[i].Name());
        }
        header.Append(')');
        if (type is { Results.Length: > 0 }) header.Append($" -> ({string.Join(' ', type.Results.Select(r => r.Name()))})");
        if (function.Exported) header.Append(" export");
        writer.Line(header.ToString());
        for (var i = 0; i < function.Locals.Length; i++)
        {
            var index = parameterCount + i;
            var name = function.LocalNames is { } names && index < names.Count ? names[index] : "";
            var localType = function.ReferenceLocals is { } references && references.TryGetValue(i, out var signature)
                ? $"ref {Signature(module, signature)}"
                : function.Locals[i].Name();
            writer.Line(name.Length > 0 ? $"    .local {Name(name)} {localType}" : $"    .local {localType}");
        }

        var labels = LabelNames(function);
        string Target(int pc) => labels.TryGetValue(pc, out var name) ? Name(name) : $"L{pc}";
        foreach (var handler in function.Handlers)
            writer.Line($"    .catch {TagName(module, handler.Tag)} {Target(handler.Start)} {Target(handler.End)} {Target(handler.Handler)}");
        for (var pc = 0; pc < function.Code.Length; pc++)
        {
            if (labels.TryGetValue(pc, out var label)) writer.Line($"{Name(label)}:");
            var instruction = function.Code[pc];
            var line = function.LineAt(pc);
            if (function.Lines is not null) writer.SyncLine(line);
            writer.Line("    " + FormatInstruction(module, instruction, labels, LocalName));
        }
        writer.Line(".end");
    }

    /// <summary>Label names from the debug info, plus generated ones for targets that have none.</summary>
    private static Dictionary<int, string> LabelNames(FunctionDefinition function)
    {
        var labels = function.LabelNames is null ? [] : new Dictionary<int, string>(function.LabelNames);
        var taken = new HashSet<string>(labels.Values, StringComparer.Ordinal);
        foreach (var instruction in function.Code)
        {
            var info = instruction.OpCode.Info();
            if (info.Operand is not (OperandKind.Label or OperandKind.LabelTable)) continue;
            IEnumerable<int> targets = info.Operand == OperandKind.Label ? [instruction.Index] : [.. instruction.Targets ?? [], instruction.Index];
            Assign(targets);
        }
        foreach (var handler in function.Handlers) Assign([handler.Start, handler.End, handler.Handler]);
        return labels;

        void Assign(IEnumerable<int> targets)
        {
            foreach (var target in targets)
            {
                if (labels.ContainsKey(target)) continue;
                var name = $"L{target}";
                for (var n = 1; taken.Contains(name); n++) name = $"L{target}_{n}";
                labels[target] = name;
                taken.Add(name);
            }
        }
    }

    /// <summary>A tag's name, or its index when the (unverified) module has no such tag.</summary>
    private static string TagName(ModuleDefinition module, int index) =>
        (uint)index < (uint)module.Tags.Count ? Name(module.Tags[index].Name) : index.ToString(CultureInfo.InvariantCulture);

    private static string FormatInstruction(ModuleDefinition module, Instruction instruction, Dictionary<int, string> labels, Func<int, string> localName)
    {
        var info = instruction.OpCode.Info();
        string Label(int pc) => labels.TryGetValue(pc, out var name) ? Name(name) : $"L{pc}";
        string Named(int index, int count, Func<int, string> name) =>
            (uint)index < (uint)count ? name(index) : index.ToString(CultureInfo.InvariantCulture);

        var operand = info.Operand switch
        {
            OperandKind.None => "",
            OperandKind.I64 => instruction.Operand.ToString(CultureInfo.InvariantCulture),
            OperandKind.F64 => FormatF64(instruction.Operand),
            OperandKind.Local => localName(instruction.Index),
            OperandKind.Global => Named(instruction.Index, module.GlobalCount, i => Name(module.GlobalNameOf(i))),
            OperandKind.Function => Named(instruction.Index, module.FunctionCount, i => Name(module.NameOf(i))),
            OperandKind.Data => Named(instruction.Index, module.Data.Count, i => Name(module.Data[i].Name)),
            OperandKind.Label => Label(instruction.Index),
            OperandKind.LabelTable => $"({string.Join(' ', (instruction.Targets ?? []).Select(Label))}) {Label(instruction.Index)}",
            OperandKind.Signature => Signature(module, instruction.Index),
            OperandKind.Tag => TagName(module, instruction.Index),
            _ => instruction.Operand.ToString(CultureInfo.InvariantCulture),
        };
        return operand.Length == 0 ? info.Mnemonic : $"{info.Mnemonic} {operand}";
    }

    private static string Signature(ModuleDefinition module, int typeIndex)
    {
        if ((uint)typeIndex >= (uint)module.Types.Count) return $"<invalid signature {typeIndex}>";
        var type = module.Types[typeIndex];
        var parameters = $"({string.Join(' ', type.Parameters.Select(p => p.Name()))})";
        return type.Results.Length == 0 ? parameters : $"{parameters} -> ({string.Join(' ', type.Results.Select(r => r.Name()))})";
    }

    private const ulong SignBit = 0x8000_0000_0000_0000;

    /// <summary>Formats an f64 so that the assembler reads back exactly the same 64 bits.</summary>
    public static string FormatF64(long bits)
    {
        var value = BitConverter.Int64BitsToDouble(bits);
        if (double.IsNaN(value))
            return (ulong)bits switch
            {
                (ulong)Semantics.Arithmetic.CanonicalNaNBits => "nan",
                (ulong)Semantics.Arithmetic.CanonicalNaNBits | SignBit => "-nan",
                _ => $"nan:0x{(ulong)bits:x16}",
            };
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }

    /// <summary>
    /// A name as the assembler reads it back: bare when it is an identifier that can stand anywhere a name can
    /// (not starting with <c>.</c>, which as a label would read as a directive, and not <c>nan</c>, which before a
    /// <c>:</c> would read as a float), quoted otherwise (spec/text-format.md §5.2, §8).
    /// </summary>
    private static string Name(string name)
    {
        var bare = name.Length > 0 && name[0] != '.' && name != "nan" && Lexer.IsIdentifierStart(name[0]);
        for (var i = 1; bare && i < name.Length; i++) bare = Lexer.IsIdentifierPart(name[i]);
        return bare ? name : QuoteText(name);
    }

    /// <summary>
    /// Text as a string literal whose bytes are the text's UTF-8: printable characters as they are, <c>"</c> and
    /// <c>\</c> escaped, line breaks, tabs and NUL as <c>\n \r \t \0</c>, and every other character that is not
    /// printable (<see cref="Diagnostics.Printable.IsUnprintable"/>) as the <c>\xHH</c> escapes of its UTF-8 bytes.
    /// </summary>
    private static string QuoteText(string text)
    {
        var builder = new StringBuilder("\"");
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var width = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var codePoint = width == 2 ? char.ConvertToUtf32(c, text[i + 1]) : c;
            if (c is '"' or '\\') builder.Append('\\').Append(c);
            else if (c is '\n' or '\r' or '\t' or '\0') builder.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => "\\0" });
            else if (!Diagnostics.Printable.IsUnprintable(codePoint)) builder.Append(text, i, width);
            else foreach (var b in Encoding.UTF8.GetBytes(text.Substring(i, width))) builder.Append($"\\x{b:x2}");
            i += width - 1;
        }
        return builder.Append('"').ToString();
    }

    private static string Quote(byte[] bytes)
    {
        var builder = new StringBuilder("\"");
        foreach (var b in bytes)
        {
            builder.Append(b switch
            {
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                (byte)'\r' => "\\r",
                (byte)'\\' => "\\\\",
                (byte)'"' => "\\\"",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        return builder.Append('"').ToString();
    }

    /// <summary>Collects output lines and emits <c>.line</c> directives where the source line would otherwise drift.</summary>
    private sealed class LineWriter
    {
        private readonly StringBuilder _text = new();
        private int _physicalLine = 1;
        private int _delta;

        public void Line(string text)
        {
            _text.Append(text).Append('\n');
            _physicalLine++;
        }

        public void SyncLine(int sourceLine)
        {
            if (_physicalLine + _delta == sourceLine) return;
            Line($".line {sourceLine}");
            _delta = sourceLine - _physicalLine;
        }

        public override string ToString() => _text.ToString();
    }
}
