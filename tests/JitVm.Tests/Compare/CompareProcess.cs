using System.Diagnostics;
using System.Text;

namespace JitVm.Tests.Compare;

/// <summary>Runs <c>jitvm</c> as a child process (<c>dotnet JitVm.Cli.dll</c> from the test binaries), as a user
/// would: <c>compare</c> itself starts one process per configuration.</summary>
internal static class CompareProcess
{
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "JitVm.Cli.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return start;
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var child = Process.Start(StartInfo(args))!;
        child.StandardInput.Close();
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        // Only a guard against a hung child, far above any run's length: nothing here measures speed.
        if (!child.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            child.Kill(entireProcessTree: true);
            throw new TimeoutException("jitvm " + string.Join(' ', args) + " did not finish");
        }
        return (child.ExitCode, output.Result, error.Result);
    }

    /// <summary>Writes an executable shell script: a stand-in host for the <c>nativeaot</c> configuration.</summary>
    public static string Script(string directory, string name, string body)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n", new UTF8Encoding(false));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
