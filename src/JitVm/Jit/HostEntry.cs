using System.Reflection.Emit;
using JitVm.Hosting;
using static JitVm.Jit.FunctionCompiler;

namespace JitVm.Jit;

/// <summary>
/// Host entry stubs: the code behind a typed export under the JIT tiers. A stub is a method
/// <c>R stub(Fiber, T1 … Tn)</c> bound to its isolate's fiber as a closed delegate, so a call from the host is one
/// delegate call into the stub and one direct call into the function's compiled body, with the arguments passed
/// in registers as the host gave them: nothing is copied through the frame stack and nothing is boxed.
/// </summary>
internal static class HostEntry
{
    /// <summary>Emits the stub for <paramref name="compiled"/> (function <paramref name="functionIndex"/>), whose
    /// signature the caller has checked matches <paramref name="parameters"/> and <paramref name="result"/> (long
    /// for i64, double for f64; null for none).</summary>
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(Hosting.Module.JitNeedsDynamicCode)]
    public static DynamicMethod Emit(string functionName, int functionIndex, CompiledFunction compiled, Type[] parameters, Type? result)
    {
        var method = new DynamicMethod(functionName + "$host", result ?? typeof(void), [typeof(Runtime.Fiber), .. parameters], typeof(JitRuntime).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        var value = result is null ? null : il.DeclareLocal(result);
        var interpreted = il.DefineLabel();
        var room = il.DeclareLocal(typeof(bool));
        // The entry measures the stack: without room for the body's frame, the function runs in the interpreter.
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, compiled.StackBytes);
        il.Emit(OpCodes.Call, Helpers.BeginEntry);
        il.Emit(OpCodes.Stloc, room);
        // The entry ends however the body leaves, so a trap leaves the isolate usable (and unowned).
        var end = il.BeginExceptionBlock();
        // Inside it, an exception VM code threw and nothing caught becomes its trap (spec/exceptions.md §5).
        il.BeginExceptionBlock();
        il.Emit(OpCodes.Ldloc, room);
        il.Emit(OpCodes.Brfalse, interpreted);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, functionIndex);
        il.Emit(OpCodes.Call, Helpers.EntryCallDepth);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, Helpers.GetFuel);
        for (var i = 0; i < parameters.Length; i++) il.Emit(OpCodes.Ldarg, i + 1);
        // Every body has its method where dynamic code runs (only saved code bound without it has none).
        var body = compiled.Body ?? throw new InvalidOperationException($"{functionName} has no compiled body to call");
        il.Emit(OpCodes.Call, body);
        // The fuel left goes back to the fiber (see FuelConvention), then the result to its local.
        var returned = il.DeclareLocal(body.ReturnType);
        il.Emit(OpCodes.Stloc, returned);
        il.Emit(OpCodes.Ldarg_0);
        if (value is null) il.Emit(OpCodes.Ldloc, returned);
        else
        {
            il.Emit(OpCodes.Ldloc, returned);
            il.Emit(OpCodes.Ldfld, FuelConvention.FuelField(body.ReturnType));
        }
        il.Emit(OpCodes.Call, Helpers.SetFuel);
        if (value is not null)
        {
            il.Emit(OpCodes.Ldloc, returned);
            il.Emit(OpCodes.Ldfld, FuelConvention.ValueField(body.ReturnType));
            il.Emit(OpCodes.Stloc, value);
        }
        // A deoptimised body left interpreter frames: they run to the end, and the result is in slot 0.
        var deoptimised = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, Helpers.IsDeoptimising);
        il.Emit(OpCodes.Brtrue, deoptimised);
        il.Emit(OpCodes.Leave, end);
        il.MarkLabel(deoptimised);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, Helpers.ResumeEntry);
        if (result == typeof(double)) il.Emit(OpCodes.Call, Helpers.BitsToDouble);
        if (value is not null) il.Emit(OpCodes.Stloc, value);
        else il.Emit(OpCodes.Pop);
        il.Emit(OpCodes.Leave, end);
        il.MarkLabel(interpreted);
        for (var i = 0; i < parameters.Length; i++)
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Ldarg, i + 1);
            if (parameters[i] == typeof(double)) il.Emit(OpCodes.Call, Helpers.DoubleToBits);
            il.Emit(OpCodes.Call, Helpers.SetEntryArgument);
        }
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4, functionIndex);
        il.Emit(OpCodes.Ldc_I4, Math.Max(parameters.Length, 1));
        il.Emit(OpCodes.Call, Helpers.ExecuteInterpreted);
        if (result == typeof(double)) il.Emit(OpCodes.Call, Helpers.BitsToDouble);
        if (value is not null) il.Emit(OpCodes.Stloc, value);
        else il.Emit(OpCodes.Pop);
        il.BeginCatchBlock(typeof(Runtime.InFlightException));
        il.Emit(OpCodes.Call, Helpers.UncaughtTrap);
        il.Emit(OpCodes.Throw);
        il.EndExceptionBlock();
        il.BeginFinallyBlock();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, Helpers.EndEntry);
        il.EndExceptionBlock();
        if (value is not null) il.Emit(OpCodes.Ldloc, value);
        il.Emit(OpCodes.Ret);
        return method;
    }
}
