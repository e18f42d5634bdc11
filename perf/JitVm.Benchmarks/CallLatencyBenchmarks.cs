using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using JitVm.Hosting;
using Module = JitVm.Hosting.Module;

namespace JitVm.Benchmarks;

/// <summary>
/// The functions, modules and setup shared by the call-latency benchmarks: host→VM (the host calls an exported VM
/// function through a typed delegate, <see cref="Isolate.GetFunction{T1, T2, T3, TResult}"/>) and VM→host (a VM
/// loop calls an imported typed host function, <see cref="HostFunction.FromFunc{T1, T2, T3, TResult}"/>), with
/// 0, 3 and 8 i64 arguments and an i64 result.
/// </summary>
/// <remarks>
/// Every function of arity k returns the wrapping sum of its arguments (arity 0 returns the constant 1), on both
/// sides: the C# methods below, the exported VM functions <c>f0</c>, <c>f3</c>, <c>f8</c>, and the host functions
/// <c>h0</c>, <c>h3</c>, <c>h8</c> (which are these same C# methods). Arguments alternate between the loop counter
/// and a second value that is not a constant (a field on the C# side, the parameter <c>n</c> in the VM), so no side
/// can fold them: arity 3 gets (i, x, i), arity 8 gets (i, x, i, x, i, x, i, x).
/// </remarks>
internal static class CallLatency
{
    /// <summary>Calls per benchmark invocation (<c>OperationsPerInvoke</c>), so the reported times are per call.</summary>
    public const int Calls = 1000;

    /// <summary>The arities measured (declared before the module texts, which static initialisation builds in order).</summary>
    private static readonly int[] Arities = [0, 3, 8];

    /// <summary>The second argument value of the host→VM calls (a field in each class, not a constant).</summary>
    public const long X = 7;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long F0() => 1;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long F3(long a, long b, long c) => a + b + c;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long F8(long a, long b, long c, long d, long e, long f, long g, long h) => a + b + c + d + e + f + g + h;

    /// <summary>The exported functions f0, f3 and f8 (host→VM).</summary>
    public static readonly string ExportsText = BuildExports();

    /// <summary>
    /// The VM→host module: imports h0, h3 and h8, and for each arity k two exported functions <c>(n: i64) -> (i64)</c>
    /// with the same bottom-tested loop over i = 0..n-1 (the same shape as the loop kernel):
    /// <c>run{k}</c> does <c>s = s + h{k}(args)</c>, and <c>inline{k}</c> pushes the same arguments and adds them up
    /// in place of the call (<c>i64.const 1</c> for arity 0), so it computes the same result without calling.
    /// </summary>
    public static readonly string ImportsText = BuildImports();

    /// <summary>The typed host functions the VM→host module imports: the C# methods above.</summary>
    public static HostFunction[] HostFunctions() =>
    [
        HostFunction.FromFunc("h0", F0),
        HostFunction.FromFunc<long, long, long, long>("h3", F3),
        HostFunction.FromFunc<long, long, long, long, long, long, long, long, long>("h8", F8),
    ];

    private static readonly Lazy<Module> ExportsModule = new(() => Vm.Load(ExportsText, "call_latency_exports.jvm"));
    private static readonly Lazy<Module> ImportsModule = new(() => Vm.Load(ImportsText, "call_latency_imports.jvm"));

