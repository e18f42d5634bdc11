namespace JitVm.Lox;

/// <summary>
/// The names a program uses as property, method and global names, each interned once at compile time as a small
/// positive integer. Field and method tables are keyed by these numbers, so the running program never compares
/// names: Lox reaches a property only through a name written in the source.
/// </summary>
internal sealed class SymbolTable
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _names = [""];

    /// <summary>The symbol of <c>init</c>, looked up when a class is called.</summary>
    public int Init { get; }

    public SymbolTable() => Init = Intern("init");

    public int Intern(string name)
    {
        if (_ids.TryGetValue(name, out var id)) return id;
        id = _names.Count;
        _names.Add(name);
        _ids.Add(name, id);
        return id;
    }

    public string Name(long symbol) => symbol > 0 && symbol < _names.Count ? _names[(int)symbol] : "?";
}
