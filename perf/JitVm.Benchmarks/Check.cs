using System.Diagnostics;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace JitVm.Benchmarks;

/// <summary>
/// <c>--check</c>: runs each benchmark kernel once in C#, in the interpreter and in the JIT tier and requires the
/// same result from all three, and the same fuel used and heap allocated from both tiers (the spec requires fuel to
/// be counted identically in every tier). It also requires the JIT tier to have really compiled the function, and
/// checks the generated compile-throughput modules the same way (every function, both tiers). Exit code 1 on any
/// mismatch. The times printed are single runs for orientation only, not benchmark figures.
/// </summary>
internal static class Check
{
    public static int Run()
    {
        var failures = 0;
        foreach (var kernel in VmPrograms.Kernels) failures += One(kernel);
        foreach (var shape in CompileModules.Shapes) failures += Compile(shape);
        failures += GcCheck.Run();
        Console.WriteLine(failures == 0 ? "all OK" : $"{failures} FAILED");
        return failures == 0 ? 0 : 1;
    }

    private sealed record Outcome(long Result, double Milliseconds, long Fuel, long Heap);

    private static Outcome Time(Isolate isolate, int function, long n)
    {
        var watch = Stopwatch.StartNew();
        var result = Vm.Call(isolate, function, n);
        watch.Stop();
        return new Outcome(result, watch.Elapsed.TotalMilliseconds, isolate.FuelUsed, isolate.HeapAllocatedBytes);
    }

    private static int One(Kernel kernel)
    {
        var n = kernel.N;
        var watch = Stopwatch.StartNew();
        var expected = kernel.Reference(n);
        var csharpMs = watch.Elapsed.TotalMilliseconds;
        try
        {
            // Separate modules, so the JIT's first run includes compiling (compiled code lives on the module).
            var interpreterModule = Vm.Load(kernel.Text, kernel.Name + ".jvm");
            var jitModule = Vm.Load(kernel.Text, kernel.Name + ".jvm");
            var function = Vm.Function(interpreterModule, kernel.Name);
            var interpreted = Time(Vm.NewIsolate(interpreterModule, ExecutionTier.Interpreter), function, n);
            var jitIsolate = Vm.NewIsolate(jitModule, ExecutionTier.Jit);
            var cold = Time(jitIsolate, function, n);
            var warm = Time(Vm.NewIsolate(jitModule, ExecutionTier.Jit), function, n);

            var problems = new List<string>();
            if (jitIsolate.Tier != ExecutionTier.Jit) problems.Add($"isolate tier is {jitIsolate.Tier}, not Jit");
            if (!Vm.IsCompiled(jitModule, function)) problems.Add("JIT tier did not compile the function");
            if (Vm.IsCompiled(interpreterModule, function)) problems.Add("Interpreter tier compiled the function");
            if (interpreted.Result != expected) problems.Add($"interpreter {interpreted.Result} != C# {expected}");
            if (cold.Result != expected || warm.Result != expected) problems.Add($"JIT {cold.Result}/{warm.Result} != C# {expected}");
            if (cold.Fuel != interpreted.Fuel || warm.Fuel != interpreted.Fuel) problems.Add($"fuel: JIT {cold.Fuel}/{warm.Fuel} != interpreter {interpreted.Fuel}");
            if (cold.Heap != interpreted.Heap || warm.Heap != interpreted.Heap) problems.Add($"heap: JIT {cold.Heap}/{warm.Heap} != interpreter {interpreted.Heap}");

            var ok = problems.Count == 0;
            Console.WriteLine($"{(ok ? "OK  " : "FAIL")} {kernel.Name}({n}): C# {expected}, interpreter {interpreted.Result}, JIT {warm.Result} " +
                              $"(fuel {interpreted.Fuel}, heap {interpreted.Heap} bytes; C# {csharpMs:F1} ms, interpreter {interpreted.Milliseconds:F1} ms, " +
                              $"JIT first run incl. compile {cold.Milliseconds:F1} ms, second {warm.Milliseconds:F1} ms)");
            foreach (var problem in problems) Console.WriteLine($"     {problem}");
            if (!ok) Console.Write(jitIsolate.Statistics());
            return ok ? 0 : 1;
        }
        catch (Exception exception) when (exception is JitVmException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"FAIL {kernel.Name}({n}): {exception.GetType().Name}: {exception.Message}");
            return 1;
        }
    }

    /// <summary>Runs every generated function in both tiers and compares results and fuel; prints one cold compile's stage times.</summary>
    private static int Compile(CompileShape shape)
    {
        var name = $"compile {shape} ({shape.TotalInstructions} instructions)";
        try
        {
            var definition = CompileModules.Definition(shape);
            var watch = Stopwatch.StartNew();
            var module = Module.FromDefinition(definition);
            var verified = watch.Elapsed.TotalMilliseconds;
            module.Jit.CompileAll();
            var emitted = watch.Elapsed.TotalMilliseconds;
            var jit = Vm.NewIsolate(module, ExecutionTier.Jit);
            var jitSum = CompileModules.CallAll(jit);
            var total = watch.Elapsed.TotalMilliseconds;

            var interpreter = Vm.NewIsolate(Module.FromDefinition(definition), ExecutionTier.Interpreter);
            var problems = new List<string>();
            for (var f = 0; f < shape.Functions; f++)
            {
                if (!Vm.IsCompiled(module, f)) problems.Add($"f{f} was not compiled");
                var a = Vm.Call(interpreter, f, f);
                var b = Vm.Call(Vm.NewIsolate(module, ExecutionTier.Jit), f, f);
                if (a != b) problems.Add($"f{f}({f}): interpreter {a}, JIT {b}");
            }
            var interpreterSum = CompileModules.CallAll(Vm.NewIsolate(interpreter.Module, ExecutionTier.Interpreter));
            if (interpreterSum != jitSum) problems.Add($"sum: interpreter {interpreterSum}, JIT {jitSum}");
            if (interpreter.FuelUsed != jit.FuelUsed) problems.Add($"fuel: interpreter {interpreter.FuelUsed}, JIT {jit.FuelUsed}");

            var ok = problems.Count == 0;
            Console.WriteLine($"{(ok ? "OK  " : "FAIL")} {name}: both tiers agree on every function (sum {jitSum}, fuel {jit.FuelUsed}); " +
                              $"one cold run: verify {verified:F1} ms, +decode+emit {emitted - verified:F1} ms, +CLR JIT+call {total - emitted:F1} ms");
            foreach (var problem in problems.Take(10)) Console.WriteLine($"     {problem}");
            return ok ? 0 : 1;
        }
        catch (Exception exception) when (exception is JitVmException or ArgumentException or InvalidOperationException)
        {
            Console.WriteLine($"FAIL {name}: {exception.GetType().Name}: {exception.Message}");
            return 1;
        }
    }
}
