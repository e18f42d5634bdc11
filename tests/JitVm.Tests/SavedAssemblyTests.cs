using System.Reflection;
using System.Runtime.Loader;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Jit;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// The JIT's IL, saved into a real assembly with PersistedAssemblyBuilder, loaded by the CLR and run: any invalid IL
/// fails here, and the compiled code must behave exactly like the interpreter (output, trap and location, fuel).
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
        var module = Module.FromFile(RepositoryPaths.File("examples", name));
        var directory = Directory.CreateTempSubdirectory("jitvm-saved-").FullName;
        var context = new AssemblyLoadContext(name, isCollectible: true);
        try
        {
            var path = Path.Combine(directory, "Generated.dll");
            AssemblyCompiler.Save(module, path, "Generated");
            var assembly = context.LoadFromAssemblyPath(path);
            var main = assembly.GetType(AssemblyCompiler.TypeName)!.GetMethod("main", BindingFlags.Public | BindingFlags.Static)!;

            var (expectedOutput, expectedTrap, expectedFuel) = Run(module, isolate => isolate.Invoke("main"));
            var (output, trap, fuel) = Run(module, isolate =>
            {
                try
                {
                    main.Invoke(null, [isolate.Fiber, 1]);
                }
                catch (TargetInvocationException e) when (e.InnerException is TrapException inner)
                {
                    throw inner;
                }
            });
            Assert.Equal(expectedOutput, output);
            Assert.Equal(expectedTrap, trap);
            Assert.Equal(expectedFuel, fuel);
        }
        finally
        {
            context.Unload();
            Directory.Delete(directory, true);
        }
    }

    private static (string Output, string? Trap, long Fuel) Run(Module module, Action<Isolate> run)
    {
        var output = new MemoryStream();
        var isolate = new Isolate(module, StandardImports.Create(output), new IsolateOptions { Tier = ExecutionTier.Interpreter });
        string? trap = null;
        try
        {
            run(isolate);
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
        var directory = Directory.CreateTempSubdirectory("jitvm-saved-").FullName;
        var context = new AssemblyLoadContext(name, isCollectible: true);
        try
        {
            var path = Path.Combine(directory, "Names.dll");
            AssemblyCompiler.Save(module, path, "Names");
            var methods = context.LoadFromAssemblyPath(path).GetType(AssemblyCompiler.TypeName)!.GetMethods(BindingFlags.Public | BindingFlags.Static);
            Assert.Equal(2, methods.Select(m => m.Name).Distinct().Count());
            var isolate = new Isolate(module);
            foreach (var method in methods) method.Invoke(null, [isolate.Fiber, 1]);
        }
        finally
        {
            context.Unload();
            Directory.Delete(directory, true);
        }
    }
}
