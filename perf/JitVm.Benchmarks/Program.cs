using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using JitVm.Benchmarks;

#if !JITVM_PUBLIC_API_ONLY
// `--check`: run every VM program once and compare with the C# version (exit 1 on any mismatch).
// Anything else goes to BenchmarkDotNet, e.g. `--filter '*'` or `--filter '*Fib*'`.
if (args.Contains("--check")) return Check.Run();

// `--pauses`: minor pause times of binary-trees in the JIT tier with the default 2 MiB nursery (not a BenchmarkDotNet run).
if (args.Contains("--pauses")) return GcCheck.Pauses();

// `--scaling`: assemble/read/verify/decode/compile times of pathological and normal modules at sizes n, 10n, 100n.
if (args.Contains("--scaling")) return LoadScaling.Run();

// `--aot-load`: load a 1,000-function module and call each function once, from ReadyToRun and IL saved assemblies and on the JIT path
// (`--aot-load --r2r-only`: the ReadyToRun path and its step-by-step breakdown only).
if (args.Contains("--aot-load")) return AotLoad.Run(r2rOnly: args.Contains("--r2r-only"));

// `--pieces`: first-call (compile) and run times of 16,000- and 64,000-instruction functions compiled in pieces, against the interpreter.
if (args.Contains("--pieces")) return PieceCompile.Run();
#endif

// Reports go to perf/JitVm.Benchmarks/BenchmarkDotNet.Artifacts (not the current directory) unless --artifacts is given.
var config = DefaultConfig.Instance;
var projectDirectory = FindProjectDirectory();
if (projectDirectory is not null) config = config.WithArtifactsPath(Path.Combine(projectDirectory, "BenchmarkDotNet.Artifacts"));
// `--baseline DIR`: every selected benchmark also runs against the library of the JitVm checkout DIR, in the same run.
var baselineAt = Array.IndexOf(args, "--baseline");
if (baselineAt >= 0)
{
    if (baselineAt + 1 >= args.Length)
    {
        Console.Error.WriteLine("--baseline needs a directory: the root of another JitVm checkout.");
        return 2;
    }

    return SameRunComparison.Run([.. args[..baselineAt], .. args[(baselineAt + 2)..]], args[baselineAt + 1], config);
}

BenchmarkSwitcher.FromAssembly(typeof(Vm).Assembly).Run(args, config);
return 0;

static string? FindProjectDirectory()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        if (File.Exists(Path.Combine(directory.FullName, "JitVm.Benchmarks.csproj"))) return directory.FullName;
    return null;
}