    /// <summary>
    /// The export <paramref name="name"/> of a fresh isolate (unlimited fuel, still counted) with the given tier as a
    /// typed delegate. For the JIT tier, checks that the function was compiled and that the delegate calls compiled
    /// code through an emitted entry stub, not the interpreter.
    /// </summary>
    public static TDelegate Export<TDelegate>(ExecutionTier tier, string name, TimeSpan? timeout = null) where TDelegate : Delegate
    {
        var module = ExportsModule.Value;
        var isolate = NewIsolate(module, tier, null, timeout);
        var function = isolate.GetDelegate<TDelegate>(name);
        if (tier == ExecutionTier.Jit)
        {
            CheckCompiled(isolate, name);
            // An emitted entry stub is a DynamicMethod, which has no declaring type; the interpreter's path is an
            // ordinary method. What object the stub is bound to (the isolate today) is left open on purpose, so the
            // check holds for other trees' libraries too (--baseline).
            if (function.Method.DeclaringType is { } type)
                throw new InvalidOperationException($"{name}: the JIT-tier typed export calls {type.Name}.{function.Method.Name}, not an emitted entry stub");
        }
        return function;
    }

    /// <summary>The export <paramref name="name"/> (a <c>run{k}</c> or <c>inline{k}</c> loop) of a fresh isolate
    /// with the host functions and the given tier; for the JIT tier, checks that the loop was compiled.</summary>
    public static Func<long, long> Loop(ExecutionTier tier, string name)
    {
        var isolate = NewIsolate(ImportsModule.Value, tier, HostFunctions());
        var function = isolate.GetFunction<long, long>(name);
        if (tier == ExecutionTier.Jit) CheckCompiled(isolate, name);
        return function;
    }

    /// <summary>Throws unless <paramref name="actual"/> (a VM variant's result) equals <paramref name="expected"/> (C#'s).</summary>
    public static void Check(string what, long actual, long expected)
    {
        if (actual != expected) throw new InvalidOperationException($"{what}: the VM returned {actual}, C# {expected}");
    }

    private static Isolate NewIsolate(Module module, ExecutionTier tier, IEnumerable<HostFunction>? hostFunctions, TimeSpan? timeout = null) =>
        new(module, hostFunctions, new IsolateOptions { Fuel = null, Tier = tier, Timeout = timeout });

    private static void CheckCompiled(Isolate isolate, string name)
    {
        if (isolate.Tier != ExecutionTier.Jit)
            throw new InvalidOperationException($"{name}: isolate tier is {isolate.Tier}, not Jit (dynamic code unsupported?)");
        if (!Vm.IsCompiled(isolate, name))
            throw new InvalidOperationException($"{name}: the JIT tier did not compile the function");
    }

    /// <summary>The i-th argument of a call of arity k: the loop counter for even i, the second value for odd i.</summary>
    private static string Argument(int i, string counter, string other) => i % 2 == 0 ? counter : other;

    private static string BuildExports()
    {
        var text = new StringBuilder();
        foreach (var arity in Arities)
        {
            var parameters = string.Join(", ", Enumerable.Range(0, arity).Select(i => $"a{i}: i64"));
            text.Append($".func f{arity} ({parameters}) -> (i64) export\n");
            if (arity == 0) text.Append("    i64.const 1\n");
            for (var i = 0; i < arity; i++)
            {
                text.Append($"    local.get a{i}\n");
                if (i > 0) text.Append("    i64.add\n");
            }
            text.Append("    return\n.end\n\n");
        }
        return text.ToString();
    }

    private static string BuildImports()
    {
        var text = new StringBuilder();
        foreach (var arity in Arities)
            text.Append($".import h{arity} ({string.Join(" ", Enumerable.Repeat("i64", arity))}) -> (i64)\n");
        foreach (var arity in Arities)
        {
            AppendLoop(text, $"run{arity}", arity, call: true);
            AppendLoop(text, $"inline{arity}", arity, call: false);
        }
        return text.ToString();
    }

    private static void AppendLoop(StringBuilder text, string name, int arity, bool call)
    {
        text.Append($"""

            .func {name} (n: i64) -> (i64) export
                .local i i64
                .local s i64
                local.get n
                i64.const 1
                i64.lt_s
                br_if done
            top:
                local.get s

            """);
        for (var i = 0; i < arity; i++)
        {
            text.Append($"    local.get {Argument(i, "i", "n")}\n");
            if (!call && i > 0) text.Append("    i64.add\n");
        }
        if (call) text.Append($"    call h{arity}\n");
        else if (arity == 0) text.Append("    i64.const 1\n");
        text.Append("""
                i64.add
                local.set s
                local.get i
                i64.const 1
                i64.add
                local.tee i
                local.get n
                i64.lt_s
                br_if top
            done:
                local.get s
                return
            .end

            """);
    }
}

