using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Text;
using JitVm.Cli;
using JitVm.Hosting;
using JitVm.Jit;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// Ahead-of-time compilation end to end: <c>jitvm aot</c> writes an assembly that carries its module, <c>jitvm run
/// OUT.dll</c> runs it exactly as the module file runs, a tampered or stale assembly is refused with a clear error and
/// exit code 65, <c>--r2r</c> writes a ReadyToRun image, and without dynamic code the saved code still runs while other
/// modules are interpreted.
/// </summary>
public sealed class AotTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-aot-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString().ReplaceLineEndings("\n"));
    }

    private static string Example(string name) => RepositoryPaths.File("examples", name);

    private string Output(string name) => Path.Combine(_directory, name);

    /// <summary>Compiles <paramref name="source"/> with <c>jitvm aot</c> and returns the assembly's path.</summary>
    private string Aot(string source, string name = "out.dll", params string[] options)
    {
        var target = Output(name);
        var (code, output, error) = Run(["aot", source, "-o", target, .. options]);
        Assert.True(code == 0, $"jitvm aot exited with {code}: {error}");
        Assert.Equal("", output);
        Assert.Equal("", error);
        Assert.True(File.Exists(target));
        return target;
    }

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepositoryPaths.File("examples"), "*.jvm").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    /// <summary>Every example, compiled ahead of time, prints what the module file prints and exits the same way,
    /// the trap report (and so the VM stack) included.</summary>
    [Theory]
    [MemberData(nameof(Examples))]
    public void AnAotCompiledExampleRunsExactlyAsTheModuleFile(string name)
    {
        var assembly = Aot(Example(name), Path.ChangeExtension(name, ".dll"));
        var expected = Run("run", Example(name));
        Assert.Equal(expected, Run("run", assembly));
        Assert.Equal(expected, Run("run", assembly, "--tier", "jit"));
    }

    [Fact]
    public void RunTakesTheEntryArgumentsAndTierOfAModuleFile()
    {
        var source = Path.Combine(_directory, "args.jvm");
        File.WriteAllText(source, """
            .func twice (n: i64) -> (i64)
                local.get n
                i64.const 2
                i64.mul
                return
            .end
            """);
        var assembly = Aot(source);
        foreach (var tier in new[] { "interpreter", "jit", "tiered" })
            Assert.Equal((0, "-42\n", ""), Run("run", assembly, "--entry", "twice", "--tier", tier, "--", "-21"));
        var (code, _, error) = Run("run", assembly, "--entry", "missing");
        Assert.Equal(65, code);
        Assert.Equal("jitvm: out.dll has no function named 'missing'\n", error);
    }

    [Fact]
    public void StatisticsShowTheSavedCode()
    {
        var (code, _, error) = Run("run", Aot(Example("fib.jvm")), "--stats");
        Assert.Equal(0, code);
        Assert.Matches(@"\nfib +aot +0 us +\d+ +0\n", error);
        Assert.Contains("compile budget: 0 of", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AotOfAMissingFileExits66()
    {
        var (code, _, error) = Run("aot", Output("none.jvm"), "-o", Output("x.dll"));
        Assert.Equal(66, code);
        Assert.Contains("no such file", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Output("x.dll")));
    }

    [Fact]
    public void AotOfAnUnverifiableModuleExits65()
    {
        var source = Path.Combine(_directory, "bad.jvm");
        File.WriteAllText(source, ".func main () -> (i64)\n    return\n.end\n");
        var (code, _, error) = Run("aot", source, "-o", Output("bad.dll"));
        Assert.Equal(65, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Output("bad.dll")));
    }

    [Fact]
    public void AotIntoAMissingDirectoryExits73()
    {
        var target = Path.Combine(_directory, "no", "such", "out.dll");
        var (code, _, error) = Run("aot", Example("fib.jvm"), "-o", target);
        Assert.Equal(73, code);
        Assert.Equal($"jitvm: cannot write '{target}': its directory does not exist\n", error);
    }

    [Fact]
    public void AotWithoutAnOutputIsAUsageError() => Assert.Equal(64, Run("aot", Example("fib.jvm")).Code);

    /// <summary>The module's bytes inside the assembly are changed (one base64 character of the carried module): its
    /// hash no longer matches the stamp, and nothing runs.</summary>
    [Fact]
    public void AnAssemblyWhoseModuleWasAlteredIsRefused()
    {
        var assembly = Aot(Example("fib.jvm"), "tampered.dll");
        var text = Convert.ToBase64String(Module.FromFile(Example("fib.jvm")).ToBinary());
        var middle = text.Length / 2;
        Patch(assembly, Encoding.Unicode.GetBytes(text), middle, text[middle] == 'A' ? 'B' : 'A');
        var (code, output, error) = Run("run", assembly);
        Assert.Equal(65, code);
        Assert.Equal("", output);
        Assert.Matches(@"^error: tampered\.dll carries a module whose SHA-256 \([0-9A-F]{16}…\) is not the one stamped on it \([0-9A-F]{16}…\): " +
                       "the assembly was altered or damaged; compile it again\n$", error);
    }

    /// <summary>The stamped hash itself is changed: the module no longer matches it either.</summary>
    [Fact]
    public void AnAssemblyWhoseStampedHashWasAlteredIsRefused()
    {
        var assembly = Aot(Example("fib.jvm"), "restamped.dll");
        var hash = CodeInterface.ModuleHash(Module.FromFile(Example("fib.jvm")).Definition);
        Patch(assembly, Encoding.Unicode.GetBytes(hash), 0, hash[0] == '0' ? '1' : '0');
        var (code, _, error) = Run("run", assembly);
        Assert.Equal(65, code);
        Assert.Contains("is not the one stamped on it", error, StringComparison.Ordinal);
    }

    /// <summary>The table of stack bounds the stamp carries (one per function, so loading analyses none) is damaged:
    /// the assembly is refused, as one whose module was altered is.</summary>
    [Fact]
    public void AnAssemblyWhoseStackBoundsWereDamagedIsRefused()
    {
        var assembly = Aot(Example("fib.jvm"), "bounds.dll");
        var module = Module.FromFile(Example("fib.jvm"));
        var bounds = new byte[4 * module.Definition.Functions.Count];
        for (var i = 0; i < module.Definition.Functions.Count; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bounds.AsSpan(4 * i), module.Decoded(i).FrameBytes + FunctionCompiler.AdapterFrameBytes);
        var text = Encoding.Unicode.GetBytes(Convert.ToBase64String(bounds));
        Patch(assembly, text, 0, '!');
        var (code, output, error) = Run("run", assembly);
        Assert.Equal(65, code);
        Assert.Equal("", output);
        Assert.Equal("error: bounds.dll carries a damaged table of stack bounds (0 bytes for 2 functions): compile it again\n", error);

        // A bound of 0 for a function with code (its first three bytes zeroed; the bounds are far below 2^24).
        Assert.True(bounds[3] == 0 && bounds[2] == 0, "the first bound is not below 2^16");
        var zeroed = Aot(Example("fib.jvm"), "zeroed.dll");
        var image = File.ReadAllBytes(zeroed);
        var at = image.AsSpan().IndexOf(text);
        Assert.True(at >= 0, "the bounds are not in the assembly");
        for (var i = 0; i < 4; i++) image[at + (2 * i)] = (byte)'A';
        File.WriteAllBytes(zeroed, image);
        (code, _, error) = Run("run", zeroed);
        Assert.Equal(65, code);
        Assert.Matches("^error: zeroed.dll carries a damaged table of stack bounds \\(function '.*' has 0\\): compile it again\n$", error);
    }

    /// <summary>The table of each function's place in the dispatchers is damaged (not base64, or naming an entry its
    /// dispatcher does not have): the assembly is refused before any dispatcher is called with it.</summary>
    [Fact]
    public void AnAssemblyWhoseDispatchTableWasDamagedIsRefused()
    {
        var module = Module.FromFile(Example("fib.jvm"));
        string text;
        using (var saved = new SavedAssembly(module, "places"))
            text = (string)saved.Assembly.GetType(CodeInterface.StampTypeName)!.GetField(CodeInterface.DispatchField)!.GetRawConstantValue()!;
        var places = Convert.FromBase64String(text);
        Assert.Equal(8 * module.Definition.Functions.Count, places.Length);

        var assembly = Aot(Example("fib.jvm"), "places.dll");
        Patch(assembly, Encoding.Unicode.GetBytes(text), 0, '!');
        var (code, output, error) = Run("run", assembly);
        Assert.Equal(65, code);
        Assert.Equal("", output);
        Assert.Equal("error: places.dll carries a damaged dispatch table (0 bytes for 2 functions): compile it again\n", error);

        // Valid tables of the right size, with a wrong place: function 0's entry past its dispatcher's first, and
        // function 1 (of another signature) moved into function 0's dispatcher.
        var definition = module.Definition;
        Assert.NotEqual(definition.Functions[0].TypeIndex, definition.Functions[1].TypeIndex);
        var dispatcher = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(places);
        Assert.True(dispatcher >= 0, "function 0 has no dispatcher");
        var moved = places.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(moved.AsSpan(4), 7);
        var merged = places.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(merged.AsSpan(8), dispatcher);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(merged.AsSpan(12), 1);
        foreach (var (file, table, function, entry) in new[] { ("moved.dll", moved, 0, 7), ("merged.dll", merged, 1, 1) })
        {
            var path = Aot(Example("fib.jvm"), file);
            var image = File.ReadAllBytes(path);
            var at = image.AsSpan().IndexOf(Encoding.Unicode.GetBytes(text));
            Assert.True(at >= 0, "the dispatch table is not in the assembly");
            Encoding.Unicode.GetBytes(Convert.ToBase64String(table)).CopyTo(image, at);
            File.WriteAllBytes(path, image);
            (code, _, error) = Run("run", path);
            Assert.Equal(65, code);
            Assert.Matches($"^error: {file} carries a damaged dispatch table \\(function {function} at dispatcher {dispatcher}, entry {entry}, of [0-9]+ dispatchers\\): compile it again\n$", error);
        }
    }

    /// <summary>An assembly compiled for another code interface version (another JitVm) is refused before its module
    /// is even read.</summary>
    [Fact]
    public void AnAssemblyForAnotherCodeInterfaceVersionIsRefused()
    {
        var path = Output("stale.dll");
        AssemblyCompiler.Save(Module.FromFile(Example("fib.jvm")), path, "stale", CodeInterface.Version + 1);
        var (code, _, error) = Run("run", path);
        Assert.Equal(65, code);
        Assert.Equal($"error: stale.dll was compiled for JitVm code interface version {CodeInterface.Version + 1}; this runtime has version {CodeInterface.Version}: compile it again\n", error);
    }

    [Fact]
    public void AnAssemblyThatIsNotSavedCodeIsRefused()
    {
        var other = Output("other.dll");
        File.Copy(typeof(AotTests).Assembly.Location, other);
        var (code, _, error) = Run("run", other);
        Assert.Equal(65, code);
        Assert.Equal("error: other.dll is not compiled JitVm code: it has no code interface version stamp\n", error);

        var garbage = Output("garbage.dll");
        File.WriteAllBytes(garbage, [(byte)'M', (byte)'Z', 1, 2, 3]);
        (code, _, error) = Run("run", garbage);
        Assert.Equal(65, code);
        Assert.StartsWith("error: garbage.dll is not a .NET assembly", error, StringComparison.Ordinal);
    }

    /// <summary>Replaces the UTF-16 character at <paramref name="index"/> of the one occurrence of
    /// <paramref name="text"/> in <paramref name="path"/>.</summary>
    private static void Patch(string path, byte[] text, int index, char replacement)
    {
        var bytes = File.ReadAllBytes(path);
        var at = bytes.AsSpan().IndexOf(text);
        Assert.True(at >= 0, "the text is not in the assembly");
        Assert.True(bytes.AsSpan(at + 1).IndexOf(text) < 0, "the text is in the assembly twice");
        bytes[at + (2 * index)] = (byte)replacement;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>A function the JIT never compiles (over 4,000 instructions) has no code in the assembly and runs in the
    /// interpreter, called from saved code.</summary>
    [Fact]
    public void AFunctionTooLargeToCompileStaysInterpreted()
    {
        var body = new StringBuilder(".func big () -> (i64)\n    i64.const 0\n");
        for (var i = 0; i < JitLimits.MaxInstructions; i++) body.Append("    i64.const 1\n    i64.add\n");
        body.Append("    return\n.end\n.func main () -> (i64)\n    call big\n    return\n.end\n");
        var source = Path.Combine(_directory, "big.jvm");
        File.WriteAllText(source, body.ToString());
        var (code, output, error) = Run("run", Aot(source), "--stats");
        Assert.Equal(0, code);
        Assert.Equal($"{JitLimits.MaxInstructions}\n", output);
        Assert.Matches(@"\nbig +interpreter +- +- +\d+\n  not compiled: 8002 instructions exceed the JIT limit of 4000\nmain +aot ", error);
    }

    /// <summary>
    /// <c>--r2r</c> writes a ReadyToRun image (it has a managed native header) that runs like the IL one. This restores
    /// the crossgen2 package of this runtime's version through NuGet when it is not in the packages folder yet.
    /// </summary>
    [Fact]
    public void ReadyToRunCompilationWritesANativeImageThatRuns()
    {
        var il = Aot(Example("trap_divide.jvm"), "il.dll");
        var r2r = Aot(Example("trap_divide.jvm"), "r2r.dll", "--r2r");
        Assert.False(IsReadyToRun(il));
        Assert.True(IsReadyToRun(r2r));
        Assert.Equal(Run("run", Example("trap_divide.jvm")), Run("run", r2r));
    }

    private static bool IsReadyToRun(string path)
    {
        using var reader = new PEReader(File.OpenRead(path));
        return reader.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0;
    }

    [Fact]
    public void ReadyToRunWithoutACompilerExits78()
    {
        var missing = Output("no-crossgen2");
        var start = ChildProcess.Cli("aot", Example("fib.jvm"), "-o", Output("x.dll"), "--r2r");
        start.Environment[ReadyToRun.CompilerVariable] = missing;
        var (code, _, error) = ChildProcess.Run(start);
        Assert.Equal(78, code);
        Assert.Equal($"jitvm: --r2r needs crossgen2, the ReadyToRun compiler, and it cannot be had: {ReadyToRun.CompilerVariable} names '{missing}', which does not exist\n", error);
        Assert.False(File.Exists(Output("x.dll")));
    }

    /// <summary>
    /// Without dynamic code (the library's switch, set in a child process of its own since it is read once): a saved
    /// assembly's code runs under the jit and tiered policies (the trap is thrown in it), while a module file is
    /// interpreted whatever the policy, with the same output, trap, VM stack and fuel.
    /// </summary>
    [Fact]
    public void WithoutDynamicCodeSavedCodeRunsAndOtherModulesAreInterpreted()
    {
        var assembly = Aot(Example("trap_divide.jvm"), "trap_divide.dll");
        var start = ChildProcess.Program(ChildProcess.DotnetHost(), Path.Combine(AppContext.BaseDirectory, "JitVm.ChildHost.dll"), "--no-dynamic-code", assembly, Example("trap_divide.jvm"));
        var (code, output, error) = ChildProcess.Run(start);
        Assert.True(code == 0, $"the child host exited with {code}: {error}");
        const string Trap = "output 20; trap DivideByZero at divide:2 < average:2 < main:6, fuel 26, thrown in";
        const string SavedFunctions = "divide aot 0, average aot 0, main aot 0";
        const string Interpreted = "divide interpreter 0, average interpreter 0, main interpreter 0";
        Assert.Equal($"""
            saved interpreter: policy interpreter; precompiled True; {Trap} the interpreter; {SavedFunctions}
            file interpreter: policy interpreter; precompiled False; {Trap} the interpreter; {Interpreted}
            saved jit: policy jit; precompiled True; {Trap} saved code; {SavedFunctions}
            file jit: policy interpreter; precompiled False; {Trap} the interpreter; {Interpreted}
            saved tiered: policy tiered; precompiled True; {Trap} saved code; {SavedFunctions}
            file tiered: policy interpreter; precompiled False; {Trap} the interpreter; {Interpreted}

            """, output);
        // The JIT's absence is logged, once per module, for the module files run under a policy that compiles.
        var warnings = error.Split('\n').Where(line => line.StartsWith("JitVm.Jit Warning 104: the JIT is unavailable", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.All(warnings, line => Assert.Contains("runs trap_divide.jvm in the interpreter", line, StringComparison.Ordinal));
    }
}
