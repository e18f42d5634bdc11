using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Interpreter;
using JitVm.Text;
using JitVm.Verification;

namespace JitVm.Hosting;

/// <summary>
/// A verified, immutable module, safe to share between threads and isolates. Create one from assembly text,
/// from the binary format, from a file, or from a <see cref="ModuleDefinition"/> built in code.
/// </summary>
public sealed class Module
{
    private Module(VerifiedModule verified)
    {
        Verified = verified;
    }

    private Runtime.CodeTable? _code;
    private Runtime.CodeTable? _deoptStressCode;

    /// <summary>The module's code (decoded and compiled functions), shared by every instance of it.</summary>
    internal Runtime.CodeTable Code => _code ?? Interlocked.CompareExchange(ref _code, new Runtime.CodeTable(this, false), null) ?? _code!;

    /// <summary>The module's code for deopt stress: compiled code that deoptimises at safepoints on request.</summary>
    internal Runtime.CodeTable DeoptStressCode =>
        _deoptStressCode ?? Interlocked.CompareExchange(ref _deoptStressCode, new Runtime.CodeTable(this, true), null) ?? _deoptStressCode!;

    /// <summary>Why the JIT needs dynamic code: it emits CIL with System.Reflection.Emit. Every caller checks
    /// <see cref="System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported"/> and interprets otherwise
    /// (under NativeAOT), so the library stays usable, interpreter only, where code cannot be generated.</summary>
    internal const string JitNeedsDynamicCode = "The JIT emits CIL with System.Reflection.Emit; without dynamic code every function is interpreted.";

    /// <summary>Why typed exports (<see cref="Isolate.GetDelegate{TDelegate}"/> and its shorthands) need dynamic code:
    /// under the interpreter they bind a generic adapter instantiated over long and double at run time, which
    /// NativeAOT cannot provide. <see cref="Isolate.Invoke(string, Value[])"/> works everywhere.</summary>
    internal const string TypedExportsNeedDynamicCode = "Typed exports instantiate a generic adapter at run time; without dynamic code call Isolate.Invoke instead.";

    /// <summary>The module's compiled code, shared by all isolates that run it with a JIT policy.</summary>
    internal Jit.JitState Jit
    {
        [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(JitNeedsDynamicCode)]
        get => Code.Jit;
    }

    /// <summary>Whether the module's code was loaded from a saved assembly (<see cref="Engine.LoadAssembly(System.Reflection.Assembly)"/>):
    /// its isolates run that code, with no JIT, unless their tier policy is <see cref="ExecutionTier.Interpreter"/>.</summary>
    public bool IsPrecompiled => _code?.SavedAssembly is not null;

    /// <summary>Internal name of <see cref="IsPrecompiled"/> for the runtime's tier decision.</summary>
    internal bool HasSavedCode => IsPrecompiled;

    private int _jitUnavailableNoted;

    /// <summary>True the first time it is asked: the JIT's absence is logged once per module, not per isolate.</summary>
    internal bool NoteJitUnavailable() => Interlocked.Exchange(ref _jitUnavailableNoted, 1) == 0;

    /// <summary>The module's contents.</summary>
    public ModuleDefinition Definition => Verified.Definition;

    internal VerifiedModule Verified { get; }

    /// <summary>Assembles and verifies assembly text.</summary>
    /// <exception cref="ModuleFormatException">The text is malformed.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public static Module FromText(string text, string? sourceName = null) => FromDefinition(Assembler.Assemble(text, sourceName));

    /// <summary>Reads and verifies the binary format.</summary>
    /// <exception cref="ModuleFormatException">The bytes are malformed.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public static Module FromBinary(ReadOnlySpan<byte> bytes, string? sourceName = null) => FromDefinition(ModuleReader.Read(bytes, sourceName));

    /// <summary>Verifies a module built in code.</summary>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public static Module FromDefinition(ModuleDefinition definition) => new(Verifier.Verify(definition));

    /// <summary>The module a saved assembly carries, whose bytes matched the hash stamped when it was verified and
    /// compiled: module-wide rules are checked now, each function's verification pass when it is first decoded
    /// (<see cref="Verifier.VerifyCarried"/>).</summary>
    internal static Module FromCarried(ModuleDefinition definition) => new(Verifier.VerifyCarried(definition));

