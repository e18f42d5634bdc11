using System.Globalization;
using System.Text;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Text;

namespace JitVm.Cli.Repl;

/// <summary>The <c>:</c> commands (spec/repl.md §3).</summary>
internal sealed partial class ReplSession
{
    /// <summary>Every command with its arguments and one line of help: <c>:help</c> prints this, completion offers it.</summary>
    internal static readonly (string Name, string Arguments, string Help)[] Commands =
    [
        (":help", "", "list the commands"),
        (":quit", "", "leave the REPL (Ctrl+D does too)"),
        (":load", "FILE", "add the definitions of a module file (text or binary), replacing those of the same name"),
        (":save", "FILE", "write the session's definitions as a module file"),
        (":reset", "", "forget every definition, the stack, the globals and the heap"),
        (":dis", "NAME", "show a function's bytecode with pcs"),
        (":il", "NAME", "show the CIL the JIT generates for a function"),
        (":tier", "[interpreter|jit|tiered]", "show or set how inputs run from now on"),
        (":time", "INSTRUCTIONS", "run instructions repeatedly against the stack (left as it is): median and spread"),
        (":fuel", "[N|off]", "show fuel use, or set the fuel each input may use"),
        (":limits", "[timeout MS|off]", "show the limits (fuel, call depth, heap, timeout), or set the timeout"),
        (":gc", "[collect]", "heap and collector statistics (collect: a full collection first)"),
        (":stack", "", "list the stack's values, deepest first, with their positions"),
        (":heap", "POSITION|GLOBAL", "show the words and tags of the object a stack value or word global points to"),
        (":history", "", "list the inputs so far"),
    ];

    private void Command(string text)
    {
        var space = text.IndexOfAny([' ', '\t']);
        var name = space < 0 ? text : text[..space];
        var argument = space < 0 ? "" : text[(space + 1)..].Trim();
        switch (name)
        {
            case ":help":
                var width = Commands.Max(c => (c.Name + " " + c.Arguments).Length);
                foreach (var (command, arguments, help) in Commands)
                    _out.WriteLine($"  {(command + " " + arguments).PadRight(width)}  {help}");
                _out.WriteLine("  Anything else is instructions (run at once against the stack) or definitions (.func … .end, .global,");
                _out.WriteLine("  .data, .type, .import; the host provides print_i64, print_f64, print_char and print_bytes).");
                break;
            case ":quit":
                QuitRequested = true;
                break;
            case ":load":
                Load(argument);
                break;
            case ":save":
                Save(argument);
                break;
            case ":reset":
                foreach (var entry in _stack) entry.Handle?.Dispose();
                _stack.Clear();
                _definitions.Clear();
                _everDefined.Clear();
                Start(Store.Tier);
                _out.WriteLine("session reset");
                break;
            case ":dis":
                Disassemble(argument);
                break;
            case ":il":
                ShowIl(argument);
                break;
            case ":tier":
                Tier(argument);
                break;
            case ":time":
                Time(argument);
                break;
            case ":fuel":
                Fuel(argument);
                break;
            case ":limits":
                Limits(argument);
                break;
            case ":gc":
                Gc(argument);
                break;
            case ":stack":
                if (_stack.Count == 0) _out.WriteLine("(empty stack)");
                for (var i = 0; i < _stack.Count; i++) _out.WriteLine($"  {i}: {FormatValue(_stack[i])}");
                break;
            case ":heap":
                Heap(argument);
                break;
            case ":history":
                for (var i = 0; i < _history.Count; i++)
                {
                    var rows = _history[i].Split('\n');
                    _out.WriteLine($"  {i + 1,3}  {rows[0]}");
                    foreach (var row in rows.Skip(1)) _out.WriteLine($"       {row}");
                }
                break;
            default:
                _out.WriteLine($"error: unknown command {Printable.Quote(name)}; :help lists the commands");
                break;
        }
    }

    private bool NeedsArgument(string argument, string usage)
    {
        if (argument.Length > 0) return true;
        _out.WriteLine($"error: usage: {usage}");
        return false;
    }

    private void Load(string path)
    {
        if (!NeedsArgument(path, ":load FILE")) return;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _out.WriteLine($"error: cannot read '{path}': {e.Message}");
            return;
        }
        string text;
        try
        {
            text = ModuleReader.HasMagic(bytes) ? Disassembler.Disassemble(ModuleReader.Read(bytes, Path.GetFileName(path))) : new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (Exception e) when (e is ModuleFormatException or DecoderFallbackException)
        {
            _out.WriteLine($"error: {Path.GetFileName(path)}: {e.Message}");
            return;
        }
        // The session owns the source name and line numbering: top-level .source and .line lines are dropped.
        var kept = text.Replace("\r\n", "\n").Split('\n').Where(l => !IsTopLevelDirective(l, ".source") && !IsTopLevelDirective(l, ".line"));
        _inputs++;
        Define(string.Join("\n", kept), _inputs);
    }

