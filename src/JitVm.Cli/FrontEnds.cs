using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Cli;

/// <summary>A program compiled from a source language: its module, the host functions it needs, and how its
/// traps are reported in the language's own terms.</summary>
internal sealed record SourceProgram(
    Hosting.Module Module,
    Func<Stream, IReadOnlyList<HostFunction>> Imports,
    Func<TrapException, Isolate, string> DescribeTrap);

/// <summary>A source file that did not compile: the language's own error lines and the exit code it uses.</summary>
internal sealed class SourceCompileException(IReadOnlyList<string> errors, int exitCode) : Exception(string.Join("\n", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;

    public int ExitCode { get; } = exitCode;
}

/// <summary>A language front end: compiles source files with its extension to a module.</summary>
internal interface IFrontEnd
{
    /// <summary>The file extension, with its dot (<c>.lox</c>).</summary>
    string Extension { get; }

    /// <summary>Compiles the file; throws <see cref="SourceCompileException"/> for the language's compile errors.</summary>
    SourceProgram Compile(string path);
}

/// <summary>
/// The one place front ends are registered. <c>run</c> and <c>compare</c> ask it for a file's front end by
/// extension; a file no front end claims is a JitVm module (text, binary or saved assembly).
/// </summary>
internal static class FrontEnds
{
    private static readonly IFrontEnd[] Registered = [new LoxFrontEnd()];

    /// <summary>The front end for <paramref name="path"/>'s extension, or null for a module file.</summary>
    public static IFrontEnd? For(string path) =>
        Registered.FirstOrDefault(f => string.Equals(Path.GetExtension(path), f.Extension, StringComparison.OrdinalIgnoreCase));

    /// <summary>The module in <paramref name="path"/>: compiled by its front end, or read as a module.</summary>
    public static Hosting.Module LoadModule(string path) => For(path) is { } frontEnd ? frontEnd.Compile(path).Module : Hosting.Module.FromFile(path);
}

/// <summary>Lox (<c>.lox</c>), the language of Crafting Interpreters (src/JitVm.Lox, spec/lox.md).</summary>
internal sealed class LoxFrontEnd : IFrontEnd
{
    public string Extension => ".lox";

    public SourceProgram Compile(string path)
    {
        Lox.LoxProgram program;
        try
        {
            program = Lox.LoxCompiler.Compile(File.ReadAllText(path), Path.GetFileName(path));
        }
        catch (Lox.LoxCompileException e)
        {
            throw new SourceCompileException(e.Errors, Lox.LoxProgram.CompileErrorExitCode);
        }
        return new SourceProgram(program.Module, Lox.LoxProgram.Imports, program.DescribeTrap);
    }
}
