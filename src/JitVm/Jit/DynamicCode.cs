using System.Diagnostics.CodeAnalysis;

namespace JitVm.Jit;

/// <summary>
/// Whether this process may generate code: the single question every path to the JIT asks. It is
/// <see cref="System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported"/> (false under NativeAOT), unless
/// the AppContext switch <see cref="DisableSwitch"/> is set, which makes the library behave as if dynamic code were
/// unsupported: only the interpreter and code loaded from a saved assembly run. The switch exists so the paths of a
/// host without dynamic code can be tested on a runtime that has it; it is read once, at first use.
/// </summary>
internal static class DynamicCode
{
    /// <summary>The AppContext switch (runtimeconfig.json, or <see cref="AppContext.SetSwitch"/> before the library
    /// first runs code) that turns the JIT off as NativeAOT does.</summary>
    public const string DisableSwitch = "JitVm.DisableDynamicCode";

    private static readonly bool Disabled = AppContext.TryGetSwitch(DisableSwitch, out var disabled) && disabled;

    /// <summary>True when the JIT may emit code. The trimming and AOT analyzers treat a check of it as a check of
    /// dynamic-code support, so the JIT's <c>RequiresDynamicCode</c> members may be reached only under it.</summary>
    [FeatureGuard(typeof(RequiresDynamicCodeAttribute))]
    public static bool Supported
    {
        get
        {
            if (Disabled) return false;
            return System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported;
        }
    }
}
