using Assembly = System.Reflection.Assembly;
using AssemblyName = System.Reflection.AssemblyName;
using System.Runtime.CompilerServices;
using System.Text;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Verification;

// nativeaot-host MODULE [--entry NAME] [ARGS...]
//   MODULE is the name of a module compiled into this host ahead of time (fib), run as compiled code, or a module
//   file (.jvm text or .jvmb binary), run in the interpreter: a NativeAOT process cannot generate code.
// It prints the program's output and the entry function's results as `jitvm run` does, and exits as it does:
// 0 success, 64 usage error, 65 bad module, 66 missing file, 70 trap.

var saved = (AppContext.GetData("NativeAotHost.SavedModules") as string ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries);
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: nativeaot-host MODULE [--entry NAME] [ARGS...]");
    Console.Error.WriteLine($"  MODULE: a module compiled in ({string.Join(", ", saved)}), or a .jvm/.jvmb file (interpreted)");
    return args.Length == 0 ? 64 : 0;
}
var entry = "main";
var rest = new List<string>();
for (var i = 1; i < args.Length; i++)
{
    if (args[i] == "--entry" && i + 1 < args.Length) entry = args[++i];
    else if (args[i] == "--") rest.AddRange(args[(i + 1)..]);
    else rest.Add(args[i]);
    if (args[i] == "--") break;
}

var engine = new Engine();
Module module;
try
{
    var name = args[0].EndsWith(".dll", StringComparison.Ordinal) ? args[0][..^4] : args[0];
    if (saved.Contains(name, StringComparer.Ordinal)) module = engine.LoadAssembly(Assembly.Load(new AssemblyName(name)));
    else if (File.Exists(args[0])) module = engine.LoadFile(args[0]);
    else
    {
        Console.Error.WriteLine($"nativeaot-host: no such file or compiled-in module: '{args[0]}' (compiled in: {string.Join(", ", saved)})");
        return 66;
    }
}
catch (Exception e) when (e is ModuleFormatException or VerificationException or LinkException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 65;
}

var index = module.FindFunction(entry);
if (index < 0)
{
    Console.Error.WriteLine($"nativeaot-host: the module has no function named '{entry}'");
    return 65;
}
var signature = module.Definition.SignatureOf(index);
if (rest.Count != signature.Parameters.Length)
{
    Console.Error.WriteLine($"nativeaot-host: '{entry}' takes {signature.Parameters.Length} argument(s) {signature}, but {rest.Count} were given");
    return 64;
}
var arguments = new Value[rest.Count];
for (var i = 0; i < arguments.Length; i++)
    if (!Value.TryParse(rest[i], signature.Parameters[i], out arguments[i]))
    {
        Console.Error.WriteLine($"nativeaot-host: argument {i + 1} of '{entry}' must be of type {signature.Parameters[i]}, not '{rest[i]}'");
        return 64;
    }

// Which code runs: compiled ahead of time, or the interpreter (there is no JIT in this process).
Console.Error.WriteLine($"nativeaot-host: dynamic code {(RuntimeFeature.IsDynamicCodeSupported ? "supported" : "not supported")}; " +
                        $"{(module.IsPrecompiled ? "running code compiled ahead of time" : "interpreting")}");
using var stdout = Console.OpenStandardOutput();
var output = new BufferedStream(stdout, 1 << 16);
var isolate = engine.CreateIsolate(module, StandardImports.Create(output));
try
{
    foreach (var result in isolate.Invoke(index, arguments)) output.Write(Encoding.UTF8.GetBytes(isolate.Describe(result) + "\n"));
    return 0;
}
catch (TrapException trap)
{
    output.Flush();
    Console.Error.WriteLine(trap.Report());
    return 70;
}
finally
{
    output.Flush();
}
