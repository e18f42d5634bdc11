using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>Helpers to assemble a benchmark module and run one of its functions.</summary>
internal static class Vm
{
    /// <summary>Assembles and verifies <paramref name="text"/> (done once; modules are immutable and shareable).</summary>
    public static Module Load(string text, string name) => Module.FromText(text, name);

    /// <summary>An isolate with unlimited fuel (fuel is still counted) and the given heap limit.</summary>
    public static Isolate NewIsolate(Module module, long maxHeapBytes = IsolateOptions.DefaultMaxHeapBytes) =>
        new(module, StandardImports.Create(Stream.Null), new IsolateOptions { Fuel = null, MaxHeapBytes = maxHeapBytes });

    /// <summary>Resolves a function by name to its index so the timed path does not look names up.</summary>
    public static int Function(Module module, string name)
    {
        var index = module.FindFunction(name);
        if (index < 0) throw new InvalidOperationException($"module has no function '{name}'");
        return index;
    }

    /// <summary>Calls a (i64) -> (i64) function.</summary>
    public static long Call(Isolate isolate, int function, long argument) => isolate.Invoke(function, Value.I64(argument))[0].AsI64;
}
