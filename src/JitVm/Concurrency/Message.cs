using JitVm.Diagnostics;
using JitVm.Memory;

namespace JitVm.Concurrency;

/// <summary>
/// Values on their way from one heap to another: a channel's buffered message, a spawned task's arguments, a
/// finished task's results. Each value is one word; the objects its pointers reach are kept in a heap-independent
/// layout, so the message belongs to no task while it waits.
/// </summary>
/// <remarks>
/// Layout of <see cref="Words"/>: the objects one after another, each a length word and then its fields; the length
/// word holds the header's length and unused byte count (<see cref="Heap.LengthAndUnusedBytesMask"/>), so an object's
/// byte length arrives with it; a pointer
/// field (its bit set in <see cref="PointerFields"/>) holds the offset of its target's length word, and so does a
/// pointer value. A reference object (a channel or a task) has the length word <see cref="ReferenceMarker"/> and one
/// field, the index of its target in <see cref="References"/>. Sharing and cycles are kept: an object reachable on
/// several paths is written once.
/// </remarks>
internal sealed class Message
{
    /// <summary>The length word of a reference object (no plain object is this long).</summary>
    public const long ReferenceMarker = -1;

    public required long[] Words { get; init; }

    public required System.Collections.BitArray PointerFields { get; init; }

    public required object[] References { get; init; }

    /// <summary>The values: bits, or an offset into <see cref="Words"/> when the value is a pointer.</summary>
    public required long[] Values { get; init; }

    public required bool[] ValueIsPointer { get; init; }

    /// <summary>The sender's plain objects the message was copied from, until <see cref="MarkSent"/> moves them.</summary>
    private List<long>? _sources;

    /// <summary>Marks the objects the message was copied from as sent (afterwards the sender cannot use them).</summary>
    public void MarkSent(Heap heap)
    {
        if (_sources is null) return;
        foreach (var pointer in _sources) heap.MarkSent(pointer);
        _sources = null;
    }

    /// <summary>How many objects the message holds (for statistics).</summary>
    public int ObjectCount { get; init; }

    /// <summary>Heap words the message becomes in a receiver: its objects' fields and headers.</summary>
    public long HeapWords => Words.LongLength;

    /// <summary>A message of numbers only. Its empty parts, never written, are shared by every such message.</summary>
    public static Message Scalars(long[] values) => values.Length == 0 ? NoValues : new()
    {
        Words = [],
        PointerFields = NoPointerFields,
        References = [],
        Values = values,
        ValueIsPointer = values.Length == 1 ? OneNumber : new bool[values.Length],
    };

    private static readonly System.Collections.BitArray NoPointerFields = new(0);

    /// <summary>The message of no values (a task's arguments or results when it has none), shared: nothing writes it.</summary>
    private static readonly Message NoValues = new() { Words = [], PointerFields = NoPointerFields, References = [], Values = [], ValueIsPointer = [] };

    private static readonly bool[] OneNumber = [false];

    /// <summary>A message the host makes: numbers, and references (a channel or a task) where
    /// <paramref name="references"/> has one; a reference value's bits are ignored.</summary>
    public static Message FromHost(long[] values, object?[] references)
    {
        var words = new List<long>();
        var targets = new List<object>();
        var isPointer = new bool[values.Length];
        var outValues = new long[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (references[i] is not { } target)
            {
                outValues[i] = values[i];
                continue;
            }
            isPointer[i] = true;
            outValues[i] = words.Count;
            words.Add(ReferenceMarker);
            words.Add(targets.Count);
            targets.Add(target);
        }
        return new Message
        {
            Words = [.. words],
            PointerFields = new System.Collections.BitArray(words.Count),
            References = [.. targets],
            Values = outValues,
            ValueIsPointer = isPointer,
            ObjectCount = targets.Count,
        };
    }

