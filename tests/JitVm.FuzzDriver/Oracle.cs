using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;

namespace JitVm.FuzzDriver;

/// <summary>How one mutant fared. Anything but these outcomes is a finding.</summary>
public enum Verdict
{
    /// <summary>The reader or assembler rejected it with a <see cref="ModuleFormatException"/>.</summary>
    FormatError,

    /// <summary>The verifier rejected it with a <see cref="VerificationException"/>.</summary>
    VerificationError,

    /// <summary>Creating an isolate rejected its imports with a <see cref="LinkException"/>.</summary>
    LinkError,

    /// <summary>It loaded but has no function the driver can call with numbers only.</summary>
    NoEntry,

    /// <summary>It ran to completion on every tier, with the same results.</summary>
    Completed,

    /// <summary>It stopped with the same VM trap on every tier.</summary>
    Trapped,

    /// <summary>Something else escaped, or the tiers disagreed: a defect.</summary>
    Finding,
}

/// <summary>The result of one case: its verdict, the trap code when it trapped, and what went wrong for a finding.</summary>
public sealed record CaseResult(Verdict Verdict, TrapCode? Trap = null, string? Problem = null);

/// <summary>
/// The fuzzers' oracle: a mutant must be rejected cleanly (format, verification or link error) or run on every tier
/// (interpreter, jit, tiered; and by turns, one case in four each, jit under GC stress with heap verification, jit
/// under deoptimisation stress at every safepoint, tiered under it, and jit under both) with small fuel,
/// heap and depth limits to completion or to a VM trap, and all tiers must agree on results, trap, output and fuel.
/// No other exception may escape.
/// </summary>
public static class Oracle
{
    /// <summary>Fuel per run: enough for the seeds' loops to iterate, small enough that no mutant runs long.</summary>
    public const long Fuel = 10_000;

    /// <summary>Heap limit per isolate.</summary>
    public const long MaxHeapBytes = 256 * 1024;

    /// <summary>VM call-depth limit per isolate.</summary>
    public const int MaxCallDepth = 200;

    private static readonly long[] InterestingArguments = [0, 1, -1, 7, 0x1_0000_0001, long.MaxValue, long.MinValue];

    /// <summary>Checks one mutant: <paramref name="load"/> reads and verifies it (once per tier, so no tier runs code
    /// another compiled); <paramref name="random"/> picks the entry's arguments.</summary>
    public static CaseResult Check(Func<Module> load, int caseIndex, Random random)
    {
        var tiers = new List<(string Name, IsolateOptions Options)>
        {
            ("interpreter", Options(ExecutionTier.Interpreter, gcStress: false, deoptStress: false)),
            ("jit", Options(ExecutionTier.Jit, gcStress: false, deoptStress: false)),
            ("tiered", Options(ExecutionTier.Tiered, gcStress: false, deoptStress: false)),
        };
        if (caseIndex % 4 == 0) tiers.Add(("jit+gc-stress", Options(ExecutionTier.Jit, gcStress: true, deoptStress: false)));
        if (caseIndex % 4 == 1) tiers.Add(("jit+deopt-stress", Options(ExecutionTier.Jit, gcStress: false, deoptStress: true)));
        if (caseIndex % 4 == 2) tiers.Add(("tiered+deopt-stress", Options(ExecutionTier.Tiered, gcStress: false, deoptStress: true)));
        if (caseIndex % 4 == 3) tiers.Add(("jit+gc-stress+deopt-stress", Options(ExecutionTier.Jit, gcStress: true, deoptStress: true)));

        Run? reference = null;
        Value[]? arguments = null;
        foreach (var (name, options) in tiers)
        {
            Module module;
            try
            {
                // Each tier loads its own Module, so no tier runs code another tier compiled.
                module = load();
            }
            catch (ModuleFormatException e) when (e.Message.Any(char.IsControl))
            {
                return new CaseResult(Verdict.Finding, Problem: "format error message has a control character: " + System.Text.Json.JsonSerializer.Serialize(e.Message));
            }
            catch (VerificationException e) when (e.Message.Any(char.IsControl))
            {
                return new CaseResult(Verdict.Finding, Problem: "verification message has a control character: " + System.Text.Json.JsonSerializer.Serialize(e.Message));
            }
            catch (ModuleFormatException)
            {
                return reference is null ? new CaseResult(Verdict.FormatError) : Disagree(name, "loading it again failed with a format error");
            }
            catch (VerificationException)
            {
                return reference is null ? new CaseResult(Verdict.VerificationError) : Disagree(name, "loading it again failed verification");
            }
            catch (Exception e)
            {
                return new CaseResult(Verdict.Finding, Problem: $"loading threw {Describe(e)}");
            }

            var entry = FindEntry(module);
            if (entry < 0) return new CaseResult(Verdict.NoEntry);
            arguments ??= [.. module.Definition.SignatureOf(entry).Parameters.Select(type => type == VmType.F64
                ? Value.F64(InterestingArguments[random.Next(InterestingArguments.Length)])
                : Value.I64(InterestingArguments[random.Next(InterestingArguments.Length)]))];

            var run = Execute(module, entry, arguments, options);
            if (run.Unexpected is not null) return new CaseResult(Verdict.Finding, Problem: $"{name}: {run.Unexpected}");
            if (run.LinkError) return reference is null ? new CaseResult(Verdict.LinkError) : Disagree(name, "linking failed only on this tier");
            if (reference is null) reference = run;
            else if (!run.SameAs(reference)) return Disagree(name, $"interpreter gave {reference}, {name} gave {run}");
        }
        return reference!.Trap is { } code ? new CaseResult(Verdict.Trapped, code) : new CaseResult(Verdict.Completed);
    }

