using System.Reflection.Emit;
using JitVm.Jit;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// What the JIT measures of the IL it emits (<see cref="CilShape"/>), against the CLR JIT's limits for optimising a
/// method: every instruction, block, local and variable reference is counted, and the bound is the limit's headroom.
/// </summary>
public sealed class CilShapeTests
{
    [Fact]
    public void EmittedILIsCountedByInstructionsBlocksLocalsAndReferences()
    {
        var method = new DynamicMethod("shape", typeof(long), [typeof(long)], typeof(CilShapeTests).Module);
        var il = new CheckedIL(method.GetILGenerator(), "shape", check: true);
        il.SetArguments([typeof(long)]);
        var sum = il.DeclareLocal(typeof(long));
        var done = il.DefineLabel();
        il.LoadArgument(0);                        // a reference
        il.Emit(OpCodes.Stloc, sum);               // a reference
        il.Emit(OpCodes.Ldloc, sum);               // a reference
        il.Emit(OpCodes.Brfalse, done);            // ends a block
        il.Emit(OpCodes.Ldloc, sum);               // a reference
        il.Emit(OpCodes.Ldc_I8, 2L);
        il.Emit(OpCodes.Mul);
        il.Emit(OpCodes.Stloc, sum);               // a reference
        il.MarkLabel(done);                        // starts a block
        il.Emit(OpCodes.Ldloc, sum);               // a reference
        il.Emit(OpCodes.Ret);                      // ends a block
        var shape = il.Shape;
        Assert.Equal(10, shape.Instructions);
        Assert.Equal(1 + 1 + 1 + 1, shape.BasicBlocks);
        Assert.Equal(2, shape.Locals);             // the argument and the local
        Assert.Equal(6, shape.LocalReferences);
        Assert.Equal(method.GetILGenerator().ILOffset, shape.IlBytes);
        Assert.Equal(21L, method.CreateDelegate<Func<long, long>>()(21L) / 2);
    }

    [Theory]
    [InlineData(54_000, 0, 0, 0, 0, true)]
    [InlineData(54_001, 0, 0, 0, 0, false)]
    [InlineData(0, 18_000, 0, 0, 0, true)]
    [InlineData(0, 18_001, 0, 0, 0, false)]
    [InlineData(0, 0, 1_800, 1_800, 0, true)]
    [InlineData(0, 0, 1_801, 0, 0, false)]
    [InlineData(0, 0, 0, 1_801, 0, false)]
    [InlineData(0, 0, 0, 0, 7_200, true)]
    [InlineData(0, 0, 0, 0, 7_201, false)]
    public void AShapeIsOptimisedUpToNinetyPercentOfEachOfTheClrLimits(int bytes, int instructions, int blocks, int locals, int references, bool optimised) =>
        Assert.Equal(optimised, new CilShape(bytes, instructions, blocks, locals, references).Optimised);
}
