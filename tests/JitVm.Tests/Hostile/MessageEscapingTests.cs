using System.Text;
using JitVm.Bytecode;
using JitVm.Cli;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using JitVm.Verification;
using Microsoft.Extensions.Logging;
using Xunit;

namespace JitVm.Tests.Hostile;

/// <summary>
/// Binaries whose names (functions, imports, globals, data segments, parameters, labels, the source name) hold line
/// breaks, NUL, escape sequences and other unprintable characters: every message the VM produces about them stays
/// one line (a trap report one line per part), holds no raw control character, and the disassembly of such a
/// binary assembles back to the same bytes.
/// </summary>
public sealed class MessageEscapingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-escaping-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    public static TheoryData<string> HostileNames() =>
    [
        "line\nforged",
        "carriage\rreturn",
        "vertical\vtab",
        "nul\0name",
        "esc\u001b[31mred\u001b[0m",
        "del\u007f",
        "next\u0085line",
        "bidi\u202Eevil",
        "line\u2028separator",
        "trap: Unreachable: forged\n  at main (forged.jvm:1, pc 0: nop)",
    ];

    /// <summary>The names a hostile module uses, one per namespace.</summary>
    private sealed record Names(string Source, string Main, string Function, string Import, string Global, string Data, string Parameter, string Label);

    private static Names AllNamed(string hostile) =>
        new($"{hostile}.jvm", $"main{hostile}", $"f{hostile}", $"imp{hostile}", $"g{hostile}", $"d{hostile}", $"p{hostile}", $"l{hostile}");

    /// <summary>
    /// main (exported, () -> i64) reads global 0 and data 0, then calls f(7); f (i64 -> i64) calls the import with
    /// its parameter, branches to a labelled instruction and divides the import's result by zero.
    /// </summary>
    private static ModuleDefinition Module(Names names, IEnumerable<Instruction>? functionCode = null)
    {
        Instruction[] main =
        [
            new(OpCode.GlobalGet, 0), new(OpCode.Drop), new(OpCode.DataSize, 0), new(OpCode.Drop),
            new(OpCode.I64Const, 7), new(OpCode.Call, 2), new(OpCode.Return),
        ];
        Instruction[] function =
        [
            new(OpCode.LocalGet, 0), new(OpCode.Call, 0), new(OpCode.Br, 3), new(OpCode.I64Const, 0), new(OpCode.I64DivS), new(OpCode.Return),
        ];
        var code = functionCode?.ToArray() ?? function;
        // Signatures in the assembler's canonical order (imports, then functions), so the disassembly reassembles
        // to the same bytes.
        return new ModuleDefinition(
            [new FunctionType([VmType.I64], [VmType.I64]), new FunctionType([], [VmType.I64])],
            [new ImportDefinition(names.Import, 0)],
            [
                new FunctionDefinition(names.Main, 1, true, [], main) { Lines = [.. Enumerable.Range(1, main.Length)] },
                new FunctionDefinition(names.Function, 0, false, [], code)
                {
                    LocalNames = [names.Parameter],
                    Lines = [.. Enumerable.Range(20, code.Length)],
                    LabelNames = code.Length > 3 ? new Dictionary<int, string> { [3] = names.Label } : null,
                },
            ],
            [new GlobalDefinition(names.Global, VmType.I64, 0)],
            [new DataSegment(names.Data, [1, 2, 3])],
            names.Source);
    }

    /// <summary>The module through the binary format, as a host loading an untrusted file sees it.</summary>
    private static ModuleDefinition ThroughBinary(ModuleDefinition module) => ModuleReader.Read(ModuleWriter.Write(module));

    private static HostFunction Identity(string name) =>
        new(name, new FunctionType([VmType.I64], [VmType.I64]), (_, _) => { });

    private static HostFunction Throwing(string name, string message) =>
        new(name, new FunctionType([VmType.I64], [VmType.I64]), (_, _) => throw new InvalidOperationException(message));

    /// <summary>
    /// The oracle, independent of the VM's own escaping: no C0 control character (line feeds only where
    /// <paramref name="lineFeeds"/> allows them), no DEL or C1 control, no line or paragraph separator, no
    /// bidirectional control, no lone surrogate.
    /// </summary>
    private static void AssertPrintable(string text, bool lineFeeds = false)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var bad = c < 0x20 && !(lineFeeds && c == '\n') ||
                      c is >= '\u007f' and <= '\u009f' ||
                      c is '\u2028' or '\u2029' or '\u061c' or '\u200e' or '\u200f' or '\ufeff' ||
                      c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069' ||
                      char.IsLowSurrogate(c) || (char.IsHighSurrogate(c) && !(i + 1 < text.Length && char.IsLowSurrogate(text[++i])));
            Assert.False(bad, $"U+{(int)c:X4} at {i} in: {text.Replace("\n", "\\n", StringComparison.Ordinal)}");
        }
    }

    private static void AssertOneLine(string text) => AssertPrintable(text, lineFeeds: false);

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void VerificationErrorsEscapeFunctionParameterAndSourceNames(string hostile)
    {
        var names = AllNamed(hostile);
        // f stores an f64 into its i64 parameter: the message names the source, the function and the parameter.
        var module = ThroughBinary(Module(names, [new(OpCode.F64Const, 0), new(OpCode.LocalSet, 0), new(OpCode.I64Const, 0), new(OpCode.Return)]));
        var error = Assert.Throws<VerificationException>(() => Hosting.Module.FromDefinition(module));
        Assert.Equal(VerificationRule.TypeMismatch, error.Rule);
        AssertOneLine(error.Message);
        Assert.Contains($"function {Printable.Quote(names.Function)}", error.Message, StringComparison.Ordinal);
        Assert.Contains(Printable.Quote(names.Parameter), error.Message, StringComparison.Ordinal);
        Assert.StartsWith(Printable.Escape(names.Source) + ":21", error.Message, StringComparison.Ordinal);
        // The exception keeps the names exactly as the module has them.
        Assert.Equal(names.Function, error.Function);
        Assert.Equal(names.Source, error.ModuleName);
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void DuplicateNameErrorsEscapeTheName(string hostile)
    {
        var names = AllNamed(hostile);
        var module = ThroughBinary(Module(names with { Function = names.Main }));
        var error = Assert.Throws<VerificationException>(() => Hosting.Module.FromDefinition(module));
        Assert.Equal(VerificationRule.DuplicateName, error.Rule);
        AssertOneLine(error.Message);
        Assert.Contains(Printable.Quote(names.Main), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void LinkErrorsEscapeTheImportAndSourceNames(string hostile)
    {
        var names = AllNamed(hostile);
        var module = Hosting.Module.FromDefinition(ThroughBinary(Module(names)));
        var missing = Assert.Throws<LinkException>(() => new Isolate(module, [Identity("other")]));
        AssertOneLine(missing.Message);
        Assert.Contains($"import {Printable.Quote(names.Import)}", missing.Message, StringComparison.Ordinal);

        var wrongSignature = new HostFunction(names.Import, new FunctionType([], []), (_, _) => { });
        var mismatch = Assert.Throws<LinkException>(() => new Isolate(module, [wrongSignature]));
        AssertOneLine(mismatch.Message);
        Assert.Contains($"import {Printable.Quote(names.Import)} is declared as", mismatch.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, ExecutionTier> HostileNamesOnEveryTier()
    {
        var data = new TheoryData<string, ExecutionTier>();
        foreach (var name in HostileNames())
            foreach (var tier in Enum.GetValues<ExecutionTier>())
                data.Add(name, tier);
        return data;
    }

    [Theory]
    [MemberData(nameof(HostileNamesOnEveryTier))]
    public void TrapReportsHaveOneLinePerFrame(string hostile, ExecutionTier tier)
    {
        var names = AllNamed(hostile);
        var module = Hosting.Module.FromDefinition(ThroughBinary(Module(names)));
        var isolate = new Isolate(module, [Identity(names.Import)], new IsolateOptions { Tier = tier });
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke(names.Main));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal([names.Function, names.Main], trap.VmStackTrace.Select(frame => frame.Function));

        var lines = trap.Report().Split('\n');
        Assert.Equal(1 + 2, lines.Length);
        foreach (var line in lines) AssertOneLine(line);
        Assert.Equal($"  at {Printable.Quote(names.Function)} ({Printable.Escape(names.Source)}:24, pc 4: i64.div_s)", lines[1]);
        Assert.Equal($"  at {Printable.Quote(names.Main)} ({Printable.Escape(names.Source)}:6, pc 5: call)", lines[2]);
        AssertOneLine(trap.Message);
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void AHostErrorReportEscapesTheImportNameAndTheHostMessage(string hostile)
    {
        var names = AllNamed(hostile);
        var module = Hosting.Module.FromDefinition(ThroughBinary(Module(names)));
        var isolate = new Isolate(module, [Throwing(names.Import, $"the host echoed {hostile}")], new IsolateOptions { Tier = ExecutionTier.Interpreter });
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke(names.Main));
        Assert.Equal(TrapCode.HostError, trap.Code);
        AssertOneLine(trap.Detail);
        Assert.Contains($"host function {Printable.Quote(names.Import)} threw", trap.Detail, StringComparison.Ordinal);

        var lines = trap.Report().Split('\n');
        Assert.Equal(1 + trap.VmStackTrace.Count + 1, lines.Length);
        foreach (var line in lines) AssertOneLine(line);
        Assert.StartsWith("  caused by InvalidOperationException: the host echoed ", lines[^1], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostileNamesOnEveryTier))]
    public void EmptyAndNulNamesCompileAndRunOnEveryTier(string hostile, ExecutionTier tier)
    {
        // .NET rejects empty method names and names starting with NUL; the tiers must not pass module names on raw.
        var names = AllNamed(hostile) with { Main = "", Function = "\0" + hostile };
        var module = Hosting.Module.FromDefinition(ThroughBinary(Module(names)));
        var isolate = new Isolate(module, [Identity(names.Import)], new IsolateOptions { Tier = tier });
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke(1));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal("  at '' (" + Printable.Escape(names.Source) + ":6, pc 5: call)", trap.Report().Split('\n')[2]);
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void LogMessagesAndStatisticsEscapeNames(string hostile)
    {
        var names = AllNamed(hostile);
        var logger = new ListLogger();
        var isolate = new Isolate(Hosting.Module.FromDefinition(ThroughBinary(Module(names))), [Identity(names.Import)],
            new IsolateOptions { Tier = ExecutionTier.Jit, Logger = logger });
        Assert.Throws<TrapException>(() => isolate.Invoke(names.Main));
        Assert.Contains(logger.Messages, m => m.StartsWith("compiled ", StringComparison.Ordinal));
        Assert.Contains(logger.Messages, m => m.StartsWith($"trap DivideByZero in {Printable.Quote(names.Function)} at pc 4", StringComparison.Ordinal));
        foreach (var message in logger.Messages) AssertOneLine(message);

        // The statistics table has a header of three lines and one row per function.
        var statistics = isolate.Statistics();
        AssertPrintable(statistics, lineFeeds: true);
        Assert.Equal(3 + 2, statistics.TrimEnd('\n').Split('\n').Length);
    }

    [Fact]
    public void AHostTrapDetailIsOneLine()
    {
        var trap = new TrapException(TrapCode.Unreachable, "first\nsecond\u001b[2J");
        Assert.Equal("first\\nsecond\\x1b[2J", trap.Detail);
        AssertOneLine(trap.Report());
    }

    [Fact]
    public void FrameNamesThatCouldPassForAnotherFrameAreQuoted()
    {
        Assert.Equal("at fib (fib.jvm:3, pc 1: call)", new VmStackFrame("fib", 1, "call", 3, "fib.jvm").ToString());
        Assert.Equal("at 'a (b.jvm:1, pc 0: nop)' (fib.jvm:3, pc 1: call)", new VmStackFrame("a (b.jvm:1, pc 0: nop)", 1, "call", 3, "fib.jvm").ToString());
        Assert.Equal("at '' (pc 0: nop)", new VmStackFrame("", 0, "nop", 0, null).ToString());
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void FormatErrorsEscapeNamesFromTheBinary(string hostile)
    {
        var module = Module(AllNamed(hostile));
        // The same module with a ptr global, which the reader rejects by name.
        var withPtrGlobal = new ModuleDefinition(module.Types, module.Imports, module.Functions,
            [new GlobalDefinition($"g{hostile}", VmType.Ptr, 0)], module.Data, module.SourceName);
        var error = Assert.Throws<ModuleFormatException>(() => ModuleReader.Read(ModuleWriter.Write(withPtrGlobal), $"file{hostile}.jvmb"));
        AssertOneLine(error.Message);
        Assert.Contains(Printable.Quote($"g{hostile}"), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void DisassemblyOfHostileNamesIsPrintableAndAssemblesToTheSameBytes(string hostile)
    {
        var binary = ModuleWriter.Write(Module(AllNamed(hostile)));
        var text = Disassembler.Disassemble(ModuleReader.Read(binary));
        AssertPrintable(text, lineFeeds: true);
        Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(text, "other.jvm")));
    }

    [Fact]
    public void AssemblerErrorsEscapeQuotedNames()
    {
        var error = Assert.Throws<ModuleFormatException>(() => Assembler.Assemble(".func main () -> ()\n    call \"no\\nsuch\\x1b\"\n    return\n.end\n"));
        Assert.Equal("line 2: unknown function 'no\\nsuch\\x1b'", error.Message);
    }

    [Fact]
    public void LexerErrorsEscapeControlCharacters()
    {
        foreach (var (character, shown) in new[] { ("\v", "'\\x0b' (U+000B)"), ("\0", "'\\0' (U+0000)"), ("\u001b", "'\\x1b' (U+001B)"), ("\u2028", "'\\u{2028}' (U+2028)"), ("\u00a0", "'\u00a0' (U+00A0)"), ("\U0001F600", "'\U0001F600' (U+1F600)") })
        {
            var error = Assert.Throws<ModuleFormatException>(() => Assembler.Assemble($".func main () -> ()\n    nop {character}[2J\n    return\n.end\n"));
            Assert.Equal($"line 2: unexpected character {shown}", error.Message);
        }
        // A backslash at the end of a line with CR LF endings is followed by a carriage return.
        var escape = Assert.Throws<ModuleFormatException>(() => Assembler.Assemble(".data d \"abc\\\r\n"));
        Assert.Equal("line 1: unknown escape sequence '\\' followed by '\\r' (U+000D); known: \\n \\t \\r \\0 \\\\ \\\" \\' \\xHH", escape.Message);
    }

    [Fact]
    public void NamesWithLoneSurrogatesAreEscapedAndCannotBeWritten()
    {
        var names = AllNamed("\ud800");
        var error = Assert.Throws<VerificationException>(() => Hosting.Module.FromDefinition(Module(names with { Function = names.Main })));
        Assert.Contains("'main\\u{d800}'", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModuleWriter.Write(Module(names)));
    }

    // ---- the command line: what reaches the terminal ----

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private string WriteBinary(string name, ModuleDefinition module)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, ModuleWriter.Write(module));
        return path;
    }

    /// <summary>A module that needs no import: main calls f, which divides by zero.</summary>
    private static ModuleDefinition WithoutImports(Names names, IEnumerable<Instruction>? functionCode = null)
    {
        Instruction[] main = [new(OpCode.I64Const, 7), new(OpCode.Call, 1), new(OpCode.Return)];
        Instruction[] function = [new(OpCode.LocalGet, 0), new(OpCode.I64Const, 0), new(OpCode.I64DivS), new(OpCode.Return)];
        return new ModuleDefinition(
            [new FunctionType([], [VmType.I64]), new FunctionType([VmType.I64], [VmType.I64])], [],
            [
                new FunctionDefinition(names.Main, 0, true, [], main) { Lines = [1, 2, 3] },
                new FunctionDefinition(names.Function, 1, false, [], functionCode ?? function) { LocalNames = [names.Parameter], Lines = [5, 6, 7, 8] },
            ],
            [], [], names.Source);
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void TheCliPrintsOneLineErrorsAndAOneLinePerFrameReport(string hostile)
    {
        var names = AllNamed(hostile) with { Main = "main" };

        var trapping = WriteBinary("trap.jvmb", WithoutImports(names));
        var (code, output, error) = Cli("run", trapping);
        Assert.Equal(70, code);
        Assert.Equal("", output);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        foreach (var line in lines) AssertOneLine(line);
        Assert.StartsWith("trap: DivideByZero: ", lines[0], StringComparison.Ordinal);
        Assert.Equal($"  at {Printable.Quote(names.Function)} ({Printable.Escape(names.Source)}:7, pc 2: i64.div_s)", lines[1]);

        var unverifiable = WriteBinary("bad.jvmb", WithoutImports(names, [new(OpCode.I64Add), new(OpCode.Return)]));
        (code, _, error) = Cli("verify", unverifiable);
        Assert.Equal(65, code);
        AssertOneLine(error.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Contains("[StackUnderflow]", error, StringComparison.Ordinal);

        var unlinkable = WriteBinary("link.jvmb", Module(names));
        (code, _, error) = Cli("run", unlinkable);
        Assert.Equal(65, code);
        AssertOneLine(error.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Contains($"import {Printable.Quote(names.Import)}", error, StringComparison.Ordinal);

        (code, output, _) = Cli("disasm", unlinkable);
        Assert.Equal(0, code);
        AssertPrintable(output, lineFeeds: true);
        Assert.Equal(File.ReadAllBytes(unlinkable), ModuleWriter.Write(Assembler.Assemble(output)));
    }

    // ---- a property over random names ----

    private static readonly string[] Pieces =
    [
        "a", "Z", "_", ".", "$", "0", " ", "'", "\"", "\\", "(", ")", ":", ",", ";", "=", "->", "nan", "é", "π", "\U0001F600",
        "\n", "\r", "\t", "\v", "\f", "\0", "\u0001", "\u001b", "\u001b[2J", "\u007f", "\u0085", "\u009b", "\u00a0", "\u00ad",
        "\u200b", "\u200e", "\u202a", "\u202e", "\u2066", "\u2069", "\u2028", "\u2029", "\ufeff", "\uffff", "\u0378",
    ];

    private static string RandomName(Random random)
    {
        var builder = new StringBuilder();
        for (int i = 0, n = random.Next(0, 6); i < n; i++) builder.Append(Pieces[random.Next(Pieces.Length)]);
        return builder.ToString();
    }

    /// <summary>
    /// For seeded random names in every namespace: verification errors, link errors and format errors are one
    /// printable line, a trap report has exactly one printable line per frame after its first, and the
    /// disassembly is printable and assembles back to the same bytes.
    /// </summary>
    [Fact]
    public void NoMessageAboutRandomlyNamedModulesHoldsAControlCharacter()
    {
        var random = new Random(9_006);
        for (var iteration = 0; iteration < 300; iteration++)
        {
            // Imports and functions share one namespace, so those three names differ.
            var functionNames = new HashSet<string>(StringComparer.Ordinal);
            while (functionNames.Count < 3) functionNames.Add(RandomName(random));
            var (main, function, import) = (functionNames.ElementAt(0), functionNames.ElementAt(1), functionNames.ElementAt(2));
            var names = new Names(RandomName(random), main, function, import, RandomName(random), RandomName(random),
                RandomName(random) is { Length: > 0 } parameter ? parameter : "p", RandomName(random));

            var binary = ModuleWriter.Write(Module(names));
            var definition = ModuleReader.Read(binary);
            var text = Disassembler.Disassemble(definition);
            AssertPrintable(text, lineFeeds: true);
            Assert.Equal(binary, ModuleWriter.Write(Assembler.Assemble(text)));

            var module = Hosting.Module.FromDefinition(definition);
            AssertOneLine(Assert.Throws<LinkException>(() => new Isolate(module, [])).Message);
            var trap = Assert.Throws<TrapException>(() => new Isolate(module, [Identity(names.Import)], new IsolateOptions { Tier = ExecutionTier.Interpreter }).Invoke(1));
            var report = trap.Report();
            AssertPrintable(report, lineFeeds: true);
            Assert.Equal(1 + 2, report.Split('\n').Length);
            AssertOneLine(trap.Message);

            var unverifiable = ModuleReader.Read(ModuleWriter.Write(Module(names, [new(OpCode.F64Const, 0), new(OpCode.LocalSet, 0), new(OpCode.I64Const, 0), new(OpCode.Return)])));
            AssertOneLine(Assert.Throws<VerificationException>(() => Hosting.Module.FromDefinition(unverifiable)).Message);
        }
    }
}
