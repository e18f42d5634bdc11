using System.Text;
using JitVm.Cli;
using Xunit;

namespace JitVm.Tests;

/// <summary><c>jitvm run --module NAME=FILE</c> (spec/execution.md §2.1, §10): the program calls the named module's
/// exports in every tier, and each mistake on the command line or between the modules gets its exit code.</summary>
public sealed class CliModuleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-modules-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString().ReplaceLineEndings("\n"));
    }

    private const string Lib = """
        .import print_i64 (i64) -> ()
        .global total i64 = 0
        .func add (x: i64) -> (i64) export
            global.get total
            local.get x
            i64.add
            global.set total
            global.get total
            dup
            call print_i64
            return
        .end
        """;

    private const string Main = """
        .import lib.add (i64) -> (i64)
        .func main () -> (i64)
            i64.const 40
            call lib.add
            drop
            i64.const 2
            call lib.add
            return
        .end
        """;

    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    public void TheProgramCallsTheLinkedModule(string tier)
    {
        var lib = Write("lib.jvm", Lib);
        var (code, output, error) = Run("run", Write("main.jvm", Main), "--module", $"lib={lib}", "--tier", tier);
        Assert.True(code == 0, error);
        Assert.Equal("40\n42\n42\n", output);
    }

    /// <summary>Main imports the library's exported global: its writes and the library's are to one cell.</summary>
    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    public void TheProgramSharesAGlobalWithTheLinkedModule(string tier)
    {
        var lib = Write("lib.jvm", Lib.Replace(".global total i64 = 0", ".global total i64 = 0 export", StringComparison.Ordinal));
        var main = Write("main.jvm", """
            .import lib.add (i64) -> (i64)
            .import global lib.total i64
            .func main () -> (i64)
                i64.const 40
                call lib.add
                drop
                i64.const 100
                global.set lib.total
                i64.const 2
                call lib.add
                drop
                global.get lib.total
                return
            .end
            """);
        var (code, output, error) = Run("run", main, "--module", $"lib={lib}", "--tier", tier);
        Assert.True(code == 0, error);
        Assert.Equal("40\n102\n102\n", output);
    }

    [Fact]
    public void AGlobalTheLinkedModuleDoesNotExportExits65()
    {
        var main = Write("main.jvm", ".import global lib.total i64\n.func main () -> (i64)\n    global.get lib.total\n    return\n.end\n");
        var (code, _, error) = Run("run", main, "--module", $"lib={Write("lib.jvm", Lib)}");
        Assert.Equal(65, code);
        Assert.Equal("error: main.jvm: import global 'lib.total' i64: global 'total' of module 'lib' is not exported (declare it with 'export')\n", error);
    }

    [Fact]
    public void ALinkedModuleMayBeBinary()
    {
        var text = Write("lib.jvm", Lib);
        var binary = Path.Combine(_directory, "lib.jvmb");
        Assert.Equal(0, Run("asm", text, "-o", binary).Code);
        var (code, output, _) = Run("run", Write("main.jvm", Main), "--module", $"lib={binary}");
        Assert.Equal(0, code);
        Assert.Equal("40\n42\n42\n", output);
    }

    [Fact]
    public void WithoutTheModuleTheImportIsALinkErrorThatSaysSo()
    {
        var (code, _, error) = Run("run", Write("main.jvm", Main));
        Assert.Equal(65, code);
        Assert.Equal("error: main.jvm: import 'lib.add' (i64) -> (i64) is not provided by the host (available: print_bytes, print_char, print_f64, print_i64, sys.arg, sys.arg_count, sys.clock_monotonic, " +
                     "sys.clock_wall, sys.env, sys.exit, sys.file_read, sys.file_write, sys.random, sys.read_stdin), and no module 'lib' is linked\n", error);
    }

    [Theory]
    [InlineData("lib", "jitvm: --module takes NAME=FILE, not 'lib'\n")]
    [InlineData("=x.jvm", "jitvm: --module takes NAME=FILE, not '=x.jvm'\n")]
    [InlineData("a.b=x.jvm", "jitvm: --module: the module name 'a.b' must not hold a '.'\n")]
    public void AMalformedModuleOptionIsAUsageError(string value, string expected)
    {
        var (code, _, error) = Run("run", Write("main.jvm", Main), "--module", value);
        Assert.Equal(64, code);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void AMissingModuleFileExits66()
    {
        var (code, _, error) = Run("run", Write("main.jvm", Main), "--module", "lib=" + Path.Combine(_directory, "absent.jvm"));
        Assert.Equal(66, code);
        Assert.StartsWith("jitvm: no such file: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ACycleBetweenModulesExits65()
    {
        var a = Write("a.jvm", ".import b.g () -> ()\n.func f () -> () export\n    call b.g\n    return\n.end\n");
        var b = Write("b.jvm", ".import a.f () -> ()\n.func g () -> () export\n    call a.f\n    return\n.end\n");
        var main = Write("m.jvm", ".import a.f () -> ()\n.func main () -> ()\n    call a.f\n    return\n.end\n");
        var (code, _, error) = Run("run", main, "--module", $"a={a}", "--module", $"b={b}");
        Assert.Equal(65, code);
        Assert.StartsWith("error: the imports between modules form a cycle: 'a' -> 'b' -> 'a'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnErrorInALinkedModuleNamesItsFile()
    {
        var lib = Write("broken.jvm", ".func add (x: i64) -> (i64) export\n    local.get x\n    f64.neg\n    return\n.end\n");
        var (code, _, error) = Run("run", Write("main.jvm", Main), "--module", $"lib={lib}");
        Assert.Equal(65, code);
        Assert.StartsWith("error: broken.jvm:3: function 'add', pc 1 (f64.neg): verification failed [TypeMismatch]", error, StringComparison.Ordinal);
    }
}
