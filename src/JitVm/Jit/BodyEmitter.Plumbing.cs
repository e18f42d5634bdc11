using System.Reflection.Emit;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using static JitVm.Jit.FunctionCompiler;

namespace JitVm.Jit;

/// <summary>Plumbing shared by every lowering: locations, cold stubs, runtime state, arguments and the operand-stack locals.</summary>
internal sealed partial class BodyEmitter
{
    /// <summary>A trapping truncation of the f64 on top to an i64: the helper takes the trap's location.</summary>
    private void Truncate(int h, System.Reflection.MethodInfo helper)
    {
        Load(h - 1);
        Arg(FiberArg);
        LocationArguments();
        il.Call(helper);
        Store(h - 1, VmType.I64);
    }

    private void LocationArguments()
    {
        il.Emit(OpCodes.Ldc_I8, Site);
        Arg(DepthArg);
        il.Emit(OpCodes.Ldloc, _fuel);
    }

    private Label TrapStub(TrapCode code, string message) =>
        ThrowingStub(Helpers.Trap, () =>
        {
            il.Emit(OpCodes.Ldc_I4, (int)code);
            il.Emit(OpCodes.Ldstr, message);
        });

    /// <summary>
    /// A cold block that raises a trap through <paramref name="helper"/>, whose parameters are the isolate, the
    /// operands <paramref name="loadOperands"/> pushes, and this instruction's site, the depth and the fuel.
    /// </summary>
    private Label ThrowingStub(System.Reflection.MethodInfo helper, Action loadOperands)
    {
        var site = Site;
        return Stub(() =>
        {
            Arg(FiberArg);
            loadOperands();
            il.Emit(OpCodes.Ldc_I8, site);
            Arg(DepthArg);
            il.Emit(OpCodes.Ldloc, _fuel);
            il.Call(helper);
            il.Emit(OpCodes.Throw);
        });
    }

    /// <summary>A cold block at the end of the method, entered with an empty CIL stack.</summary>
    private Label Stub(Action emit) => Stub(_stubs, emit);

    private Label Stub(List<(Label Label, Action Emit)> stubs, Action emit)
    {
        var label = il.DefineLabel();
        // A stub is emitted after the body but belongs to the instruction that made it (for IL errors and checks).
        var pc = il.Pc;
        stubs.Add((label, () =>
        {
            il.Pc = pc;
            emit();
        }));
        return label;
    }

    private void Runtime(System.Reflection.MethodInfo getter, LocalBuilder target)
    {
        Arg(FiberArg);
        il.Call(getter);
        il.Emit(OpCodes.Stloc, target);
    }

    private void Arg(int index) => il.LoadArgument(index);

    private LocalBuilder StackLocal(int height, VmType type)
    {
        if (!_stackLocals.TryGetValue((height, type), out var local))
        {
            local = il.DeclareLocal(ClrType(type));
            _stackLocals[(height, type)] = local;
        }
        return local;
    }

    private void Load(int height) => il.Emit(OpCodes.Ldloc, StackLocal(height, _types[height]));

    private void Store(int height, VmType type) => il.Emit(OpCodes.Stloc, StackLocal(height, type));
}
