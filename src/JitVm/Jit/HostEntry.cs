using System.Reflection.Emit;
using JitVm.Hosting;
using static JitVm.Jit.FunctionCompiler;

namespace JitVm.Jit;

/// <summary>
/// Host entry stubs: the code behind a typed export under the JIT tiers. A stub is a method
/// <c>R stub(Isolate, T1 … Tn)</c> bound to its isolate as a closed delegate, so a call from the host is one
/// delegate call into the stub and one direct call into the function's compiled body, with the arguments passed
/// in registers as the host gave them: nothing is copied through the frame stack and nothing is boxed.
/// </summary>
internal static class HostEntry
{
    /// <summary>Emits the stub for <paramref name="compiled"/>, whose signature the caller has checked matches
    /// <paramref name="parameters"/> and <paramref name="result"/> (long for i64, double for f64; null for none).</summary>
    public static DynamicMethod Emit(string functionName, CompiledFunction compiled, Type[] parameters, Type? result)
    {
        var method = new DynamicMethod(functionName + "$host", result ?? typeof(void), [typeof(Isolate), .. parameters], typeof(JitRuntime).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        var value = result is null ? null : il.DeclareLocal(result);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, Helpers.BeginEntry);
        // The entry ends however the body leaves, so a trap leaves the isolate usable (and unowned).
        il.BeginExceptionBlock();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4_1);
        for (var i = 0; i < parameters.Length; i++) il.Emit(OpCodes.Ldarg, i + 1);
        il.Emit(OpCodes.Call, compiled.Body);
        if (value is not null) il.Emit(OpCodes.Stloc, value);
        il.BeginFinallyBlock();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, Helpers.EndEntry);
        il.EndExceptionBlock();
        if (value is not null) il.Emit(OpCodes.Ldloc, value);
        il.Emit(OpCodes.Ret);
        return method;
    }
}
