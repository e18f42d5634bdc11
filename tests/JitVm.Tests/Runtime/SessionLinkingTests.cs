using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Runtime;
using JitVm.Text;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests.Runtime;

/// <summary>The small runtime pieces a session relinking module after module needs: detaching an instance the
/// store no longer uses, moving a fiber to another instance, changing the tier between entries, and the columns of
/// assembler errors.</summary>
public sealed class SessionLinkingTests
{
    private const string Provider = ".func seven () -> (i64)\n    i64.const 7\n    return\n.end\n";
    private const string Consumer = ".import seven () -> (i64)\n.func main () -> (i64)\n    call seven\n    return\n.end\n";

    private static long RunFirst(Fiber fiber, string name)
    {
        var index = fiber.Instance.Module.FindFunction(name);
        fiber.Store.BeginEntry(fiber);
        try
        {
            fiber.EnsureSlots(2);
            fiber.Execute(index, 1);
            return fiber.Slots[0];
        }
        finally
        {
            fiber.Store.EndEntry(fiber);
        }
    }

    [Fact]
    public void ADetachedInstanceIsNoLongerFoundByLaterLinks()
    {
        var isolate = new Isolate(Module.FromText(""));
        var provider = new Instance(isolate.Store, Module.FromText(Provider), null);
        Assert.Contains(provider, isolate.Store.Instances);
        isolate.Store.Detach(provider);
        Assert.DoesNotContain(provider, isolate.Store.Instances);
        var error = Assert.Throws<LinkException>(() => new Instance(isolate.Store, Module.FromText(Consumer), null));
        Assert.Contains("seven", error.Message);
    }

    [Fact]
    public void AnInstanceInUseCannotBeDetached()
    {
        var isolate = new Isolate(Module.FromText(Provider));
        Assert.Throws<InvalidOperationException>(() => isolate.Store.Detach(isolate.Instance));
        var provider = new Instance(isolate.Store, Module.FromText(Provider), null);
        _ = new Instance(isolate.Store, Module.FromText(Consumer), null);
        Assert.Throws<InvalidOperationException>(() => isolate.Store.Detach(provider));
    }

    [Theory]
    [InlineData(ExecutionTier.Interpreter)]
    [InlineData(ExecutionTier.Jit)]
    public void AReboundFiberRunsTheNewInstanceAndTheOldOneCanGo(ExecutionTier tier)
    {
        var isolate = new Isolate(Module.FromText(".func main () -> (i64)\n    i64.const 1\n    return\n.end\n"), options: new IsolateOptions { Tier = tier });
        Assert.Equal(1, RunFirst(isolate.Fiber, "main"));
        var first = isolate.Instance;
        var second = new Instance(isolate.Store, Module.FromText(".func main () -> (i64)\n    i64.const 2\n    return\n.end\n"), null);
        isolate.Fiber.Rebind(second);
        isolate.Store.Detach(first);
        Assert.Equal(2, RunFirst(isolate.Fiber, "main"));
        var elsewhere = new Isolate(Module.FromText(""));
        Assert.Throws<ArgumentException>(() => isolate.Fiber.Rebind(elsewhere.Instance));
    }

    [Fact]
    public void TheTierChangesBetweenEntriesForCodeNotYetCompiled()
    {
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported) return;
        var isolate = new Isolate(Module.FromText(""), options: new IsolateOptions { Tier = ExecutionTier.Interpreter });
        var interpreted = new Instance(isolate.Store, Module.FromText(Provider), null);
        isolate.Fiber.Rebind(interpreted);
        Assert.Equal(7, RunFirst(isolate.Fiber, "seven"));
        Assert.Null(interpreted.Functions[0].Compiled);

        isolate.Store.ChangeTier(ExecutionTier.Jit);
        Assert.Equal(ExecutionTier.Jit, isolate.Tier);
        var compiled = new Instance(isolate.Store, Module.FromText(Provider), null);
        isolate.Fiber.Rebind(compiled);
        Assert.Equal(7, RunFirst(isolate.Fiber, "seven"));
        Assert.NotNull(compiled.Functions[0].Compiled);
    }

    [Theory]
    [InlineData(".func f () -> ()\n    i64.const x\n    return\n.end\n", 15)]
    [InlineData(".func f () -> ()\n\ti64.frob\n    return\n.end\n", 2)]
    [InlineData(".global g i64 = 1\n.global h flt\n", 11)]
    [InlineData(".func f () -> ()\n    nop  #\n.end\n", 10)]
    [InlineData(".func f () -> ()\n    i64.const 99999999999999999999\n.end\n", 15)]
    [InlineData(".data d 1, \"a\\q\"\n", 12)]
    public void AssemblerErrorsKnowTheirColumn(string text, int column)
    {
        var error = Assert.Throws<ModuleFormatException>(() => Assembler.Assemble(text));
        Assert.Equal(column, error.Column);
    }
}
