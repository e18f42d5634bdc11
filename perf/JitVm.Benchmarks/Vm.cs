using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>Helpers to assemble a benchmark module and run one of its functions.</summary>
internal static class Vm
{
    /// <summary>Assembles and verifies <paramref name="text"/> (done once; modules are immutable and shareable).</summary>
    public static Module Load(string text, string name) => Module.FromText(text, name);

    /// <summary>An isolate with the given tier policy, unlimited fuel (fuel is still counted) and the given heap limit.</summary>
    public static Isolate NewIsolate(Module module, ExecutionTier tier, long maxHeapBytes = IsolateOptions.DefaultMaxHeapBytes) =>
        new(module, StandardImports.Create(Stream.Null), new IsolateOptions { Fuel = null, MaxHeapBytes = maxHeapBytes, Tier = tier });

    /// <summary>Resolves a function by name to its index so the timed path does not look names up.</summary>
    public static int Function(Module module, string name)
    {
        var index = module.FindFunction(name);
        if (index < 0) throw new InvalidOperationException($"module has no function '{name}'");
        return index;
    }

    /// <summary>Calls a (i64) -> (i64) function.</summary>
    public static long Call(Isolate isolate, int function, long argument) => isolate.Invoke(function, Value.I64(argument))[0].AsI64;

#if !JITVM_PUBLIC_API_ONLY
    /// <summary>True when the defined function with this function index has compiled (CIL) code.</summary>
    public static bool IsCompiled(Module module, int function) =>
        module.Decoded(function - module.Definition.Imports.Count).Compiled is not null;
#endif

    /// <summary>
    /// True when <paramref name="isolate"/>'s statistics table lists the function <paramref name="name"/> (a plain
    /// name) in the jit tier. Read from the public <see cref="Isolate.Statistics"/> text, not from the module's
    /// internals, because the benchmark classes are also compiled against other trees' libraries (--baseline).
    /// </summary>
    public static bool IsCompiled(Isolate isolate, string name) =>
        isolate.Statistics()
            .Split('\n')
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(columns => columns.Length >= 2 && columns[0] == name && columns[1] == "jit");

    /// <summary>
    /// Warms the JIT tier for a benchmark: calls the kernel once on <paramref name="isolate"/> (Tier = Jit), which
    /// emits the module's CIL and lets the CLR JIT compile it, then checks that the function really runs compiled
    /// code and that the result equals the C# version. DynamicMethods are not tiered by the CLR (always fully
    /// optimised at their first call), so one call reaches steady state.
    /// </summary>
    public static void WarmJit(Isolate isolate, int function, Kernel kernel)
    {
        if (isolate.Tier != ExecutionTier.Jit) throw new InvalidOperationException($"{kernel.Name}: isolate tier is {isolate.Tier}, not Jit (dynamic code unsupported?)");
        var actual = Call(isolate, function, kernel.N);
        if (!IsCompiled(isolate, kernel.Name))
            throw new InvalidOperationException($"{kernel.Name}: the JIT tier did not compile the function:\n{isolate.Statistics()}");
        var expected = kernel.Reference(kernel.N);
        if (actual != expected) throw new InvalidOperationException($"{kernel.Name}: JIT tier returned {actual}, C# {expected}");
    }
}