/// <summary>
/// Host→VM, no arguments: 1,000 calls per invocation of the export f0 (returns 1) through its typed delegate,
/// against a direct call and a delegate call of the equivalent NoInlining C# method. Times are per call.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class HostToVm0CallLatencyBenchmark
{
    private readonly Func<long> _csharp = CallLatency.F0;
    private Func<long> _vm = null!;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter()
    {
        _vm = CallLatency.Export<Func<long>>(ExecutionTier.Interpreter, "f0");
        CallLatency.Check("f0 interpreter", Interpreter(), CSharpDirect());
    }

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit()
    {
        _vm = CallLatency.Export<Func<long>>(ExecutionTier.Jit, "f0");
        CallLatency.Check("f0 JIT", Jit(), CSharpDirect());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallLatency.Calls, Description = "C# direct")]
    public long CSharpDirect()
    {
        long sum = 0;
        for (var i = 0; i < CallLatency.Calls; i++) sum += CallLatency.F0();
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "C# delegate")]
    public long CSharpDelegate() => Calls(_csharp);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm interpreter")]
    public long Interpreter() => Calls(_vm);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm JIT")]
    public long Jit() => Calls(_vm);

    [GlobalSetup(Target = nameof(JitWithTimeout))]
    public void SetupJitWithTimeout()
    {
        _vm = CallLatency.Export<Func<long>>(ExecutionTier.Jit, "f0", TimeSpan.FromSeconds(10));
        CallLatency.Check("f0 JIT with a timeout", JitWithTimeout(), CSharpDirect());
    }

    /// <summary>The same calls into an isolate with <see cref="IsolateOptions.Timeout"/> set: what arming the timeout
    /// costs each entry.</summary>
    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm JIT, timeout set")]
    public long JitWithTimeout() => Calls(_vm);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Calls(Func<long> function)
    {
        long sum = 0;
        for (var i = 0; i < CallLatency.Calls; i++) sum += function();
        return sum;
    }
}

/// <summary>
/// Host→VM, 3 arguments: 1,000 calls per invocation of the export f3 (the sum of its arguments) with (i, x, i)
/// through its typed delegate, against a direct call and a delegate call of the equivalent NoInlining C# method.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class HostToVm3CallLatencyBenchmark
{
    private readonly long _x = CallLatency.X;
    private readonly Func<long, long, long, long> _csharp = CallLatency.F3;
    private Func<long, long, long, long> _vm = null!;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter()
    {
        _vm = CallLatency.Export<Func<long, long, long, long>>(ExecutionTier.Interpreter, "f3");
        CallLatency.Check("f3 interpreter", Interpreter(), CSharpDirect());
    }

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit()
    {
        _vm = CallLatency.Export<Func<long, long, long, long>>(ExecutionTier.Jit, "f3");
        CallLatency.Check("f3 JIT", Jit(), CSharpDirect());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallLatency.Calls, Description = "C# direct")]
    public long CSharpDirect()
    {
        var x = _x;
        long sum = 0;
        for (long i = 0; i < CallLatency.Calls; i++) sum += CallLatency.F3(i, x, i);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "C# delegate")]
    public long CSharpDelegate() => Calls(_csharp, _x);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm interpreter")]
    public long Interpreter() => Calls(_vm, _x);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm JIT")]
    public long Jit() => Calls(_vm, _x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Calls(Func<long, long, long, long> function, long x)
    {
        long sum = 0;
        for (long i = 0; i < CallLatency.Calls; i++) sum += function(i, x, i);
        return sum;
    }
}

