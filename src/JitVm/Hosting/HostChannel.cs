using System.Runtime.CompilerServices;
using JitVm.Bytecode;
using JitVm.Concurrency;
using JitVm.Diagnostics;

namespace JitVm.Hosting;

/// <summary>
/// The host's endpoint on a channel of an isolate's task tree (<see cref="Isolate.CreateChannel"/>). It sends and
/// receives like a task does, in the same FIFO order and with the same waits, but asynchronously: a full or empty
/// channel completes the returned task later instead of blocking a thread. Every member may be used from any thread.
/// </summary>
/// <remarks>What moves: a number is an untagged word; a byte buffer becomes, in the receiving task's heap, a new
/// object of ⌈n/8⌉ untagged words holding the bytes little-endian (the last word zero-padded) whose byte length is n
/// (<c>len.bytes</c>). The host can receive numbers and objects whose words hold no pointers (as their bytes, as many
/// as the object's byte length: 8 per word for an object made by <c>alloc</c>); anything else stays in the channel
/// and the receive throws.</remarks>
public sealed class HostChannel : IDisposable
{
    private readonly VmChannel _channel;
    private int _released;

    internal HostChannel(VmChannel channel)
    {
        _channel = channel;
        Value = new Value(VmType.Ptr, 0, true) { Capability = channel };
    }

    /// <summary>
    /// The channel as an argument of <see cref="Isolate.Spawn"/> (for a <c>ptr</c> or <c>word</c> parameter): the task
    /// gets a channel reference to it. Only spawning accepts this value; it names no object of any heap.
    /// </summary>
    public Value Value { get; }

    /// <summary>The capacity the channel was made with.</summary>
    public int Capacity => _channel.Capacity;

    /// <summary>Whether the channel is closed (by the host or by a task's <c>chan.close</c>).</summary>
    public bool IsClosed
    {
        get
        {
            lock (_channel.Scheduler.Gate) return _channel.Closed;
        }
    }

    /// <summary>Sends an integer (an untagged word), waiting while the channel is full.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.ChannelClosed"/>: the channel is closed, or was closed while waiting.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting (nothing was sent).</exception>
    public ValueTask SendAsync(long value, CancellationToken cancellationToken = default) =>
        SendAsync(Message.Scalars([value]), cancellationToken);

    /// <summary>Sends a float's bits (an untagged word), waiting while the channel is full.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.ChannelClosed"/>: the channel is closed, or was closed while waiting.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting (nothing was sent).</exception>
    public ValueTask SendAsync(double value, CancellationToken cancellationToken = default) =>
        SendAsync(Message.Scalars([BitConverter.DoubleToInt64Bits(value)]), cancellationToken);

    /// <summary>Sends a copy of <paramref name="bytes"/>, which a receiving task gets as an object of ⌈n/8⌉ words whose
    /// byte length is n; waits while the channel is full.</summary>
    /// <exception cref="TrapException"><see cref="TrapCode.ChannelClosed"/>: the channel is closed, or was closed while waiting.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting (nothing was sent).</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        SendAsync(Message.FromBytes(bytes.Span), cancellationToken);

