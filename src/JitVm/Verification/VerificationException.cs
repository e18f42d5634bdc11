using JitVm.Diagnostics;

namespace JitVm.Verification;

/// <summary>The rule a module broke. spec/verification.md describes each one.</summary>
public enum VerificationRule
{
    /// <summary>An instruction pops more values than the operand stack holds.</summary>
    StackUnderflow = 1,

    /// <summary>An operand, local, global or argument has the wrong type.</summary>
    TypeMismatch,

    /// <summary>Two control-flow edges reach one instruction with different operand stacks.</summary>
    StackMismatchAtLabel,

    /// <summary>A pointer local is read where it is not definitely assigned.</summary>
    UninitializedLocal,

    /// <summary>Control can run past the last instruction.</summary>
    FallOffEnd,

    /// <summary>A local, global, function, signature or data index is out of range.</summary>
    InvalidIndex,

    /// <summary>A branch target lies outside the function.</summary>
    InvalidBranchTarget,

    /// <summary><c>return</c> does not find the function's results on the stack.</summary>
    ResultMismatch,

    /// <summary>The operand stack would grow beyond the limit.</summary>
    StackTooDeep,

    /// <summary>Parameters plus locals exceed the limit.</summary>
    TooManyLocals,

    /// <summary>A function has more instructions than the limit.</summary>
    FunctionTooLarge,

    /// <summary>Two functions or imports, two globals or two data segments share a name.</summary>
    DuplicateName,

    /// <summary>A global has a type it cannot have (ptr).</summary>
    InvalidGlobal,

    /// <summary>A signature has too many parameters or results.</summary>
    InvalidSignature,

    /// <summary>A handler table entry breaks a rule of spec/verification.md §7 (ranges, nesting, order, where its
    /// handler is), or a branch or tail call breaks the rules protected ranges impose.</summary>
    InvalidHandler,
}

/// <summary>
/// A module failed verification. The message names the module, the function, the pc and instruction (with its
/// source line when known), the rule, and what was expected and found.
/// </summary>
public sealed class VerificationException : JitVmException
{
    internal VerificationException(VerificationRule rule, string? module, string? function, int pc, string? instruction, int line, string detail)
        : base(Compose(rule, module, function, pc, instruction, line, detail))
    {
        Rule = rule;
        ModuleName = module;
        Function = function;
        Pc = pc;
        Instruction = instruction;
        Line = line;
        Detail = detail;
    }

    /// <summary>The rule that was broken.</summary>
    public VerificationRule Rule { get; }

    /// <summary>The module's source name, when known.</summary>
    public string? ModuleName { get; }

    /// <summary>The function, or null for a module-level problem.</summary>
    public string? Function { get; }

    /// <summary>The instruction index, or -1 when the problem is not at one instruction.</summary>
    public int Pc { get; }

    /// <summary>The mnemonic of the offending instruction, when there is one.</summary>
    public string? Instruction { get; }

    /// <summary>The source line of the offending instruction, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>What was expected and what was found.</summary>
    public string Detail { get; }

    private static string Compose(VerificationRule rule, string? module, string? function, int pc, string? instruction, int line, string detail)
    {
        // The file and line come first as "FILE:LINE: ", the format of the assembler's messages too, so an editor or
        // a terminal can jump to it; the function and pc follow.
        var file = module is not null ? (line > 0 ? $"{Printable.Escape(module)}:{line}: " : $"{Printable.Escape(module)}: ")
            : line > 0 ? $"line {line}: " : "";
        var where = new List<string>();
        if (function is not null) where.Add($"function {Printable.Quote(function)}");
        if (pc >= 0) where.Add(instruction is null ? $"pc {pc}" : $"pc {pc} ({instruction})");
        var inside = where.Count > 0 ? string.Join(", ", where) + ": " : "";
        return $"{file}{inside}verification failed [{rule}]: {detail}";
    }
}
