using JitVm.Cli.Repl;
using JitVm.Hosting;
using JitVm.Memory;
using Xunit;

namespace JitVm.Tests.Repl;

/// <summary>
/// The Lox REPL's session (spec/repl.md, "The Lox REPL"), fed lines without a console, on every tier: the inputs
/// behave as one script (globals, closures and classes across inputs, redefinition), compile and runtime errors are
/// clox's and leave the session going, an input continues while brackets are open, and a session survives a
/// collection at every allocation.
/// </summary>
public sealed class LoxReplSessionTests
{
    public static TheoryData<ExecutionTier> Tiers => [ExecutionTier.Interpreter, ExecutionTier.Jit, ExecutionTier.Tiered];

    /// <summary>Feeds <paramref name="lines"/> to a new session; program output and errors in the order written.</summary>
    private static string Session(ExecutionTier tier, params string[] lines) => Session(new LoxReplSettings { Options = new IsolateOptions { Tier = tier } }, lines);

    private static string Session(LoxReplSettings settings, params string[] lines)
    {
        var output = new StringWriter { NewLine = "\n" };
        using var session = new LoxReplSession(output, output, settings);
        foreach (var line in lines) session.Feed(line);
        session.Finish();
        return output.ToString();
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void GlobalsDefinedInOneInputAreUsedInLaterOnes(ExecutionTier tier) =>
        Assert.Equal("3\n12\nA\n<fn add>\n", Session(tier,
            "var a = 1;",
            "fun add(x) { return x + a; }",
            "print add(2);",
            "a = 10;",
            "print add(2);",
            "class A {}",
            "print A; print add;"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ClosuresMadeEarlierKeepWorking(ExecutionTier tier) =>
        Assert.Equal("1\n2\n3\n1\n4\n", Session(tier,
            "fun counter() { var n = 0; fun inc() { n = n + 1; return n; } return inc; }",
            "var c = counter();",
            "print c();",
            "print c();",
            "print c();",
            // A new counter shares nothing with the first; redefining the factory leaves the first counter working.
            "var d = counter(); print d();",
            "fun counter() { return nil; }",
            "print c();"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AClassDefinedInOneInputIsSubclassedInALaterOne(ExecutionTier tier) =>
        Assert.Equal("A(1)\nB(2) after A(2)\nA(1)\ntrue\n", Session(tier,
            "class A { init(x) { this.x = x; } describe() { return \"A(\" + this.name() + \")\"; } name() { return \"\" + this.text; } }",
            "var a = A(1); a.text = \"1\";",
            "print a.describe();",
            "class B < A { describe() { return \"B(\" + this.text + \") after \" + super.describe(); } }",
            "var b = B(2); b.text = \"2\"; print b.describe();",
            "print a.describe();",
            "print b.x == 2;"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ACompileErrorIsReportedAsCloxDoesAndNothingOfTheInputTakesEffect(ExecutionTier tier) =>
        Assert.Equal(
            "[line 1] Error at ';': Expect expression.\n" +
            "Undefined variable 'x'.\n[line 1] in script\n" +
            "[line 1] Error at ';': Expect expression.\n" +
            "1\n" +
            "[line 1] Error at '}': Expect expression.\n" +
            "1\nok\n",
            Session(tier,
                "var x = ;",
                "print x;",
                "fun f() { return 1; }",
                // Neither the new f nor the store to f counts: f is still the one function, called directly.
                "fun f() { return 2; } f = 3; print ;",
                "print f();",
                "print 1; }",
                "print f();",
                "print \"ok\";"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ARuntimeErrorPrintsItsTraceAndKeepsTheGlobalsAsTheErrorLeftThem(ExecutionTier tier) =>
        Assert.Equal(
            "Can only call functions and classes.\n[line 1] in g()\n[line 1] in script\n" +
            "2\n" +
            "before\nOperands must be numbers.\n[line 3] in script\n" +
            "h\nnil\n",
            Session(tier,
                "var a = 1;",
                "fun g() { a = 2; nil(); a = 3; }",
                "g();",
                "print a;",
                "fun h() { return \"h\"; }",
                "var later;",
                "print \"before\";\nvar s = 1;\ns = s - nil;\nlater = 4;",
                "print h();",
                "print later;"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ARedefinitionReplacesTheGlobal(ExecutionTier tier) =>
        Assert.Equal("1\n2\nfunction\n<fn f>\n", Session(tier,
            "fun f() { return 1; }",
            "fun g() { return f(); }",
            "print g();",
            "fun f() { return 2; }",
            "print g();",
            "var f = \"function\";",
            "print f;",
            "fun f() {} print f;"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AnInputContinuesWhileBracketsOrAStringAreOpen(ExecutionTier tier)
    {
        var output = new StringWriter { NewLine = "\n" };
        using var session = new LoxReplSession(output, output, new LoxReplSettings { Options = new IsolateOptions { Tier = tier } });
        session.Feed("fun twice(n) {");
        Assert.True(session.IsContinuing);
        session.Feed("  // a } in a comment and \"}\" in a string do not close it");
        session.Feed("  var s = \"}\";");
        Assert.True(session.IsContinuing);
        session.Feed("  return n * (2");
        session.Feed("  );");
        session.Feed("}");
        Assert.False(session.IsContinuing);
        session.Feed("print twice(");
        session.Feed("4);");
        session.Feed("print \"two");
        Assert.True(session.IsContinuing);
        session.Feed("lines\";");
        // Lines count from 1 in each input, as clox's REPL counts them.
        session.Feed("fun bad() {");
        session.Feed("  return -nil;");
        session.Feed("}");
        session.Feed("bad();");
        Assert.Equal("8\ntwo\nlines\nOperand must be a number.\n[line 2] in bad()\n[line 1] in script\n", output.ToString());
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void AnExpressionWithoutItsSemicolonPrintsItsValue(ExecutionTier tier) =>
        Assert.Equal("3\nab\n5\n5\n[line 1] Error at end: Expect ';' after variable declaration.\n[line 1] Error at end: Expect ';' after value.\n",
            Session(tier, "1 + 2", "\"a\" + \"b\"", "var x = 4;", "x = 5", "x", "var y = 1", "print 1"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void StringsMadeInDifferentInputsCompareByContent(ExecutionTier tier) =>
        Assert.Equal("true\ntrue\nfalse\n", Session(tier, "var s = \"x\";", "print s == \"x\";", "var t = s + \"y\";", "print t == \"xy\";", "print t == s;"));

    [Theory]
    [MemberData(nameof(Tiers))]
    public void TrapsOfTheVmAreReportedAndTheSessionGoesOn(ExecutionTier tier)
    {
        var said = Session(new LoxReplSettings { Options = new IsolateOptions { Tier = tier, MaxCallDepth = 100 }, FuelPerInput = 100_000 },
            "fun deep(n) { return deep(n + 1); }",
            "deep(0);",
            "while (true) {}",
            // Every input starts with the whole budget again.
            "var i = 0; while (i < 100) i = i + 1; print i;");
        var lines = said.Split('\n');
        Assert.Equal("Stack overflow.", lines[0]);
        Assert.Equal("[line 1] in deep()", lines[1]);
        var outOfFuel = Array.FindIndex(lines, l => l.StartsWith("OutOfFuel", StringComparison.Ordinal));
        Assert.True(outOfFuel > 1, said);
        Assert.Equal("[line 1] in script", lines[outOfFuel + 1]);
        Assert.EndsWith("[line 1] in script\n100\n", said);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void InterruptCancelsTheRunningInputAndTheSessionGoesOn(ExecutionTier tier)
    {
        var output = new StringWriter { NewLine = "\n" };
        using var session = new LoxReplSession(output, output, new LoxReplSettings { Options = new IsolateOptions { Tier = tier } });
        session.Feed("var n = 0;");
        using var done = new ManualResetEventSlim();
        // Interrupt does nothing until the loop runs, so it is repeated until the input returns: no timing involved.
        var interrupter = new Thread(() =>
        {
            while (!done.Wait(10)) session.Interrupt();
        });
        interrupter.Start();
        session.Feed("while (true) n = n + 1;");
        done.Set();
        interrupter.Join();
        // How far the loop got depends on when the interrupt came (it may come while the input is compiled).
        session.Feed("print n >= 0; n = -1; print n;");
        var lines = output.ToString().Split('\n');
        Assert.StartsWith("Cancelled", lines[0]);
        Assert.Equal(["[line 1] in script", "true", "-1", ""], lines[1..]);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ASessionSurvivesACollectionAtEveryAllocation(ExecutionTier tier)
    {
        var settings = new LoxReplSettings
        {
            Options = new IsolateOptions
            {
                Tier = tier,
                MaxHeapBytes = 4 << 20,
                Diagnostics = new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true },
            },
        };
        Assert.Equal("node 3\n6\nab-ab-ab-\n3\n", Session(settings,
            "class Node { init(value, next) { this.value = value; this.next = next; } }",
            "fun list(n) { var head = nil; for (var i = 1; i <= n; i = i + 1) head = Node(i, head); return head; }",
            "var l = list(3);",
            "print \"node \" + \"3\";",
            "fun total(node) { if (node == nil) return 0; return node.value + total(node.next); }",
            "print total(l);",
            "var s = \"\"; for (var i = 0; i < 3; i = i + 1) s = s + \"ab\" + \"-\"; print s;",
            "fun adder(k) { fun add(x) { return x + k; } return add; }",
            "var add2 = adder(2); var junk = list(50);",
            "print add2(1);"));
    }
}
