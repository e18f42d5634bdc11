using System.Text;

namespace JitVm.Diagnostics;

/// <summary>One frame of a VM call stack, innermost first in <see cref="TrapException.VmStackTrace"/>.</summary>
/// <param name="Function">The function's name.</param>
/// <param name="Pc">The instruction index: the trapping instruction in the innermost frame, the call in the others.</param>
/// <param name="Instruction">The mnemonic at <paramref name="Pc"/>.</param>
/// <param name="Line">The source line, or 0 when the module has no line information.</param>
/// <param name="Source">The module's source file name, when known.</param>
public sealed record VmStackFrame(string Function, int Pc, string Instruction, int Line, string? Source)
{
    /// <summary>The frame as the CLI prints it: <c>at fib (fib.jvm:12, pc 5: i64.div_s)</c>. Names and the source
    /// name are shown with their unprintable characters escaped, so a frame is always one line.</summary>
    public override string ToString()
    {
        var source = Source is null ? null : Printable.Escape(Source);
        var location = (source, Line) switch
        {
            (not null, > 0) => $"{source}:{Line}, ",
            (null, > 0) => $"line {Line}, ",
            (not null, _) => $"{source}, ",
            _ => "",
        };
        return $"at {Printable.Bare(Function)} ({location}pc {Pc}: {Instruction})";
    }
}

/// <summary>
/// A program stopped abnormally. <see cref="Code"/> says why; <see cref="VmStackTrace"/> says where, innermost
/// frame first. When a host function threw, its exception is the <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class TrapException : JitVmException
{
    private IReadOnlyList<VmStackFrame> _stack = [];

    /// <summary>Creates a trap; the VM fills in the stack trace as the trap leaves it.</summary>
    /// <remarks>Characters of <paramref name="detail"/> that are not printable are escaped, so the detail and the
    /// report's first line stay one line.</remarks>
    public TrapException(TrapCode code, string detail, Exception? inner = null) : base(detail, inner)
    {
        Code = code;
        Detail = Printable.Escape(detail);
    }

    /// <summary>Why the program stopped.</summary>
    public TrapCode Code { get; }

    /// <summary>What happened, in words (without the location), with unprintable characters escaped.</summary>
    public string Detail { get; }

    /// <summary>The VM call stack at the trap, innermost first. Of a deep stack only the innermost 192 and the
    /// outermost 64 frames are kept; <see cref="ElidedFrames"/> says how many were left out between them.</summary>
    public IReadOnlyList<VmStackFrame> VmStackTrace => _stack;

    /// <summary>Frames active at the trap but left out of <see cref="VmStackTrace"/> (between its innermost and
    /// outermost frames), so that a trap's memory is bounded however deep the program went; 0 for most traps.</summary>
    public int ElidedFrames { get; private set; }

    /// <summary>How many VM frames were active at the trap: <see cref="VmStackTrace"/> plus <see cref="ElidedFrames"/>.</summary>
    public int VmStackDepth => _stack.Count + ElidedFrames;

    /// <summary>The innermost frame, where the trap happened; null when the trap happened outside VM code.</summary>
    public VmStackFrame? Location => _stack.Count > 0 ? _stack[0] : null;

    /// <summary>True once the VM has recorded where the trap happened.</summary>
    internal bool HasStack { get; private set; }

    /// <summary>
    /// True when the isolate's fuel was already exact when the trap was raised (a host function raised it, after
    /// running code had written its fuel back for the call), so locating the trap must not restore the fuel the
    /// running code held before the call: fuel the host charged stays charged.
    /// </summary>
    internal bool FuelRecorded { get; set; }

    /// <summary>The isolate whose frames <see cref="VmStackTrace"/> shows, once it is recorded.</summary>
    private object? _stackOwner;

    internal void SetStack(IReadOnlyList<VmStackFrame> frames, int elided, object owner)
    {
        _stack = frames;
        ElidedFrames = elided;
        HasStack = true;
        _stackOwner = owner;
    }

    /// <summary>Whether the trap happened in VM code of an isolate other than <paramref name="isolate"/> (which a host
    /// function of <paramref name="isolate"/> entered).</summary>
    internal bool IsFromAnotherIsolate(object isolate) => HasStack && _stackOwner != isolate;

    /// <inheritdoc />
    public override string Message => Location is { } where ? $"{Code}: {Detail} ({where})" : $"{Code}: {Detail}";

    /// <summary>The report the CLI prints: <c>trap: Kind: detail</c> followed by one line per VM frame (and a last one
    /// for the host exception that caused the trap). Whatever names the module chose, every part is one line.</summary>
    public string Report()
    {
        var text = new StringBuilder($"trap: {Code}: {Detail}");
        // Deep recursion gives huge traces; keep the innermost and outermost frames, which say where and how.
        const int head = 20, tail = 5;
        for (var i = 0; i < _stack.Count; i++)
        {
            if (_stack.Count > head + tail + 1 && i == head)
            {
                text.Append('\n').Append($"  ... {_stack.Count - head - tail + ElidedFrames} more frames ...");
                i = _stack.Count - tail - 1;
                continue;
            }
            text.Append('\n').Append("  ").Append(_stack[i]);
        }
        if (InnerException is { } inner) text.Append('\n').Append($"  caused by {inner.GetType().Name}: {Printable.Escape(inner.Message)}");
        return text.ToString();
    }
}
