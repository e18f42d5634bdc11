using System.Diagnostics;
using System.Globalization;
using System.Runtime.Loader;
using System.Text;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// <c>--aot-load</c>: how long a module of 1,000 functions takes to load and to call each of its functions once,
/// from a ReadyToRun saved assembly (<c>jitvm aot --r2r</c>), from a plain (IL) saved assembly, and on today's JIT
/// path (read, verify, compile every function with the JIT policy). A stopwatch harness, not BenchmarkDotNet: each
/// sample must load an assembly the process has never seen, so each sample gets a fresh copy (its own file, name and
/// load context) and the figure is the distribution over those first loads.
/// </summary>
/// <remarks>
/// A sample covers: loading the assembly into a new load context, <see cref="Engine.LoadAssembly(System.Reflection.Assembly)"/>
/// (stamp and hash checks, reading the carried module and checking its module-wide rules, binding the code), creating an isolate, and one
/// <see cref="Isolate.Invoke(int, Value[])"/> of each function, whose results are checked. JitVm's own code is warmed
/// first (two samples of each kind are run and dropped), so what is measured is the module, not the first use of the
/// library in the process. The CLR JIT's compiled-method count around each sample shows what was JIT-compiled.
/// </remarks>
internal static class AotLoad
{
    private const int Functions = 1_000;
    private const int Warmup = 2;
    private const int Samples = 15;

