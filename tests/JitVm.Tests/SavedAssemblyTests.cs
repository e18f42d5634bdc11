using System.Reflection;
using System.Runtime.Loader;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Jit;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// The JIT's IL, saved into a real assembly with PersistedAssemblyBuilder, loaded by the CLR, installed in the
/// module's code table through <see cref="SavedCode.Load"/> and run by an isolate: any invalid IL fails here, and
/// the saved code must behave exactly like the interpreter (output, trap and location, fuel).
/// </summary>
public sealed class SavedAssemblyTests
{
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.File("examples"), "*.jvm").Order(StringComparer.Ordinal))
            if (!Path.GetFileName(file).StartsWith("loop", StringComparison.Ordinal) && !Path.GetFileName(file).StartsWith("mulmod", StringComparison.Ordinal))
                data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void SavedAssemblyLoadsAndBehavesLikeTheInterpreter(string name)
    {
        var path = RepositoryPaths.File("examples", name);
        var expected = Run(Module.FromFile(path), ExecutionTier.Interpreter);
        foreach (var tier in new[] { ExecutionTier.Jit, ExecutionTier.Tiered })
        {
            var module = Module.FromFile(path);
            using var saved = new SavedAssembly(module, "Generated");
            SavedCode.Load(saved.Assembly, module);
            AssertRunsSavedCode(module, saved.Assembly);
            Assert.Equal(expected, Run(module, tier));
            // Running compiled nothing else: every entry is still the loaded one.
            AssertRunsSavedCode(module, saved.Assembly);
        }
    }

    /// <summary>Every function's compiled entry (body, and the dispatcher behind its adapter) comes from <paramref name="assembly"/>.</summary>
    internal static void AssertRunsSavedCode(Module module, Assembly assembly)
    {
        for (var i = 0; i < module.Definition.Functions.Count; i++)
        {
            var compiled = module.Decoded(i).Compiled;
            Assert.NotNull(compiled);
            Assert.Same(assembly, compiled.Body!.Module.Assembly);
            Assert.True(compiled.Saved);
            Assert.Same(assembly, Assert.IsType<SavedCode.SavedEntry>(compiled.Adapter.Target).Dispatcher.Method.Module.Assembly);
            Assert.Equal(TimeSpan.Zero, compiled.CompileTime);
            Assert.True(compiled.IlSize > 0);
        }
    }

    internal static (string Output, string? Trap, long Fuel) Run(Module module, ExecutionTier tier)
    {
        var output = new MemoryStream();
        var isolate = new Isolate(module, StandardImports.Create(output), new IsolateOptions { Tier = tier });
        string? trap = null;
        try
        {
            isolate.Invoke("main");
        }
        catch (TrapException e)
        {
            trap = $"{e.Code} {string.Join(" < ", e.VmStackTrace.Select(f => $"{f.Function}:{f.Pc}"))}";
        }
        return (System.Text.Encoding.UTF8.GetString(output.ToArray()), trap, isolate.FuelUsed);
    }

    /// <summary>Function names are the module's to choose: an empty one (which the CLR rejects as a method name)
    /// or one with NUL or a line break still saves, loads and runs.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("\0a")]
    [InlineData("a\nb")]
    public void AnyFunctionNameSavesToAnAssembly(string name)
    {
        var module = Module.FromDefinition(new Bytecode.ModuleDefinition([new Bytecode.FunctionType([], [])], [],
            [
                new Bytecode.FunctionDefinition(name, 0, true, [], [new Bytecode.Instruction(Bytecode.OpCode.Return)]),
                new Bytecode.FunctionDefinition("<function 0>", 0, false, [], [new Bytecode.Instruction(Bytecode.OpCode.Return)]),
            ], [], []));
        using var saved = new SavedAssembly(module, "Names");
        var methods = saved.Assembly.GetType(AssemblyCompiler.TypeName)!.GetMethods(BindingFlags.Public | BindingFlags.Static);
        Assert.Equal(2, methods.Select(m => m.Name).Distinct().Count());
        SavedCode.Load(saved.Assembly, module);
        AssertRunsSavedCode(module, saved.Assembly);
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit });
        for (var i = 0; i < module.Definition.FunctionCount; i++) Assert.Empty(isolate.Invoke(i));
    }

    /// <summary>
    /// Functions are served by one dispatcher per signature, of at most <see cref="AssemblyCompiler.DispatcherEntries"/>
    /// entries: more functions of one signature than that, interleaved with functions of other signatures (an f64
    /// argument and result, two results, none), get several dispatchers, and every function runs
    /// its own body with its own arguments from each of them.
    /// </summary>
    [Fact]
    public void FunctionsOfOneSignatureBeyondOneDispatcherRunFromSeveral()
    {
        var count = AssemblyCompiler.DispatcherEntries + 2;
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < count; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $".func c{i} () -> (i64) export\n    i64.const {i}\n    return\n.end\n");
            if (i % 500 != 0) continue;
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $".func d{i} (f64) -> (f64) export\n    local.get 0\n    f64.const {i}\n    f64.add\n    return\n.end\n");
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $".func p{i} (i64 i64) -> (i64 i64) export\n    local.get 1\n    local.get 0\n    return\n.end\n");
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $".func n{i} () -> () export\n    return\n.end\n");
        }
        var module = Module.FromText(text.ToString(), "many.jvm");
        using var saved = new SavedAssembly(module, "Many");
        var dispatchers = saved.Assembly.GetType(AssemblyCompiler.DispatchTypeName)!.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly);
        Assert.Equal(2 + 3, dispatchers.Length);
        SavedCode.Load(saved.Assembly, module);
        AssertRunsSavedCode(module, saved.Assembly);
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit });
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, isolate.Invoke($"c{i}")[0].Bits);
            if (i % 500 != 0) continue;
            Assert.Equal(0.5 + i, isolate.Invoke($"d{i}", Value.F64(0.5))[0].AsF64);
            var swapped = isolate.Invoke($"p{i}", Value.I64(i), Value.I64(-1));
            Assert.Equal([-1L, i], swapped.Select(v => v.Bits));
            Assert.Empty(isolate.Invoke($"n{i}"));
        }
    }
}

/// <summary>A module saved by <see cref="AssemblyCompiler"/> into a temporary directory and loaded in a collectible
/// context of its own; disposing unloads the context (once nothing refers to its code) and deletes the file.</summary>
internal sealed class SavedAssembly : IDisposable
{
    private readonly string _directory;
    private readonly AssemblyLoadContext _context;

    public SavedAssembly(Module module, string name, int codeInterfaceVersion = CodeInterface.Version)
    {
        _directory = Directory.CreateTempSubdirectory("jitvm-saved-").FullName;
        _context = new AssemblyLoadContext(name, isCollectible: true);
        try
        {
            Path = System.IO.Path.Combine(_directory, name + ".dll");
            AssemblyCompiler.Save(module, Path, name, codeInterfaceVersion);
            Assembly = _context.LoadFromAssemblyPath(Path);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Path { get; }

    public Assembly Assembly { get; }

    public void Dispose()
    {
        _context.Unload();
        Directory.Delete(_directory, true);
    }
}
