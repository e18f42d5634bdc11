using System.CommandLine;
using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;
using JitVm.Verification;

namespace JitVm.Cli;

/// <summary>
/// Exit codes of the <c>jitvm</c> command (the BSD sysexits convention; spec/execution.md §10.2 is the table). Every
/// code has one meaning, so a script can tell a program that trapped from a VM that failed.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>EX_USAGE: the command line is wrong.</summary>
    public const int Usage = 64;

    /// <summary>EX_DATAERR: the module is malformed, unverifiable or unlinkable, or lacks the entry function.</summary>
    public const int DataError = 65;

    /// <summary>EX_NOINPUT: the input file is missing, a directory, or unreadable.</summary>
    public const int NoInput = 66;

    /// <summary>EX_UNAVAILABLE, sysexits' catch-all for "it did not work and the cause is unknown": a defect in
    /// the VM or the tool (an unexpected .NET exception, a failed heap verification, the host out of memory).</summary>
    public const int Internal = 69;

    /// <summary>EX_SOFTWARE: the guest program trapped; the report went to stderr.</summary>
    public const int Trap = 70;

    /// <summary>EX_CANTCREAT: <c>asm</c> or <c>aot</c> could not write its output file (or <c>compare</c> its chart).</summary>
    public const int CannotCreate = 73;

    /// <summary>EX_CONFIG: <c>aot --r2r</c> cannot get the ReadyToRun compiler (crossgen2) on this machine.</summary>
    public const int Unavailable = 78;

    /// <summary><c>compare</c>: a configuration that ran disagreed with the first one.</summary>
    public const int Disagree = 1;

    /// <summary><c>compare</c>: stopped by Ctrl+C (SIGINT, so 128 + 2 as shells report it); the rows finished so far were written.</summary>
    public const int Interrupted = 130;
}

/// <summary>
/// The <c>jitvm</c> command line, independent of the console so tests can run it in-process: program output and
/// results go to <c>stdout</c> (a byte stream, since programs print bytes), diagnostics to <c>stderr</c>.
/// </summary>
internal sealed class CliApp(Stream stdout, TextWriter stderr)
{
    public static int Main(string[] args)
    {
        using var stdout = Console.OpenStandardOutput();
        var stderr = Console.Error;
        return new CliApp(stdout, stderr).Run(args);
    }

