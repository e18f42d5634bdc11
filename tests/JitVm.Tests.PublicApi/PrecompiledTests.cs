using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.PublicApi;

/// <summary>Every typed-interop test again, on the module compiled ahead of time (<see cref="Module.SaveAssembly"/>)
/// and loaded back with <see cref="Engine.LoadAssembly(string)"/>: typed exports and typed host functions behave the same.</summary>
public sealed class PrecompiledTypedInteropTests : TypedInteropTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-precompiled-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    protected override Module Load(string text, string name) => PrecompiledTests.Precompile(Module.FromText(text, name), _directory);
}

/// <summary>A module from a saved assembly through the public API: limits, traps and isolation as for any module.</summary>
public sealed class PrecompiledTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-precompiled-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static int _count;

    /// <summary>Saves <paramref name="module"/> as an assembly in <paramref name="directory"/> and loads it back.</summary>
    internal static Module Precompile(Module module, string directory)
    {
        var path = Path.Combine(directory, $"saved{Interlocked.Increment(ref _count)}.dll");
        module.SaveAssembly(path);
        var loaded = new Engine().LoadAssembly(path);
        Assert.True(loaded.IsPrecompiled);
        Assert.Equal(module.ToBinary(), loaded.ToBinary());
        return loaded;
    }

    private const string Counter = """
        .func count (n: i64) -> (i64) export
            local.get n
            i64.eqz
            br_if done
            local.get n
            i64.const 1
            i64.sub
            call count
            i64.const 1
            i64.add
            return
        done:
            i64.const 0
            return
        .end
        """;

    [Fact]
    public void AModuleFromAFileIsNotPrecompiled() => Assert.False(Module.FromText(Counter).IsPrecompiled);

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    [InlineData(ExecutionTier.Tiered)]
    public void FuelAndDepthLimitsTrapAsInEveryTier(ExecutionTier tier)
    {
        var module = Precompile(Module.FromText(Counter, "counter.jvm"), _directory);
        var fresh = new Isolate(module, options: new IsolateOptions { Tier = tier });
        Assert.Equal(1000L, fresh.GetFunction<long, long>("count")(1000));

        var reference = new Isolate(Module.FromText(Counter, "counter.jvm"), options: new IsolateOptions { Tier = ExecutionTier.Interpreter, Fuel = 500 });
        var expected = Assert.Throws<TrapException>(() => reference.Invoke("count", Value.I64(1000)));
        var fuelled = new Isolate(module, options: new IsolateOptions { Tier = tier, Fuel = 500 });
        var trap = Assert.Throws<TrapException>(() => fuelled.Invoke("count", Value.I64(1000)));
        Assert.Equal(TrapCode.OutOfFuel, trap.Code);
        Assert.Equal(expected.Report(), trap.Report());
        Assert.Equal(reference.FuelUsed, fuelled.FuelUsed);

        var shallow = new Isolate(module, options: new IsolateOptions { Tier = tier, MaxCallDepth = 50 });
        Assert.Equal(TrapCode.CallDepthExceeded, Assert.Throws<TrapException>(() => shallow.GetFunction<long, long>("count")(100)).Code);
        // The isolate lives on after a trap.
        Assert.Equal(10L, shallow.GetFunction<long, long>("count")(10));
    }

    [Fact]
    public void AnAssemblyLoadedByTheHostLoadsToo()
    {
        var path = Path.Combine(_directory, "hosted.dll");
        Module.FromText(Counter, "counter.jvm").SaveAssembly(path);
        var context = new System.Runtime.Loader.AssemblyLoadContext("hosted", isCollectible: true);
        try
        {
            var module = new Engine().LoadAssembly(context.LoadFromAssemblyPath(path));
            Assert.True(module.IsPrecompiled);
            Assert.Equal(7L, new Isolate(module).GetFunction<long, long>("count")(7));
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void AnAssemblyThatIsNotSavedCodeIsALinkError()
    {
        var error = Assert.Throws<LinkException>(() => new Engine().LoadAssembly(typeof(PrecompiledTests).Assembly));
        Assert.Equal("JitVm.Tests.PublicApi.dll is not compiled JitVm code: it has no code interface version stamp", error.Message);
        Assert.Throws<FileNotFoundException>(() => new Engine().LoadAssembly(Path.Combine(_directory, "none.dll")));
    }
}