    public static int Run(bool r2rOnly = false)
    {
        var directory = Directory.CreateTempSubdirectory("jitvm-aot-load-").FullName;
        try
        {
            var source = Path.Combine(directory, "thousand.jvm");
            File.WriteAllText(source, Text());
            var binary = Module.FromFile(source).ToBinary();
            Console.WriteLine($"module: {Functions} functions, each `() -> (i64)` of 4 instructions; {binary.Length} bytes in the binary format");
            Console.WriteLine($"{Warmup} warm-up and {Samples} measured samples per path; every sample loads an assembly the process has not loaded before");
            var r2r = Compile(source, directory, "r2r", "--r2r");
            var il = r2rOnly ? [] : Compile(source, directory, "il");
            Console.WriteLine();
            Console.WriteLine("| path | median | min | max | process CPU time, median | CLR JIT compilations per sample (median) |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            var failed = false;
            foreach (var (name, sample) in new (string, Func<int, (double Ms, double Cpu, long Jitted, bool Ok)>)[]
                     {
                         ("ReadyToRun saved assembly (jitvm aot --r2r)", i => FromAssembly(r2r[i])),
                         ("IL saved assembly (jitvm aot)", i => FromAssembly(il[i])),
                         ("JIT policy (read, verify, compile all, call)", _ => Jitted(binary)),
                     })
            {
                if (r2rOnly && !name.StartsWith("ReadyToRun", StringComparison.Ordinal)) continue;
                var times = new List<double>();
                var cpu = new List<double>();
                var jitted = new List<long>();
                for (var i = 0; i < Warmup + Samples; i++)
                {
                    var (ms, processor, count, ok) = sample(i);
                    failed |= !ok;
                    if (i < Warmup) continue;
                    times.Add(ms);
                    cpu.Add(processor);
                    jitted.Add(count);
                }
                times.Sort();
                cpu.Sort();
                jitted.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {times[times.Count / 2]:0.00} ms | {times[0]:0.00} ms | {times[^1]:0.00} ms | {cpu[cpu.Count / 2]:0.00} ms | {jitted[jitted.Count / 2]} |"));
            }
            failed |= !Breakdown(r2r);
            if (failed) Console.WriteLine("FAIL: some function returned a wrong result");
            return failed ? 1 : 0;
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    /// <summary>Function i returns i + 1.</summary>
    private static string Text()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Functions; i++)
            text.Append(CultureInfo.InvariantCulture, $".func f{i} () -> (i64) export\n    i64.const {i}\n    i64.const 1\n    i64.add\n    return\n.end\n");
        return text.ToString();
    }

    /// <summary>Compiles the module with the jitvm tool (built next to this program) into one assembly per sample.</summary>
    private static string[] Compile(string source, string directory, string kind, params string[] options)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "JitVm.Cli.dll");
        var clock = Stopwatch.StartNew();
        var paths = new string[Warmup + Samples];
        for (var i = 0; i < paths.Length; i++)
        {
            paths[i] = Path.Combine(directory, $"{kind}{i}.dll");
            var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in (string[])[cli, "aot", source, "-o", paths[i], .. options]) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"jitvm aot exited with {process.ExitCode}: {error}");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{kind}: {paths.Length} assemblies of {new FileInfo(paths[0]).Length} bytes written by `jitvm aot {string.Join(' ', options)}` in {clock.Elapsed.TotalSeconds:0.0} s"));
        return paths;
    }

    private static double ProcessorMs() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    private static (double, double, long, bool) FromAssembly(string path)
    {
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        var processor = ProcessorMs();
        var started = Stopwatch.GetTimestamp();
        var context = new AssemblyLoadContext(Path.GetFileName(path));
        var module = new Engine().LoadAssembly(context.LoadFromAssemblyPath(path));
        var ok = CallEach(new Isolate(module));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return (elapsed, ProcessorMs() - processor, System.Runtime.JitInfo.GetCompiledMethodCount() - jitted, ok && module.IsPrecompiled);
    }

    /// <summary>
    /// Where a ReadyToRun sample's time goes: the same steps as <see cref="Engine.LoadAssembly(System.Reflection.Assembly)"/>
    /// and one call of each function, timed one by one (medians over the samples; each loads one of the assemblies
    /// again into a new load context, which the CLR treats as an assembly it has not loaded).
    /// </summary>
    private static bool Breakdown(string[] paths)
    {
        var jitted = new List<long>();
        string[] phases = ["load into a new context", "stamp, base64, hash", "read the carried module", "module-wide checks",
            "run the dispatcher table (first run)", "bind the saved code (the rest of SavedCode.Load)", "create an isolate", "call each function once", "call each function again"];
        var times = phases.Select(_ => new List<double>()).ToArray();
        var ok = true;
        for (var i = 0; i < paths.Length; i++)
        {
            var step = 0;
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            var mark = Stopwatch.GetTimestamp();
            void Lap()
            {
                var now = Stopwatch.GetTimestamp();
                if (i >= Warmup) times[step].Add(Stopwatch.GetElapsedTime(mark, now).TotalMilliseconds);
                step++;
                mark = now;
            }
            // A copy under another path: the CLR maps an image once per path, and a second load of a path already
            // loaded elsewhere runs without its ReadyToRun code.
            var copy = Path.ChangeExtension(paths[i], ".again.dll");
            File.Copy(paths[i], copy);
            mark = Stopwatch.GetTimestamp();
            var assembly = new AssemblyLoadContext("breakdown" + i).LoadFromAssemblyPath(copy);
            Lap();
            var binary = Jit.SavedCode.CarriedModule(assembly, out var hash);
            Lap();
            var definition = Bytecode.ModuleReader.ReadCarried(binary, "thousand");
            Lap();
            var module = Module.FromCarried(definition);
            Lap();
            // The table's first run (ldftn fixups of the dispatchers and their delegates), timed on its own; the run
            // SavedCode.Load then makes is a second one.
            assembly.GetType(Jit.AssemblyCompiler.EntriesTypeName)!.GetMethod(Jit.AssemblyCompiler.DispatcherTableMethod)!.Invoke(null, null);
            Lap();
            Jit.SavedCode.Load(assembly, module, hash);
            Lap();
            var isolate = new Isolate(module);
            Lap();
            ok &= CallEach(isolate) && module.IsPrecompiled;
            Lap();
            ok &= CallEach(isolate);
            Lap();
            if (i >= Warmup) jitted.Add(System.Runtime.JitInfo.GetCompiledMethodCount() - before);
        }
        Console.WriteLine();
        jitted.Sort();
        Console.WriteLine($"ReadyToRun sample, step by step (median over the samples, wall time; CLR JIT compilations per sample, median: {jitted[jitted.Count / 2]}):");
        Console.WriteLine();
        Console.WriteLine("| step | median | min |");
        Console.WriteLine("|---|---:|---:|");
        for (var s = 0; s < phases.Length; s++)
        {
            times[s].Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phases[s]} | {times[s][times[s].Count / 2]:0.000} ms | {times[s][0]:0.000} ms |"));
        }
        return ok;
    }

    private static (double, double, long, bool) Jitted(byte[] binary)
    {
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        var processor = ProcessorMs();
        var started = Stopwatch.GetTimestamp();
        var module = new Engine().LoadBinary(binary, "thousand.jvmb");
        var ok = CallEach(new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit }));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return (elapsed, ProcessorMs() - processor, System.Runtime.JitInfo.GetCompiledMethodCount() - jitted, ok);
    }

    private static bool CallEach(Isolate isolate)
    {
        var ok = true;
        for (var i = 0; i < Functions; i++) ok &= isolate.Invoke(i)[0].Bits == i + 1;
        return ok;
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
