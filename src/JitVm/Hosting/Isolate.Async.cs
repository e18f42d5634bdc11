using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>Asynchronous entries (spec/embedding.md §3.4).</summary>
public sealed partial class Isolate
{
    /// <summary>
    /// Calls a function by name as <see cref="Invoke(string, Value[])"/> does, except that an asynchronous host
    /// function (<see cref="HostFunction.FromAsyncFunc{TResult}"/> and its siblings) whose work is pending suspends
    /// the call without holding a thread: the returned task completes when the function returns, and the program
    /// continues, in the interpreter, on the thread that completed the host's work. Until then the isolate belongs to
    /// this call: any other entry or host access is refused with <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <param name="function">The function's name.</param>
    /// <param name="arguments">Its arguments, matching its parameter types.</param>
    /// <param name="cancellationToken">Cancels the call: running code traps <see cref="TrapCode.Cancelled"/> at its
    /// next fuel check, a pending host call is abandoned with that trap (its work is given the same token).</param>
    /// <exception cref="ArgumentException">No such function, or the arguments do not match its signature.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running or suspended in another call, or this is
    /// called from a host function the isolate called.</exception>
    /// <exception cref="TrapException">The program trapped, was cancelled, or ran past its timeout or deadline
    /// (waiting for host work counts).</exception>
    public ValueTask<Value[]> InvokeAsync(string function, Value[] arguments, CancellationToken cancellationToken = default)
    {
        var index = Module.FindFunction(function);
        if (index < 0) throw new ArgumentException($"the module has no function named '{function}'", nameof(function));
        return InvokeAsync(index, arguments, cancellationToken);
    }

    /// <summary>Calls a function by index in the function index space, as <see cref="InvokeAsync(string, Value[], CancellationToken)"/> does.</summary>
    /// <exception cref="ArgumentException">The arguments do not match the function's signature.</exception>
    /// <exception cref="InvalidOperationException">The isolate is running or suspended in another call.</exception>
    /// <exception cref="TrapException">The program trapped, was cancelled, or ran past its timeout or deadline.</exception>
    public async ValueTask<Value[]> InvokeAsync(int functionIndex, Value[] arguments, CancellationToken cancellationToken = default)
    {
        var fiber = Fiber;
        Store.BeginAsyncEntry(fiber, cancellationToken);
        var owned = true;
        Value[] results;
        try
        {
            fiber.Execute(functionIndex, EnterArguments(functionIndex, arguments));
            while (fiber.IsSuspending)
            {
                var pending = fiber.PendingHost!;
                Store.SuspendAsyncEntry(fiber);
                owned = false;
                var ended = await WaitForHost(pending.Work, cancellationToken).ConfigureAwait(false);
                if (ended is not null)
                {
                    Store.AbandonAsyncEntry();
                    owned = true;
                    throw fiber.AbandonSuspended(ended);
                }
                Store.ResumeAsyncEntry(fiber);
                owned = true;
                fiber.ResumeSuspended();
            }
            results = EntryResults(functionIndex);
        }
        finally
        {
            if (!owned) Store.AbandonAsyncEntry();
            Store.EndAsyncEntry(fiber);
        }
        return ForHost(results);
    }

    /// <summary>Waits for a host call's work (its outcome, success or failure, is delivered when the call resumes);
    /// returns the trap ending the call instead when it is cancelled or its timeout or deadline passes first.</summary>
    private async Task<TrapException?> WaitForHost(Task<long> work, CancellationToken cancellationToken)
    {
        while (true)
        {
            var limit = Store.AsyncWaitLimit();
            if (limit == TimeSpan.Zero && !work.IsCompleted) return DeadlinePassed();
            try
            {
                await work.WaitAsync(limit, cancellationToken).ConfigureAwait(false);
                return null;
            }
            catch (TimeoutException)
            {
                // A wait longer than a timer allows ends early and waits again until the deadline itself.
                if (Store.AsyncWaitLimit() == TimeSpan.Zero) return DeadlinePassed();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !work.IsCompleted)
            {
                return new TrapException(TrapCode.Cancelled, "the host cancelled the call while a host function's work was pending");
            }
            catch (Exception) when (work.IsCompleted)
            {
                return null;
            }
        }
    }

    private TrapException DeadlinePassed() => new(TrapCode.DeadlineExceeded, Store.Timeout is { } timeout
        ? $"the program ran past its deadline waiting for a host function (timeout {timeout.TotalMilliseconds:0.###} ms per call)"
        : "the program ran past its deadline waiting for a host function");
}
