using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Verification;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JitVm.Hosting;

/// <summary>Settings shared by everything an <see cref="Engine"/> creates.</summary>
public sealed class EngineOptions
{
    /// <summary>Limits and policy given to isolates created without options of their own (they log through <see cref="LoggerFactory"/>, one category per subsystem, unless they set a logger of their own).</summary>
    public IsolateOptions IsolateDefaults { get; init; } = new();

    /// <summary>Where the engine and its isolates log (module loading, compilation, tier-up, collections, traps); silent by default.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// The most bytes one module may have when loaded from a stream, a byte array or a file, from 0 to
    /// <see cref="Array.MaxLength"/> (the default, and the most the binary reader can address). A stream is read no
    /// further than one byte past it, so a host that loads untrusted input bounds the memory reading takes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above <see cref="Array.MaxLength"/>.</exception>
    public int MaxModuleBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Array.MaxLength);
            field = value;
        }
    } = Array.MaxLength;
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
        _logger = Options.LoggerFactory.CreateLogger("JitVm.Engine");
    }

    /// <summary>The engine's settings.</summary>
    public EngineOptions Options { get; }

    /// <summary>Assembles and verifies a module from assembly text.</summary>
    /// <exception cref="ModuleFormatException">The text is malformed.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public Module LoadText(string text, string? sourceName = null) => Load(sourceName, () => Module.FromText(text, sourceName));

    /// <summary>Reads and verifies a module in the binary format.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="bytes"/> is null.</exception>
    /// <exception cref="ModuleFormatException">The bytes are malformed or longer than <see cref="EngineOptions.MaxModuleBytes"/>.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public Module LoadBinary(byte[] bytes, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Load(sourceName, () =>
        {
            if (bytes.Length > Options.MaxModuleBytes) throw TooLong(sourceName);
            return Module.FromBinary(bytes, sourceName);
        });
    }

    /// <summary>
    /// Reads a module from <paramref name="stream"/>, from its current position to its end: the binary format when
    /// the bytes start with the magic <c>\0jvm</c> (or are a non-empty part of it), UTF-8 assembly text otherwise
    /// (an empty stream is empty text, a module with nothing in it). The stream is read in full before anything is
    /// decoded, through <see cref="Stream.Read(byte[], int, int)"/> only (it need not seek and may return fewer
    /// bytes than asked), and is left open.
    /// </summary>
    /// <remarks>
    /// Everything wrong with the bytes is a <see cref="ModuleFormatException"/> naming the byte offset or line: a
    /// truncated or inconsistent binary, a count or length larger than the input, invalid UTF-8, a syntax error,
    /// input longer than <see cref="EngineOptions.MaxModuleBytes"/>. A failure of the stream itself is not a
    /// format error and is not wrapped: whatever exception its <c>Read</c> throws (an <see cref="IOException"/>, an
    /// <see cref="ObjectDisposedException"/>, a cancellation…) reaches the caller unchanged.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot be read (<see cref="Stream.CanRead"/> is false).</exception>
    /// <exception cref="IOException">The stream's <c>Read</c> reported more bytes than it was asked for or a negative count.</exception>
    /// <exception cref="ModuleFormatException">The bytes are malformed or too many.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public Module Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead) throw new ArgumentException("the stream cannot be read (CanRead is false)", nameof(stream));
        return Load(sourceName, () => Module.FromDefinition(Module.Decode(ReadAll(stream, Options.MaxModuleBytes, sourceName), sourceName)));
    }

    /// <summary>Loads a module file (binary or text, told apart as <see cref="Load(Stream, string?)"/> does).</summary>
    /// <exception cref="ModuleFormatException">The file is malformed or longer than <see cref="EngineOptions.MaxModuleBytes"/>.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (including <see cref="FileNotFoundException"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public Module LoadFile(string path)
    {
        using var file = File.OpenRead(path);
        return Load(file, Path.GetFileName(path));
    }

    /// <summary>
    /// Loads a module compiled ahead of time by <c>jitvm aot</c> from the assembly it was saved in: the module the
    /// assembly carries, with the assembly's code installed as every function's compiled code. Isolates of the module
    /// run that code, with the same results, traps, VM stacks and fuel as the other tiers, and compile nothing: this
    /// works without dynamic code (NativeAOT), where other modules are interpreted. The assembly's stamp is checked
    /// before any of its code runs: its code interface version must be this runtime's, and the module it carries must
    /// have the SHA-256 stamped next to it.
    /// </summary>
    /// <remarks>The carried module was verified when it was compiled, and its hash shows it is that module: loading
    /// checks only the module-wide rules again, and decodes a function's instructions and runs its verification pass
    /// (which computes what the interpreter and deoptimisation rely on) when the function is first interpreted,
    /// deoptimised or compiled. A
    /// trimmed or NativeAOT host must keep the whole saved assembly (a trimmer root), since it is bound by name.
    /// Each call makes a new <see cref="Module"/>, which needs the assembly's code to itself: loading the same
    /// assembly twice gives two modules that share its code.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="assembly"/> is null.</exception>
    /// <exception cref="LinkException">The assembly is not one <c>jitvm aot</c> wrote, was compiled for another
    /// version of the runtime's code interface, or carries a module that does not match its stamp.</exception>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "The saved assembly's generated types are found by name; a trimmed host keeps the assembly whole (documented), and a missing type is a LinkException.")]
    public Module LoadAssembly(System.Reflection.Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var name = assembly.GetName().Name;
        return Load(name, () =>
        {
            var module = Module.FromCarried(Bytecode.ModuleReader.ReadCarried(Jit.SavedCode.CarriedModule(assembly, out var hash), name));
            Jit.SavedCode.Load(assembly, module, hash);
            return module;
        });
    }

    /// <summary>
    /// Loads the assembly file <paramref name="path"/> written by <c>jitvm aot</c> (plain or ReadyToRun) into a load
    /// context of its own, then its module as <see cref="LoadAssembly(System.Reflection.Assembly)"/> does. The
    /// assembly stays loaded for the life of the process.
    /// </summary>
    /// <exception cref="LinkException">The file is not an assembly <c>jitvm aot</c> wrote (or not an assembly at all),
    /// was compiled for another version of the runtime's code interface, or carries a module that does not match its stamp.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (including <see cref="FileNotFoundException"/>).</exception>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode("Loads an assembly from a file, which a trimmed or NativeAOT host cannot do: reference the saved assembly and call LoadAssembly(Assembly).")]
    public Module LoadAssembly(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"no such file: '{path}'", path);
        System.Reflection.Assembly assembly;
        try
        {
            assembly = new System.Runtime.Loader.AssemblyLoadContext(Path.GetFileName(full)).LoadFromAssemblyPath(full);
        }
        catch (BadImageFormatException e)
        {
            throw new LinkException($"{Path.GetFileName(full)} is not a .NET assembly ({e.Message}): compile the module with 'jitvm aot'");
        }
        return LoadAssembly(assembly);
    }

    /// <summary>Verifies a module built in code.</summary>
    public Module Load(Bytecode.ModuleDefinition definition) => Load(definition.SourceName, () => Module.FromDefinition(definition));

    /// <summary>Creates an isolate of <paramref name="module"/>, linking its imports to <paramref name="hostFunctions"/>.</summary>
    /// <param name="module">The module to run.</param>
    /// <param name="hostFunctions">The functions the module may import.</param>
    /// <param name="options">Limits and policy; the engine's defaults when null. The engine's logger factory is used unless these set a logger or a factory.</param>
    /// <exception cref="LinkException">An import is missing or has another signature.</exception>
    public Isolate CreateIsolate(Module module, IEnumerable<HostFunction>? hostFunctions = null, IsolateOptions? options = null)
    {
        var chosen = options ?? Options.IsolateDefaults;
        if (chosen.Logger is NullLogger && chosen.LoggerFactory is null) chosen = chosen with { LoggerFactory = Options.LoggerFactory };
        return new Isolate(module, hostFunctions, chosen);
    }

    /// <summary>The first read size: most modules are smaller, and a larger one doubles the buffer as it arrives
    /// (never trusting <see cref="Stream.Length"/>, which a stream may not know or may misreport).</summary>
    private const int InitialReadBytes = 16 * 1024;

    /// <summary>Reads the rest of <paramref name="stream"/>, keeping at most <paramref name="limit"/> bytes: one
    /// more is asked for only to tell "exactly the limit" from "too long".</summary>
    private static byte[] ReadAll(Stream stream, int limit, string? sourceName)
    {
        var buffer = new byte[Math.Min(limit, InitialReadBytes)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length == limit)
                {
                    if (Read(stream, new byte[1], 0) == 0) break;
                    throw TooLong(sourceName, limit);
                }
                Array.Resize(ref buffer, (int)Math.Min(limit, 2L * buffer.Length));
            }
            var read = Read(stream, buffer, length);
            if (read == 0) break;
            length += read;
        }
        return length == buffer.Length ? buffer : buffer.AsSpan(0, length).ToArray();
    }

    private static int Read(Stream stream, byte[] buffer, int offset)
    {
        var wanted = buffer.Length - offset;
        var read = stream.Read(buffer, offset, wanted);
        if ((uint)read > (uint)wanted)
            throw new IOException($"the stream's Read returned {read} when asked for at most {wanted} bytes");
        return read;
    }

    private ModuleFormatException TooLong(string? sourceName) => TooLong(sourceName, Options.MaxModuleBytes);

    private static ModuleFormatException TooLong(string? sourceName, int limit) =>
        new(sourceName, $"byte 0x{limit:x}", $"the module is longer than {limit} bytes, the most this engine loads (EngineOptions.MaxModuleBytes)");

    private Module Load(string? sourceName, Func<Module> load)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var module = load();
            if (_logger.IsEnabled(LogLevel.Debug))
                Log.ModuleLoaded(_logger, sourceName ?? "module", module.Definition.Functions.Count,
                    module.Definition.Functions.Sum(f => f.InstructionCount), Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            return module;
        }
        catch (JitVmException e)
        {
            Log.ModuleRejected(_logger, sourceName ?? "module", e.Message);
            throw;
        }
    }
}
