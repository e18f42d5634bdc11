using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>Modules linked to each other by name through a <see cref="Linker"/> (spec/execution.md §2.1): calls across
/// them in every tier, one instance per module, and every way linking can fail, each with its message.</summary>
public sealed class LinkerTests
{
    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private const string Counter = """
        .global calls i64 = 0
        .func next () -> (i64) export
            global.get calls
            i64.const 1
            i64.add
            global.set calls
            global.get calls
            return
        .end
        .func private () -> ()
            return
        .end
        """;

    private static Module Text(string text, string name) => Module.FromText(text, name);

    [Theory]
    [MemberData(nameof(Tiers))]
    public void CallsAcrossModulesRunInEveryTierAndTrapsShowBothModules(ExecutionTier tier)
    {
        var lib = Text("""
            .import log (i64) -> ()
            .func scale (x: i64, by: i64) -> (i64) export
                local.get x
                call log
                local.get x
                local.get by
                i64.mul
                return
            .end
            .func divide (x: i64, by: i64) -> (i64) export
                local.get x
                local.get by
                i64.div_s
                return
            .end
            """, "lib.jvm");
        var main = Text("""
            .import lib.scale (i64 i64) -> (i64)
            .import lib.divide (i64 i64) -> (i64)
            .func run (n: i64) -> (i64)
                local.get n
                i64.const 3
                call lib.scale
                return
            .end
            .func fail () -> (i64)
                i64.const 1
                i64.const 0
                call lib.divide
                return
            .end
            """, "main.jvm");
        var logged = new List<long>();
        var isolate = new Linker().Define("lib", lib).Instantiate(main,
            [new HostFunction("log", new FunctionType([VmType.I64], []), (_, values) => logged.Add(values[0]))], new IsolateOptions { Tier = tier });
        Assert.Equal(42, isolate.Invoke("run", Value.I64(14))[0].AsI64);
        Assert.Equal([14L], logged);
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("fail"));
        Assert.Equal(TrapCode.DivideByZero, trap.Code);
        Assert.Equal(["divide lib.jvm", "fail main.jvm"], trap.VmStackTrace.Select(frame => $"{frame.Function} {frame.Source}"));
    }

    [Fact]
    public void AModuleTwoOthersImportFromIsInstantiatedOnce()
    {
        var left = Text(".import counter.next () -> (i64)\n.func left () -> (i64) export\n    call counter.next\n    return\n.end\n", "left.jvm");
        var right = Text(".import counter.next () -> (i64)\n.func right () -> (i64) export\n    call counter.next\n    return\n.end\n", "right.jvm");
        var main = Text("""
            .import left.left () -> (i64)
            .import right.right () -> (i64)
            .import counter.next () -> (i64)
            .func main () -> (i64)
                call left.left
                drop
                call right.right
                drop
                call counter.next
                return
            .end
            """, "main.jvm");
        var linker = new Linker().Define("counter", Text(Counter, "counter.jvm")).Define("left", left).Define("right", right);
        Assert.Equal(3, linker.Instantiate(main).Invoke("main")[0].AsI64);
        // Each isolate has its own instances, globals included.
        Assert.Equal(3, linker.Instantiate(main).Invoke("main")[0].AsI64);
    }

    [Fact]
    public void ACycleOfImportsIsALinkErrorNamingItsPath()
    {
        var a = Text(".import b.g () -> (i64)\n.func f () -> (i64) export\n    call b.g\n    return\n.end\n", "a.jvm");
        var b = Text(".import a.f () -> (i64)\n.func g () -> (i64) export\n    call a.f\n    return\n.end\n", "b.jvm");
        var main = Text(".import a.f () -> (i64)\n.func main () -> (i64)\n    call a.f\n    return\n.end\n", "main.jvm");
        var error = Assert.Throws<LinkException>(() => new Linker().Define("a", a).Define("b", b).Instantiate(main));
        Assert.Equal("the imports between modules form a cycle: 'a' -> 'b' -> 'a'; a module cannot import, directly or through others, from a module that imports from it", error.Message);
    }

    [Fact]
    public void AModuleImportingFromItselfOrFromTheMainModuleIsACycle()
    {
        var self = Text(".import self.f () -> (i64)\n.func f () -> (i64) export\n    call self.f\n    return\n.end\n", "self.jvm");
        var main = Text(".import self.f () -> (i64)\n.func main () -> (i64) export\n    call self.f\n    return\n.end\n", "main.jvm");
        Assert.Contains("cycle: 'self' -> 'self'", Assert.Throws<LinkException>(() => new Linker().Define("self", self).Instantiate(main)).Message, StringComparison.Ordinal);

        var lib = Text(".import app.main () -> (i64)\n.func f () -> (i64) export\n    call app.main\n    return\n.end\n", "lib.jvm");
        var app = Text(".import lib.f () -> (i64)\n.func main () -> (i64) export\n    call lib.f\n    return\n.end\n", "app.jvm");
        var linker = new Linker().Define("lib", lib).Define("app", app);
        Assert.Contains("form a cycle: 'app' -> 'lib' -> 'app';", Assert.Throws<LinkException>(() => linker.Instantiate(app)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyExportedFunctionsOfTheRightSignatureLink()
    {
        var linker = new Linker().Define("counter", Text(Counter, "counter.jvm"));
        Module Importing(string import) => Text($".import {import}\n.func main () -> ()\n    return\n.end\n", "main.jvm");

        Assert.Equal("main.jvm: import 'counter.private': function 'private' of module 'counter' is not exported (declare it with 'export')",
            Assert.Throws<LinkException>(() => linker.Instantiate(Importing("counter.private () -> ()"))).Message);
        Assert.Equal("main.jvm: import 'counter.missing': module 'counter' (counter.jvm) has no function 'missing'",
            Assert.Throws<LinkException>(() => linker.Instantiate(Importing("counter.missing () -> ()"))).Message);
        Assert.Equal("main.jvm: import 'counter.next' is declared as () -> (f64) but module 'counter' provides () -> (i64)",
            Assert.Throws<LinkException>(() => linker.Instantiate(Importing("counter.next () -> (f64)"))).Message);
        Assert.Equal("main.jvm: import 'other.next' () -> (i64) is not provided by the host, and no module 'other' is linked",
            Assert.Throws<LinkException>(() => linker.Instantiate(Importing("other.next () -> (i64)"))).Message);
    }

    [Fact]
    public void AnImportBothTheHostAndAModuleProvideIsAmbiguous()
    {
        var main = Text(".import counter.next () -> (i64)\n.func main () -> ()\n    return\n.end\n", "main.jvm");
        var host = new HostFunction("counter.next", new FunctionType([], [VmType.I64]), (_, values) => values[0] = 7);
        var error = Assert.Throws<LinkException>(() => new Linker().Define("counter", Text(Counter, "counter.jvm")).Instantiate(main, [host]));
        Assert.Equal("main.jvm: import 'counter.next' is ambiguous: both the host and the linked module 'counter' provide it", error.Message);
        // With no module of that name, a dotted import is a host function as before.
        var isolate = new Linker().Instantiate(Text(".import counter.next () -> (i64)\n.func main () -> (i64)\n    call counter.next\n    return\n.end\n", "m.jvm"), [host]);
        Assert.Equal(7, isolate.Invoke("main")[0].AsI64);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    public void ModuleNamesAreNonEmptyAndHoldNoSeparator(string name) =>
        Assert.Throws<ArgumentException>(() => new Linker().Define(name, Text(Counter, "counter.jvm")));

    [Fact]
    public void AModuleNameIsDefinedOnce()
    {
        var linker = new Linker().Define("counter", Text(Counter, "counter.jvm"));
        Assert.Throws<ArgumentException>(() => linker.Define("counter", Text(Counter, "counter.jvm")));
        Assert.Single(linker.Modules);
    }

    [Fact]
    public void AnEnginesLinkerGivesItsIsolatesTheEnginesDefaults()
    {
        var engine = new Engine(new EngineOptions { IsolateDefaults = new IsolateOptions { Fuel = 3 } });
        var loop = engine.LoadText(".func spin () -> () export\nagain:\n    br again\n.end\n", "loop.jvm");
        var main = engine.LoadText(".import loop.spin () -> ()\n.func main () -> ()\n    call loop.spin\n    return\n.end\n", "main.jvm");
        var trap = Assert.Throws<TrapException>(() => new Linker(engine).Define("loop", loop).Instantiate(main).Invoke("main"));
        Assert.Equal(TrapCode.OutOfFuel, trap.Code);
    }
}
