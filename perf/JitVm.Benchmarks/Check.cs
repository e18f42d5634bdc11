using System.Diagnostics;
using JitVm.Diagnostics;

namespace JitVm.Benchmarks;

/// <summary>Runs each VM benchmark program once and compares its result with the C# version.</summary>
internal static class Check
{
    public static int Run()
    {
        var failures = 0;
        failures += One("fib", VmPrograms.FibText, VmPrograms.FibN, VmPrograms.Fib);
        failures += One("loop", VmPrograms.LoopText, VmPrograms.LoopN, VmPrograms.Loop);
        failures += One("sieve", VmPrograms.SieveText, VmPrograms.SieveN, VmPrograms.Sieve);
        failures += One("mulmod", VmPrograms.MulModText, VmPrograms.MulModN, VmPrograms.MulMod);
        Console.WriteLine(failures == 0 ? "all OK" : $"{failures} FAILED");
        return failures == 0 ? 0 : 1;
    }

    private static int One(string name, string text, long n, Func<long, long> reference)
    {
        var expected = reference(n);
        try
        {
            var module = Vm.Load(text, name + ".jvm");
            var isolate = Vm.NewIsolate(module);
            var watch = Stopwatch.StartNew();
            var actual = Vm.Call(isolate, Vm.Function(module, name), n);
            watch.Stop();
            var ok = actual == expected;
            Console.WriteLine($"{(ok ? "OK  " : "FAIL")} {name}({n}): vm {actual}, C# {expected} " +
                              $"(vm {watch.Elapsed.TotalMilliseconds:F1} ms, fuel {isolate.FuelUsed}, heap {isolate.HeapAllocatedBytes} bytes)");
            return ok ? 0 : 1;
        }
        catch (Exception exception) when (exception is JitVmException or ArgumentException)
        {
            Console.WriteLine($"FAIL {name}({n}): {exception.GetType().Name}: {exception.Message}");
            return 1;
        }
    }
}
