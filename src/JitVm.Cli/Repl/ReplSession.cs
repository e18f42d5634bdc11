using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Runtime;
using JitVm.Verification;

namespace JitVm.Cli.Repl;

/// <summary>How a session starts.</summary>
internal sealed record ReplSettings
{
    public ExecutionTier Tier { get; init; } = ExecutionTier.Tiered;

    /// <summary>Fuel for each input (each line run, each definition's run of nothing); null for none.</summary>
    public long? FuelPerInput { get; init; }

    public int MaxCallDepth { get; init; } = IsolateOptions.DefaultMaxCallDepth;

    public long MaxHeapBytes { get; init; } = IsolateOptions.DefaultMaxHeapBytes;
}

/// <summary>
/// A REPL session, independent of any console: it is fed lines and writes what it has to say to a writer.
/// </summary>
/// <remarks>
/// <para>State lives in one store (spec/repl.md): the heap, the operand stack between inputs (each pointer on it held
/// by a store handle, so it is a root the collector updates), and the session module. The session module is every
/// definition so far; each input links a new version of it in the store and moves the fiber to it: a definition
/// input links the definitions, an instruction line links them plus a function <c>"&lt;input&gt;"</c> whose parameters
/// are the stack's values, whose body pushes them and runs the line, and whose results are the new stack. Every
/// global keeps its value from the version before (copied by name unless the input redefined it), and the version
/// it replaced is detached from the store, so only the latest is a root. Redefining a function therefore changes
/// what every caller calls from the next input on.</para>
/// <para>An input that fails to assemble, verify or link changes nothing; one that traps keeps the stack it had
/// before the line, and whatever the program wrote to globals and the heap before the trap.</para>
/// </remarks>
internal sealed partial class ReplSession : ILineSession, IDisposable
{
    /// <summary>The source name of the session module, in trap reports and messages.</summary>
    internal const string SourceName = "repl";

    /// <summary>The name of the function an instruction line runs as (a quoted name no identifier can spell).</summary>
    internal const string InputFunction = "<input>";

    private readonly TextWriter _out;
    private readonly ReplSettings _settings;
    private readonly List<Definition> _definitions = [];
    private readonly List<StackEntry> _stack = [];
    private readonly List<string> _history = [];
    private readonly List<string> _pending = [];
    private readonly ProgramOutput _programOutput;
    private Isolate _isolate = null!;
    private Instance _instance = null!;
    private Hosting.Module _module = null!;
    private IReadOnlyList<HostFunction> _hosts = null!;
    private CancellationTokenSource? _running;
    private SessionText? _layout;
    private int _inputs;
    private long _lastFuel;
    private long _totalFuel;

    /// <summary>A value on the operand stack between inputs. A pointer (a ptr, or a word holding one) is held by a
    /// store handle, which the collector updates; its bits are read from the handle at each use.</summary>
    private sealed record StackEntry(VmType Type, long Bits, Handle? Handle)
    {
        public bool IsPointer => Handle is not null;

        public long Current => Handle?.Bits ?? Bits;
    }

    public ReplSession(TextWriter output, ReplSettings? settings = null)
    {
        _out = output;
        _settings = settings ?? new ReplSettings();
        _programOutput = new ProgramOutput(output);
        FuelPerInput = _settings.FuelPerInput;
        Start(_settings.Tier);
    }

    /// <summary>Whether the input so far is incomplete (an open <c>.func</c> block): the prompt asks for more.</summary>
    public bool IsContinuing => _pending.Count > 0;

    /// <summary>Set by <c>:quit</c>.</summary>
    public bool QuitRequested { get; private set; }

    /// <summary>Every input taken so far, as typed (a block as one entry).</summary>
    public IReadOnlyList<string> History => _history;

    /// <summary>Names the session defines (functions, imports, globals, data, types), for completion.</summary>
    public IEnumerable<string> DefinedNames => _definitions.Select(d => d.Name);

    public long? FuelPerInput { get; private set; }

    private Store Store => _isolate.Store;

    private Fiber Fiber => _isolate.Fiber;

    private void Start(ExecutionTier tier)
    {
        _hosts = StandardImports.Create(_programOutput);
        _module = Hosting.Module.FromText("", SourceName);
        _isolate = new Isolate(_module, _hosts, new IsolateOptions { Tier = tier, MaxCallDepth = _settings.MaxCallDepth, MaxHeapBytes = _settings.MaxHeapBytes });
        _instance = _isolate.Instance;
    }

    /// <summary>Stops the program now running (Ctrl+C); it ends with the trap <see cref="TrapCode.Cancelled"/>.
    /// May be called from any thread; does nothing when nothing runs.</summary>
    public void Interrupt() => _running?.Cancel();

    /// <summary>Drops an incomplete input (Ctrl+C at the continuation prompt).</summary>
    public void DiscardPending() => _pending.Clear();