    public int Run(string[] args)
    {
        var root = BuildCommands();
        var output = new StreamWriter(stdout, new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"jitvm: {error.Message}");
            stderr.WriteLine("Run 'jitvm --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("JITVM_DEBUG") != "1")
        {
            // A defect in the VM, not in the user's input: say so in one line; JITVM_DEBUG=1 shows the .NET trace.
            stderr.WriteLine($"jitvm: internal error ({e.GetType().Name}: {e.Message}); please report it with the module that caused it");
            return ExitCodes.Internal;
        }
    }

    /// <summary>The isolate options <c>run</c> gives the command line it parsed (set by <see cref="BuildCommands"/>).</summary>
    private Func<ParseResult, IsolateOptions>? _runOptions;

    /// <summary>The isolate options <c>jitvm run</c> would use for <paramref name="args"/> (which must parse), so
    /// tests can see what each option sets even where the run behaves the same.</summary>
    internal IsolateOptions RunOptions(params string[] args)
    {
        var parse = BuildCommands().Parse(["run", .. args]);
        if (parse.Errors.Count > 0) throw new ArgumentException(string.Join("; ", parse.Errors.Select(e => e.Message)), nameof(args));
        return _runOptions!(parse);
    }

    private RootCommand BuildCommands()
    {
        var root = new RootCommand("JitVm: run, verify, assemble and disassemble modules for the JitVm stack machine.");

        var file = new Argument<string>("file") { Description = "A module: assembly text (.jvm), binary (.jvmb), or an assembly written by 'jitvm aot' (.dll)." };
        var entry = new Option<string>("--entry") { Description = "The function to run.", DefaultValueFactory = _ => "main" };
        var fuel = new Option<long?>("--fuel") { Description = "Instruction budget; the run traps OutOfFuel when it is spent." };
        var maxDepth = new Option<int>("--max-depth")
        {
            Description = $"Most VM frames active at once, from 1 to {IsolateOptions.MaximumCallDepth} (default {IsolateOptions.DefaultMaxCallDepth}).",
            DefaultValueFactory = _ => IsolateOptions.DefaultMaxCallDepth,
        };
        var maxHeap = new Option<long>("--max-heap")
        {
            Description = "Most bytes the program's heap may occupy.",
            DefaultValueFactory = _ => IsolateOptions.DefaultMaxHeapBytes,
        };
        var tier = EnumOptions.Create("--tier", "a tier", ExecutionTier.Tiered, lowerCase: true);
        tier.Description = "Execution policy: interpreter, jit (compile everything first) or tiered (interpret, compile hot and looping functions).";
        var compileBudget = new Option<long>("--compile-budget")
        {
            Description = "Most compilation the run may cause, in VM instructions plus 100 per function; functions beyond it stay interpreted.",
            DefaultValueFactory = _ => IsolateOptions.DefaultCompileBudget,
        };
        var gcStress = EnumOptions.Create("--gc-stress", "a stress mode", Memory.GcStressMode.Off);
        gcStress.Description = "Test mode: collect at every allocation (EveryAllocation), every Nth (EveryN), or 1 in N at random (Random); N is --gc-stress-interval.";
        var gcStressInterval = new Option<int>("--gc-stress-interval") { Description = "N for --gc-stress EveryN or Random.", DefaultValueFactory = _ => 1 };
        var verifyHeap = new Option<bool>("--verify-heap") { Description = "Test mode: check the heap's invariants before and after every collection." };
        var deoptStress = EnumOptions.Create("--deopt-stress", "a stress mode", DeoptStressMode.Off);
        deoptStress.Description = "Test mode: compiled code hands its state to the interpreter at every safepoint (EverySafepoint), every Nth (EveryN), or 1 in N at random (Random); N is --deopt-stress-interval.";
        var deoptStressInterval = new Option<int>("--deopt-stress-interval") { Description = "N for --deopt-stress EveryN or Random.", DefaultValueFactory = _ => 1 };
        var workers = new Option<int?>("--workers") { Description = "Worker threads for spawned tasks (default: one per processor; 0: run tasks deterministically on the main thread)." };
        var fuelUsed = new Option<bool>("--fuel-used") { Description = "After the run (returned or trapped), print 'fuel used: N' on stderr." };
        var stats = new Option<bool>("--stats") { Description = "After the run, print heap and collection figures and each function's tier, compile time and interpreted call count to stderr." };
        var reportJson = new Option<string?>("--report-json") { Description = "Write the run's timings, allocations, collections and peak memory to this file as JSON (spec/execution.md §10.3)." };
        var repeat = new Option<int>("--repeat") { Description = "With --report-json: after the first call, time N more calls of the entry in fresh isolates (their output is discarded).", DefaultValueFactory = _ => 0 };
        var programArgs = new Argument<string[]>("args") { Description = "Arguments for the entry function (integers or floats; put them after -- when negative).", Arity = ArgumentArity.ZeroOrMore };
        var run = new Command("run", "Verify a module and run one of its functions; print its results, one per line.")
        {
            file, entry, fuel, maxDepth, maxHeap, tier, compileBudget, workers, gcStress, gcStressInterval, verifyHeap, deoptStress, deoptStressInterval, fuelUsed, stats, reportJson, repeat, programArgs,
        };
        var setup = new RunSetup();
        setup.AddTo(run);
        Func<ParseResult, IsolateOptions> runOptions = result => new IsolateOptions
        {
            Fuel = result.GetValue(fuel),
            MaxCallDepth = result.GetValue(maxDepth),
            MaxHeapBytes = result.GetValue(maxHeap),
            Tier = result.GetValue(tier),
            CompileBudget = result.GetValue(compileBudget),
            Workers = result.GetValue(workers),
            Diagnostics = new DiagnosticOptions
            {
                GcStress = result.GetValue(gcStress),
                GcStressInterval = result.GetValue(gcStressInterval),
                VerifyHeap = result.GetValue(verifyHeap),
                DeoptStress = result.GetValue(deoptStress),
                DeoptStressInterval = result.GetValue(deoptStressInterval),
            },
        };
        _runOptions = runOptions;
        run.SetAction(result => Guard(result.GetValue(file)!, path => RunModule(path, result.GetValue(entry)!,
            runOptions(result), result.GetValue(fuelUsed), result.GetValue(stats), result.GetValue(programArgs) ?? [],
            RunReport.From(result.GetValue(reportJson), result.GetValue(repeat)), setup.Parse(result))));
        root.Add(run);

        var verifyFile = new Argument<string>("file") { Description = "A module: assembly text or binary." };
        var verify = new Command("verify", "Check that a module is well formed and passes verification.") { verifyFile };
        verify.SetAction(result => Guard(result.GetValue(verifyFile)!, path =>
        {
            var module = Hosting.Module.FromFile(path);
            WriteLine($"{Path.GetFileName(path)}: ok ({module.Definition.Functions.Count} functions, {module.Definition.Functions.Sum(f => f.Code.Length)} instructions)");
            return ExitCodes.Ok;
        }));
        root.Add(verify);

        var asmFile = new Argument<string>("file") { Description = "An assembly text module (.jvm)." };
        var asmOutput = new Option<string>("--output", "-o") { Description = "Where to write the binary module.", Required = true };
        var asm = new Command("asm", "Assemble and verify a text module, and write it in the binary format.") { asmFile, asmOutput };
        asm.SetAction(result => Guard(result.GetValue(asmFile)!, path =>
        {
            var module = Hosting.Module.FromFile(path);
            var target = result.GetValue(asmOutput)!;
            try
            {
                File.WriteAllBytes(target, module.ToBinary());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"jitvm: cannot write '{target}': {e.Message}");
                return ExitCodes.CannotCreate;
            }
            return ExitCodes.Ok;
        }));
        root.Add(asm);

        var disasmFile = new Argument<string>("file") { Description = "A module: binary or assembly text." };
        var disasm = new Command("disasm", "Print a module as assembly text (the module is read, not verified).") { disasmFile };
        disasm.SetAction(result => Guard(result.GetValue(disasmFile)!, path =>
        {
            var definition = FrontEnds.For(path) is { } frontEnd ? frontEnd.Compile(path).Module.Definition : Hosting.Module.ReadDefinition(path);
            Write(Disassembler.Disassemble(definition));
            return ExitCodes.Ok;
        }));
        root.Add(disasm);
        root.Add(Repl.ReplCommand.Build(tier, fuel, maxDepth, maxHeap));
        root.Add(LoxCommand.Build(tier, fuel, maxDepth, maxHeap, stderr, (path, options) =>
            Guard(path, p => RunModule(p, "main", options, false, false, [], null, new RunSetup.Linked(null, null)))));
        root.Add(AotCommand.Build(Guard, stderr));
        root.Add(Compare.CompareCommand.Create(stdout, stderr, Guard));
        return root;
    }

