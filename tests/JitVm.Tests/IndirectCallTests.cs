using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Jit;
using Xunit;
using Module = JitVm.Hosting.Module;

namespace JitVm.Tests;

/// <summary>
/// Compiled call_indirect and call_ref sites call a compiled callee's entry (Jit/IndirectTargets.cs) directly once the
/// runtime's helper has published it; everything else still goes through the helper.
/// </summary>
public sealed class IndirectCallTests
{
    private const string Program = """
        .type binary (i64 i64) -> (i64)
        .func add (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            i64.add
            return
        .end
        .func sub (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            i64.sub
            return
        .end
        .func by_index (a: i64, b: i64, f: i64) -> (i64)
            local.get a
            local.get b
            local.get f
            call_indirect (i64 i64) -> (i64)
            return
        .end
        .func by_ref (a: i64, b: i64) -> (i64)
            local.get a
            local.get b
            ref.func add
            call_ref binary
            return
        .end
        """;

    [Fact]
    public void TheHelperPublishesAnEntryAndCompiledSitesThenCallItDirectly()
    {
        var module = Module.FromText(Program, "indirect.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit });
        var entries = module.Code.Indirect.Entries;
        Assert.All(entries, Assert.Null);

        Assert.Equal(12, isolate.Invoke("by_index", Value.I64(7), Value.I64(5), Value.I64(0))[0].AsI64);
        Assert.Equal(12, isolate.Invoke("by_ref", Value.I64(7), Value.I64(5))[0].AsI64);
        Assert.NotNull(entries[0]);
        Assert.Null(entries[1]);
        Assert.Equal(2, isolate.Invoke("by_index", Value.I64(7), Value.I64(5), Value.I64(1))[0].AsI64);
        Assert.NotNull(entries[1]);

        // Swap the entry of `add` for `sub`'s: a site that reads the entry now runs `sub`, which shows the compiled
        // sites call the entry rather than the helper (which would still find `add`).
        var original = entries[0];
        entries[0] = entries[1];
        try
        {
            Assert.Equal(2, isolate.Invoke("by_index", Value.I64(7), Value.I64(5), Value.I64(0))[0].AsI64);
            Assert.Equal(2, isolate.Invoke("by_ref", Value.I64(7), Value.I64(5))[0].AsI64);
        }
        finally
        {
            entries[0] = original;
        }
        Assert.Equal(12, isolate.Invoke("by_index", Value.I64(7), Value.I64(5), Value.I64(0))[0].AsI64);
    }

    [Fact]
    public void AnEntryOfAnotherSignatureIsNotCalledAndTheSiteTraps()
    {
        var module = Module.FromText("""
            .func one (a: i64) -> (i64)
                local.get a
                return
            .end
            .func site (f: i64) -> (i64)
                i64.const 3
                local.get f
                call_indirect (i64) -> (i64)
                return
            .end
            .func two (a: i64, b: i64) -> (i64)
                local.get a
                return
            .end
            .func call_two () -> (i64)
                i64.const 1
                i64.const 2
                i64.const 2
                call_indirect (i64 i64) -> (i64)
                return
            .end
            """, "mismatch.jvm");
        var isolate = new Isolate(module, options: new IsolateOptions { Tier = ExecutionTier.Jit });
        Assert.Equal(3, isolate.Invoke("site", Value.I64(0))[0].AsI64);
        Assert.Equal(1, isolate.Invoke("call_two")[0].AsI64);
        Assert.NotNull(module.Code.Indirect.Entries[2]);
        var trap = Assert.Throws<TrapException>(() => isolate.Invoke("site", Value.I64(2)));
        Assert.Equal(TrapCode.SignatureMismatch, trap.Code);
        trap = Assert.Throws<TrapException>(() => isolate.Invoke("site", Value.I64(99)));
        Assert.Equal(TrapCode.InvalidFunctionReference, trap.Code);
    }

    [Fact]
    public void DelegateTypesCoverTheCallingConventionUpToTheLimit()
    {
        var many = new Bytecode.FunctionType(Enumerable.Repeat(Bytecode.VmType.I64, IndirectTargets.MaxParameters).ToArray(), [Bytecode.VmType.F64]);
        Assert.Equal(IndirectTargets.MaxParameters + 4, IndirectTargets.DelegateType(many)!.GetGenericArguments().Length);
        var tooMany = new Bytecode.FunctionType(Enumerable.Repeat(Bytecode.VmType.I64, IndirectTargets.MaxParameters + 1).ToArray(), []);
        Assert.Null(IndirectTargets.DelegateType(tooMany));
        var none = new Bytecode.FunctionType([], [Bytecode.VmType.I64, Bytecode.VmType.Word]);
        Assert.Equal(typeof(Func<JitVm.Runtime.Fiber, int, long, long>), IndirectTargets.DelegateType(none));
    }
}
