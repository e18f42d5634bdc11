using System.Diagnostics;
using System.Runtime.InteropServices;

namespace JitVm.Cli;

/// <summary>
/// ReadyToRun compilation of a saved assembly with crossgen2, found as the SDK finds it: the NuGet package
/// <c>microsoft.netcore.app.crossgen2.RID</c> of exactly the running runtime's version, in the NuGet packages folder
/// (restored there with <c>dotnet restore</c> of a generated project when it is missing). It compiles against the
/// running shared framework's own assemblies and the JitVm library this tool runs, the assemblies the saved code
/// binds to at run time. <see cref="CompilerVariable"/> names a crossgen2 executable to use instead.
/// </summary>
internal static class ReadyToRun
{
    /// <summary>An environment variable naming the crossgen2 executable to use (no package is looked for then).</summary>
    public const string CompilerVariable = "JITVM_CROSSGEN2";

    /// <summary>Compiles IL assembly <paramref name="input"/> to ReadyToRun assembly <paramref name="output"/>.</summary>
    public static int Compile(string input, string output, TextWriter stderr)
    {
        var crossgen = Find(out var problem);
        if (crossgen is null)
        {
            stderr.WriteLine($"jitvm: --r2r needs crossgen2, the ReadyToRun compiler, and it cannot be had: {problem}");
            return ExitCodes.Unavailable;
        }
        var framework = RuntimeEnvironment.GetRuntimeDirectory();
        var start = new ProcessStartInfo(crossgen)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     input, "--out", output, "--targetos", TargetOs(), "--targetarch", TargetArch(), "-O",
                     "--reference", Path.Combine(framework, "*.dll"), "--reference", typeof(Hosting.Engine).Assembly.Location,
                 })
            start.ArgumentList.Add(argument);
        var (exit, text) = Run(start);
        if (exit == 0 && File.Exists(output)) return ExitCodes.Ok;
        stderr.WriteLine($"jitvm: internal error (crossgen2 exited with {exit} compiling the saved assembly: {OneLine(text)}); please report it with the module that caused it");
        return ExitCodes.Internal;
    }

    /// <summary>The crossgen2 executable: the one <see cref="CompilerVariable"/> names, else the package's, restoring
    /// the package when it is not in the NuGet packages folder. Null, with the reason, when there is none.</summary>
    private static string? Find(out string problem)
    {
        problem = "";
        if (Environment.GetEnvironmentVariable(CompilerVariable) is { Length: > 0 } named)
        {
            if (File.Exists(named)) return named;
            problem = $"{CompilerVariable} names '{named}', which does not exist";
            return null;
        }
        var rid = RuntimeInformation.RuntimeIdentifier;
        var package = $"microsoft.netcore.app.crossgen2.{rid}";
        var version = Environment.Version.ToString(3);
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var executable = Path.Combine(packages, package, version, "tools", OperatingSystem.IsWindows() ? "crossgen2.exe" : "crossgen2");
        if (File.Exists(executable)) return executable;
        if (!Restore(package, version, out var why))
        {
            problem = $"package {package} {version} (this runtime's version) is not in {packages} and restoring it failed: {why}";
            return null;
        }
        if (File.Exists(executable)) return executable;
        problem = $"package {package} {version} was restored but has no {executable}";
        return null;
    }

    /// <summary>Restores the package into the NuGet packages folder through a generated project that only downloads
    /// it (PackageDownload), as the SDK restores its own crossgen2 pack for PublishReadyToRun.</summary>
    private static bool Restore(string package, string version, out string problem)
    {
        var scratch = Directory.CreateTempSubdirectory("jitvm-crossgen2-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(scratch, "restore.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net{Environment.Version.Major}.{Environment.Version.Minor}</TargetFramework>
                    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageDownload Include="{package}" Version="[{version}]" />
                  </ItemGroup>
                </Project>
                """);
            var start = new ProcessStartInfo(DotnetHost())
            {
                WorkingDirectory = scratch,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "restore", "restore.csproj", "-nologo", "-v", "q" }) start.ArgumentList.Add(argument);
            var (exit, text) = Run(start);
            problem = exit == 0 ? "" : $"dotnet restore exited with {exit}: {OneLine(text)}";
            return exit == 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            problem = $"the dotnet command cannot be started ({e.Message})";
            return false;
        }
        finally
        {
            Directory.Delete(scratch, true);
        }
    }

    /// <summary>The dotnet host: the one running this tool (under <c>dotnet run</c> or <c>dotnet jitvm.dll</c>), the
    /// one the SDK names in DOTNET_HOST_PATH, else <c>dotnet</c> on the PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.ProcessPath is { } process && Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return process;
        return "dotnet";
    }

    private static (int Exit, string Text) Run(ProcessStartInfo start)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var error = process.StandardError.ReadToEndAsync();
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, (text + "\n" + error.Result).Trim());
    }

    private static string OneLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "no output" : string.Join(" / ", lines.Take(5));
    }

    private static string TargetOs() =>
        OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "osx" : OperatingSystem.IsFreeBSD() ? "freebsd" : "linux";

    private static string TargetArch() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "x64",
        Architecture.Arm64 => "arm64",
        Architecture.X86 => "x86",
        Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };
}
