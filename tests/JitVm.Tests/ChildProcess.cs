using System.Diagnostics;

namespace JitVm.Tests;

/// <summary>Child processes of the tests: the <c>jitvm</c> command as built next to the test binaries, or any other
/// program, run to their end with both pipes drained so neither can fill up.</summary>
internal static class ChildProcess
{
    /// <summary>The dotnet executable running the tests (the SDK names it in DOTNET_HOST_PATH), else dotnet on the path.</summary>
    public static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }

    /// <summary>The built <c>jitvm</c> command beside the test binaries.</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "JitVm.Cli.dll");

    /// <summary>Starts <c>dotnet JitVm.Cli.dll ARGS</c> from the repository root, every stream redirected.</summary>
    public static ProcessStartInfo Cli(params string[] args)
    {
        var start = Program(DotnetHost(), args);
        start.ArgumentList.Insert(0, CliDll);
        return start;
    }

    /// <summary>Starts <paramref name="fileName"/> ARGS from the repository root, every stream redirected.</summary>
    public static ProcessStartInfo Program(string fileName, params string[] args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }

    /// <summary>Runs <paramref name="start"/> to its end with <paramref name="input"/> (or nothing) on its stdin;
    /// line endings of both outputs normalised to \n.</summary>
    public static (int Code, string Out, string Err) Run(ProcessStartInfo start, string input = "")
    {
        start.RedirectStandardInput = true;
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        child.StandardInput.Write(input);
        child.StandardInput.Close();
        // Only a guard against a hung child, far above any run's length: nothing here measures speed.
        if (!child.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            child.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish");
        }
        return (child.ExitCode, output.Result.ReplaceLineEndings("\n"), error.Result.ReplaceLineEndings("\n"));
    }
}
