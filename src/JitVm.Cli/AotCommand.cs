using System.CommandLine;
using JitVm.Hosting;

namespace JitVm.Cli;

/// <summary>
/// <c>jitvm aot FILE -o OUT.dll [--r2r]</c>: compiles every function of a verified module with the JIT's emitter into
/// a saved .NET assembly that also carries the module (spec/execution.md §10, spec/internals.md §5), optionally
/// ReadyToRun-compiled to machine code by crossgen2 (<see cref="ReadyToRun"/>). <c>jitvm run OUT.dll</c> and
/// <see cref="Engine.LoadAssembly(string)"/> run it.
/// </summary>
internal static class AotCommand
{
    /// <summary>The bytes every PE file (so every .NET assembly) starts with: how <c>run</c> tells a saved assembly
    /// from a module, whose binary starts with <c>\0jvm</c> and whose text cannot start with "MZ" and be valid.</summary>
    private static ReadOnlySpan<byte> PeMagic => "MZ"u8;

    /// <summary>Whether <paramref name="path"/> holds a PE image (a saved assembly), judged by its first two bytes.</summary>
    public static bool IsAssembly(string path)
    {
        Span<byte> start = stackalloc byte[2];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(start, 2, throwOnEndOfStream: false) == 2 && start.SequenceEqual(PeMagic);
    }

    /// <summary>The module <c>run</c> runs from <paramref name="path"/>: a saved assembly's, with its code installed,
    /// or a module file's.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The jitvm tool is not trimmed.")]
    public static Hosting.Module LoadForRun(string path) =>
        IsAssembly(path) ? new Engine().LoadAssembly(path) : Hosting.Module.FromFile(path);

    public static Command Build(Func<string, Func<string, int>, int> guard, TextWriter stderr)
    {
        var file = new Argument<string>("file") { Description = "A module: assembly text (.jvm) or binary (.jvmb)." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the assembly (OUT.dll).", Required = true };
        var r2r = new Option<bool>("--r2r") { Description = "Also compile the assembly to machine code for this platform with crossgen2 (ReadyToRun), restored through NuGet." };
        var aot = new Command("aot", "Compile every function of a verified module ahead of time into a .NET assembly that carries the module; 'jitvm run OUT.dll' runs it.")
        {
            file, output, r2r,
        };
        aot.SetAction(result => guard(result.GetValue(file)!, path => Compile(path, result.GetValue(output)!, result.GetValue(r2r), stderr)));
        return aot;
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "The jitvm tool runs with dynamic code.")]
    private static int Compile(string path, string target, bool r2r, TextWriter stderr)
    {
        var module = Hosting.Module.FromFile(path);
        var name = Path.GetFileNameWithoutExtension(target);
        if (name.Length == 0) name = "module";
        string? directory = null;
        try
        {
            directory = Path.GetDirectoryName(Path.GetFullPath(target));
            if (directory is { Length: > 0 } && !Directory.Exists(directory))
                return CannotWrite(stderr, target, "its directory does not exist");
            if (Directory.Exists(target)) return CannotWrite(stderr, target, "it is a directory");
            if (!r2r)
            {
                module.SaveAssembly(target, name);
                return ExitCodes.Ok;
            }
            // crossgen2 reads the IL assembly and writes the ReadyToRun one: the IL goes to a scratch folder first.
            var scratch = Directory.CreateTempSubdirectory("jitvm-aot-").FullName;
            try
            {
                var il = Path.Combine(scratch, name + ".dll");
                module.SaveAssembly(il, name);
                return ReadyToRun.Compile(il, target, stderr);
            }
            finally
            {
                Directory.Delete(scratch, true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return CannotWrite(stderr, target, e.Message);
        }
    }

    private static int CannotWrite(TextWriter stderr, string target, string reason)
    {
        stderr.WriteLine($"jitvm: cannot write '{target}': {reason}");
        return ExitCodes.CannotCreate;
    }
}
