using JitVm.Diagnostics;
using JitVm.Interpreter;

namespace JitVm.Hosting;

public sealed partial class Isolate
{
    private long _compileBudget;
    private long _compileBudgetUsed;
    private int _functionsDeniedCompilation;

    /// <summary>By defined-function index: compilation was declined for lack of budget (allocated at the first).</summary>
    private bool[]? _deniedCompilation;

    /// <summary>Compile budget units this isolate has spent (see <see cref="IsolateOptions.CompileBudget"/>).</summary>
    public long CompileBudgetUsed => Volatile.Read(ref _compileBudgetUsed);

    /// <summary>Set once the <see cref="ExecutionTier.Jit"/> policy has compiled what its budget allows, so later
    /// entries do not walk the module again.</summary>
    internal bool EagerCompilationDone { get; set; }

    private void InitCompileBudget(long? budget)
    {
        if (budget < 0) throw new ArgumentOutOfRangeException(nameof(budget), "the compile budget cannot be negative");
        _compileBudget = budget ?? long.MaxValue;
    }

    /// <summary>What compiling <paramref name="function"/> costs against the budget.</summary>
    internal static long CompileCost(DecodedFunction function) =>
        function.Analysis.Definition.Code.Length + (long)IsolateOptions.CompileCostPerFunction;

    /// <summary>Whether <paramref name="cost"/> more units fit in the budget (called under the module's compile lock).</summary>
    internal bool CompileBudgetAllows(long cost) => cost <= _compileBudget - _compileBudgetUsed;

    /// <summary>Charges a compilation (under the module's compile lock).</summary>
    internal void ChargeCompilation(long cost) => Volatile.Write(ref _compileBudgetUsed, _compileBudgetUsed + cost);

    /// <summary>Records that <paramref name="function"/> stays interpreted for lack of budget; logs the first time.</summary>
    internal void DenyCompilation(DecodedFunction function, long cost)
    {
        _deniedCompilation ??= new bool[Module.Definition.Functions.Count];
        var defined = function.FunctionIndex - Module.Definition.Imports.Count;
        if (_deniedCompilation[defined]) return;
        _deniedCompilation[defined] = true;
        if (_functionsDeniedCompilation++ == 0)
            Log.CompileBudgetSpent(Logger, function.Name, cost, _compileBudgetUsed, _compileBudget);
    }

    /// <summary>Whether this isolate declined to compile defined function <paramref name="definedIndex"/> for lack of budget.</summary>
    internal bool CompilationDenied(int definedIndex) => _deniedCompilation is { } denied && denied[definedIndex];

    private string DescribeCompileBudget()
    {
        var budget = _compileBudget == long.MaxValue ? "unlimited" : _compileBudget.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var denied = _functionsDeniedCompilation > 0 ? $", spent ({_functionsDeniedCompilation} function(s) left interpreted)" : "";
        return $"compile budget: {CompileBudgetUsed} of {budget} units used{denied}";
    }
}
