using System.Diagnostics;
using System.Text;

namespace JitVm.Tests.Compare;

/// <summary>Runs <c>jitvm</c> as a child process (<c>dotnet JitVm.Cli.dll</c> from the test binaries), as a user
/// would: <c>compare</c> itself starts one process per configuration.</summary>
internal static class CompareProcess
{
    public static ProcessStartInfo StartInfo(params string[] args) => ChildProcess.Cli(args);

    public static (int Code, string Out, string Err) Run(params string[] args) => ChildProcess.Run(StartInfo(args));

    /// <summary>Writes an executable shell script: a stand-in host for the <c>nativeaot</c> configuration.</summary>
    public static string Script(string directory, string name, string body)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n", new UTF8Encoding(false));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