    private static bool IsTopLevelDirective(string line, string directive)
    {
        var trimmed = line.TrimStart();
        return trimmed.StartsWith(directive, StringComparison.Ordinal) && (trimmed.Length == directive.Length || char.IsWhiteSpace(trimmed[directive.Length]));
    }

    private void Save(string path)
    {
        if (!NeedsArgument(path, ":save FILE")) return;
        var text = new StringBuilder("; definitions of a jitvm repl session\n");
        foreach (var definition in _definitions) text.Append('\n').Append(definition.Text);
        try
        {
            File.WriteAllText(path, text.ToString(), new UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _out.WriteLine($"error: cannot write '{path}': {e.Message}");
            return;
        }
        _out.WriteLine($"saved {_definitions.Count} definitions to {path}");
    }

    /// <summary>The defined function <paramref name="name"/> of the current session module, or an error shown.</summary>
    private int? DefinedFunction(string name, string command)
    {
        if (!NeedsArgument(name, $"{command} NAME")) return null;
        var definition = _module.Definition;
        var index = _module.FindFunction(name);
        if (index < 0 || name == InputFunction)
        {
            _out.WriteLine($"error: no function named {Printable.Quote(name)}");
            return null;
        }
        if (index < definition.Imports.Count)
        {
            _out.WriteLine($"{Printable.Bare(name)} is an import {definition.SignatureOf(index)}, provided by the host");
            return null;
        }
        return index - definition.Imports.Count;
    }

    private void Disassemble(string name)
    {
        if (DefinedFunction(name, ":dis") is not { } defined) return;
        var definition = _module.Definition;
        var function = definition.Functions[defined];
        // The module's disassembly holds one .func block per defined function, in order.
        var blocks = Disassembler.Disassemble(definition).Split('\n');
        var seen = -1;
        var pc = 0;
        foreach (var row in blocks)
        {
            if (row.StartsWith(".func ", StringComparison.Ordinal)) seen++;
            if (seen != defined) continue;
            var trimmed = row.TrimStart();
            if (trimmed.StartsWith(".line", StringComparison.Ordinal)) continue;
            if (row.StartsWith("    ", StringComparison.Ordinal) && !trimmed.StartsWith(".local", StringComparison.Ordinal))
                _out.WriteLine($"  {pc++,4}  {trimmed}");
            else _out.WriteLine(row);
            if (row == ".end") break;
        }
        _out.WriteLine($"({function.Code.Length} instructions)");
    }

    private void ShowIl(string name)
    {
        if (DefinedFunction(name, ":il") is not { } defined) return;
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            _out.WriteLine("error: this runtime cannot generate code, so there is no CIL to show");
            return;
        }
        foreach (var line in IlListing.Of(_module, defined)) _out.WriteLine(line);
    }

    private void Tier(string argument)
    {
        if (argument.Length == 0)
        {
            _out.WriteLine($"tier: {Store.Tier.ToString().ToLowerInvariant()}");
            return;
        }
        if (!Enum.TryParse<ExecutionTier>(argument, ignoreCase: true, out var tier) || !Enum.IsDefined(tier) || int.TryParse(argument, out _))
        {
            _out.WriteLine($"error: unknown tier {Printable.Quote(argument)}; the tiers are interpreter, jit and tiered");
            return;
        }
        // Every input links a new session module, whose code is compiled (or not) under the new policy.
        Store.ChangeTier(tier);
        _out.WriteLine($"tier: {Store.Tier.ToString().ToLowerInvariant()}");
    }

    private void Time(string instructions)
    {
        if (!NeedsArgument(instructions, ":time INSTRUCTIONS")) return;
        var times = new List<TimeSpan>();
        if (!RunLine(instructions, commit: false, out var results, times)) return;
        // The first run compiles what the tier compiles; it is not counted.
        var counted = times.Skip(1).Select(t => t.TotalMilliseconds).Order().ToArray();
        var median = Median(counted);
        var deviation = Median([.. counted.Select(t => Math.Abs(t - median)).Order()]);
        _out.WriteLine($"{counted.Length} runs: median {Milliseconds(median)}, min {Milliseconds(counted[0])}, max {Milliseconds(counted[^1])}, " +
                       $"spread ±{Milliseconds(deviation)} (median absolute deviation); fuel {_lastFuel} per run");
        _out.WriteLine($"results: {results}");
    }

    private static double Median(double[] sorted) =>
        sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

    private static string Milliseconds(double ms) =>
        ms >= 1 ? $"{ms.ToString("0.###", CultureInfo.InvariantCulture)} ms" : $"{(ms * 1000).ToString("0.###", CultureInfo.InvariantCulture)} us";

