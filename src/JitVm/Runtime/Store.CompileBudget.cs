using JitVm.Diagnostics;
using JitVm.Hosting;
using JitVm.Interpreter;

namespace JitVm.Runtime;

/// <summary>The compile budget: how much compilation this store's programs may make the host do.</summary>
internal sealed partial class Store
{
    private long _compileBudget;
    private long _compileBudgetUsed;
    private int _functionsDeniedCompilation;

    /// <summary>The functions whose compilation was declined for lack of budget (allocated at the first).</summary>
    private HashSet<DecodedFunction>? _deniedCompilation;

    /// <summary>Compile budget units this isolate has spent (see <see cref="IsolateOptions.CompileBudget"/>).</summary>
    public long CompileBudgetUsed => Volatile.Read(ref _compileBudgetUsed);

    /// <summary>The code tables for which the <see cref="ExecutionTier.Jit"/> policy has compiled what this store's
    /// budget allows, so later entries do not walk their module again (made at the first).</summary>
    private HashSet<object>? _eagerCompilationDone;

    internal bool EagerCompilationDone(object codeTable) => _eagerCompilationDone?.Contains(codeTable) == true;

    internal void MarkEagerCompilationDone(object codeTable) => (_eagerCompilationDone ??= new(ReferenceEqualityComparer.Instance)).Add(codeTable);

    private void InitCompileBudget(long? budget)
    {
        if (budget < 0) throw new ArgumentOutOfRangeException(nameof(budget), "the compile budget cannot be negative");
        _compileBudget = budget ?? long.MaxValue;
    }

    /// <summary>What compiling <paramref name="function"/> costs against the budget.</summary>
    internal static long CompileCost(DecodedFunction function) => CompileCost(function, 1);

    /// <summary>The cost of compiling <paramref name="function"/> as <paramref name="methods"/> methods (its pieces,
    /// spec/execution.md §8.3): each pays the per-function part.</summary>
    internal static long CompileCost(DecodedFunction function, int methods) =>
        function.Analysis.Definition.Code.Length + methods * (long)IsolateOptions.CompileCostPerFunction;

    /// <summary>Whether <paramref name="cost"/> more units fit in the budget (called under the module's compile lock).</summary>
    internal bool CompileBudgetAllows(long cost) => cost <= _compileBudget - _compileBudgetUsed;

    /// <summary>Charges a compilation (under the module's compile lock).</summary>
    internal void ChargeCompilation(long cost) => Volatile.Write(ref _compileBudgetUsed, _compileBudgetUsed + cost);

    /// <summary>Records that <paramref name="function"/> stays interpreted for lack of budget; logs the first time.</summary>
    internal void DenyCompilation(DecodedFunction function, long cost)
    {
        _deniedCompilation ??= new HashSet<DecodedFunction>(ReferenceEqualityComparer.Instance);
        if (!_deniedCompilation.Add(function)) return;
        if (_functionsDeniedCompilation++ == 0)
            Log.CompileBudgetSpent(Logger, function.Name, cost, _compileBudgetUsed, _compileBudget);
    }

    /// <summary>Whether this store declined to compile <paramref name="function"/> for lack of budget.</summary>
    internal bool CompilationDenied(DecodedFunction function) => _deniedCompilation is { } denied && denied.Contains(function);

    internal string DescribeCompileBudget()
    {
        var budget = _compileBudget == long.MaxValue ? "unlimited" : _compileBudget.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var denied = _functionsDeniedCompilation > 0 ? $", spent ({_functionsDeniedCompilation} function(s) left interpreted)" : "";
        return $"compile budget: {CompileBudgetUsed} of {budget} units used{denied}";
    }
}