    private static CaseResult Disagree(string tier, string detail) =>
        new(Verdict.Finding, Problem: $"the tiers disagree ({tier}): {detail}");

    private static IsolateOptions Options(ExecutionTier tier, bool gcStress, bool deoptStress) => new()
    {
        Tier = tier,
        Fuel = Fuel,
        MaxHeapBytes = MaxHeapBytes,
        MaxCallDepth = MaxCallDepth,
        TierUpCalls = 2,
        Diagnostics = new DiagnosticOptions
        {
            GcStress = gcStress ? Memory.GcStressMode.EveryN : Memory.GcStressMode.Off,
            GcStressInterval = 1,
            VerifyHeap = gcStress,
            DeoptStress = deoptStress ? DeoptStressMode.EverySafepoint : DeoptStressMode.Off,
        },
        NurseryBytes = gcStress ? 512 : new IsolateOptions().NurseryBytes,
        // Tasks run deterministically on the entry's thread, so every tier sees the same schedule. Fuel is per task, so
        // a mutant that spawns without end would do MaxTasks times the fuel's work: keep the tree small.
        Workers = 0,
        MaxTasks = 64,
    };

    /// <summary><c>main</c> when it takes only numbers, else the first defined function that does; -1 when none.</summary>
    private static int FindEntry(Module module)
    {
        var definition = module.Definition;
        static bool Callable(FunctionType type) => type.Parameters.All(p => p is VmType.I64 or VmType.F64);
        var main = module.FindFunction("main");
        if (main >= definition.Imports.Count && Callable(definition.SignatureOf(main))) return main;
        for (var index = definition.Imports.Count; index < definition.FunctionCount; index++)
            if (Callable(definition.SignatureOf(index))) return index;
        return -1;
    }

    private static Run Execute(Module module, int entry, Value[] arguments, IsolateOptions options)
    {
        var output = new DigestStream();
        Isolate isolate;
        try
        {
            isolate = new Isolate(module, StandardImports.Create(output), options);
        }
        catch (LinkException e) when (e.Message.Any(char.IsControl))
        {
            return new Run("", null, 0, output.Digest, Unexpected: "link message has a control character: " + System.Text.Json.JsonSerializer.Serialize(e.Message));
        }
        catch (LinkException)
        {
            return new Run("", null, 0, output.Digest, LinkError: true);
        }
        catch (Exception e)
        {
            return new Run("", null, 0, output.Digest, Unexpected: $"creating the isolate threw {Describe(e)}");
        }
        try
        {
            var results = isolate.Invoke(entry, arguments);
            return new Run(string.Join(" ", results.Select(isolate.Describe)), null, isolate.FuelUsed, output.Digest);
        }
        catch (TrapException trap) when (trap.Report().TrimEnd('\n').Any(c => char.IsControl(c) && c != '\n') || trap.Message.Any(char.IsControl))
        {
            return new Run("", null, 0, output.Digest, Unexpected: "trap message has a control character: " + System.Text.Json.JsonSerializer.Serialize(trap.Report()));
        }
        catch (TrapException trap)
        {
            return new Run("", trap.Code, isolate.FuelUsed, output.Digest);
        }
        catch (Exception e)
        {
            return new Run("", null, 0, output.Digest, Unexpected: $"running threw {Describe(e)}");
        }
    }

    /// <summary>The exception's type, message and innermost frames: enough to find the defect from the report.</summary>
    private static string Describe(Exception e)
    {
        var frames = (e.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3);
        return $"{e.GetType().FullName}: {e.Message.ReplaceLineEndings(" ")} [{string.Join(" | ", frames)}]";
    }

    /// <summary>What one tier observably did.</summary>
    private sealed record Run(string Results, TrapCode? Trap, long FuelUsed, string Output, bool LinkError = false, string? Unexpected = null)
    {
        public bool SameAs(Run other) =>
            Results == other.Results && Trap == other.Trap && FuelUsed == other.FuelUsed && Output == other.Output && LinkError == other.LinkError;

        public override string ToString() =>
            $"results [{Results}], trap {Trap?.ToString() ?? "none"}, fuel used {FuelUsed}, output {Output}";
    }

    /// <summary>
    /// Program output, kept as a length and a hash rather than in memory: a mutant may print far more than the
    /// driver wants to hold, and the tiers only need to agree on it.
    /// </summary>
    private sealed class DigestStream : Stream
    {
        private ulong _hash = 14695981039346656037;
        private long _length;

        public string Digest => $"{_length} bytes, fnv {_hash:x16}";

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            foreach (var b in buffer) _hash = (_hash ^ b) * 1099511628211;
            _length += buffer.Length;
        }

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
