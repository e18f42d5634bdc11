namespace JitVm.Hosting;

/// <summary>How an isolate runs its module's functions. Every policy gives identical observable behaviour.</summary>
public enum ExecutionTier
{
    /// <summary>Interpreter first; a function is compiled to CIL once it is hot (called often) or when it contains a loop.</summary>
    Tiered,

    /// <summary>Only the interpreter (also what runs where dynamic code is not supported).</summary>
    Interpreter,

    /// <summary>Every function is compiled to CIL before the first one runs.</summary>
    Jit,
}
