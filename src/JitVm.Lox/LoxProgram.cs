using System.Diagnostics;
using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Lox;

/// <summary>
/// A compiled Lox script: its verified <see cref="Hosting.Module"/> (entry <c>main</c>, no parameters), the host
/// functions it imports, and the translation of its traps into the runtime errors clox reports.
/// </summary>
public sealed class LoxProgram
{
    internal const string ClockImport = "clock";
    internal const string ErrorCodeGlobal = "lox.error";
    internal const string ErrorAGlobal = "lox.error_a";
    internal const string ErrorBGlobal = "lox.error_b";

    private readonly SymbolTable _symbols;

    internal LoxProgram(Hosting.Module module, SymbolTable symbols)
    {
        Module = module;
        _symbols = symbols;
    }

    /// <summary>The exit code of a run that ended in a runtime error (sysexits' EX_SOFTWARE), as clox's.</summary>
    public const int RuntimeErrorExitCode = 70;

    /// <summary>The exit code of a script that did not compile (EX_DATAERR), as clox's.</summary>
    public const int CompileErrorExitCode = 65;

    /// <summary>The verified module; run its function <see cref="EntryFunction"/>.</summary>
    public Hosting.Module Module { get; }

    /// <summary>The function that runs the script.</summary>
    public static string EntryFunction => CodeGenerator.ScriptFunction;

    /// <summary>The host functions the module imports: the standard printing imports writing to
    /// <paramref name="output"/>, and <c>clock</c> (seconds since the call of this method, as a number).</summary>
    public static IReadOnlyList<HostFunction> Imports(Stream output)
    {
        var started = Stopwatch.GetTimestamp();
        return
        [
            .. StandardImports.Create(output),
            new HostFunction(ClockImport, new FunctionType([], [VmType.F64]),
                (_, values) => values[0] = BitConverter.DoubleToInt64Bits(Stopwatch.GetElapsedTime(started).TotalSeconds)),
        ];
    }

    /// <summary>Runs the script in a new isolate: program output to <paramref name="output"/>, a runtime error to
    /// <paramref name="error"/> as clox writes it. Returns 0, or <see cref="RuntimeErrorExitCode"/>.</summary>
    public int Run(Stream output, TextWriter error, IsolateOptions? options = null)
    {
        var buffered = new BufferedStream(output, 1 << 16);
        var isolate = new Isolate(Module, Imports(buffered), options);
        try
        {
            isolate.Invoke(EntryFunction);
            return 0;
        }
        catch (TrapException trap)
        {
            buffered.Flush();
            error.Write(DescribeTrap(trap, isolate));
            return RuntimeErrorExitCode;
        }
        finally
        {
            buffered.Flush();
        }
    }

    /// <summary>
    /// The runtime error report of a trap of this program's isolate, as clox prints it: the message, then one line
    /// per Lox frame, innermost first (<c>[line N] in name()</c>, <c>[line N] in script</c>). Runtime errors are
    /// the runtime's <c>Unreachable</c> after it recorded the error; call-depth traps are "Stack overflow."; any
    /// other trap (fuel, heap, time limits) keeps the VM's code and message.
    /// </summary>
    public string DescribeTrap(TrapException trap, Isolate isolate)
    {
        ArgumentNullException.ThrowIfNull(trap);
        ArgumentNullException.ThrowIfNull(isolate);
        return DescribeTrap(trap, name => isolate.GetGlobal(name).AsI64);
    }

    /// <summary>The report of <see cref="DescribeTrap(TrapException, Isolate)"/>, reading the runtime's error globals
    /// through <paramref name="readGlobal"/> (a REPL session reads them from the instance of its latest input).</summary>
    internal string DescribeTrap(TrapException trap, Func<string, long> readGlobal)
    {
        var text = new StringBuilder();
        text.Append(Message(trap, readGlobal)).Append('\n');
        foreach (var frame in trap.VmStackTrace)
        {
            if (frame.Function.StartsWith(LoxRuntime.Prefix, StringComparison.Ordinal)) continue;
            text.Append("[line ").Append(frame.Line).Append("] in ");
            if (frame.Function == CodeGenerator.ScriptFunction) text.Append("script\n");
            else text.Append(frame.Function[..frame.Function.LastIndexOf('.')]).Append("()\n");
        }
        return text.ToString();
    }

    private string Message(TrapException trap, Func<string, long> readGlobal)
    {
        switch (trap.Code)
        {
            case TrapCode.CallDepthExceeded:
                return "Stack overflow.";
            case TrapCode.OutOfMemory:
                return "Out of memory.";
            case TrapCode.Unreachable:
                var code = (RuntimeError)readGlobal(ErrorCodeGlobal);
                var a = readGlobal(ErrorAGlobal);
                var b = readGlobal(ErrorBGlobal);
                return code switch
                {
                    RuntimeError.OperandNumber => "Operand must be a number.",
                    RuntimeError.OperandsNumbers => "Operands must be numbers.",
                    RuntimeError.OperandsAdd => "Operands must be two numbers or two strings.",
                    RuntimeError.UndefinedVariable => $"Undefined variable '{_symbols.Name(a)}'.",
                    RuntimeError.UndefinedProperty => $"Undefined property '{_symbols.Name(a)}'.",
                    RuntimeError.NotCallable => "Can only call functions and classes.",
                    RuntimeError.Arity => $"Expected {a} arguments but got {b}.",
                    RuntimeError.PropertiesOnlyOnInstances => "Only instances have properties.",
                    RuntimeError.FieldsOnlyOnInstances => "Only instances have fields.",
                    RuntimeError.SuperclassNotClass => "Superclass must be a class.",
                    RuntimeError.MethodsOnlyOnInstances => "Only instances have methods.",
                    _ => $"{trap.Code}: {trap.Detail}",
                };
            default:
                return $"{trap.Code}: {trap.Detail}";
        }
    }
}

/// <summary>A Lox script that did not compile; <see cref="Errors"/> are clox's lines, in order.</summary>
public sealed class LoxCompileException : Exception
{
    /// <summary>Creates the exception for these error lines.</summary>
    public LoxCompileException(IReadOnlyList<string> errors) : base(string.Join("\n", errors)) => Errors = errors;

    /// <summary>The error lines, each <c>[line N] Error at 'x': message</c> as clox prints them.</summary>
    public IReadOnlyList<string> Errors { get; }
}

/// <summary>Compiles Lox source to a JitVm module.</summary>
public static class LoxCompiler
{
    /// <summary>Compiles <paramref name="source"/>; throws <see cref="LoxCompileException"/> with clox's error lines
    /// when it has compile errors. <paramref name="sourceName"/> names the module (trap reports, disassembly).</summary>
    public static LoxProgram Compile(string source, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var symbols = new SymbolTable();
        var parser = new Parser(source, symbols);
        var script = parser.ParseScript();
        if (parser.Errors.Count > 0) throw new LoxCompileException(parser.Errors);
        var module = new ModuleBuilder(sourceName);
        var runtime = new LoxRuntime(module, symbols.Init);
        var generator = new CodeGenerator(module, runtime, symbols, parser.Globals.Values);
        generator.EmitScript(script, parser.Globals.GetValueOrDefault("clock"));
        return new LoxProgram(module.Build(), symbols);
    }
}
