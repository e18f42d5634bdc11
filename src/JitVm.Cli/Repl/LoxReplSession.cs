using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Lox;
using JitVm.Runtime;

namespace JitVm.Cli.Repl;

/// <summary>How a Lox session starts: the options of its store (tier, call depth, heap, diagnostics) and the fuel of
/// each input (<see cref="IsolateOptions.Fuel"/> is not used: every input starts with its own budget).</summary>
internal sealed record LoxReplSettings
{
    public IsolateOptions Options { get; init; } = new();

    /// <summary>Fuel for each input; null for none.</summary>
    public long? FuelPerInput { get; init; }
}

/// <summary>
/// A Lox REPL session, independent of any console: it is fed lines, writes the program's output to one writer and
/// compile and runtime errors, as clox prints them, to another (spec/repl.md, "The Lox REPL").
/// </summary>
/// <remarks>
/// The inputs behave as one script. Each accepted input links a new version of the session module in the session's
/// one store (<see cref="LoxReplCompiler"/>): every earlier input's code plus the new input as the entry. The Lox
/// globals (<c>g.NAME</c>) of the version before are copied into it by name, value and pointer tag; the fiber moves
/// to it and the version before is detached, so only the latest version's globals are roots. Heap objects (closures,
/// classes, instances, strings) stay in the store's heap and keep working, because the functions their closures name
/// keep their indices. A compile error changes nothing; a runtime error leaves the globals as the input left them.
/// </remarks>
internal sealed class LoxReplSession : ILineSession, IDisposable
{
    private const string GlobalPrefix = "g.";

    private readonly TextWriter _error;
    private readonly LoxReplSettings _settings;
    private readonly ReplSession.ProgramOutput _programOutput;
    private readonly IReadOnlyList<HostFunction> _hosts;
    private readonly List<string> _pending = [];
    private readonly Isolate _isolate;
    private readonly LoxReplCompiler _compiler = new();
    private Instance _instance;
    private CancellationTokenSource? _running;

    public LoxReplSession(TextWriter output, TextWriter error, LoxReplSettings? settings = null)
    {
        _error = error;
        _settings = settings ?? new LoxReplSettings();
        _programOutput = new ReplSession.ProgramOutput(output);
        _hosts = LoxProgram.Imports(_programOutput);
        _isolate = new Isolate(Hosting.Module.FromText("", LoxReplCompiler.SourceName), _hosts, _settings.Options with { Fuel = null });
        _instance = _isolate.Instance;
    }

    /// <summary>Whether the lines so far are an incomplete input (unbalanced brackets, an open string).</summary>
    public bool IsContinuing => _pending.Count > 0;

    /// <summary>Never: the Lox REPL has no commands; it ends with Ctrl+D or the end of input.</summary>
    public bool QuitRequested => false;

    /// <summary>How many inputs compiled and ran (whether or not they ended in a runtime error).</summary>
    public int AcceptedInputs => _compiler.AcceptedInputs;

    private Store Store => _isolate.Store;

    private Fiber Fiber => _isolate.Fiber;

    /// <summary>Takes one line: it completes an input (which is compiled and run) unless brackets or a string are
    /// still open, in which case it waits for the next line.</summary>
    public void Feed(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (_pending.Count == 0 && line.Trim().Length == 0) return;
        _pending.Add(line);
        var text = string.Join("\n", _pending);
        if (LoxReplCompiler.IsIncomplete(text)) return;
        _pending.Clear();
        Run(text);
    }

    /// <summary>Ends the input: an incomplete input still pending is compiled as it is (and reports its error).</summary>
    public void Finish()
    {
        if (_pending.Count == 0) return;
        var text = string.Join("\n", _pending);
        _pending.Clear();
        Run(text);
    }

    /// <summary>Drops an incomplete input (Ctrl+C at the continuation prompt).</summary>
    public void DiscardPending() => _pending.Clear();

    /// <summary>Stops the input now running (Ctrl+C); it ends with the trap <see cref="TrapCode.Cancelled"/>, reported
    /// with its Lox trace. May be called from any thread; does nothing when nothing runs.</summary>
    public void Interrupt() => _running?.Cancel();

    private void Run(string text)
    {
        LoxReplInput input;
        try
        {
            input = _compiler.Compile(text);
        }
        catch (LoxCompileException e)
        {
            foreach (var line in e.Errors) _error.WriteLine(line);
            return;
        }
        Instance instance;
        try
        {
            instance = new Instance(Store, input.Program.Module, _hosts, Store.DeoptStress != DeoptStressMode.Off);
        }
        catch
        {
            _compiler.Reject(input);
            throw;
        }
        Commit(instance);
        _compiler.Accept(input);
        Execute(input.Program);
    }

    /// <summary>Makes <paramref name="instance"/> the session's: the Lox globals carried over by name, the fiber
    /// moved, the version before detached.</summary>
    private void Commit(Instance instance)
    {
        var previous = _instance;
        var before = new Dictionary<string, int>(StringComparer.Ordinal);
        var old = previous.Module.Definition.Globals;
        for (var i = 0; i < old.Count; i++)
            if (old[i].Name.StartsWith(GlobalPrefix, StringComparison.Ordinal)) before[old[i].Name] = i;
        var now = instance.Module.Definition.Globals;
        for (var i = 0; i < now.Count; i++)
        {
            // Only the Lox globals carry over: the runtime's own globals (caches of string literals, the error
            // registers) belong to one version's code.
            if (!before.TryGetValue(now[i].Name, out var j)) continue;
            instance.Globals[i] = previous.Globals[j];
            instance.GlobalTags[i] = previous.GlobalTags[j];
        }
        Fiber.Rebind(instance);
        Store.Detach(previous);
        _instance = instance;
    }

    private void Execute(LoxProgram program)
    {
        var entry = program.Module.FindFunction(LoxProgram.EntryFunction);
        Store.Fuel = _settings.FuelPerInput ?? long.MaxValue;
        using var running = new CancellationTokenSource();
        _running = running;
        Store.CancellationToken = running.Token;
        TrapException? trapped = null;
        Store.BeginEntry(Fiber);
        try
        {
            Fiber.EnsureSlots(2);
            Fiber.Execute(entry, 1);
        }
        catch (TrapException trap)
        {
            trapped = trap;
        }
        finally
        {
            Store.EndEntry(Fiber);
            Store.CancellationToken = CancellationToken.None;
            _running = null;
        }
        _programOutput.Flush();
        if (trapped is not null) _error.Write(program.DescribeTrap(trapped, ReadI64Global));
    }

    /// <summary>The bits of a defined global of the current version, by name.</summary>
    private long ReadI64Global(string name)
    {
        var globals = _instance.Module.Definition.Globals;
        for (var i = 0; i < globals.Count; i++)
            if (globals[i].Name == name) return _instance.Globals[i];
        throw new ArgumentException($"the session module has no global {Printable.Quote(name)}", nameof(name));
    }

    public void Dispose() => _running?.Dispose();
}