/// <summary>
/// Host→VM, 8 arguments: 1,000 calls per invocation of the export f8 (the sum of its arguments) with
/// (i, x, i, x, i, x, i, x) through its typed delegate, against a direct call and a delegate call of the
/// equivalent NoInlining C# method.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class HostToVm8CallLatencyBenchmark
{
    private readonly long _x = CallLatency.X;
    private readonly Func<long, long, long, long, long, long, long, long, long> _csharp = CallLatency.F8;
    private Func<long, long, long, long, long, long, long, long, long> _vm = null!;

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter()
    {
        _vm = CallLatency.Export<Func<long, long, long, long, long, long, long, long, long>>(ExecutionTier.Interpreter, "f8");
        CallLatency.Check("f8 interpreter", Interpreter(), CSharpDirect());
    }

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit()
    {
        _vm = CallLatency.Export<Func<long, long, long, long, long, long, long, long, long>>(ExecutionTier.Jit, "f8");
        CallLatency.Check("f8 JIT", Jit(), CSharpDirect());
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallLatency.Calls, Description = "C# direct")]
    public long CSharpDirect()
    {
        var x = _x;
        long sum = 0;
        for (long i = 0; i < CallLatency.Calls; i++) sum += CallLatency.F8(i, x, i, x, i, x, i, x);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "C# delegate")]
    public long CSharpDelegate() => Calls(_csharp, _x);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm interpreter")]
    public long Interpreter() => Calls(_vm, _x);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm JIT")]
    public long Jit() => Calls(_vm, _x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Calls(Func<long, long, long, long, long, long, long, long, long> function, long x)
    {
        long sum = 0;
        for (long i = 0; i < CallLatency.Calls; i++) sum += function(i, x, i, x, i, x, i, x);
        return sum;
    }
}

/// <summary>
/// The VM side of the VM→host benchmarks, the same for every arity k: one call of the VM loop run{k}(1,000), which
/// calls the imported host function h{k} 1,000 times, and of inline{k}(1,000), the same loop doing the call's
/// arithmetic in place (the VM loop's own cost). Each derived class adds the C# baselines of its arity, so that
/// BenchmarkDotNet's ratios compare within one class.
/// </summary>
public abstract class VmToHostCallLatency
{
    private Func<long, long> _vm = null!;

    /// <summary>Calls per invocation, read from a field so that no side can fold the loop bound.</summary>
    protected long N { get; } = CallLatency.Calls;

    /// <summary>The number of arguments of the host function.</summary>
    protected abstract int Arity { get; }

    /// <summary>What the C# loops return; every VM variant must return the same.</summary>
    protected abstract long Expected();

    private void Setup(ExecutionTier tier, string loop, Func<long> benchmark)
    {
        var function = loop + Arity;
        _vm = CallLatency.Loop(tier, function);
        CallLatency.Check($"{function}({N}) {tier}", benchmark(), Expected());
    }

    [GlobalSetup(Target = nameof(Interpreter))]
    public void SetupInterpreter() => Setup(ExecutionTier.Interpreter, "run", Interpreter);

    [GlobalSetup(Target = nameof(Jit))]
    public void SetupJit() => Setup(ExecutionTier.Jit, "run", Jit);

    [GlobalSetup(Target = nameof(InterpreterNoCall))]
    public void SetupInterpreterNoCall() => Setup(ExecutionTier.Interpreter, "inline", InterpreterNoCall);

    [GlobalSetup(Target = nameof(JitNoCall))]
    public void SetupJitNoCall() => Setup(ExecutionTier.Jit, "inline", JitNoCall);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm interpreter")]
    public long Interpreter() => _vm(N);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm JIT")]
    public long Jit() => _vm(N);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm interpreter, loop without call")]
    public long InterpreterNoCall() => _vm(N);

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "JitVm JIT, loop without call")]
    public long JitNoCall() => _vm(N);
}

