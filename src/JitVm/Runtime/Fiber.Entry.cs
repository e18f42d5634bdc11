using JitVm.Hosting;
using JitVm.Interpreter;
using JitVm.Jit;

namespace JitVm.Runtime;

/// <summary>Running a function from outside VM code: an entry from the host, or a call into another instance.</summary>
internal sealed partial class Fiber
{
    /// <summary>Runs function <paramref name="functionIndex"/> of <see cref="Instance"/> as an entry from the host,
    /// its arguments already in slots [<see cref="EntryBase"/>, +n); its results replace them. The caller owns the
    /// store for the entry.</summary>
    public void Execute(int functionIndex, int width)
    {
        var fp = EntryBase;
        SlotTop = fp + width + 1;
        try
        {
            var instance = Instance;
            if (instance.IsImport(functionIndex))
            {
                Store.ArmInterrupts(this);
                instance.CallImport(this, functionIndex, fp, 0, EntryDepth, resumable: false);
            }
            else RunFunction(instance.Functions[functionIndex - instance.ImportCount], fp, entry: true);
        }
        catch (InFlightException thrown)
        {
            // Nothing caught it before it would leave the entry (spec/exceptions.md §5).
            throw thrown.Uncaught;
        }
        finally
        {
            // A suspended task keeps its frames until it resumes (Fiber.Suspend.cs).
            if (!IsSuspending) DropFrames();
        }
    }

    /// <summary>
    /// Runs defined function <paramref name="function"/> of the current instance at <paramref name="fp"/>, one frame
    /// deeper than <see cref="CallDepth"/>: compiled when its tier allows and the stack has room for its frame, else
    /// interpreted. A deoptimisation inside compiled code ends here: its frames continue in the interpreter. For an
    /// entry from the host (<paramref name="entry"/>), compiling comes before the time limits are armed: compiling is
    /// the VM's time, not the program's.
    /// </summary>
    private void RunFunction(DecodedFunction function, int fp, bool entry)
    {
        var tier = Store.Tier;
        // With no room for compiled frames at all, the function runs in the interpreter and compiles nothing. Without
        // dynamic code the only compiled code is what a saved assembly installed (the tier is Interpreter otherwise).
        CompiledFunction? compiled = null;
        if (tier != ExecutionTier.Interpreter && JitRuntime.StackHasRoom(this, 0))
        {
            if (DynamicCode.Supported)
            {
                var code = Instance.Code.Jit;
                if (entry && tier == ExecutionTier.Jit) code.CompileAll(Store);
                compiled = function.Compiled ?? (entry ? code.TierUpOnEntry(Store, function) : code.TierUpOnCall(Store, function));
            }
            else compiled = function.Compiled;
        }
        if (entry) Store.ArmInterrupts(this);
        // Checked before either tier's frame exists, so a callee past the limit traps at its caller's call in both.
        CheckDepth(function);
        if (compiled is not null && JitRuntime.StackHasRoom(this, compiled.StackBytes))
        {
            var frames = FrameCount;
            compiled.Adapter(this, CallDepth + 1, fp);
            if (!IsDeoptimising) return;
            MaterialiseBelow(fp, frames);
            // A suspension unwinds on, to the task's entry; a deoptimisation continues here in the interpreter.
            if (!IsSuspending) Interpreter.Interpreter.Resume(this, frames);
        }
        else Interpreter.Interpreter.Run(this, function, fp);
    }

    /// <summary>
    /// Runs defined function <paramref name="functionIndex"/> in the interpreter as an entry from the host, its
    /// arguments already in slots [<see cref="EntryBase"/>, +<paramref name="width"/>): the path of a typed export's
    /// stub when the stack has no room for the compiled body's frame. Returns the first slot afterwards (the result,
    /// if any).
    /// </summary>
    public long ExecuteInterpreted(int functionIndex, int width)
    {
        var fp = EntryBase;
        SlotTop = fp + width + 1;
        try
        {
            var function = Instance.Functions[functionIndex - Instance.ImportCount];
            CheckDepth(function);
            Interpreter.Interpreter.Run(this, function, fp);
            return Slots[fp];
        }
        catch (InFlightException thrown)
        {
            throw thrown.Uncaught;
        }
        finally
        {
            DropFrames();
        }
    }

    /// <summary>A typed export's compiled body deoptimised: continues its frames in the interpreter and returns the
    /// first slot afterwards (the result, if any).</summary>
    public long ResumeEntry()
    {
        MaterialiseBelow(EntryBase, EntryFrames);
        try
        {
            Interpreter.Interpreter.Resume(this, EntryFrames);
        }
        catch (InFlightException thrown)
        {
            throw thrown.Uncaught;
        }
        return Slots[EntryBase];
    }

    /// <summary>
    /// Calls <paramref name="link"/>'s function, in its own instance, with arguments in slots from
    /// <paramref name="fp"/>: the caller runs at <paramref name="depth"/> and calls from <paramref name="site"/>, and
    /// the callee's frames are named in its instance's module in a trap's VM stack.
    /// </summary>
    public void CallLinked(Instance.Link link, int fp, long site, int depth)
    {
        var target = link.Target;
        if (depth >= Store.MaxDepth)
            throw new Diagnostics.TrapException(Diagnostics.TrapCode.CallDepthExceeded,
                $"call depth limit of {Store.MaxDepth} frames exceeded when calling {Diagnostics.Printable.Quote(target.Module.Definition.NameOf(link.FunctionIndex))}");
        EnsureDepth(depth);
        Sites[depth] = site;
        var savedDepth = CallDepth;
        LinkedCalls++;
        var savedTop = SlotTop;
        var previous = EnterInstance(target, depth + 1);
        CallDepth = depth;
        try
        {
            if (target.IsImport(link.FunctionIndex)) target.CallImport(this, link.FunctionIndex, fp, site, depth);
            else
            {
                var function = target.Functions[link.FunctionIndex - target.ImportCount];
                SlotTop = Math.Max(SlotTop, fp + Math.Max(function.Signature.Parameters.Length, function.Signature.Results.Length) + 1);
                RunFunction(function, fp, entry: false);
            }
        }
        catch (InFlightException thrown)
        {
            // Tags belong to their module: an exception does not cross into the instance that called this one.
            throw thrown.Uncaught;
        }
        finally
        {
            LinkedCalls--;
            LeaveInstance(previous);
            CallDepth = savedDepth;
            SlotTop = savedTop;
        }
    }
}
