using Microsoft.Extensions.Logging;

namespace JitVm.Diagnostics;

/// <summary>
/// Every message the VM logs, as source-generated <see cref="LoggerMessage"/> methods (no formatting or boxing when
/// the level is off). Nothing here is called on a hot path: only at compilation, tier-up and traps. Names and
/// source names come from modules, so they are escaped (<see cref="Printable"/>) before they reach a log line.
/// </summary>
internal static partial class Log
{
    public static void ModuleLoaded(ILogger logger, string module, int functions, int instructions, double microseconds)
    {
        if (logger.IsEnabled(LogLevel.Debug)) LogModuleLoaded(logger, Printable.Escape(module), functions, instructions, microseconds);
    }

    public static void ModuleRejected(ILogger logger, string module, string reason)
    {
        if (logger.IsEnabled(LogLevel.Information)) LogModuleRejected(logger, Printable.Escape(module), Printable.Escape(reason));
    }

    public static void Compiled(ILogger logger, int count, string functions, double microseconds, int ilBytes)
    {
        if (logger.IsEnabled(LogLevel.Debug)) LogCompiled(logger, count, Printable.Escape(functions), microseconds, ilBytes);
    }

    public static void NotCompiled(ILogger logger, string function, string reason)
    {
        if (logger.IsEnabled(LogLevel.Information)) LogNotCompiled(logger, Printable.Quote(function), Printable.Escape(reason));
    }

    public static void CompiledInPieces(ILogger logger, string function, int instructions, int pieces, int largest)
    {
        if (logger.IsEnabled(LogLevel.Information)) LogCompiledInPieces(logger, Printable.Quote(function), instructions, pieces, largest);
    }

    public static void TierUp(ILogger logger, string function, int calls, string loop)
    {
        if (logger.IsEnabled(LogLevel.Debug)) LogTierUp(logger, Printable.Quote(function), calls, loop);
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "compile budget spent: '{Function}' ({Cost} units) and later functions stay interpreted in this isolate; {Used} of {Budget} units used")]
    public static partial void CompileBudgetSpent(ILogger logger, string function, long cost, long used, long budget);

    [LoggerMessage(EventId = 150, Level = LogLevel.Debug, Message = "{Kind} collection {Number}: {LiveBytes} bytes in use after, {UsedBytes} before, pause {Microseconds:0} us")]
    public static partial void Collected(ILogger logger, string kind, int number, long liveBytes, long usedBytes, double microseconds);

    public static void Trapped(ILogger logger, TrapCode code, string function, int pc, string module, string isolate, string detail)
    {
        if (logger.IsEnabled(LogLevel.Debug)) LogTrapped(logger, code, Printable.Quote(function), pc, Printable.Escape(module), Printable.Escape(isolate), Printable.Escape(detail));
    }

    public static void JitUnavailable(ILogger logger, string module, string isolate, string tier)
    {
        if (logger.IsEnabled(LogLevel.Warning)) LogJitUnavailable(logger, Printable.Escape(module), Printable.Escape(isolate), tier);
    }

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "the JIT is unavailable in this process (dynamic code is not supported: a NativeAOT application, such as a .NET 10 file-based app by default): {Isolate} runs {Module} in the interpreter, not under the {Tier} policy it asked for")]
    private static partial void LogJitUnavailable(ILogger logger, string module, string isolate, string tier);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "loaded and verified {Module}: {Functions} function(s), {Instructions} instruction(s) in {Microseconds:0} us")]
    private static partial void LogModuleLoaded(ILogger logger, string module, int functions, int instructions, double microseconds);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "rejected {Module}: {Reason}")]
    private static partial void LogModuleRejected(ILogger logger, string module, string reason);

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "compiled {Count} function(s) [{Functions}] to CIL in {Microseconds:0} us ({IlBytes} IL bytes)")]
    private static partial void LogCompiled(ILogger logger, int count, string functions, double microseconds, int ilBytes);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "function {Function} stays interpreted: {Reason}")]
    private static partial void LogNotCompiled(ILogger logger, string function, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "function {Function} ({Instructions} instructions) is compiled in {Pieces} pieces of at most {Largest} instructions")]
    private static partial void LogCompiledInPieces(ILogger logger, string function, int instructions, int pieces, int largest);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "tier-up: {Function} after {Calls} interpreted call(s){Loop}")]
    private static partial void LogTierUp(ILogger logger, string function, int calls, string loop);

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "trap {Code} in {Function} at pc {Pc} of {Module} in {Isolate}: {Detail}")]
    private static partial void LogTrapped(ILogger logger, TrapCode code, string function, int pc, string module, string isolate, string detail);
}
