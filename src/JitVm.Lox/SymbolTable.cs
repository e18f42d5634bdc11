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

    /// <summary>The symbols some <c>x.name = value</c> of the program stores to. Only such an assignment makes a
    /// field, so an instance never has a field whose symbol is not here: a method invocation of any other name
    /// cannot be shadowed by a field and goes straight to the class.</summary>
    public HashSet<int> FieldStores { get; } = [];

    /// <summary>Every method of the program, by its name's symbol (a method of a class declared in a loop is one
    /// entry however many classes it makes).</summary>
    public Dictionary<int, List<FunctionNode>> Methods { get; } = [];

    /// <summary>The method named <paramref name="symbol"/> when it is the only method of that name in the program
    /// and takes <paramref name="arity"/> parameters: whatever class an invocation of that name finds a method
    /// in, it is a closure of this function.</summary>
    public FunctionNode? OnlyMethod(int symbol, int arity) =>
        Methods.TryGetValue(symbol, out var methods) && methods.Count == 1 && methods[0].Parameters.Count == arity ? methods[0] : null;

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
