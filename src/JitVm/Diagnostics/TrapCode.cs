namespace JitVm.Diagnostics;

/// <summary>Why a running program stopped abnormally. Every tier reports the same code for the same program.</summary>
public enum TrapCode
{
    /// <summary>An <c>unreachable</c> instruction was executed.</summary>
    Unreachable = 1,

    /// <summary>Integer division or remainder by zero.</summary>
    DivideByZero,

    /// <summary>Signed division of the smallest i64 by -1, whose result does not fit in an i64.</summary>
    IntegerOverflow,

    /// <summary>A float-to-integer conversion of NaN, an infinity, or a value outside the i64 range.</summary>
    InvalidConversion,

    /// <summary>A heap access whose index lies outside the object, or an allocation of negative length.</summary>
    OutOfBounds,

    /// <summary>A typed heap read or a <c>word.as_*</c> found a pointer where a number was required, or the reverse.</summary>
    TagMismatch,

    /// <summary>An indirect call named a function whose signature differs from the one the call site declares.</summary>
    SignatureMismatch,

    /// <summary>An indirect call named a function index that does not exist in the module.</summary>
    InvalidFunctionReference,

    /// <summary>The call depth or the frame stack exceeded the isolate's limit (deep or infinite recursion).</summary>
    CallDepthExceeded,

    /// <summary>The isolate ran out of fuel (its instruction budget).</summary>
    OutOfFuel,

    /// <summary>An allocation would exceed the isolate's heap limit.</summary>
    OutOfMemory,

    /// <summary>A host function threw an exception; it is kept as the trap's inner exception.</summary>
    HostError,

    /// <summary>The program ran past the isolate's timeout or deadline.</summary>
    DeadlineExceeded,

    /// <summary>The host cancelled the program through the isolate's cancellation token.</summary>
    Cancelled,

    /// <summary>A heap object was used after it was sent to another task (sending moves what it sends).</summary>
    UseAfterSend,

    /// <summary>Every task was blocked and nothing could wake any of them (spec/concurrency.md §5).</summary>
    Deadlock,

    /// <summary>A send to a closed channel, or a send that was waiting when the channel was closed.</summary>
    ChannelClosed,

    /// <summary>A joined task trapped; the report names the task and its trap.</summary>
    TaskFailed,

    /// <summary>A spawn would pass the limit on live tasks.</summary>
    TooManyTasks,

    /// <summary>A concurrency instruction was given an object of the wrong kind (a plain object or a task where a
    /// channel was needed, or the reverse).</summary>
    WrongObjectKind,

    /// <summary>An exception thrown by <c>throw</c> found no handler before it would leave the entry (or the call into
    /// another instance, or the task) it was thrown in; the location is the <c>throw</c>.</summary>
    UncaughtException,
}