    /// <summary>Loads a file: binary when it starts with the module magic, assembly text otherwise.</summary>
    /// <exception cref="ModuleFormatException">The file is malformed.</exception>
    /// <exception cref="VerificationException">The module breaks a verification rule.</exception>
    public static Module FromFile(string path) => FromDefinition(ReadDefinition(path));

    /// <summary>Reads a file's module without verifying it (binary when it starts with the magic, text otherwise).</summary>
    /// <exception cref="ModuleFormatException">The file is malformed.</exception>
    public static ModuleDefinition ReadDefinition(string path) => Decode(File.ReadAllBytes(path), Path.GetFileName(path));

    /// <summary>
    /// Decodes a whole input: the binary format when it starts with the magic or is a non-empty part of it (so a
    /// binary cut short in its header is reported as one), UTF-8 assembly text otherwise. Every problem with the
    /// bytes is a <see cref="ModuleFormatException"/> with the byte offset or line.
    /// </summary>
    internal static ModuleDefinition Decode(byte[] bytes, string? sourceName)
    {
        if (ModuleReader.HasMagic(bytes) || (bytes.Length is > 0 and < 4 && ModuleWriter.Magic.StartsWith(bytes)))
            return ModuleReader.Read(bytes, sourceName);
        var chars = new char[bytes.Length];
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out var valid, out var written, replaceInvalidSequences: false);
        if (status != System.Buffers.OperationStatus.Done)
            throw new ModuleFormatException(sourceName, $"byte 0x{valid:x}",
                "invalid UTF-8: the input is neither a binary module (it does not start with the \\0jvm magic) nor UTF-8 assembly text");
        return Assembler.Assemble(new string(chars, 0, written), sourceName);
    }

    /// <summary>
    /// Compiles every function ahead of time, with the JIT's own emitter, into a .NET assembly written to
    /// <paramref name="path"/> that also carries the module, stamped with the runtime's code interface version and the
    /// module's SHA-256 (what <c>jitvm aot</c> writes). <see cref="Engine.LoadAssembly(string)"/> or, for an assembly a
    /// host references, <see cref="Engine.LoadAssembly(System.Reflection.Assembly)"/> runs it, with no JIT. Functions the
    /// JIT never compiles (too large, spec/execution.md §8.3) are left out and run in the interpreter.
    /// </summary>
    /// <param name="path">The assembly file to write (conventionally NAME.dll).</param>
    /// <param name="assemblyName">The assembly's simple name; by default the file name without its extension.</param>
    /// <exception cref="ArgumentException"><paramref name="assemblyName"/> (or the file name it defaults to) is empty.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode("Saving compiled code uses System.Reflection.Emit's PersistedAssemblyBuilder.")]
    public void SaveAssembly(string path, string? assemblyName = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = assemblyName ?? Path.GetFileNameWithoutExtension(path);
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("the assembly needs a name: give one, or a file name with one", nameof(assemblyName));
        JitVm.Jit.AssemblyCompiler.Save(this, path, name);
    }

    /// <summary>The module in the binary format.</summary>
    public byte[] ToBinary() => ModuleWriter.Write(Definition);

    /// <summary>The module as assembly text.</summary>
    public string ToText() => Disassembler.Disassemble(Definition);

    /// <summary>Finds a function index by name (imports and defined functions); -1 when absent.</summary>
    public int FindFunction(string name)
    {
        for (var i = 0; i < Definition.FunctionCount; i++)
            if (Definition.NameOf(i) == name) return i;
        return -1;
    }

    /// <summary>The interpreter form of a defined function, decoded on first use and then shared.</summary>
    internal DecodedFunction Decoded(int definedIndex) => Code.Decoded(definedIndex);
}

/// <summary>A module could not be linked: its imports are not satisfied by the host functions given, or compiled
/// code saved for it was made for another version of the runtime's code interface or from another module.</summary>
public sealed class LinkException : JitVmException
{
    /// <summary>Creates the exception.</summary>
    public LinkException(string message) : base(message)
    {
    }
}
