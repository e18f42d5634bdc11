using System.Text;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>The system interface as an embedder uses it (spec/system-interface.md): <see cref="SystemInterface.Create"/>
/// with the capabilities it grants, next to the embedder's own host functions.</summary>
public sealed class SystemInterfaceTests
{
    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    /// <summary>Reads standard input 5 bytes at a time into one buffer and prints each chunk, until a read gives 0.</summary>
    private const string Cat = """
        .import print_bytes (ptr i64 i64) -> ()
        .import sys.read_stdin (ptr i64 i64) -> (i64)
        .func main () -> (i64)
            .local buffer ptr
            .local n i64
            .local total i64
            i64.const 1
            alloc
            local.set buffer
        again:
            local.get buffer
            i64.const 1
            i64.const 5
            call sys.read_stdin
            local.tee n
            i64.eqz
            br_if done
            local.get buffer
            i64.const 1
            local.get n
            call print_bytes
            local.get total
            local.get n
            i64.add
            local.set total
            br again
        done:
            local.get total
            return
        .end
        """;

    [Theory]
    [MemberData(nameof(Tiers))]
    public void StandardInputIsReadIntoTheProgramsBuffer(ExecutionTier tier)
    {
        var output = new MemoryStream();
        var input = new MemoryStream(Encoding.UTF8.GetBytes("hello, standard input"));
        var hosts = StandardImports.Create(output).Concat(SystemInterface.Create(new SystemInterfaceOptions { Stdin = input }));
        var isolate = new Isolate(Module.FromText(Cat, "cat.jvm"), hosts, new IsolateOptions { Tier = tier });
        Assert.Equal(21, isolate.Invoke("main")[0].AsI64);
        Assert.Equal("hello, standard input", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void AReadPastTheBufferTrapsBeforeReadingAnything()
    {
        var input = new MemoryStream([1, 2, 3]);
        var text = Cat.Replace("i64.const 5\n", "i64.const 8\n", StringComparison.Ordinal);
        var isolate = new Isolate(Module.FromText(text, "cat.jvm"), StandardImports.Create(Stream.Null).Concat(SystemInterface.Create(new SystemInterfaceOptions { Stdin = input })));
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal(TrapCode.OutOfBounds, trap.Code);
        Assert.Equal("sys.read_stdin: bytes 1..8 are outside the object's 8 bytes", trap.Detail);
        Assert.Equal(0, input.Position);
    }

    [Fact]
    public void WithoutStdinTheReadTrapsAndTheProgramStillLinks()
    {
        var isolate = new Isolate(Module.FromText(Cat, "cat.jvm"), StandardImports.Create(Stream.Null).Concat(SystemInterface.Create(new SystemInterfaceOptions())));
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Equal("sys.read_stdin: the program was not granted standard input (jitvm run --stdin; SystemInterfaceOptions.Stdin)", trap.Detail);
    }

    [Fact]
    public void ArgumentsAreBytesNotText()
    {
        var program = """
            .import sys.arg (i64) -> (ptr)
            .func main () -> (i64)
                i64.const 0
                call sys.arg
                i64.const 8
                load.u8
                return
            .end
            """;
        // Word 0 holds the length; byte 8 is the argument's first byte, which need not be UTF-8.
        var arguments = new[] { new byte[] { 0xFF, 0xFE } };
        var isolate = new Isolate(Module.FromText(program, "args.jvm"),
            SystemInterface.Create(new SystemInterfaceOptions { Arguments = arguments }));
        arguments[0][0] = 0; // the interface keeps its own copy
        Assert.Equal(0xFF, isolate.Invoke("main")[0].AsI64);
    }

    [Fact]
    public void ExitBecomesAHostErrorWhoseCauseCarriesTheCode()
    {
        var isolate = new Isolate(Module.FromText(".import sys.exit (i64) -> ()\n.func main () -> ()\n    i64.const 9\n    call sys.exit\n    return\n.end\n", "exit.jvm"),
            SystemInterface.Create(new SystemInterfaceOptions()));
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("main"));
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Equal(9, Assert.IsType<ProgramExitException>(trap.InnerException).ExitCode);
    }

    [Fact]
    public void AGrantedDirectoryMustExist() =>
        Assert.Throws<DirectoryNotFoundException>(() => SystemInterface.Create(new SystemInterfaceOptions { Directory = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N")) }));
}
