using System.Text;
using JitVm.Diagnostics;
using JitVm.Hosting;

namespace Embedding;

/// <summary>
/// The host's side of the game. Entity positions live here, in ordinary C# objects; a script can reach them only
/// through the host functions below, so it can never corrupt host memory.
/// </summary>
internal sealed class World
{
    private readonly List<(double X, double Y)> _entities = [];

    /// <summary>The functions a script may import, by name. Linking checks each import's signature against these.</summary>
    public IEnumerable<HostFunction> HostFunctions() =>
    [
        HostFunction.FromFunc<double, double, long>("spawn", Spawn),
        HostFunction.FromFunc<long, double>("entity_x", id => _entities[Index(id)].X),
        HostFunction.FromFunc<long, double>("entity_y", id => _entities[Index(id)].Y),
        HostFunction.FromAction<long, double, double>("move", Move),
        HostFunction.FromAction<long>("log_i64", value => Console.WriteLine($"    [script log] {value}")),
        HostFunction.FromAction<Pointer, long>("say", Say),
        HostFunction.FromAction<Pointer>("say_string", SayString),
        // Strings can also cross as strings: the argument is copied out of the VM string, the result into a new one.
        HostFunction.FromFunc<string, string>("title", name => $"Captain {name} of the {_entities.Count} drones"),
    ];

    public string Describe() =>
        string.Join("  ", _entities.Select((e, id) => $"#{id} ({e.X,5:0.0}, {e.Y,5:0.0})"));

    private long Spawn(double x, double y)
    {
        _entities.Add((x, y));
        return _entities.Count - 1;
    }

    private void Move(long id, double dx, double dy)
    {
        var index = Index(id);
        var (x, y) = _entities[index];
        _entities[index] = (x + dx, y + dy);
    }

    // An ordinary exception is enough to reject bad input: the VM turns it into a HostError trap for the script's
    // call and keeps the exception as the trap's cause.
    private int Index(long id) =>
        id >= 0 && id < _entities.Count ? (int)id : throw new ArgumentOutOfRangeException(nameof(id), $"no entity {id}");

    // The Pointer is valid only during this call (the collector may move the object afterwards), so the text is
    // decoded now and nothing refers to the script's memory once we return.
    private static void Say(Pointer text, long length)
    {
        // A host function may also raise a trap of its own; it is reported at the script's call, like any other.
        if (length < 0 || length > text.ByteLength)
            throw new TrapException(TrapCode.OutOfBounds, $"say: {length} bytes asked for, the object holds {text.ByteLength}");
        Console.WriteLine($"    [script says] {Encoding.UTF8.GetString(text.Bytes[..(int)length])}");
    }

    // A VM string, the layout Isolate.AllocateString makes: word 0 its byte length, then its UTF-8 bytes.
    private static void SayString(Pointer text)
    {
        var bytes = text.Bytes;
        var length = BitConverter.ToInt64(bytes[..8]);
        if (length < 0 || length > bytes.Length - 8)
            throw new TrapException(TrapCode.OutOfBounds, $"say_string: the length word says {length} bytes, the object holds {bytes.Length - 8}");
        Console.WriteLine($"    [script says] {Encoding.UTF8.GetString(bytes.Slice(8, (int)length))}");
    }
}
