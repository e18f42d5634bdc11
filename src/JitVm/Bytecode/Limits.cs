namespace JitVm.Bytecode;

/// <summary>
/// Structural limits every module must respect. They bound the work and memory of reading, verifying and running
/// a module, so hostile input cannot exhaust the host. The spec (spec/verification.md) lists the same numbers.
/// </summary>
public static class ModuleLimits
{
    /// <summary>Most signatures, imports, functions, globals or data segments of one kind.</summary>
    public const int MaxEntries = 1_000_000;

    /// <summary>Most instructions in one function.</summary>
    public const int MaxInstructions = 1_000_000;

    /// <summary>Most parameters plus locals in one function.</summary>
    public const int MaxLocals = 65_535;

    /// <summary>Most declared locals of type ptr in one function (parameters not counted). The verifier tracks which
    /// of them are assigned at every branch target, so this bounds that work to a constant per instruction.</summary>
    public const int MaxPointerLocals = 1_024;

    /// <summary>Most parameters or results in one signature.</summary>
    public const int MaxSignatureArity = 255;

    /// <summary>Greatest operand stack depth inside one function.</summary>
    public const int MaxStackDepth = 65_535;

    /// <summary>Most case targets of one <c>br_table</c>.</summary>
    public const int MaxBranchTableSize = 65_536;

    /// <summary>Most entries in one function's handler table (the verifier's nesting and order checks are quadratic
    /// in it at worst).</summary>
    public const int MaxHandlers = 1_024;

    /// <summary>Longest name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 1_024;

    /// <summary>Largest data segment, in bytes.</summary>
    public const int MaxDataBytes = 16 * 1024 * 1024;
}
