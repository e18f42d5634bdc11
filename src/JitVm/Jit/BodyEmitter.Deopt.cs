using System.Reflection.Emit;
using JitVm.Bytecode;
using static JitVm.Jit.FunctionCompiler;

namespace JitVm.Jit;

/// <summary>
/// Deoptimisation (see Fiber.Deopt.cs): at a safepoint the body can write its interpreter frame's image — every
/// local and every live operand-stack value — and return. A cold stub per safepoint writes that safepoint's stack
/// values and jumps to one shared block that writes the locals, completes the image and returns, so the code added
/// is linear in the safepoints' stack heights plus the locals, never their product.
/// </summary>
internal sealed partial class BodyEmitter
{
    private Label? _deoptShared;
    private LocalBuilder? _imageStart;
    private LocalBuilder? _imageIp;

    /// <summary>Deopt stress: before the safepoint instruction, ask whether to deoptimise; the interpreter then
    /// performs the instruction itself.</summary>
    private void DeoptimiseIfAsked()
    {
        var stub = DeoptStub(_types.Length, decoded.SafepointOperation(_pc));
        Arg(FiberArg);
        il.Call(Helpers.DeoptStressTick);
        il.Emit(OpCodes.Brtrue, stub);
    }

    /// <summary>After a call (its results stored, its spills reloaded): when the callee deoptimised, the slice reads
    /// negative and this frame deoptimises too, to resume after the call once the callee's frames have returned.
    /// The values the call consumed belong to the callee's frame, which starts where this image ends.</summary>
    private void DeoptimiseIfCalleeDid(int consumed)
    {
        var stub = DeoptStub(_types.Length - consumed, decoded.SafepointOperation(_pc) + 1);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Blt, stub);
    }

    /// <summary>A stub writing the bottom <paramref name="height"/> operand-stack values of the current pc into a new
    /// image that resumes at operation <paramref name="ip"/>; the shared block adds the locals.</summary>
    private Label DeoptStub(int height, int ip)
    {
        if (plan is not null) return PieceDeoptStub(height, ip);
        _imageStart ??= il.DeclareLocal(typeof(int));
        _imageIp ??= il.DeclareLocal(typeof(int));
        _deoptShared ??= SharedDeoptBlock();
        var shared = _deoptShared.Value;
        var locals = _analysis.LocalTypes.Length;
        var values = Enumerable.Range(0, height).Select(h => (Local: StackLocal(h, _types[h]), Type: _types[h])).ToArray();
        var start = _imageStart;
        var resume = _imageIp;
        // Inside a protected range the shared block (outside every range) is reached by leave.
        var jump = _openRegions.Count > 0 ? OpCodes.Leave : OpCodes.Br;
        return Stub(() =>
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldc_I4, locals + height);
            il.Call(Helpers.BeginImage);
            il.Emit(OpCodes.Stloc, start);
            for (var k = 0; k < values.Length; k++) WriteImageValue(start, locals + k, values[k].Local, values[k].Type);
            il.Emit(OpCodes.Ldc_I4, ip);
            il.Emit(OpCodes.Stloc, resume);
            il.Emit(jump, shared);
        });
    }

    /// <summary>Writes the locals, completes the image, closes the spill area and returns a placeholder result.</summary>
    private Label SharedDeoptBlock() => Stub(_methodStubs, () =>
    {
        for (var i = 0; i < _locals.Length; i++) WriteImageValue(_imageStart!, i, _locals[i], _analysis.LocalTypes[i]);
        Arg(FiberArg);
        il.Emit(OpCodes.Ldc_I4, _functionIndex - module.Definition.Imports.Count);
        il.Emit(OpCodes.Ldloc, _imageIp!);
        il.Emit(OpCodes.Ldloc, _imageStart!);
        il.Emit(OpCodes.Ldloc, _fuel);
        il.Call(Helpers.EndImage);
        if (_spillBase is not null)
        {
            Arg(FiberArg);
            il.Emit(OpCodes.Ldloc, _spillBase);
            il.Call(Helpers.ExitSpillAreaDeoptimising);
        }
        // The caller sees the negative slice (EndImage left it in the fiber) in the return value and ignores the result.
        var results = _analysis.Signature.Results;
        if (results.Length == 1) LoadZero(results[0]);
        Arg(FiberArg);
        il.Call(Helpers.GetFuel);
        FuelConvention.Make(il, ReturnType(_analysis.Signature), Temporary, _fuelTemporary ??= il.DeclareLocal(typeof(long)));
        il.Emit(OpCodes.Ret);
    });

    private void WriteImageValue(LocalBuilder start, int offset, LocalBuilder value, VmType type)
    {
        Arg(FiberArg);
        il.Emit(OpCodes.Ldloc, start);
        il.Emit(OpCodes.Ldc_I4, offset);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldloc, value);
        switch (type)
        {
            case VmType.Word: il.Call(Helpers.ImageWord); break;
            case VmType.Ptr: il.Call(Helpers.ImagePointer); break;
            case VmType.F64:
                il.Call(Helpers.DoubleToBits);
                il.Call(Helpers.ImageValue);
                break;
            default: il.Call(Helpers.ImageValue); break;
        }
    }

    /// <summary>Pushes the zero of <paramref name="type"/>: what a declared local starts as, and the placeholder result
    /// a frame that deoptimised returns (its real result comes from the interpreter).</summary>
    private void LoadZero(VmType type)
    {
        switch (type)
        {
            case VmType.F64: il.Emit(OpCodes.Ldc_R8, 0.0); break;
            case VmType.Word:
                il.Emit(OpCodes.Ldc_I8, 0L);
                il.Emit(OpCodes.Ldc_I4, 0);
                il.Call(Helpers.MakeWord);
                break;
            default: il.Emit(OpCodes.Ldc_I8, 0L); break;
        }
    }
}