    /// <summary>Takes one line of input: a command, a line of instructions, or a line of a definition.</summary>
    public void Feed(string line)
    {
        if (_pending.Count == 0)
        {
            if (line.Trim().Length == 0) return;
            if (line.TrimStart().StartsWith(':'))
            {
                _history.Add(line.Trim());
                Command(line.Trim());
                return;
            }
        }
        _pending.Add(line);
        var text = string.Join("\n", _pending);
        if (InputText.IsDefinition(text))
        {
            if (InputText.IsIncomplete(text)) return;
            _pending.Clear();
            _history.Add(text);
            Define(text, ++_inputs);
            return;
        }
        _pending.Clear();
        _history.Add(line.Trim());
        _inputs++;
        RunLine(line, commit: true, out _);
    }

    /// <summary>Defines (or redefines) what <paramref name="text"/> declares; prints what changed.</summary>
    private bool Define(string text, int input)
    {
        var (definitions, error) = InputText.SplitDefinitions(text, input);
        if (error is not null)
        {
            _out.WriteLine($"error: {error}");
            return false;
        }
        var candidate = new List<Definition>(_definitions);
        foreach (var definition in definitions)
        {
            if (definition.Name == InputFunction)
            {
                _out.WriteLine($"error: the name {Printable.Quote(InputFunction)} is the REPL's own");
                return false;
            }
            var at = candidate.FindIndex(d => d.Kind == definition.Kind && d.Name == definition.Name);
            if (at >= 0) candidate[at] = definition;
            else candidate.Add(definition);
        }
        var built = Build(candidate, null, text);
        if (built is null) return false;
        Commit(candidate, built.Value.Module, built.Value.Instance);
        foreach (var definition in definitions)
        {
            var redefined = WasDefinedBefore(definition);
            _out.WriteLine($"{(redefined ? "redefined" : "defined")} {Describe(definition, built.Value.Module.Definition)}");
        }
        return true;
    }

    private readonly HashSet<(DefinitionKind, string)> _everDefined = [];

    private bool WasDefinedBefore(Definition definition) => !_everDefined.Add((definition.Kind, definition.Name));

    private static string Describe(Definition definition, ModuleDefinition module)
    {
        var name = Printable.Bare(definition.Name);
        switch (definition.Kind)
        {
            case DefinitionKind.Function:
                var index = Enumerable.Range(0, module.FunctionCount).Where(i => module.NameOf(i) == definition.Name).DefaultIfEmpty(-1).First();
                var kind = definition.Directive == ".import" ? "import" : "function";
                return index >= 0 ? $"{kind} {name} {module.SignatureOf(index)}" : $"{kind} {name}";
            case DefinitionKind.Global:
                var global = module.Globals.FirstOrDefault(g => g.Name == definition.Name);
                return $"global {name} {global?.Type.Name()}";
            case DefinitionKind.Data:
                var data = module.Data.FirstOrDefault(d => d.Name == definition.Name);
                return $"data {name} ({data?.Bytes.Length} bytes)";
            default:
                return $"type {name}";
        }
    }

    /// <summary>
    /// Assembles, verifies and links a version of the session module: <paramref name="definitions"/>, plus the input
    /// function when <paramref name="inputFunction"/> is given. Reports any error (with a caret under the token in
    /// <paramref name="typed"/>, the input being taken) and returns null; nothing in the session changes until the
    /// caller commits the result.
    /// </summary>
    private (Hosting.Module Module, Instance Instance)? Build(List<Definition> definitions, InputFunctionText? inputFunction, string typed)
    {
        var layout = new SessionText(definitions, inputFunction);
        _layout = layout;
        _definitionsBeingBuilt = definitions;
        Hosting.Module module;
        try
        {
            module = Hosting.Module.FromText(layout.Text, SourceName);
        }
        catch (ModuleFormatException e)
        {
            ReportFormatError(e, layout, typed);
            return null;
        }
        catch (VerificationException e)
        {
            ReportVerificationError(e, layout, inputFunction);
            return null;
        }
        try
        {
            return (module, new Instance(Store, module, _hosts));
        }
        catch (LinkException e)
        {
            _out.WriteLine($"error: {e.Message}");
            return null;
        }
    }

    /// <summary>Makes <paramref name="instance"/> the session's: globals carried over, the fiber moved, the version
    /// before detached.</summary>
    private void Commit(List<Definition> definitions, Hosting.Module module, Instance instance)
    {
        var previous = _instance;
        var before = previous.Module.Definition.Globals;
        var after = module.Definition.Globals;
        for (var i = 0; i < after.Count; i++)
        {
            var name = after[i].Name;
            var old = _definitions.Find(d => d.Kind == DefinitionKind.Global && d.Name == name);
            var now = definitions.Find(d => d.Kind == DefinitionKind.Global && d.Name == name);
            // A global keeps its value unless this input redefined it (then it starts from its new initial value).
            if (old is null || !ReferenceEquals(old, now)) continue;
            for (var j = 0; j < before.Count; j++)
            {
                if (before[j].Name != name || before[j].Type != after[i].Type) continue;
                instance.Globals[i] = previous.Globals[j];
                instance.GlobalTags[i] = previous.GlobalTags[j];
            }
        }
        if (!ReferenceEquals(definitions, _definitions))
        {
            _definitions.Clear();
            _definitions.AddRange(definitions);
        }
        Fiber.Rebind(instance);
        Store.Detach(previous);
        _instance = instance;
        _module = module;
    }

