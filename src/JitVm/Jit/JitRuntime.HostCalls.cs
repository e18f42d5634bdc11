using JitVm.Hosting;
using JitVm.Runtime;

namespace JitVm.Jit;

/// <summary>
/// Calls from compiled code to host imports whose parameters and result are all i64 or f64 (at most eight
/// parameters): the arguments stay in registers. When the isolate linked the import to a typed host function of
/// exactly that shape (<see cref="HostFunction.FromFunc{TResult}"/> and its overloads), its delegate is invoked
/// directly; any other host function gets its arguments in a span, as through <see cref="CallHost"/>. Compiled code
/// is shared by every isolate of a module and each isolate links its own host functions, hence the test per call.
/// Every host call first ends the host's view epoch (Isolate.HostViews.cs): no pointer the host kept is usable in it.
/// </summary>
internal static partial class JitRuntime
{
#pragma warning disable CS1591 // Internal plumbing for generated code; each helper is named after what it does.
    public static TResult HostFunc0<TResult>(Fiber fiber, int import, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed();
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [0], site, depth, fuel));
    }

    public static void HostAction0(Fiber fiber, int import, long site, int depth, long fuel)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed();
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [0], site, depth, fuel);
    }

    public static TResult HostFunc1<T1, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1)], site, depth, fuel));
    }

    public static void HostAction1<T1>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1)], site, depth, fuel);
    }

    public static TResult HostFunc2<T1, T2, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2)], site, depth, fuel));
    }

    public static void HostAction2<T1, T2>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2)], site, depth, fuel);
    }

    public static TResult HostFunc3<T1, T2, T3, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, T3, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2, a3);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3)], site, depth, fuel));
    }

    public static void HostAction3<T1, T2, T3>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2, T3> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2, a3);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3)], site, depth, fuel);
    }

    public static TResult HostFunc4<T1, T2, T3, T4, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, T3, T4, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2, a3, a4);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4)], site, depth, fuel));
    }

    public static void HostAction4<T1, T2, T3, T4>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2, T3, T4> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2, a3, a4);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4)], site, depth, fuel);
    }

    public static TResult HostFunc5<T1, T2, T3, T4, T5, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, T3, T4, T5, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2, a3, a4, a5);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5)], site, depth, fuel));
    }

    public static void HostAction5<T1, T2, T3, T4, T5>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2, T3, T4, T5> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2, a3, a4, a5);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5)], site, depth, fuel);
    }

    public static TResult HostFunc6<T1, T2, T3, T4, T5, T6, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, T3, T4, T5, T6, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2, a3, a4, a5, a6);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6)], site, depth, fuel));
    }

    public static void HostAction6<T1, T2, T3, T4, T5, T6>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2, T3, T4, T5, T6> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2, a3, a4, a5, a6);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6)], site, depth, fuel);
    }

    public static TResult HostFunc7<T1, T2, T3, T4, T5, T6, T7, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, T3, T4, T5, T6, T7, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2, a3, a4, a5, a6, a7);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7)], site, depth, fuel));
    }

    public static void HostAction7<T1, T2, T3, T4, T5, T6, T7>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2, T3, T4, T5, T6, T7> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2, a3, a4, a5, a6, a7);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7)], site, depth, fuel);
    }

    public static TResult HostFunc8<T1, T2, T3, T4, T5, T6, T7, T8, TResult>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Func<T1, T2, T3, T4, T5, T6, T7, T8, TResult> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                var result = typed(a1, a2, a3, a4, a5, a6, a7, a8);
                fiber.EndHostCall();
                return result;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        return TypedValues.FromBits<TResult>(CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7), TypedValues.ToBits(a8)], site, depth, fuel));
    }

    public static void HostAction8<T1, T2, T3, T4, T5, T6, T7, T8>(Fiber fiber, int import, long site, int depth, long fuel, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8)
    {
        fiber.FuelSlice = fuel;
        fiber.Store.EndHostViews();
        if (fiber.Instance.TypedImport(import) is Action<T1, T2, T3, T4, T5, T6, T7, T8> typed)
        {
            Exception failure;
            try
            {
                fiber.BeginHostCall(site, depth);
                typed(a1, a2, a3, a4, a5, a6, a7, a8);
                fiber.EndHostCall();
                return;
            }
            catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
            {
                failure = e;
            }
            throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
        }
        CallHostWith(fiber, import, [TypedValues.ToBits(a1), TypedValues.ToBits(a2), TypedValues.ToBits(a3), TypedValues.ToBits(a4), TypedValues.ToBits(a5), TypedValues.ToBits(a6), TypedValues.ToBits(a7), TypedValues.ToBits(a8)], site, depth, fuel);
    }

    /// <summary>Calls a host function that is not typed like the call site with its arguments in a span (at least one
    /// element, so the result has a place); returns the first value, the result if there is one.</summary>
    private static long CallHostWith(Fiber fiber, int import, Span<long> values, long site, int depth, long fuel)
    {
        Exception failure;
        try
        {
            fiber.Instance.CallImportWith(fiber, import, values, site, depth);
            return values[0];
        }
        catch (Exception e) when (HostFailed(fiber, e, site, depth, fuel))
        {
            failure = e;
        }
        throw fiber.Locate(fiber.Instance.HostFailure(import, failure), site, depth, fuel);
    }

    /// <summary>
    /// The filter of the handlers above: a trap of this isolate passes through (its location recorded here unless a
    /// deeper frame did); a trap another isolate raised in its own code (a host function entered it) and any other
    /// exception are caught, to become this isolate's trap (<see cref="Runtime.Instance.HostFailure"/>). The
    /// handlers throw that only after the catch, once the host function's frames are unwound, so a trap crossing
    /// several isolates never nests one exception dispatch per boundary on the .NET stack.
    /// </summary>
    private static bool HostFailed(Fiber fiber, Exception exception, long site, int depth, long fuel)
    {
        fiber.HostCallFailed();
        if (exception is not Diagnostics.TrapException trap) return true;
        if (trap.IsFromAnotherIsolate(fiber.Store.Owner)) return true;
        fiber.Locate(trap, site, depth, fuel);
        return false;
    }
#pragma warning restore CS1591
}
