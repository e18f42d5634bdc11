using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Verification;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JitVm.Hosting;

/// <summary>Settings shared by everything an <see cref="Engine"/> creates.</summary>
public sealed class EngineOptions
{
    /// <summary>Limits and policy given to isolates created without options of their own (the logger is replaced by one from <see cref="LoggerFactory"/>).</summary>
    public IsolateOptions IsolateDefaults { get; init; } = new();

    /// <summary>Where the engine and its isolates log (module loading, compilation, tier-up, collections, traps); silent by default.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// The entry point for embedders: loads and verifies modules and creates isolates with the engine's defaults and
/// logging. An engine is immutable and thread-safe; so are the modules it loads (their compiled code is shared by
/// every isolate that runs them). Each isolate has a single owner.
/// </summary>
public sealed class Engine
{
    private readonly ILogger _logger;

    /// <summary>Creates an engine.</summary>
    public Engine(EngineOptions? options = null)
    {
        Options = options ?? new EngineOptions();
        _logger = Options.LoggerFactory.CreateLogger("JitVm");
    }

    /// <summary>The engine's settings.</summary>
    public EngineOptions Options { get; }

    /// <summary>Assembles and verifies a module from assembly text.</summary>
    /// <exception cref="ModuleFormatException">The text is malformed.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public Module LoadText(string text, string? sourceName = null) => Load(sourceName, () => Module.FromText(text, sourceName));

    /// <summary>Reads and verifies a module in the binary format.</summary>
    public Module LoadBinary(byte[] bytes, string? sourceName = null) => Load(sourceName, () => Module.FromBinary(bytes, sourceName));

    /// <summary>Reads a module (binary or text, told apart by the magic bytes) from a stream.</summary>
    public Module Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var bytes = buffer.ToArray();
        return Bytecode.ModuleReader.HasMagic(bytes)
            ? LoadBinary(bytes, sourceName)
            : LoadText(new System.Text.UTF8Encoding(false, true).GetString(bytes), sourceName);
    }

    /// <summary>Loads a module file (binary or text).</summary>
    public Module LoadFile(string path) => Load(Path.GetFileName(path), () => Module.FromFile(path));

    /// <summary>Verifies a module built in code.</summary>
    public Module Load(Bytecode.ModuleDefinition definition) => Load(definition.SourceName, () => Module.FromDefinition(definition));

    /// <summary>Creates an isolate of <paramref name="module"/>, linking its imports to <paramref name="hostFunctions"/>.</summary>
    /// <param name="module">The module to run.</param>
    /// <param name="hostFunctions">The functions the module may import.</param>
    /// <param name="options">Limits and policy; the engine's defaults when null. The engine's logger is used unless these set one.</param>
    /// <exception cref="LinkException">An import is missing or has another signature.</exception>
    public Isolate CreateIsolate(Module module, IEnumerable<HostFunction>? hostFunctions = null, IsolateOptions? options = null)
    {
        var chosen = options ?? Options.IsolateDefaults;
        if (chosen.Logger is NullLogger) chosen = chosen with { Logger = _logger };
        return new Isolate(module, hostFunctions, chosen);
    }

    private Module Load(string? sourceName, Func<Module> load)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var module = load();
            if (_logger.IsEnabled(LogLevel.Debug))
                Log.ModuleLoaded(_logger, sourceName ?? "module", module.Definition.Functions.Count,
                    module.Definition.Functions.Sum(f => f.Code.Length), Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            return module;
        }
        catch (JitVmException e)
        {
            Log.ModuleRejected(_logger, sourceName ?? "module", e.Message);
            throw;
        }
    }
}
