using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using JitVm.Bytecode;

namespace JitVm.Jit;

/// <summary>
/// What a compiled body with one result returns: the result and the fuel slice left. Two fields of eight bytes
/// (an i64, ptr or f64 result) come back in two registers under the x64 System V and Arm64 conventions, so the fuel
/// travels from callee to caller without a store and a load of the fiber's field (a word result makes the struct
/// larger and it comes back through memory the caller provides).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ResultAndFuel<T>
{
    /// <summary>The function's result.</summary>
    public T Value;

    /// <summary>The fuel slice left; negative when the body deoptimised (see Fiber.IsDeoptimising).</summary>
    public long Fuel;
}

/// <summary>
/// The fuel part of the calling convention between compiled bodies (<see cref="FunctionCompiler"/>): the caller
/// passes its slice as the third argument and the body returns what is left, in its return value, so a call
/// between compiled functions never goes through <see cref="Runtime.Fiber.FuelSlice"/>. Code that calls a body from
/// the runtime (an adapter, a host entry, a saved assembly's dispatcher) passes the fiber's slice and stores the
/// returned one back there, which keeps the field the one place the runtime reads the slice from.
/// </summary>
internal static class FuelConvention
{
    /// <summary>The return type of a body of <paramref name="signature"/>: <c>long</c> (the fuel) with no result or
    /// several (left in the fiber's result buffer), else the result and the fuel. No MakeGenericType, so that a
    /// host without dynamic code can check a saved body's signature.</summary>
    public static Type ReturnType(FunctionType signature) => signature.Results.Length != 1 ? typeof(long) : signature.Results[0] switch
    {
        VmType.F64 => typeof(ResultAndFuel<double>),
        VmType.Word => typeof(ResultAndFuel<Word>),
        _ => typeof(ResultAndFuel<long>),
    };

    /// <summary>The result type inside <paramref name="returnType"/>, or null for a body returning the fuel alone.</summary>
    public static Type? ValueType(Type returnType) =>
        returnType == typeof(ResultAndFuel<long>) ? typeof(long)
        : returnType == typeof(ResultAndFuel<double>) ? typeof(double)
        : returnType == typeof(ResultAndFuel<Word>) ? typeof(Word)
        : null;

    /// <summary>The result field of <paramref name="returnType"/>, one of <see cref="ReturnType"/>'s structs.</summary>
    public static FieldInfo ValueField(Type returnType) =>
        returnType == typeof(ResultAndFuel<double>) ? typeof(ResultAndFuel<double>).GetField(nameof(ResultAndFuel<double>.Value))!
        : returnType == typeof(ResultAndFuel<Word>) ? typeof(ResultAndFuel<Word>).GetField(nameof(ResultAndFuel<Word>.Value))!
        : typeof(ResultAndFuel<long>).GetField(nameof(ResultAndFuel<long>.Value))!;

    /// <summary>The fuel field of <paramref name="returnType"/>, one of <see cref="ReturnType"/>'s structs.</summary>
    public static FieldInfo FuelField(Type returnType) =>
        returnType == typeof(ResultAndFuel<double>) ? typeof(ResultAndFuel<double>).GetField(nameof(ResultAndFuel<double>.Fuel))!
        : returnType == typeof(ResultAndFuel<Word>) ? typeof(ResultAndFuel<Word>).GetField(nameof(ResultAndFuel<Word>.Fuel))!
        : typeof(ResultAndFuel<long>).GetField(nameof(ResultAndFuel<long>.Fuel))!;

    /// <summary>
    /// With the body's return value on the CIL stack, stores its fuel into <paramref name="storeFuel"/> (which
    /// takes the value from the CIL stack) and leaves the result, if any, on the CIL stack.
    /// <paramref name="temporary"/> is a local of <paramref name="returnType"/> when there is a result.
    /// </summary>
    public static void Split(CheckedIL il, Type returnType, Func<Type, LocalBuilder> temporary, Action storeFuel)
    {
        if (ValueType(returnType) is null)
        {
            storeFuel();
            return;
        }
        var returned = temporary(returnType);
        il.Emit(OpCodes.Stloc, returned);
        il.Emit(OpCodes.Ldloc, returned);
        il.Emit(OpCodes.Ldfld, FuelField(returnType));
        storeFuel();
        il.Emit(OpCodes.Ldloc, returned);
        il.Emit(OpCodes.Ldfld, ValueField(returnType));
    }

    /// <summary>
    /// With a result (when <paramref name="returnType"/> has one) and then the fuel on the CIL stack, leaves the
    /// body's return value; <paramref name="temporary"/> as for <see cref="Split"/>.
    /// </summary>
    public static void Make(CheckedIL il, Type returnType, Func<Type, LocalBuilder> temporary, LocalBuilder fuelTemporary)
    {
        if (ValueType(returnType) is null) return;
        var made = temporary(returnType);
        il.Emit(OpCodes.Stloc, fuelTemporary);
        var value = temporary(ValueType(returnType)!);
        il.Emit(OpCodes.Stloc, value);
        il.Emit(OpCodes.Ldloca, made);
        il.Emit(OpCodes.Ldloc, value);
        il.Emit(OpCodes.Stfld, ValueField(returnType));
        il.Emit(OpCodes.Ldloca, made);
        il.Emit(OpCodes.Ldloc, fuelTemporary);
        il.Emit(OpCodes.Stfld, FuelField(returnType));
        il.Emit(OpCodes.Ldloc, made);
    }

    /// <summary>For runtime code calling a body whose first argument is the fiber: the temporaries a split needs,
    /// one per type, declared on first use.</summary>
    public static Func<Type, LocalBuilder> Temporaries(CheckedIL il)
    {
        var locals = new Dictionary<Type, LocalBuilder>();
        return type => locals.TryGetValue(type, out var local) ? local : locals[type] = il.DeclareLocal(type);
    }

    /// <summary>Splits a body's return value in runtime code whose argument 0 is the fiber: the fuel goes to the
    /// fiber's slice, the result (if any) stays on the CIL stack.</summary>
    public static void SplitToFiber(CheckedIL il, Type returnType, Func<Type, LocalBuilder> temporaries)
    {
        var fuel = temporaries(typeof(long));
        Split(il, returnType, temporaries, () =>
        {
            il.Emit(OpCodes.Stloc, fuel);
            il.LoadArgument(0);
            il.Emit(OpCodes.Ldloc, fuel);
            il.Call(FunctionCompiler.Helpers.SetFuel);
        });
    }
}