    private async ValueTask SendAsync(Message message, CancellationToken cancellationToken)
    {
        var scheduler = _channel.Scheduler;
        while (true)
        {
            TaskCompletionSource<bool> woken;
            lock (scheduler.Gate)
            {
                if (_channel.Closed) throw new TrapException(TrapCode.ChannelClosed, $"send to closed channel {_channel.Id}");
                if (_channel.Buffer.Count + _channel.Reserved < _channel.Capacity)
                {
                    _channel.Buffer.Enqueue(message);
                    scheduler.MessagesSent++;
                    scheduler.BytesCopied += message.HeapWords * 8;
                    scheduler.WakeOne(_channel.Receivers);
                    return;
                }
                cancellationToken.ThrowIfCancellationRequested();
                woken = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _channel.Senders.Enqueue(Waiter.ForHost(woken));
            }
            await WaitAsync(woken, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Receives the oldest message, waiting while the channel is empty and open; null once it is closed and empty.
    /// </summary>
    /// <exception cref="InvalidOperationException">The oldest message is a task or channel reference or an object that
    /// holds pointers; it stays in the channel.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting (nothing was received).</exception>
    public async ValueTask<ChannelMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var scheduler = _channel.Scheduler;
        while (true)
        {
            TaskCompletionSource<bool> woken;
            lock (scheduler.Gate)
            {
                if (_channel.Buffer.TryPeek(out var message))
                {
                    if (message.WhyNotForHost() is { } why)
                        throw new InvalidOperationException($"the next message on channel {_channel.Id} is {why}; the host can receive only numbers and objects of numbers");
                    _channel.Buffer.Dequeue();
                    scheduler.WakeOne(_channel.Senders);
                    return message.ValueIsPointer[0] ? new ChannelMessage(0, message.ObjectBytes()) : new ChannelMessage(message.Values[0], null);
                }
                if (_channel.Closed) return null;
                cancellationToken.ThrowIfCancellationRequested();
                woken = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _channel.Receivers.Enqueue(Waiter.ForHost(woken));
            }
            await WaitAsync(woken, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Receives messages until the channel is closed and empty.</summary>
    public async IAsyncEnumerable<ChannelMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } message) yield return message;
    }

    /// <summary>
    /// Closes the channel (as <c>chan.close</c>: buffered messages are still received, waiting and later senders trap
    /// <see cref="TrapCode.ChannelClosed"/>) and releases the host endpoint, so that tasks left waiting can be found
    /// deadlocked. Closing again does nothing.
    /// </summary>
    public void Close()
    {
        var scheduler = _channel.Scheduler;
        lock (scheduler.Gate)
        {
            _channel.Closed = true;
            scheduler.WakeAll(_channel.Receivers);
            scheduler.WakeAll(_channel.Senders);
            if (Interlocked.Exchange(ref _released, 1) == 0) scheduler.ReleaseHostEndpoint(_channel);
        }
    }

    /// <summary>Same as <see cref="Close"/>.</summary>
    public void Dispose() => Close();

    /// <summary>Waits until <paramref name="woken"/> completes; a cancellation makes the wait stale (a waker skips it).</summary>
    private static async Task WaitAsync(TaskCompletionSource<bool> woken, CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(static state => ((TaskCompletionSource<bool>)state!).TrySetCanceled(), woken).ConfigureAwait(false);
        await woken.Task.ConfigureAwait(false);
    }
}

/// <summary>A message the host received: a number (an untagged word) or the bytes of an object of numbers.</summary>
public sealed class ChannelMessage
{
    private readonly long _number;
    private readonly byte[]? _bytes;

    internal ChannelMessage(long number, byte[]? bytes)
    {
        _number = number;
        _bytes = bytes;
    }

    /// <summary>Whether the message was an object (see <see cref="Bytes"/>) rather than a number.</summary>
    public bool IsObject => _bytes is not null;

    /// <summary>The number as an integer.</summary>
    /// <exception cref="InvalidOperationException">The message is an object.</exception>
    public long AsI64 => _bytes is null ? _number : throw new InvalidOperationException("the message is an object, not a number: use Bytes");

    /// <summary>The number's bits as a float.</summary>
    /// <exception cref="InvalidOperationException">The message is an object.</exception>
    public double AsF64 => BitConverter.Int64BitsToDouble(AsI64);

    /// <summary>The object's words as bytes, little-endian, as many as its byte length (<c>len.bytes</c>: 8 per word
    /// for an object made by <c>alloc</c>).</summary>
    /// <exception cref="InvalidOperationException">The message is a number.</exception>
    public ReadOnlyMemory<byte> Bytes => _bytes ?? throw new InvalidOperationException("the message is a number, not an object: use AsI64 or AsF64");

    /// <summary>The number, or "&lt;object of N bytes&gt;".</summary>
    public override string ToString() => _bytes is null ? _number.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"<object of {_bytes.Length} bytes>";
}
