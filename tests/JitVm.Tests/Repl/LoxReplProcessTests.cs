using Xunit;

namespace JitVm.Tests.Repl;

/// <summary><c>jitvm lox</c> as a child process: the REPL driven through redirected stdin (no banner, no prompt;
/// program output on stdout, clox's errors on stderr, exit 0 at the end of input), and <c>jitvm lox FILE</c>.</summary>
public sealed class LoxReplProcessTests
{
    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    [InlineData("tiered")]
    public void TheReplReadsStdinAsOneScript(string tier)
    {
        const string input = """
            var greeting = "hello";
            fun greet(name) {
              return greeting + ", " + name;
            }
            print greet("lox");
            class Counter { init() { this.n = 0; } next() { this.n = this.n + 1; return this.n; } }
            var c = Counter();
            c.next();
            c.next()
            print nil + 1;
            var broken = ;
            greeting = "bye";
            print greet("lox");
            """;
        var (code, output, error) = ChildProcess.Run(ChildProcess.Cli("lox", "--tier", tier), input + "\n");
        Assert.Equal("Operands must be two numbers or two strings.\n[line 1] in script\n[line 1] Error at ';': Expect expression.\n", error);
        Assert.Equal("hello, lox\n2\nbye, lox\n", output);
        Assert.Equal(0, code);
    }

    [Fact]
    public void AnInputLeftOpenAtTheEndOfInputIsReportedAsCloxReportsIt()
    {
        var (code, output, error) = ChildProcess.Run(ChildProcess.Cli("lox"), "print 1;\nfun f() {\n  print 2;\n");
        Assert.Equal((0, "1\n", "[line 2] Error at end: Expect '}' after block.\n"), (code, output, error));
    }

    [Fact]
    public void WithAFileItRunsTheScriptAsRunDoes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"jitvm-lox-{Guid.NewGuid():N}.lox");
        File.WriteAllText(path, "print \"ok\";\nfun f() { return 1 - nil; }\nf();\n");
        try
        {
            var (code, output, error) = ChildProcess.Run(ChildProcess.Cli("lox", path, "--tier", "jit"));
            Assert.Equal((70, "ok\n", "Operands must be numbers.\n[line 2] in f()\n[line 3] in script\n"), (code, output, error));
            Assert.Equal(64, ChildProcess.Run(ChildProcess.Cli("lox", "examples/fib.jvm")).Code);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