    /// <summary>Whether <c>:time</c> runs again: at least 5 counted runs, then until a second has passed or 1,000 runs.</summary>
    private static bool RunAgain(List<TimeSpan> times)
    {
        var counted = times.Count - 1;
        if (counted < 5) return true;
        return counted < 1000 && times.Skip(1).Sum(t => t.TotalSeconds) < 1;
    }

    private void Fuel(string argument)
    {
        if (argument.Length > 0)
        {
            if (argument == "off") FuelPerInput = null;
            else if (long.TryParse(argument.Replace("_", ""), NumberStyles.None, CultureInfo.InvariantCulture, out var fuel)) FuelPerInput = fuel;
            else
            {
                _out.WriteLine($"error: usage: :fuel [N|off], with N a count of fuel units, not {Printable.Quote(argument)}");
                return;
            }
        }
        _out.WriteLine($"fuel per input: {(FuelPerInput is { } limit ? limit.ToString(CultureInfo.InvariantCulture) : "unlimited")}; " +
                       $"the last input used {_lastFuel}; the session has used {_totalFuel}");
    }

    private void Limits(string argument)
    {
        if (argument.Length > 0)
        {
            var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["timeout", "off"]) Store.Timeout = null;
            else if (parts is ["timeout", var ms] && int.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
                Store.Timeout = TimeSpan.FromMilliseconds(milliseconds);
            else
            {
                _out.WriteLine("error: usage: :limits [timeout MS|off]");
                return;
            }
        }
        _out.WriteLine($"fuel per input: {(FuelPerInput is { } fuel ? fuel.ToString(CultureInfo.InvariantCulture) : "unlimited")}");
        _out.WriteLine($"call depth: {Store.MaxDepth} frames");
        _out.WriteLine($"heap: {Store.Heap.LimitBytes} bytes of live data");
        _out.WriteLine($"timeout: {(Store.Timeout is { } timeout ? $"{timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms per input" : "none")}");
    }

    private void Gc(string argument)
    {
        if (argument == "collect") Store.CollectGarbage();
        else if (argument.Length > 0)
        {
            _out.WriteLine("error: usage: :gc [collect]");
            return;
        }
        var heap = Store.Heap;
        var stats = _isolate.GcStatistics;
        _out.WriteLine($"heap: {heap.UsedBytes} bytes in use, {heap.AllocatedBytes} allocated in {heap.ObjectCount} objects; limit {heap.LimitBytes} bytes; nursery {heap.NurseryWords * 8} bytes");
        _out.WriteLine($"collections: {stats.MinorCollections} minor, {stats.FullCollections} full; {heap.PromotedBytes} bytes promoted; " +
                       $"{stats.LiveBytes} bytes in use after the last");
        _out.WriteLine($"pauses: total {stats.TotalPause.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)} ms, " +
                       $"longest minor {stats.LongestMinorPause.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)} ms, " +
                       $"longest {stats.LongestPause.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)} ms");
    }

    private void Heap(string argument)
    {
        if (!NeedsArgument(argument, ":heap POSITION|GLOBAL")) return;
        long pointer;
        string what;
        if (int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            if (position >= _stack.Count)
            {
                _out.WriteLine($"error: the stack has {_stack.Count} values (positions 0 to {_stack.Count - 1}); :stack lists them");
                return;
            }
            if (!_stack[position].IsPointer)
            {
                _out.WriteLine($"error: the value at position {position} is {FormatValue(_stack[position])}, not a pointer");
                return;
            }
            pointer = _stack[position].Current;
            what = $"stack position {position}";
        }
        else
        {
            var globals = _module.Definition.Globals;
            var index = Enumerable.Range(0, globals.Count).FirstOrDefault(i => globals[i].Name == argument, -1);
            if (index < 0)
            {
                _out.WriteLine($"error: {Printable.Quote(argument)} is neither a stack position nor a global");
                return;
            }
            if (_instance.GlobalTags[index] == 0)
            {
                _out.WriteLine($"error: global {Printable.Bare(argument)} holds {_instance.Globals[index]}, not a pointer");
                return;
            }
            pointer = _instance.Globals[index];
            what = $"global {Printable.Bare(argument)}";
        }
        var heap = Store.Heap;
        var length = heap.Length(pointer);
        _out.WriteLine($"object of {length} words ({what}):");
        const int shown = 64;
        for (long i = 0; i < Math.Min(length, shown); i++)
        {
            var word = heap.Words[pointer + i];
            _out.WriteLine(heap.IsPointer(pointer + i)
                ? $"  {i,4}  ptr  len={heap.Length(word)}"
                : $"  {i,4}  int  {word} (0x{word:x16}, f64 {Value.FormatF64(BitConverter.Int64BitsToDouble(word))})");
        }
        if (length > shown) _out.WriteLine($"  ... {length - shown} more words");
    }
}