    /// <summary>
    /// Runs a line of instructions against the stack. With <paramref name="commit"/> its results become the stack
    /// and are shown; without (for <c>:time</c>), the stack stays and the results are returned.
    /// </summary>
    private bool RunLine(string line, bool commit, out string results, List<TimeSpan>? times = null)
    {
        results = "";
        var pieces = InputText.SplitInstructions(line);
        if (pieces.Count == 0) return true;
        if (_stack.Count > ModuleLimits.MaxSignatureArity)
        {
            _out.WriteLine($"error: the stack holds {_stack.Count} values; an input can take at most {ModuleLimits.MaxSignatureArity} (drop some first)");
            return false;
        }
        var parameters = _stack.Select(e => e.Type).ToArray();
        // First with a terminator any stack satisfies, to learn the types the line leaves; then for real.
        _typedLine = line;
        var probe = Build(_definitions, new InputFunctionText(parameters, null, pieces, Probe: true), line);
        if (probe is null) return false;
        // The probe ends "i64.const 0; unreachable": the stack before the unreachable is null only where the end is
        // never reached (the line loops or traps), and otherwise holds the line's results under that i64.
        var end = probe.Value.Module.Verified.Functions[^1].StackBefore[^1];
        var resultTypes = end is null ? null : TypeStack.ToArray(end.Below);
        Store.Detach(probe.Value.Instance);
        var real = Build(_definitions, new InputFunctionText(parameters, resultTypes, pieces, Probe: false), line);
        if (real is null) return false;
        Commit(_definitions, real.Value.Module, real.Value.Instance);

        var index = _module.Definition.FunctionCount - 1;
        var signature = _module.Definition.SignatureOf(index);
        var width = Math.Max(Math.Max(parameters.Length, signature.Results.Length), 1);
        long spent = 0;
        TrapException? trapped = null;
        long[] bits = [];
        byte[] tags = [];
        var runs = 0;
        for (var again = true; again; again = times is not null && RunAgain(times))
        {
            runs++;
            // Each run starts with its own budget (or none), whatever the run before it left.
            Store.Fuel = FuelPerInput ?? long.MaxValue;
            var fuelAtStart = Store.Fuel;
            using var running = new CancellationTokenSource();
            _running = running;
            Store.CancellationToken = running.Token;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            Store.BeginEntry(Fiber);
            try
            {
                Fiber.EnsureSlots(width + 1);
                for (var i = 0; i < _stack.Count; i++)
                {
                    Fiber.Slots[i] = _stack[i].Current;
                    Fiber.SlotTags[i] = _stack[i].IsPointer ? (byte)1 : (byte)0;
                }
                Fiber.Execute(index, width);
                bits = Fiber.Slots[..signature.Results.Length];
                tags = Fiber.SlotTags[..signature.Results.Length];
            }
            catch (TrapException trap)
            {
                trapped = trap;
            }
            finally
            {
                Store.EndEntry(Fiber);
                spent += fuelAtStart - Store.Fuel;
                Store.CancellationToken = CancellationToken.None;
                _running = null;
                times?.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            }
            _programOutput.Flush();
            if (trapped is not null)
            {
                ReportTrap(trapped, _layout!);
                _lastFuel = spent;
                _totalFuel += spent;
                return false;
            }
        }
        _lastFuel = spent / runs;
        _totalFuel += spent;

        // No collection can run between the entry's end and these handles: the results' pointers are still exact.
        var entries = new List<StackEntry>();
        for (var i = 0; i < signature.Results.Length; i++)
        {
            var type = signature.Results[i];
            var isPointer = type == VmType.Ptr || (type == VmType.Word && tags[i] != 0);
            entries.Add(new StackEntry(type, bits[i], isPointer ? Store.HandleFor(bits[i]) : null));
        }
        if (!commit)
        {
            results = FormatStack(entries);
            foreach (var entry in entries) entry.Handle?.Dispose();
            return true;
        }
        foreach (var entry in _stack) entry.Handle?.Dispose();
        _stack.Clear();
        _stack.AddRange(entries);
        _out.WriteLine(FormatStack(_stack));
        return true;
    }

    public void Dispose()
    {
        foreach (var entry in _stack) entry.Handle?.Dispose();
        _stack.Clear();
        _running?.Dispose();
    }

    /// <summary>Program output (the print imports) goes to the session's writer, decoded as UTF-8.</summary>
    internal sealed class ProgramOutput(TextWriter writer) : Stream
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var chars = new char[_decoder.GetCharCount(buffer, flush: false)];
            var n = _decoder.GetChars(buffer, chars, flush: false);
            writer.Write(chars, 0, n);
        }

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush() => writer.Flush();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
