using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Memory;
using JitVm.Verification;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>Globals imported from other modules (spec/execution.md §2.1): an imported global is the exporter's cell,
/// read and written by both modules in every tier, under deopt and GC stress, from saved assemblies and through the
/// isolate's GetGlobal and SetGlobal; and every way linking one can fail, each with its message.</summary>
public sealed class GlobalLinkingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jitvm-global-links-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    public static TheoryData<ExecutionTier, DeoptStressMode> TiersAndDeoptStress()
    {
        var data = new TheoryData<ExecutionTier, DeoptStressMode>();
        foreach (var tier in Enum.GetValues<ExecutionTier>())
        {
            data.Add(tier, DeoptStressMode.Off);
            data.Add(tier, DeoptStressMode.EverySafepoint);
        }
        return data;
    }

    public static TheoryData<ExecutionTier> Tiers() => [.. Enum.GetValues<ExecutionTier>()];

    private const string CounterLib = """
        .global count i64 = 0 export
        .global scale f64 = 1.5 export
        .func bump () -> (i64) export
            global.get count
            i64.const 1
            i64.add
            global.set count
            global.get count
            return
        .end
        .func scaled () -> (f64) export
            global.get scale
            return
        .end
        """;

    private const string CounterMain = """
        .import global lib.count i64
        .import global lib.scale: f64
        .import lib.bump () -> (i64)
        .import lib.scaled () -> (f64)
        .global own i64 = 7
        .func run (n: i64) -> (i64)
        again:
            local.get n
            i64.eqz
            br_if done
            global.get lib.count
            i64.const 1
            i64.add
            global.set lib.count
            call lib.bump
            drop
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br again
        done:
            global.get lib.count
            global.get own
            i64.add
            return
        .end
        .func double () -> (f64)
            global.get lib.scale
            f64.const 2
            f64.mul
            global.set lib.scale
            call lib.scaled
            return
        .end
        .func peek () -> (i64)
            global.get lib.count
            return
        .end
        """;

    private static Isolate LinkCounter(IsolateOptions options, Module? main = null) =>
        new Linker().Define("lib", Module.FromText(CounterLib, "lib.jvm")).Instantiate(main ?? Module.FromText(CounterMain, "main.jvm"), options: options);

    [Theory]
    [MemberData(nameof(TiersAndDeoptStress))]
    public void ACounterIsOneCellForBothModulesInEveryTier(ExecutionTier tier, DeoptStressMode deopt)
    {
        var isolate = LinkCounter(new IsolateOptions { Tier = tier, TierUpCalls = 2, Diagnostics = new DiagnosticOptions { DeoptStress = deopt } });
        // Each round adds one through the importer's global.set and one through the exporter's bump.
        for (var call = 1; call <= 5; call++)
            Assert.Equal(7 + 20L * call, isolate.Invoke("run", Value.I64(10))[0].AsI64);
        Assert.Equal(100L, isolate.GetGlobal("lib.count").AsI64);
        Assert.Equal(3.0, isolate.Invoke("double")[0].AsF64);
        Assert.Equal(6.0, isolate.Invoke("double")[0].AsF64);
        Assert.Equal(6.0, isolate.GetGlobal("lib.scale").AsF64);
    }

    [Fact]
    public void TheHostReachesTheCellByTheImportNameAndResetRestoresTheExportersValue()
    {
        var isolate = LinkCounter(new IsolateOptions());
        isolate.SetGlobal("lib.count", Value.I64(40));
        Assert.Equal(40L, isolate.Invoke("peek")[0].AsI64);
        Assert.Equal(49L, isolate.Invoke("run", Value.I64(1))[0].AsI64);
        Assert.Equal(7L, isolate.GetGlobal("own").AsI64);
        var wrongType = Assert.Throws<ArgumentException>(() => isolate.SetGlobal("lib.count", Value.F64(1)));
        Assert.StartsWith("global 'lib.count' is i64, but an f64 was given", wrongType.Message, StringComparison.Ordinal);
        isolate.Reset();
        Assert.Equal(0L, isolate.GetGlobal("lib.count").AsI64);
        Assert.Equal(1.5, isolate.GetGlobal("lib.scale").AsF64);
        Assert.Equal(27L, isolate.Invoke("run", Value.I64(10))[0].AsI64);
    }

    [Theory]
    [MemberData(nameof(Tiers))]
    public void ASavedAssemblyOfTheImporterReachesTheCell(ExecutionTier tier)
    {
        var path = Path.Combine(_directory, $"main-{tier}.dll");
        Module.FromText(CounterMain, "main.jvm").SaveAssembly(path);
        var saved = new Engine().LoadAssembly(path);
        Assert.True(saved.IsPrecompiled);
        var isolate = LinkCounter(new IsolateOptions { Tier = tier }, saved);
        Assert.Equal(27L, isolate.Invoke("run", Value.I64(10))[0].AsI64);
        Assert.Equal(3.0, isolate.Invoke("double")[0].AsF64);
        Assert.Equal(20L, isolate.GetGlobal("lib.count").AsI64);
    }

    private const string ListLib = """
        .global head word export
        .func build (n: i64) -> () export
        again:
            local.get n
            i64.eqz
            br_if done
            i64.const 2
            alloc
            dup
            i64.const 0
            local.get n
            store.i
            dup
            i64.const 1
            global.get head
            store.w
            word.of_ptr
            global.set head
            local.get n
            i64.const 1
            i64.sub
            local.set n
            br again
        done:
            return
        .end
        .func total () -> (i64) export
            .local sum i64
            .local cursor word
            global.get head
            local.set cursor
        walk:
            local.get cursor
            isptr
            i64.eqz
            br_if done
            local.get cursor
            word.as_ptr
            i64.const 0
            load.i
            local.get sum
            i64.add
            local.set sum
            local.get cursor
            word.as_ptr
            i64.const 1
            load.w
            local.set cursor
            br walk
        done:
            local.get sum
            return
        .end
        """;

    private const string ListMain = """
        .import global lib.head word
        .import lib.build (i64) -> ()
        .import lib.total () -> (i64)
        .func walk (n: i64) -> (i64)
            .local sum i64
            .local cursor word
            local.get n
            call lib.build
            global.get lib.head
            local.set cursor
        walk:
            local.get cursor
            isptr
            i64.eqz
            br_if done
            i64.const 3
            alloc
            drop
            local.get cursor
            word.as_ptr
            i64.const 0
            load.i
            local.get sum
            i64.add
            local.set sum
            local.get cursor
            word.as_ptr
            i64.const 1
            load.w
            local.set cursor
            br walk
        done:
            local.get sum
            return
        .end
        .func prepend (value: i64) -> (i64)
            i64.const 2
            alloc
            dup
            i64.const 0
            local.get value
            store.i
            dup
            i64.const 1
            global.get lib.head
            store.w
            word.of_ptr
            global.set lib.head
            i64.const 5
            alloc
            drop
            call lib.total
            return
        .end
        """;

    [Theory]
    [MemberData(nameof(TiersAndDeoptStress))]
    public void AListTheExporterBuiltIsWalkedByTheImporterUnderGcStress(ExecutionTier tier, DeoptStressMode deopt)
    {
        var options = new IsolateOptions
        {
            Tier = tier, TierUpCalls = 2, NurseryBytes = 4096,
            Diagnostics = new DiagnosticOptions { GcStress = GcStressMode.EveryAllocation, VerifyHeap = true, DeoptStress = deopt },
        };
        var isolate = new Linker().Define("lib", Module.FromText(ListLib, "lib.jvm")).Instantiate(Module.FromText(ListMain, "main.jvm"), options: options);
        // Each call prepends 1..20 to the list the earlier calls left: the importer walks all of it.
        for (var call = 1; call <= 3; call++)
            Assert.Equal(210L * call, isolate.Invoke("walk", Value.I64(20))[0].AsI64);
        Assert.Equal(630L + 1000, isolate.Invoke("prepend", Value.I64(1000))[0].AsI64);
        isolate.CollectGarbage();
        Assert.True(isolate.GetGlobal("lib.head").IsPointer);
        Assert.Equal(1630L, isolate.Invoke("prepend", Value.I64(0))[0].AsI64);
    }

    [Fact]
    public void TheModuleBuilderImportsAndExportsGlobals()
    {
        var lib = new ModuleBuilder("lib");
        var total = lib.Global("total", VmType.I64, 5, export: true);
        lib.Function("get", [], [VmType.I64], export: true).GlobalGet(total).Return();
        var main = new ModuleBuilder("main");
        var get = main.Import("lib.get", [], [VmType.I64]);
        var imported = main.ImportGlobal("lib.total", VmType.I64);
        var add = main.Function("add", [VmType.I64], [VmType.I64]);
        add.GlobalGet(imported).LocalGet(add.Parameter(0)).Emit(OpCode.I64Add).GlobalSet(imported).Call(get).Return();
        Assert.Equal(0, imported.Index);
        // A global defined later takes its index: imported globals follow every defined one.
        var own = main.Global("own", VmType.I64, 1);
        Assert.True(imported.IsImport);
        Assert.Equal(0, own.Index);
        Assert.Equal(1, imported.Index);
        var isolate = new Linker().Define("lib", lib.Build()).Instantiate(main.Build());
        Assert.Equal(42L, isolate.Invoke("add", Value.I64(37))[0].AsI64);
        Assert.Throws<ArgumentException>(() => new ModuleBuilder().ImportGlobal("nomodule", VmType.I64));
        Assert.Throws<ArgumentException>(() => new ModuleBuilder().ImportGlobal("lib.x", VmType.Ptr));
    }

    [Fact]
    public void GlobalLinksSurviveTheBinaryAndTextFormats()
    {
        foreach (var text in new[] { CounterLib, CounterMain })
        {
            var module = Module.FromText(text, "m.jvm");
            var binary = module.ToBinary();
            Assert.Equal(5u, BitConverter.ToUInt32(binary, 4));
            var again = Module.FromBinary(binary, "m.jvmb");
            Assert.Equal(binary, again.ToBinary());
            Assert.Equal(binary, Module.FromText(again.ToText(), "m.jvm").ToBinary());
        }
        var disassembled = Module.FromText(CounterMain, "main.jvm").ToText();
        Assert.Contains(".import global lib.count i64\n", disassembled.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains(".global count i64 export\n", Module.FromText(CounterLib, "lib.jvm").ToText().ReplaceLineEndings("\n"), StringComparison.Ordinal);
        // A function import named global is still one.
        var function = Module.FromText(".type t () -> ()\n.import global t\n.func f () -> ()\n    call global\n    return\n.end\n", "f.jvm");
        Assert.Equal("global", function.Definition.Imports[0].Name);
    }

    [Fact]
    public void TheVerifierTypesAnImportedGlobalByItsDeclaredType()
    {
        var error = Assert.Throws<VerificationException>(() => Module.FromText("""
            .import global lib.count i64
            .func f () -> ()
                f64.const 1
                global.set lib.count
                return
            .end
            """, "bad.jvm"));
        Assert.Equal(VerificationRule.TypeMismatch, error.Rule);
        Assert.Contains("global 'lib.count' has type i64 but the value on top is f64", error.Message, StringComparison.Ordinal);
        var unnamed = new ModuleDefinition([], [], [], [], []) { GlobalImports = [new GlobalImportDefinition("count", VmType.I64)] };
        var invalid = Assert.Throws<VerificationException>(() => Module.FromDefinition(unnamed));
        Assert.Equal(VerificationRule.InvalidGlobal, invalid.Rule);
        Assert.Contains("imported global 'count' must be named MODULE.GLOBAL", invalid.Message, StringComparison.Ordinal);
    }

    private static LinkException LinkError(string lib, string main, string libName = "lib") =>
        Assert.Throws<LinkException>(() => new Linker().Define(libName, Module.FromText(lib, "lib.jvm")).Instantiate(Module.FromText(main, "main.jvm")));

    [Fact]
    public void LinkErrorsNameTheModuleTheGlobalAndBothTypes()
    {
        const string lib = ".global count i64 export\n.global hidden i64\n.import global other.x i64\n";
        Assert.Equal("main.jvm: import global 'lib.count' f64: the import expects f64 but module 'lib' exports 'count' as i64",
            LinkError(lib.Replace(".import global other.x i64\n", "", StringComparison.Ordinal), ".import global lib.count f64\n").Message);
        Assert.Equal("main.jvm: import global 'lib.missing' i64: module 'lib' (lib.jvm) has no global 'missing'",
            LinkError(".global count i64 export\n", ".import global lib.missing i64\n").Message);
        Assert.Equal("main.jvm: import global 'lib.hidden' i64: global 'hidden' of module 'lib' is not exported (declare it with 'export')",
            LinkError(".global hidden i64\n", ".import global lib.hidden i64\n").Message);
        Assert.Equal("main.jvm: import global 'nowhere.count' i64: no module 'nowhere' is linked (globals are imported only from modules given to a Linker, or with jitvm run --module)",
            LinkError(".global count i64 export\n", ".import global nowhere.count i64\n").Message);
        var unlinked = Assert.Throws<LinkException>(() => new Isolate(Module.FromText(".import global lib.count i64\n", "main.jvm")));
        Assert.StartsWith("main.jvm: import global 'lib.count' i64: no module 'lib' is linked", unlinked.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACycleThroughGlobalImportsIsALinkError()
    {
        var linker = new Linker()
            .Define("a", Module.FromText(".global x i64 export\n.import global b.y i64\n", "a.jvm"))
            .Define("b", Module.FromText(".global y i64 export\n.import global a.x i64\n", "b.jvm"));
        var error = Assert.Throws<LinkException>(() => linker.Instantiate(Module.FromText(".import global a.x i64\n", "main.jvm")));
        Assert.StartsWith("the imports between modules form a cycle: 'a' -> 'b' -> 'a'", error.Message, StringComparison.Ordinal);
        var throughMain = new Linker().Define("lib", Module.FromText(".global y i64 export\n.import global main.x i64\n", "lib.jvm"))
            .Define("main", Module.FromText(".global x i64 export\n.import global lib.y i64\n", "main.jvm"));
        var viaMain = Assert.Throws<LinkException>(() => throughMain.Instantiate(throughMain.Modules["main"]));
        Assert.StartsWith("the imports between modules form a cycle: 'main' -> 'lib' -> 'main'", viaMain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModuleThatImportsAGlobalCannotSpawnTasks()
    {
        var main = Module.FromText("""
            .import global lib.count i64
            .func work () -> ()
                return
            .end
            .func start () -> ()
                task.spawn work
                drop
                return
            .end
            """, "main.jvm");
        var isolate = new Linker().Define("lib", Module.FromText(CounterLib, "lib.jvm")).Instantiate(main);
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("start"));
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Contains("task.spawn needs a module whose imports are all host functions", trap.Message, StringComparison.Ordinal);
    }
}
