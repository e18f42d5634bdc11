using JitVm.Hosting;
using JitVm.Jit;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// <see cref="SavedCode.Load"/> is the only way saved code reaches the runtime: it refuses an assembly compiled for
/// another code interface version or from another module with a clear error, before binding anything, and installs
/// nothing then; installed code is what isolates of the module run, also through typed exports.
/// </summary>
public sealed class SavedCodeTests
{
    private static Module Example(string name) => Module.FromFile(RepositoryPaths.File("examples", name));

    private static void AssertNothingInstalled(Module module)
    {
        for (var i = 0; i < module.Definition.Functions.Count; i++) Assert.Null(module.Decoded(i).Compiled);
    }

    [Theory]
    [InlineData(CodeInterface.Version + 1)]
    [InlineData(CodeInterface.Version - 1)]
    [InlineData(int.MaxValue)]
    public void AnAssemblyForAnotherCodeInterfaceVersionIsRefused(int version)
    {
        var module = Example("fib.jvm");
        using var saved = new SavedAssembly(module, "Stale", version);
        var error = Assert.Throws<LinkException>(() => SavedCode.Load(saved.Assembly, module));
        Assert.Equal($"Stale.dll was compiled for JitVm code interface version {version}; this runtime has version {CodeInterface.Version}: compile it again", error.Message);
        AssertNothingInstalled(module);
    }

    [Fact]
    public void TheVersionIsCheckedBeforeTheModule()
    {
        using var saved = new SavedAssembly(Example("fib.jvm"), "Stale", CodeInterface.Version + 1);
        var other = Example("hello.jvm");
        var error = Assert.Throws<LinkException>(() => SavedCode.Load(saved.Assembly, other));
        Assert.Contains("code interface version", error.Message, StringComparison.Ordinal);
        AssertNothingInstalled(other);
    }

    [Fact]
    public void AnAssemblyCompiledFromAnotherModuleIsRefused()
    {
        var fib = Example("fib.jvm");
        using var saved = new SavedAssembly(fib, "Other");
        var hello = Example("hello.jvm");
        var error = Assert.Throws<LinkException>(() => SavedCode.Load(saved.Assembly, hello));
        Assert.Equal($"Other.dll was compiled from a different module (SHA-256 {CodeInterface.ModuleHash(fib.Definition)[..16]}…) than the one it is " +
                     $"loaded for ({CodeInterface.ModuleHash(hello.Definition)[..16]}…): compile it again from this module", error.Message);
        AssertNothingInstalled(hello);
    }

    /// <summary>The hash is of the module's content, not its identity: another load of the same file matches.</summary>
    [Fact]
    public void AnotherLoadOfTheSameModuleMatches()
    {
        using var saved = new SavedAssembly(Example("fib.jvm"), "Same");
        var again = Module.FromText(Example("fib.jvm").ToText());
        SavedCode.Load(saved.Assembly, again);
        SavedAssemblyTests.AssertRunsSavedCode(again, saved.Assembly);
    }

    [Fact]
    public void AnAssemblyWithoutAStampIsRefused()
    {
        var module = Example("fib.jvm");
        var error = Assert.Throws<LinkException>(() => SavedCode.Load(typeof(SavedCodeTests).Assembly, module));
        Assert.Equal("JitVm.Tests.dll is not compiled JitVm code: it has no code interface version stamp", error.Message);
        AssertNothingInstalled(module);
    }

    /// <summary>Compiled entries are never replaced: loading into a module that already has compiled code (the JIT's
    /// or an earlier load's) fails and leaves every entry as it was.</summary>
    [Fact]
    public void CompiledEntriesAreNeverReplaced()
    {
        var module = Example("fib.jvm");
        using var saved = new SavedAssembly(module, "Twice");
        SavedCode.Load(saved.Assembly, module);
        var before = Enumerable.Range(0, module.Definition.Functions.Count).Select(i => module.Decoded(i).Compiled).ToArray();
        Assert.Throws<InvalidOperationException>(() => SavedCode.Load(saved.Assembly, module));
        Assert.Throws<InvalidOperationException>(() => module.Code.Install(0, before[0]!));
        for (var i = 0; i < before.Length; i++) Assert.Same(before[i], module.Decoded(i).Compiled);

        var jitted = Example("fib.jvm");
        jitted.Code.Jit.CompileAll();
        Assert.Throws<InvalidOperationException>(() => SavedCode.Load(saved.Assembly, jitted));
        for (var i = 0; i < jitted.Definition.Functions.Count; i++)
            Assert.IsType<System.Reflection.Emit.DynamicMethod>(jitted.Decoded(i).Compiled!.Body);
    }

    /// <summary>
    /// Loading a saved assembly decodes no function and runs no function's verification pass (the carried module's
    /// hash shows it is the module verified when the assembly was compiled): calls into saved code need neither, and a
    /// function is decoded, and analysed, when the interpreter first runs it, with the same results.
    /// </summary>
    [Fact]
    public void LoadingDecodesNothingAndTheInterpreterDecodesOnFirstUse()
    {
        using var saved = new SavedAssembly(Example("fib.jvm"), "Lazy");
        var module = new Engine().LoadAssembly(saved.Assembly);
        var count = module.Definition.Functions.Count;
        Assert.All(Enumerable.Range(0, count), i => Assert.False(module.Code.Entry(i).IsDecoded));
        var compiled = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Jit });
        Assert.Equal(6765L, compiled.Invoke("fib", Value.I64(20))[0].Bits);
        Assert.All(Enumerable.Range(0, count), i => Assert.False(module.Code.Entry(i).IsDecoded));
        var interpreted = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Interpreter });
        Assert.Equal(6765L, interpreted.Invoke("fib", Value.I64(20))[0].Bits);
        Assert.True(module.Code.Entry(module.FindFunction("fib") - module.Definition.Imports.Count).IsDecoded);
        Assert.Equal(compiled.FuelUsed, interpreted.FuelUsed);
    }

    /// <summary>A typed export's stub calls the installed body directly, as it calls the JIT's.</summary>
    [Fact]
    public void TypedExportsCallSavedCode()
    {
        var module = Example("fib.jvm");
        using var saved = new SavedAssembly(module, "Typed");
        SavedCode.Load(saved.Assembly, module);
        var isolate = new Isolate(module, StandardImports.Create(Stream.Null), new IsolateOptions { Tier = ExecutionTier.Jit });
        Assert.Equal(6765L, isolate.GetFunction<long, long>("fib")(20));
        SavedAssemblyTests.AssertRunsSavedCode(module, saved.Assembly);
    }
}
