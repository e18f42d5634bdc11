namespace JitVm.Hosting;

/// <summary>
/// What a program run with the <see cref="SystemInterface"/> may use (spec/system-interface.md). Every capability is
/// off unless granted here: without it the imports still link, and calling one traps <c>HostError</c> naming the
/// capability, so a program that does not use a capability runs the same with or without it.
/// </summary>
public sealed class SystemInterfaceOptions
{
    /// <summary>The program's arguments, as byte strings (<c>sys.arg_count</c>, <c>sys.arg</c>); always readable.</summary>
    public IReadOnlyList<byte[]> Arguments { get; init; } = [];

    /// <summary>The environment variables <c>sys.env</c> may read, or null (the default) to grant none: then
    /// <c>sys.env</c> traps.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The stream <c>sys.read_stdin</c> reads, or null (the default) to grant no input.</summary>
    public Stream? Stdin { get; init; }

    /// <summary>Grants <c>sys.clock_monotonic</c> and <c>sys.clock_wall</c> (off by default, so a run is repeatable).</summary>
    public bool Clock { get; init; }

    /// <summary>Grants <c>sys.random</c> (off by default, so a run is repeatable).</summary>
    public bool Random { get; init; }

    /// <summary>The directory whose files <c>sys.file_read</c> and <c>sys.file_write</c> may use, or null (the
    /// default) for no files. Paths are relative to it and cannot leave it: not by <c>..</c>, not as absolute paths,
    /// not through a symbolic link.</summary>
    public string? Directory { get; init; }
}

/// <summary>The exception <c>sys.exit</c> throws to end the run: the trap <c>HostError</c> it becomes has this as its
/// <see cref="Exception.InnerException"/>, and <c>jitvm run</c> exits with <see cref="ExitCode"/>, reporting no trap.</summary>
public sealed class ProgramExitException : Exception
{
    /// <summary>Creates the exception for exit code <paramref name="exitCode"/>.</summary>
    public ProgramExitException(int exitCode) : base($"the program exited with code {exitCode}") => ExitCode = exitCode;

    /// <summary>The code the program passed to <c>sys.exit</c>, 0 to 255.</summary>
    public int ExitCode { get; }
}
