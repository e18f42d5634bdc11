using JitVm.Diagnostics;
using JitVm.Jit;

namespace JitVm.Hosting;

/// <summary>
/// The host's .NET stack: how much VM code may use below an entry, measured on every entry (see
/// spec/execution.md §4), so that no program can overflow it.
/// </summary>
public sealed partial class Isolate
{
    /// <summary>
    /// .NET stack kept free below the lowest compiled frame, for everything that runs there without a check of
    /// its own: the interpreter activation a compiled call falls back to, the runtime helpers and the collector it
    /// calls, host functions and the entries they make into other isolates, the CLR compiling a method at its first
    /// call, and the exception dispatch of a trap (see <see cref="StackLimit"/>).
    /// </summary>
    internal const int StackReserve = 128 * 1024;

    /// <summary>
    /// The least .NET stack an entry needs below it to run VM code at all (in the interpreter, which uses a bounded
    /// amount however deep the VM calls go); an entry with less traps <see cref="TrapCode.CallDepthExceeded"/>.
    /// Less than <see cref="StackReserve"/>, so a host function called at the deepest compiled frame can still
    /// enter another isolate, several levels deep.
    /// </summary>
    internal const int MinimumEntryStack = 64 * 1024;

    /// <summary>
    /// Compiled code may make a direct .NET call only while the stack pointer minus the callee's frame
    /// (<see cref="CompiledFunction.StackBytes"/>) stays above this address: <see cref="StackReserve"/> above the
    /// lowest usable address of the entering thread's stack, measured on every entry (see <see cref="ThreadStack"/>).
    /// Past it, calls run in the interpreter, whose VM calls use no .NET stack, so recursion ends in the VM's
    /// call-depth trap. nuint.MaxValue (no address is above it) runs the whole entry in the interpreter.
    /// </summary>
    internal nuint StackLimit { get; private set; } = nuint.MaxValue;

    /// <summary>
    /// Measures, at an entry from the host (nested ones included: a host function entering another isolate), how
    /// much of the current thread's stack remains: returns the stack pointer it measured and the entry's
    /// <see cref="StackLimit"/>.
    /// </summary>
    /// <exception cref="TrapException"><see cref="TrapCode.CallDepthExceeded"/>: less than
    /// <see cref="MinimumEntryStack"/> is left.</exception>
    private static (nuint Here, nuint Limit) MeasureEntryStack()
    {
        var here = JitRuntime.StackPointer();
        var remaining = ThreadStack.RemainingBelow(here);
        if (remaining < MinimumEntryStack)
            throw new TrapException(TrapCode.CallDepthExceeded,
                $"the host thread has {remaining / 1024} KiB of stack left at this entry; running VM code needs at least {MinimumEntryStack / 1024} KiB");
        return (here, remaining > StackReserve ? here - (remaining - StackReserve) : nuint.MaxValue);
    }

    /// <summary>
    /// Runs defined function <paramref name="functionIndex"/> in the interpreter, its arguments already in slots
    /// [0, n): the path of a typed export's stub when the stack has no room for the compiled body's frame.
    /// Returns the first slot afterwards (the result, if any).
    /// </summary>
    internal long ExecuteInterpreted(int functionIndex, int width)
    {
        SlotTop = width + 1;
        try
        {
            Interpreter.Interpreter.Run(this, Functions[functionIndex - _imports.Length], 0);
            return Slots[0];
        }
        finally
        {
            CallDepth = 0;
            FrameCount = 0;
            SlotTop = 0;
        }
    }
}