    private int RunModule(string path, string entryName, IsolateOptions options, bool fuelUsed, bool stats, string[] rawArguments, RunReport? report,
        RunSetup.Linked linked)
    {
        if (linked.UsageError is { } usage) return Usage(usage);
        if (report is { Repeat: < 0 }) return Usage("--repeat must not be negative");
        if (report is { Path: null }) return Usage("--repeat needs --report-json (it only adds timed calls to the report)");
        if (options.Fuel is < 0) return Usage("--fuel must not be negative");
        if (options.MaxCallDepth is < 1 or > IsolateOptions.MaximumCallDepth)
            return Usage($"--max-depth must be from 1 to {IsolateOptions.MaximumCallDepth}, not {options.MaxCallDepth}");
        if (options.MaxHeapBytes < 0) return Usage("--max-heap must not be negative");
        if (options.CompileBudget < 0) return Usage("--compile-budget must not be negative");
        if (options.Workers is < 0 or > 1024) return Usage($"--workers must be from 0 to 1024, not {options.Workers}");
        if (options.Diagnostics.GcStressInterval < 1) return Usage("--gc-stress-interval must be at least 1");
        if (options.Diagnostics.DeoptStressInterval < 1) return Usage("--deopt-stress-interval must be at least 1");
        var source = FrontEnds.For(path)?.Compile(path);
        var module = source?.Module ?? AotCommand.LoadForRun(path);
        report?.Verified();
        var index = module.FindFunction(entryName);
        if (index < 0)
        {
            stderr.WriteLine($"jitvm: {Path.GetFileName(path)} has no function named '{entryName}'");
            return ExitCodes.DataError;
        }
        var signature = module.Definition.SignatureOf(index);
        if (rawArguments.Length != signature.Parameters.Length)
            return Usage(JitVm.Diagnostics.Printable.ArgumentCountMismatch(JitVm.Diagnostics.Printable.Quote(entryName), signature, rawArguments.Length));
        var arguments = new Value[rawArguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            var type = signature.Parameters[i];
            if (type is VmType.Ptr or VmType.Word)
                return Usage($"argument {i + 1} of '{entryName}' has type {type.Name()}; only i64 and f64 arguments can be given on the command line");
            if (!Value.TryParse(rawArguments[i], type, out arguments[i]))
                return Usage($"argument {i + 1} of '{entryName}' must be {(type == VmType.I64 ? "an integer" : "a number")} ({type.Name()}), not '{rawArguments[i]}'");
        }

        var buffered = new BufferedStream(stdout, 1 << 16);
        var isolate = linked.Create(module, source?.Imports(buffered) ?? StandardImports.Create(buffered), options);
        report?.Linked();
        try
        {
            var results = report is null ? isolate.Invoke(index, arguments) : report.FirstCall(isolate, index, arguments);
            foreach (var value in results) buffered.Write(Encoding.UTF8.GetBytes(isolate.Describe(value) + "\n"));
            buffered.Flush();
            report?.RunRepeats(() => linked.Create(module, source?.Imports(Stream.Null) ?? StandardImports.Create(Stream.Null), options), index, arguments);
            WriteFuelUsed();
            return ExitCodes.Ok;
        }
        catch (TrapException trap) when (trap.InnerException is ProgramExitException exit)
        {
            // sys.exit (spec/system-interface.md): the program chose to end; no trap to report.
            buffered.Flush();
            WriteFuelUsed();
            return exit.ExitCode;
        }
        catch (TrapException trap)
        {
            buffered.Flush();
            if (source is null) stderr.WriteLine(trap.Report());
            else stderr.Write(source.DescribeTrap(trap, isolate));
            WriteFuelUsed();
            return ExitCodes.Trap;
        }
        finally
        {
            buffered.Flush();
            if (stats) stderr.Write(isolate.Statistics());
            report?.Write(stderr);
        }

        // The normative form of fuel used (spec/execution.md §10.1): one line on stderr after the results or the
        // trap report, before the statistics; only for a run that returned or trapped.
        void WriteFuelUsed()
        {
            if (fuelUsed) stderr.WriteLine(FormattableString.Invariant($"fuel used: {isolate.FuelUsed}"));
        }
    }

