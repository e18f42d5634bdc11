using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace JitVm.Hosting;

/// <summary>
/// The bounds of the current thread's stack, read once per thread from the operating system, so the VM knows how
/// much stack really remains below any point instead of assuming a budget.
/// </summary>
/// <remarks>
/// <para>The bounds come from the thread library: <c>pthread_getattr_np</c> and <c>pthread_attr_getstack</c> on
/// Linux (glibc and musl; for the main thread they report the stack's rlimit-sized region, for a thread made with
/// <c>new Thread(start, maxStackSize)</c> the region the runtime allocated), <c>pthread_get_stackaddr_np</c> and
/// <c>pthread_get_stacksize_np</c> on macOS, <c>GetCurrentThreadStackLimits</c> on Windows. A query is a few
/// microseconds, so its answer is kept in a thread-static field.</para>
/// <para><see cref="RuntimeHelpers.TryEnsureSufficientExecutionStack"/> is not enough on its own: it answers only
/// whether a fixed amount (128 KiB on 64-bit .NET) remains, not how much, so it cannot size a budget and refuses
/// a whole 128 KiB thread. It remains the fallback where the bounds cannot be read: there the VM assumes only
/// <see cref="FallbackBytes"/> below an entry that passes it.</para>
/// </remarks>
internal static class ThreadStack
{
    /// <summary>Kept free above the reported lowest address: the guard page(s) the thread library may count in the
    /// stack, and the room the runtime's own stack-overflow handling needs.</summary>
    private const int GuardBytes = 16 * 1024;

    /// <summary>What an entry may assume is left below it where the bounds are unknown but
    /// <see cref="RuntimeHelpers.TryEnsureSufficientExecutionStack"/> succeeds (it guarantees more than this).</summary>
    internal const int FallbackBytes = 96 * 1024;

    /// <summary>The lowest address the thread's code may use, or 1 when the bounds are unknown; 0 = not read yet.</summary>
    [ThreadStatic] private static nuint t_low;

    /// <summary>The lowest address the current thread's code may use (past it lies the guard), or 0 when the
    /// operating system does not say.</summary>
    public static nuint Low
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var low = t_low;
            if (low == 0) t_low = low = Query() is var (bottom, _) && bottom != 0 ? bottom + GuardBytes : 1;
            return low == 1 ? 0 : low;
        }
    }

    /// <summary>Bytes of stack left below <paramref name="address"/> on the current thread (0 when none).</summary>
    /// <remarks>Where the bounds are unknown: <see cref="FallbackBytes"/> when the runtime confirms its own margin, else 0.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint RemainingBelow(nuint address)
    {
        var low = t_low;
        if (low > 1) return address > low ? address - low : 0;
        return RemainingSlow(address);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nuint RemainingSlow(nuint address)
    {
        var low = Low;
        if (low == 0) return RuntimeHelpers.TryEnsureSufficientExecutionStack() ? (nuint)FallbackBytes : 0;
        return address > low ? address - low : 0;
    }

    /// <summary>The current thread's stack as [bottom, top), or null when it cannot be read on this platform.</summary>
    internal static (nuint Bottom, nuint Top)? Query()
    {
        try
        {
            if (OperatingSystem.IsWindows()) return QueryWindows();
            if (OperatingSystem.IsMacOS() || OperatingSystem.IsMacCatalyst()) return QueryMac();
            if (OperatingSystem.IsLinux() || OperatingSystem.IsFreeBSD()) return QueryPthread();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            // No usable thread library: fall back to the runtime's own check.
        }
        return null;
    }

    private static unsafe (nuint, nuint)? QueryPthread()
    {
        if (!TryLibrary(["libc.so.6", "libc.so", "libc"], out var libc) ||
            !NativeLibrary.TryGetExport(libc, "pthread_self", out var self) ||
            !NativeLibrary.TryGetExport(libc, "pthread_getattr_np", out var getAttr) ||
            !NativeLibrary.TryGetExport(libc, "pthread_attr_getstack", out var getStack) ||
            !NativeLibrary.TryGetExport(libc, "pthread_attr_destroy", out var destroy))
            return null;
        // pthread_attr_t is 56 bytes on 64-bit glibc and smaller elsewhere; the buffer is generous.
        var attributes = stackalloc byte[256];
        var thread = ((delegate* unmanaged<nuint>)self)();
        if (((delegate* unmanaged<nuint, byte*, int>)getAttr)(thread, attributes) != 0) return null;
        try
        {
            nuint bottom;
            nuint size;
            if (((delegate* unmanaged<byte*, nuint*, nuint*, int>)getStack)(attributes, &bottom, &size) != 0) return null;
            return (bottom, bottom + size);
        }
        finally
        {
            _ = ((delegate* unmanaged<byte*, int>)destroy)(attributes);
        }
    }

    private static unsafe (nuint, nuint)? QueryMac()
    {
        if (!TryLibrary(["/usr/lib/libSystem.B.dylib"], out var system) ||
            !NativeLibrary.TryGetExport(system, "pthread_self", out var self) ||
            !NativeLibrary.TryGetExport(system, "pthread_get_stackaddr_np", out var getAddress) ||
            !NativeLibrary.TryGetExport(system, "pthread_get_stacksize_np", out var getSize))
            return null;
        var thread = ((delegate* unmanaged<nuint>)self)();
        var top = ((delegate* unmanaged<nuint, nuint>)getAddress)(thread);
        var size = ((delegate* unmanaged<nuint, nuint>)getSize)(thread);
        return (top - size, top);
    }

    private static unsafe (nuint, nuint)? QueryWindows()
    {
        if (!TryLibrary(["kernel32.dll"], out var kernel32) ||
            !NativeLibrary.TryGetExport(kernel32, "GetCurrentThreadStackLimits", out var getLimits))
            return null;
        nuint low, high;
        ((delegate* unmanaged<nuint*, nuint*, void>)getLimits)(&low, &high);
        // The lowest pages are reserved for the guard and the stack-overflow handler's guarantee.
        return (low + 64 * 1024, high);
    }

    private static bool TryLibrary(string[] names, out nint handle)
    {
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out handle)) return true;
        handle = 0;
        return false;
    }
}
