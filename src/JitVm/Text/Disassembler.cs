using System.Globalization;
using System.Text;
using JitVm.Bytecode;

namespace JitVm.Text;

/// <summary>
/// Prints a <see cref="ModuleDefinition"/> as assembly text that assembles back to the same module: for modules the
/// assembler produced, text → binary → text → binary is byte-identical (names, labels and line numbers included,
/// the latter through <c>.line</c> directives).
/// </summary>
public static class Disassembler
{
    /// <summary>Disassembles a module.</summary>
    public static string Disassemble(ModuleDefinition module)
    {
        var writer = new LineWriter();
        if (module.SourceName is not null) writer.Line($".source {Quote(Encoding.UTF8.GetBytes(module.SourceName))}");
        foreach (var import in module.Imports)
            writer.Line($".import {import.Name} {Signature(module, import.TypeIndex)}");
        foreach (var global in module.Globals)
            writer.Line(global.InitialBits == 0
                ? $".global {global.Name} {global.Type.Name()}"
                : $".global {global.Name} {global.Type.Name()} = {(global.Type == VmType.F64 ? FormatF64(global.InitialBits) : global.InitialBits.ToString(CultureInfo.InvariantCulture))}");
        foreach (var segment in module.Data)
            writer.Line($".data {segment.Name} {Quote(segment.Bytes)}");

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
            function.LocalNames is { } names && index < names.Count && names[index].Length > 0 ? names[index] : index.ToString(CultureInfo.InvariantCulture);

        var header = new StringBuilder($".func {function.Name} (");
        for (var i = 0; i < parameterCount; i++)
        {
            if (i > 0) header.Append(", ");
            var name = function.LocalNames is { } names && i < names.Count ? names[i] : "";
            header.Append(name.Length > 0 ? $"{name}: {type!.Parameters[i].Name()}" : type!.Parameters[i].Name());
        }
        header.Append(')');
        if (type is { Results.Length: > 0 }) header.Append($" -> ({string.Join(' ', type.Results.Select(r => r.Name()))})");
        if (function.Exported) header.Append(" export");
        writer.Line(header.ToString());
        for (var i = 0; i < function.Locals.Length; i++)
        {
            var index = parameterCount + i;
            var name = function.LocalNames is { } names && index < names.Count ? names[index] : "";
            writer.Line(name.Length > 0 ? $"    .local {name} {function.Locals[i].Name()}" : $"    .local {function.Locals[i].Name()}");
        }

        var labels = LabelNames(function);
        for (var pc = 0; pc < function.Code.Length; pc++)
        {
            if (labels.TryGetValue(pc, out var label)) writer.Line($"{label}:");
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
            foreach (var target in targets)
            {
                if (labels.ContainsKey(target)) continue;
                var name = $"L{target}";
                for (var n = 1; taken.Contains(name); n++) name = $"L{target}_{n}";
                labels[target] = name;
                taken.Add(name);
            }
        }
        return labels;
    }

    private static string FormatInstruction(ModuleDefinition module, Instruction instruction, Dictionary<int, string> labels, Func<int, string> localName)
    {
        var info = instruction.OpCode.Info();
        string Label(int pc) => labels.TryGetValue(pc, out var name) ? name : $"L{pc}";
        string Named(int index, int count, Func<int, string> name) =>
            (uint)index < (uint)count ? name(index) : index.ToString(CultureInfo.InvariantCulture);

        var operand = info.Operand switch
        {
            OperandKind.None => "",
            OperandKind.I64 => instruction.Operand.ToString(CultureInfo.InvariantCulture),
            OperandKind.F64 => FormatF64(instruction.Operand),
            OperandKind.Local => localName(instruction.Index),
            OperandKind.Global => Named(instruction.Index, module.Globals.Count, i => module.Globals[i].Name),
            OperandKind.Function => Named(instruction.Index, module.FunctionCount, module.NameOf),
            OperandKind.Data => Named(instruction.Index, module.Data.Count, i => module.Data[i].Name),
            OperandKind.Label => Label(instruction.Index),
            OperandKind.LabelTable => $"({string.Join(' ', (instruction.Targets ?? []).Select(Label))}) {Label(instruction.Index)}",
            OperandKind.Signature => Signature(module, instruction.Index),
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

    /// <summary>Formats an f64 so that the assembler reads back exactly the same 64 bits.</summary>
    public static string FormatF64(long bits)
    {
        var value = BitConverter.Int64BitsToDouble(bits);
        if (double.IsNaN(value))
            return (ulong)bits switch
            {
                0x7FF8_0000_0000_0000 => "nan",
                0xFFF8_0000_0000_0000 => "-nan",
                _ => $"nan:0x{(ulong)bits:x16}",
            };
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
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
