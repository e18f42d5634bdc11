using Microsoft.Extensions.Logging;

namespace JitVm.Diagnostics;

/// <summary>
/// Every message the VM logs, as source-generated <see cref="LoggerMessage"/> methods (no formatting or boxing when
/// the level is off). Nothing here is called on a hot path: only at compilation, tier-up and traps.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "loaded and verified {Module}: {Functions} function(s), {Instructions} instruction(s) in {Microseconds:0} us")]
    public static partial void ModuleLoaded(ILogger logger, string module, int functions, int instructions, double microseconds);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "rejected {Module}: {Reason}")]
    public static partial void ModuleRejected(ILogger logger, string module, string reason);

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "compiled {Count} function(s) [{Functions}] to CIL in {Microseconds:0} us ({IlBytes} IL bytes)")]
    public static partial void Compiled(ILogger logger, int count, string functions, double microseconds, int ilBytes);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "function '{Function}' stays interpreted: {Reason}")]
    public static partial void NotCompiled(ILogger logger, string function, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "tier-up: '{Function}' after {Calls} interpreted call(s){Loop}")]
    public static partial void TierUp(ILogger logger, string function, int calls, string loop);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "compile budget spent: '{Function}' ({Cost} units) and later functions stay interpreted in this isolate; {Used} of {Budget} units used")]
    public static partial void CompileBudgetSpent(ILogger logger, string function, long cost, long used, long budget);

    [LoggerMessage(EventId = 150, Level = LogLevel.Debug, Message = "{Kind} collection {Number}: {LiveBytes} bytes in use after, {UsedBytes} before, pause {Microseconds:0} us")]
    public static partial void Collected(ILogger logger, string kind, int number, long liveBytes, long usedBytes, double microseconds);

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "trap {Code} in '{Function}' at pc {Pc}: {Detail}")]
    public static partial void Trapped(ILogger logger, TrapCode code, string function, int pc, string detail);
}