    /// <summary>A message of one object holding <paramref name="bytes"/>, little-endian in whole words (the last one
    /// zero-padded), no word tagged.</summary>
    public static Message FromBytes(ReadOnlySpan<byte> bytes)
    {
        var length = (bytes.Length + 7) / 8;
        var words = new long[length + 1];
        // The unused bytes of the last word, in the header's bits, so the object's byte length is the span's.
        words[0] = length + ((long)(length * 8 - bytes.Length) << 32);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(words.AsSpan(1)).Clear();
        bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(words.AsSpan(1)));
        if (!BitConverter.IsLittleEndian)
            for (var i = 1; i < words.Length; i++) words[i] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(words[i]);
        return new Message
        {
            Words = words,
            PointerFields = new System.Collections.BitArray(words.Length),
            References = [],
            Values = [0],
            ValueIsPointer = [true],
            ObjectCount = 1,
        };
    }

    /// <summary>For a message of one value: whether the host can take it, and why not (it is an object holding
    /// pointers, or a reference, or more than one object).</summary>
    public string? WhyNotForHost()
    {
        if (Values.Length != 1 || !ValueIsPointer[0]) return null;
        if (Words[0] == ReferenceMarker) return "a task or channel reference";
        if (Heap.LengthOf(Words[0]) + 1 != Words.Length) return "an object that points to other objects";
        for (var i = 1; i < Words.Length; i++)
            if (PointerFields[i]) return "an object holding a pointer";
        return null;
    }

    /// <summary>The bytes of a one-object message (see <see cref="WhyNotForHost"/>): its words, little-endian, as
    /// many bytes as the object's byte length.</summary>
    public byte[] ObjectBytes()
    {
        var words = new byte[(Words.Length - 1) * 8];
        for (var i = 1; i < Words.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(words.AsSpan((i - 1) * 8), Words[i]);
        var byteLength = Heap.ByteLengthOf(Words[0]);
        return byteLength == words.Length ? words : words[..(int)byteLength];
    }

    /// <summary>
    /// Copies the values (and everything their pointers reach) out of <paramref name="heap"/>; <see cref="MarkSent"/>
    /// then moves them (reference objects are copied, not moved). Traps UseAfterSend if a reached object was already sent.
    /// </summary>
    public static Message CopyOut(Heap heap, ReadOnlySpan<long> values, ReadOnlySpan<bool> isPointer)
    {
        if (!isPointer.Contains(true)) return Scalars(values.IsEmpty ? [] : values.ToArray());
        var offsets = new Dictionary<long, long>();
        var words = new List<long>();
        var pointerFields = new List<int>();
        var references = new List<object>();
        var pending = new Queue<long>();
        var plain = new List<long>();

        long Place(long pointer)
        {
            if (offsets.TryGetValue(pointer, out var at)) return at;
            if (heap.IsSent(pointer)) throw new TrapException(TrapCode.UseAfterSend, "a value being sent reaches an object that was already sent");
            at = words.Count;
            offsets[pointer] = at;
            if (heap.IsReference(pointer))
            {
                words.Add(ReferenceMarker);
                words.Add(references.Count);
                references.Add(heap.ReferenceTarget(pointer)!);
                return at;
            }
            var length = heap.Length(pointer);
            words.Add(heap.LengthAndUnusedBytes(pointer));
            for (var i = 0; i < length; i++) words.Add(0);
            plain.Add(pointer);
            pending.Enqueue(pointer);
            return at;
        }

        var outValues = new long[values.Length];
        var outIsPointer = new bool[values.Length];
        for (var v = 0; v < values.Length; v++)
        {
            outIsPointer[v] = isPointer[v];
            outValues[v] = isPointer[v] ? Place(values[v]) : values[v];
        }
        while (pending.Count > 0)
        {
            var pointer = pending.Dequeue();
            var at = offsets[pointer];
            var length = heap.Length(pointer);
            var arena = heap.Words;
            for (var i = 0L; i < length; i++)
            {
                var field = pointer + i;
                if (heap.IsPointer(field))
                {
                    var target = Place(heap.Words[field]);
                    words[(int)(at + 1 + i)] = target;
                    pointerFields.Add((int)(at + 1 + i));
                }
                else words[(int)(at + 1 + i)] = arena[field];
            }
        }
        var bits = new System.Collections.BitArray(words.Count);
        foreach (var field in pointerFields) bits[field] = true;
        return new Message
        {
            Words = [.. words],
            PointerFields = bits,
            References = [.. references],
            Values = outValues,
            ValueIsPointer = outIsPointer,
            ObjectCount = offsets.Count,
            _sources = plain,
        };
    }

    /// <summary>
    /// Builds the message's objects in <paramref name="heap"/> and writes each value's bits there to
    /// <paramref name="results"/> (a pointer for a pointer value). Allocation may collect: the objects made so far are kept in
    /// <paramref name="roots"/>, which the heap's root set must walk, and the caller must have published its own roots.
    /// </summary>
    public void CopyIn(Heap heap, TemporaryRoots roots, Span<long> results)
    {
        if (Words.Length == 0)
        {
            Values.CopyTo(results);
            return;
        }
        // Pass 1: allocate every object (each may collect and move the earlier ones, which the roots track).
        var objects = new List<long>();
        var index = new Dictionary<long, int>();
        for (long at = 0; at < Words.Length;)
        {
            index[at] = objects.Count;
            var lengthWord = Words[at];
            if (lengthWord == ReferenceMarker)
            {
                roots.Add(heap.AllocateReference(References[(int)Words[at + 1]]));
                objects.Add(at);
                at += 2;
                continue;
            }
            var length = Heap.LengthOf(lengthWord);
            var pointer = heap.Allocate(length);
            heap.RecordByteLength(pointer, Heap.ByteLengthOf(lengthWord));
            roots.Add(pointer);
            objects.Add(at);
            at += length + 1;
        }
        // Pass 2: fill the fields; nothing allocates now, so the pointers in the roots stay put.
        for (var o = 0; o < objects.Count; o++)
        {
            var at = objects[o];
            if (Words[at] == ReferenceMarker) continue;
            var length = Heap.LengthOf(Words[at]);
            var pointer = roots[o];
            for (var i = 0L; i < length; i++)
            {
                var source = (int)(at + 1 + i);
                if (PointerFields[source]) heap.Store(pointer, i, roots[index[Words[source]]], true);
                else heap.Store(pointer, i, Words[source], false);
            }
        }
        for (var v = 0; v < Values.Length; v++) results[v] = ValueIsPointer[v] ? roots[index[Values[v]]] : Values[v];
        roots.Clear();
    }
}

/// <summary>Pointers held by the runtime itself while it builds objects (a message being received): collector roots.</summary>
internal sealed class TemporaryRoots
{
    private long[] _pointers = new long[2];

    public int Count { get; private set; }

    public long this[int index] => _pointers[index];

    public void Add(long pointer)
    {
        if (Count == _pointers.Length) Array.Resize(ref _pointers, Math.Max(2, Count * 2));
        _pointers[Count++] = pointer;
    }

    public void Clear() => Count = 0;

    public void Update(Heap heap)
    {
        for (var i = 0; i < Count; i++) _pointers[i] = heap.Forward(_pointers[i]);
    }
}