    /// <summary>Turns every expected failure into one message and an exit code; no .NET stack trace reaches the user.</summary>
    private int Guard(string path, Func<string, int> action)
    {
        try
        {
            if (!File.Exists(path))
            {
                stderr.WriteLine(Directory.Exists(path) ? $"jitvm: '{path}' is a directory, not a module file" : $"jitvm: no such file: '{path}'");
                return ExitCodes.NoInput;
            }
            return action(path);
        }
        catch (SourceCompileException e)
        {
            foreach (var line in e.Errors) stderr.WriteLine(line);
            return e.ExitCode;
        }
        catch (ModuleFormatException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.DataError;
        }
        catch (VerificationException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.DataError;
        }
        catch (LinkException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.DataError;
        }
        catch (FileNotFoundException e) when (e.FileName != path)
        {
            // A file named by an option (--module), not the module to run.
            stderr.WriteLine($"jitvm: {e.Message}");
            return ExitCodes.NoInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"jitvm: cannot read '{path}': {e.Message}");
            return ExitCodes.NoInput;
        }
    }

    private int Usage(string message)
    {
        stderr.WriteLine($"jitvm: {message}");
        return ExitCodes.Usage;
    }

    private void Write(string text) => stdout.Write(Encoding.UTF8.GetBytes(text));

    private void WriteLine(string text) => Write(text + "\n");
}