/// <summary>
/// VM→host, no arguments: one call of the VM loop run0(1,000), which calls the imported host function h0 (the C#
/// method F0) 1,000 times; against C# loops of 1,000 direct and 1,000 delegate calls of F0. The "no call" rows run
/// inline0(1,000), the same VM loop with <c>i64.const 1</c> in place of the call: the VM loop's own cost.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class VmToHost0CallLatencyBenchmark : VmToHostCallLatency
{
    private readonly Func<long> _csharp = CallLatency.F0;

    /// <inheritdoc />
    protected override int Arity => 0;

    /// <inheritdoc />
    protected override long Expected() => CSharpDirect();

    [Benchmark(Baseline = true, OperationsPerInvoke = CallLatency.Calls, Description = "C# direct")]
    public long CSharpDirect()
    {
        var n = N;
        long sum = 0;
        for (long i = 0; i < n; i++) sum += CallLatency.F0();
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "C# delegate")]
    public long CSharpDelegate()
    {
        var function = _csharp;
        var n = N;
        long sum = 0;
        for (long i = 0; i < n; i++) sum += function();
        return sum;
    }
}

/// <summary>
/// VM→host, 3 arguments: one call of the VM loop run3(1,000), which calls the imported host function h3 (the C#
/// method F3) with (i, n, i) 1,000 times; against C# loops of 1,000 direct and 1,000 delegate calls of F3 with the
/// same arguments. The "no call" rows run inline3(1,000): the same loop adding the three arguments in place of
/// the call.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class VmToHost3CallLatencyBenchmark : VmToHostCallLatency
{
    private readonly Func<long, long, long, long> _csharp = CallLatency.F3;

    /// <inheritdoc />
    protected override int Arity => 3;

    /// <inheritdoc />
    protected override long Expected() => CSharpDirect();

    [Benchmark(Baseline = true, OperationsPerInvoke = CallLatency.Calls, Description = "C# direct")]
    public long CSharpDirect()
    {
        var n = N;
        long sum = 0;
        for (long i = 0; i < n; i++) sum += CallLatency.F3(i, n, i);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "C# delegate")]
    public long CSharpDelegate()
    {
        var function = _csharp;
        var n = N;
        long sum = 0;
        for (long i = 0; i < n; i++) sum += function(i, n, i);
        return sum;
    }
}

/// <summary>
/// VM→host, 8 arguments: one call of the VM loop run8(1,000), which calls the imported host function h8 (the C#
/// method F8) with (i, n, i, n, i, n, i, n) 1,000 times; against C# loops of 1,000 direct and 1,000 delegate calls
/// of F8 with the same arguments. The "no call" rows run inline8(1,000): the same loop adding the eight arguments
/// in place of the call.
/// </summary>
[SimpleJob(warmupCount: JobSettings.Warmup, iterationCount: JobSettings.Iterations)]
[MedianColumn]
public class VmToHost8CallLatencyBenchmark : VmToHostCallLatency
{
    private readonly Func<long, long, long, long, long, long, long, long, long> _csharp = CallLatency.F8;

    /// <inheritdoc />
    protected override int Arity => 8;

    /// <inheritdoc />
    protected override long Expected() => CSharpDirect();

    [Benchmark(Baseline = true, OperationsPerInvoke = CallLatency.Calls, Description = "C# direct")]
    public long CSharpDirect()
    {
        var n = N;
        long sum = 0;
        for (long i = 0; i < n; i++) sum += CallLatency.F8(i, n, i, n, i, n, i, n);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallLatency.Calls, Description = "C# delegate")]
    public long CSharpDelegate()
    {
        var function = _csharp;
        var n = N;
        long sum = 0;
        for (long i = 0; i < n; i++) sum += function(i, n, i, n, i, n, i, n);
        return sum;
    }
}
