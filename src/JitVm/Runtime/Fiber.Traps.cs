using JitVm.Bytecode;
using JitVm.Diagnostics;

namespace JitVm.Runtime;

/// <summary>Where a trap happened: the VM stack rebuilt from the call sites, and the fuel left then.</summary>
internal sealed partial class Fiber
{
    /// <summary>Most frames a trap's VM stack keeps from the inside (the trap's own first) and from the outside (the
    /// entry's last); the frames between are counted, not kept, so a trap costs bounded memory at any depth.</summary>
    public const int TraceInnermostFrames = 192, TraceOutermostFrames = 64;

    /// <summary>
    /// The VM stack of a trap: the innermost frame at <paramref name="innermostSite"/> (running at
    /// <paramref name="depth"/>), then each caller's call site from <see cref="Sites"/>, outwards; past
    /// <see cref="TraceInnermostFrames"/> + <see cref="TraceOutermostFrames"/> frames only the two ends are kept.
    /// Returns the frames and how many were left out between them.
    /// </summary>
    public (List<VmStackFrame> Frames, int Elided) Trace(long innermostSite, int depth)
    {
        var callers = Math.Min(depth, Store.MaxDepth + 1) - 1;
        var total = callers + 1;
        var elided = Math.Max(0, total - TraceInnermostFrames - TraceOutermostFrames);
        var frames = new List<VmStackFrame>(total - elided) { FrameAt(innermostSite, depth) };
        for (var d = callers; d >= 1; d--)
        {
            // Frame d is the (callers - d + 1)th from the inside; skip the middle once the innermost are kept.
            if (elided > 0 && d == callers - (TraceInnermostFrames - 1)) d -= elided - 1;
            else frames.Add(FrameAt(Sites[d], d));
        }
        return (frames, elided);
    }

    /// <summary>Records where a trap happened (unless a deeper frame already did) and the fuel left then.</summary>
    public TrapException Locate(TrapException trap, long site, int depth, long fuel)
    {
        if (!trap.HasStack)
        {
            var (frames, elided) = Trace(site, depth);
            trap.SetStack(frames, elided, Store.Owner);
            if (!trap.FuelRecorded) FuelSlice = fuel;
            var logger = Store.TrapLogger;
            if (logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
                Log.Trapped(logger, trap.Code, trap.Location?.Function ?? "?", trap.Location?.Pc ?? -1,
                    Instance.Module.Definition.SourceName ?? "module", Store.Owner.Name, trap.Detail);
        }
        return trap;
    }

    /// <summary>The frame at <paramref name="depth"/> stopped at <paramref name="site"/>, named in its instance's module.</summary>
    private VmStackFrame FrameAt(long site, int depth)
    {
        var definition = InstanceAt(depth).Module.Definition;
        var index = CallSites.Function(site);
        var pc = CallSites.Pc(site);
        if (index < definition.Imports.Count) return new VmStackFrame(definition.Imports[index].Name, 0, "host", 0, null);
        var function = definition.Functions[index - definition.Imports.Count];
        return new VmStackFrame(function.Name, pc, function.Code[pc].OpCode.Mnemonic(), function.LineAt(pc), definition.SourceName);
    }
}
