using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Tests;

public sealed class HostTests
{
    private const string CallsBoom = """
        .import boom (i64) -> (i64)
        .func main () -> (i64)
            i64.const 7
            call boom
            return
        .end
        """;

    [Fact]
    public void HostExceptionBecomesHostErrorWithInnerException()
    {
        var module = Module.FromText(CallsBoom, "boom.jvm");
        var failure = new InvalidOperationException("the host gave up");
        var boom = new HostFunction("boom", new FunctionType([VmType.I64], [VmType.I64]), (_, _) => throw failure);
        var trap = Assert.Throws<TrapException>(() => new Isolate(module, [boom]).Invoke("main"));
        Assert.Equal(TrapCode.HostError, trap.Code);
        Assert.Same(failure, trap.InnerException);
        Assert.Equal("main", trap.Location!.Function);
        Assert.Equal(4, trap.Location.Line);
    }

    [Fact]
    public void HostResultsReplaceArguments()
    {
        var module = Module.FromText(CallsBoom, "boom.jvm");
        var doubler = new HostFunction("boom", new FunctionType([VmType.I64], [VmType.I64]), (_, values) => values[0] *= 2);
        Assert.Equal(14, new Isolate(module, [doubler]).Invoke("main")[0].AsI64);
    }

    [Fact]
    public void MissingImportAndWrongSignatureAreLinkErrors()
    {
        var module = Module.FromText(CallsBoom, "boom.jvm");
        Assert.Contains("import 'boom'", Assert.Throws<LinkException>(() => new Isolate(module, [])).Message, StringComparison.Ordinal);
        var wrong = new HostFunction("boom", new FunctionType([VmType.F64], [VmType.I64]), (_, _) => { });
        Assert.Contains("declared as (i64) -> (i64) but the host provides (f64) -> (i64)", Assert.Throws<LinkException>(() => new Isolate(module, [wrong])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IsolateKeepsWorkingAfterATrap()
    {
        var module = Module.FromText("""
            .func div (a: i64, b: i64) -> (i64)
                local.get a
                local.get b
                i64.div_s
                return
            .end
            """, "div.jvm");
        var isolate = new Isolate(module);
        Assert.Equal(TrapCode.DivideByZero, Assert.Throws<TrapException>(() => isolate.Invoke("div", Value.I64(1), Value.I64(0))).Code);
        Assert.Equal(5, isolate.Invoke("div", Value.I64(10), Value.I64(2))[0].AsI64);
    }

    [Fact]
    public void DeepRecursionTrapsAtTheDefaultLimitWithoutKillingTheProcess()
    {
        var module = Module.FromText("""
            .func down (n: i64) -> (i64)
                local.get n
                i64.const 1
                i64.add
                call down
                return
            .end
            """, "down.jvm");
        var trap = Assert.Throws<TrapException>(() => new Isolate(module).Invoke("down", Value.I64(0)));
        Assert.Equal(TrapCode.CallDepthExceeded, trap.Code);
        Assert.Equal(IsolateOptions.DefaultMaxCallDepth, trap.VmStackDepth);
    }

    [Fact]
    public async Task EnteringARunningIsolateFromAnotherThreadFailsFast()
    {
        var module = Module.FromText("""
            .import wait () -> ()
            .func main () -> (i64)
                call wait
                i64.const 1
                return
            .end
            """, "owner.jvm");
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var wait = new HostFunction("wait", new FunctionType([], []), (_, _) =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        });
        var isolate = new Isolate(module, [wait]);
        var first = Task.Run(() => isolate.Invoke("main"));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));
        var error = Assert.Throws<InvalidOperationException>(() => isolate.Invoke("main"));
        Assert.Contains("must not be entered from two threads at once", error.Message, StringComparison.Ordinal);
        release.Set();
        Assert.Equal(1, (await first)[0].AsI64);
        Assert.Equal(1, isolate.Invoke("main")[0].AsI64);
    }
}
