using System.Text;
using JitVm.Cli;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// The system interface as <c>jitvm run</c> gives it (spec/system-interface.md): each program's whole stdout, stderr
/// and exit code are checked, on every tier, with and without the capability it uses; a path that would leave the
/// granted directory traps, whatever the spelling.
/// </summary>
public sealed class SystemInterfaceCliTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-sys-").FullName;
    private readonly string _granted;

    public SystemInterfaceCliTests()
    {
        _granted = Directory.CreateDirectory(Path.Combine(_directory, "granted")).FullName;
        File.WriteAllText(Path.Combine(_granted, "in.txt"), "inside");
        File.WriteAllText(Path.Combine(_directory, "secret.txt"), "outside");
    }

    public void Dispose() => Directory.Delete(_directory, true);

    public static TheoryData<string> Tiers() => ["interpreter", "jit", "tiered"];

    /// <summary>Imports and a function printing a VM string (word 0 its length, bytes 8.. its bytes) and a line feed.</summary>
    private const string Prelude = """
        .import print_i64 (i64) -> ()
        .import print_bytes (ptr i64 i64) -> ()
        .import print_char (i64) -> ()
        .func show (s: ptr) -> ()
            local.get s
            i64.const 8
            local.get s
            i64.const 0
            load.i
            call print_bytes
            i64.const 10
            call print_char
            return
        .end

        """;

    /// <summary>A VM string of <paramref name="text"/> built by <c>main</c> into local <c>s</c>, from data segment
    /// <paramref name="segment"/> (declared by the caller): an object of 1 + words, word 0 the length.</summary>
    private static string MakeString(string segment, int length) => $"""
            i64.const {1 + (length + 7) / 8}
            alloc
            local.set s
            local.get s
            i64.const 0
            i64.const {length}
            store.i
            local.get s
            i64.const 1
            data.alloc {segment}
            i64.const 0
            i64.const {(length + 7) / 8}
            mem.copy

        """;

    private (int Code, string Out, string Err) Run(string program, params string[] options)
    {
        var path = Path.Combine(_directory, "program.jvm");
        File.WriteAllText(path, Prelude + program);
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var code = new CliApp(stdout, stderr).Run(["run", path, .. options]);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString().ReplaceLineEndings("\n"));
    }

    private const string Arguments = """
        .import sys.arg_count () -> (i64)
        .import sys.arg (i64) -> (ptr)
        .func main () -> ()
            .local i i64
            call sys.arg_count
            call print_i64
        next:
            local.get i
            call sys.arg_count
            i64.lt_s
            br_if more
            return
        more:
            local.get i
            call sys.arg
            call show
            local.get i
            i64.const 1
            i64.add
            local.set i
            br next
        .end
        """;

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ArgumentsArriveAsByteStringsInOrder(string tier)
    {
        var (code, output, error) = Run(Arguments, "--tier", tier, "--arg", "one", "--arg", "héllo wörld", "--arg", "");
        Assert.True(code == 0, error);
        Assert.Equal("3\none\nhéllo wörld\n\n", output);
    }

    [Fact]
    public void AnArgumentPastTheLastTrapsOutOfBounds()
    {
        var (code, _, error) = Run(".import sys.arg (i64) -> (ptr)\n.func main () -> ()\n    i64.const 0\n    call sys.arg\n    drop\n    return\n.end\n");
        Assert.Equal(70, code);
        Assert.StartsWith("trap: OutOfBounds: sys.arg: argument 0 does not exist (the program has 0)", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ExitEndsTheRunWithTheProgramsCodeAndNoReport(string tier)
    {
        var (code, output, error) = Run("""
            .import sys.exit (i64) -> ()
            .func main () -> ()
                i64.const 1
                call print_i64
                i64.const 3
                call sys.exit
                i64.const 2
                call print_i64
                return
            .end
            """, "--tier", tier);
        Assert.Equal(3, code);
        Assert.Equal("1\n", output);
        Assert.Equal("", error);
    }

    [Fact]
    public void AnExitCodeOutsideAByteTraps()
    {
        var (code, _, error) = Run(".import sys.exit (i64) -> ()\n.func main () -> ()\n    i64.const 256\n    call sys.exit\n    return\n.end\n");
        Assert.Equal(70, code);
        Assert.StartsWith("trap: HostError: sys.exit: exit code 256 is not from 0 to 255", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sys.clock_monotonic () -> (i64)", "sys.clock_monotonic", "the clocks (jitvm run --clock; SystemInterfaceOptions.Clock)")]
    [InlineData("sys.clock_wall () -> (i64)", "sys.clock_wall", "the clocks (jitvm run --clock; SystemInterfaceOptions.Clock)")]
    public void UngrantedCapabilitiesTrapNamingTheFlag(string import, string function, string what)
    {
        var (code, _, error) = Run($".import {import}\n.func main () -> ()\n    call {function}\n    drop\n    return\n.end\n");
        Assert.Equal(70, code);
        Assert.StartsWith($"trap: HostError: {function}: the program was not granted {what}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TheClocksGiveNanosecondsWhenGranted()
    {
        var (code, output, error) = Run("""
            .import sys.clock_monotonic () -> (i64)
            .import sys.clock_wall () -> (i64)
            .func main () -> ()
                call sys.clock_monotonic
                call sys.clock_monotonic
                i64.le_s
                call print_i64
                call sys.clock_wall
                i64.const 1600000000000000000
                i64.gt_s
                call print_i64
                return
            .end
            """, "--clock");
        Assert.True(code == 0, error);
        Assert.Equal("1\n1\n", output);
    }

    private const string RandomBytes = """
        .import sys.random (ptr i64 i64) -> ()
        .func main () -> ()
            .local p ptr
            i64.const 4
            alloc
            local.set p
            local.get p
            i64.const 0
            i64.const 32
            call sys.random
            local.get p
            i64.const 0
            load.i
            local.get p
            i64.const 1
            load.i
            i64.or
            local.get p
            i64.const 2
            load.i
            i64.or
            i64.const 0
            i64.ne
            call print_i64
            return
        .end
        """;

    [Fact]
    public void RandomBytesFillTheRangeOnlyWhenGranted()
    {
        var (code, output, error) = Run(RandomBytes, "--random");
        Assert.True(code == 0, error);
        Assert.Equal("1\n", output); // 192 random bits all zero: probability 2^-192
        var (denied, _, message) = Run(RandomBytes);
        Assert.Equal(70, denied);
        Assert.StartsWith("trap: HostError: sys.random: the program was not granted random bytes (jitvm run --random", message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomBytesOverAPointerWordTrapTagMismatch()
    {
        var (code, _, error) = Run("""
            .import sys.random (ptr i64 i64) -> ()
            .func main () -> ()
                .local p ptr
                i64.const 2
                alloc
                local.set p
                local.get p
                i64.const 1
                local.get p
                store.p
                local.get p
                i64.const 0
                i64.const 16
                call sys.random
                return
            .end
            """, "--random");
        Assert.Equal(70, code);
        Assert.StartsWith("trap: TagMismatch: sys.random would touch word 1, which holds a pointer", error, StringComparison.Ordinal);
    }

    private const string Environment = """
        .import sys.env (ptr) -> (i64 ptr)
        .data name "JITVM_SYS_TEST"
        .func main () -> ()
            .local s ptr
        """ + "\n" + """
            local.get s
            call sys.env
            call show
            call print_i64
            return
        .end
        """;

    [Fact]
    public void TheEnvironmentIsReadableOnlyWithTheFlag()
    {
        var program = Environment.Replace(".local s ptr\n", ".local s ptr\n" + MakeString("name", "JITVM_SYS_TEST".Length), StringComparison.Ordinal);
        System.Environment.SetEnvironmentVariable("JITVM_SYS_TEST", "visible");
        try
        {
            var (code, output, error) = Run(program, "--env");
            Assert.True(code == 0, error);
            Assert.Equal("visible\n1\n", output);
            var (denied, _, message) = Run(program);
            Assert.Equal(70, denied);
            Assert.StartsWith("trap: HostError: sys.env: the program was not granted the environment (jitvm run --env", message, StringComparison.Ordinal);
        }
        finally
        {
            System.Environment.SetEnvironmentVariable("JITVM_SYS_TEST", null);
        }
    }

    /// <summary>main reads the file named by <paramref name="path"/> (written as in a text-format string, so <c>\\</c>
    /// and <c>\0</c> are one byte each) and prints its bytes and whether it was found.</summary>
    private static string ReadFile(string path) => $$"""
        .import sys.file_read (ptr) -> (i64 ptr)
        .data name "{{path}}"
        .func main () -> ()
            .local s ptr
        {{MakeString("name", Encoding.UTF8.GetByteCount(path.Replace("\\\\", "\\", StringComparison.Ordinal).Replace("\\0", "\0", StringComparison.Ordinal)))}}
            local.get s
            call sys.file_read
            call show
            call print_i64
            return
        .end
        """;

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AFileUnderTheGrantedDirectoryIsRead(string tier)
    {
        var (code, output, error) = Run(ReadFile("in.txt"), "--dir", _granted, "--tier", tier);
        Assert.True(code == 0, error);
        Assert.Equal("inside\n1\n", output);
        var (_, missing, _) = Run(ReadFile("./absent.txt"), "--dir", _granted, "--tier", tier);
        Assert.Equal("\n0\n", missing);
    }

    [Theory]
    [InlineData("../secret.txt", "has a '..' part, which could leave the granted directory")]
    [InlineData("sub/../../secret.txt", "has a '..' part, which could leave the granted directory")]
    [InlineData("/etc/passwd", "is absolute; paths are relative to the granted directory")]
    [InlineData("a//b", "has an empty part")]
    [InlineData("..\\\\secret.txt", "holds a backslash; parts of a path are separated by '/'")]
    [InlineData("in.txt\\0", "holds a NUL character")]
    public void APathThatCouldLeaveTheDirectoryTraps(string path, string why)
    {
        var (code, output, error) = Run(ReadFile(path), "--dir", _granted);
        Assert.Equal(70, code);
        Assert.Equal("", output);
        Assert.Contains($"trap: HostError: sys.file_read: the path ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void ASymbolicLinkOutOfTheDirectoryIsRefused()
    {
        File.CreateSymbolicLink(Path.Combine(_granted, "link.txt"), Path.Combine(_directory, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(_granted, "up"), _directory);
        var (code, _, error) = Run(ReadFile("link.txt"), "--dir", _granted);
        Assert.Equal(70, code);
        Assert.Contains("goes through the symbolic link 'link.txt'", error, StringComparison.Ordinal);
        var (throughDirectory, _, message) = Run(ReadFile("up/secret.txt"), "--dir", _granted);
        Assert.Equal(70, throughDirectory);
        Assert.Contains("goes through the symbolic link 'up'", message, StringComparison.Ordinal);
    }

    [Fact]
    public void FilesAreRefusedWithoutADirectory()
    {
        var (code, _, error) = Run(ReadFile("in.txt"));
        Assert.Equal(70, code);
        Assert.StartsWith("trap: HostError: sys.file_read: the program was not granted files (jitvm run --dir PATH", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileIsWrittenUnderTheDirectoryAndReadBack()
    {
        var (code, output, error) = Run($$"""
            .import sys.file_write (ptr ptr i64 i64) -> (i64)
            .data name "out.txt"
            .data body "written by the program"
            .func main () -> ()
                .local s ptr
            {{MakeString("name", 7)}}
                local.get s
                data.alloc body
                i64.const 8
                i64.const 14
                call sys.file_write
                call print_i64
                return
            .end
            """, "--dir", _granted);
        Assert.True(code == 0, error);
        Assert.Equal("1\n", output);
        Assert.Equal("the program", File.ReadAllText(Path.Combine(_granted, "out.txt")).Trim('\0')[3..]);
    }

    [Fact]
    public void AMissingDirectoryIsAUsageError()
    {
        var (code, _, error) = Run(Arguments, "--dir", Path.Combine(_directory, "absent"));
        Assert.Equal(64, code);
        Assert.StartsWith("jitvm: --dir: no such directory: ", error, StringComparison.Ordinal);
    }
}
