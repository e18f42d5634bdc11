namespace JitVm.Lox;

/// <summary>
/// How Lox values live in VM words (spec/lox.md §2). Every Lox value is one <c>word</c>:
/// <list type="bullet">
/// <item>a number is an untagged word holding the f64's bits;</item>
/// <item><c>nil</c>, <c>false</c> and <c>true</c> (and the marker of a global not yet defined) are untagged words
/// holding quiet-NaN bit patterns no Lox arithmetic produces (the VM's arithmetic gives only the canonical NaN,
/// <c>0x7FF8…</c>, and negation flips only the sign);</item>
/// <item>everything else is a tagged word: a pointer to a heap object whose word 0 is its <see cref="ObjectKind"/>.</item>
/// </list>
/// </summary>
internal static class Representation
{
    /// <summary>The top 16 bits every singleton shares; no number the program can make has them.</summary>
    public const long SingletonTop = 0x7FFD;

    public const long Nil = 0x7FFD_0000_0000_0000;

    public const long False = 0x7FFD_0000_0000_0001;

    public const long True = 0x7FFD_0000_0000_0002;

    /// <summary>The value of a global variable before its definition ran: reading it is "Undefined variable".</summary>
    public const long Undefined = 0x7FFD_0000_0000_0003;
}

/// <summary>The kind in word 0 of every heap object a Lox value can point to; the layouts are in spec/lox.md §2.</summary>
internal enum ObjectKind : long
{
    /// <summary>[kind, byte length, UTF-8 bytes from byte 16 on].</summary>
    String = 1,

    /// <summary>[kind, function reference, arity, name (string), captured boxes…].</summary>
    Closure = 2,

    /// <summary>[kind]: the native <c>clock</c>.</summary>
    Native = 3,

    /// <summary>[kind, name (string), method table].</summary>
    Class = 4,

    /// <summary>[kind, class, field table].</summary>
    Instance = 5,

    /// <summary>[kind, receiver (word), closure].</summary>
    BoundMethod = 6,
}

/// <summary>Field indices of the object layouts.</summary>
internal static class Layout
{
    public const long Kind = 0;
    public const long StringLength = 1;
    public const long StringBytes = 16;
    public const long StringHeaderWords = 2;
    public const long ClosureFunction = 1;
    public const long ClosureArity = 2;
    public const long ClosureName = 3;
    public const long ClosureUpvalues = 4;
    public const long ClassName = 1;
    public const long ClassMethods = 2;
    public const long InstanceClass = 1;
    public const long InstanceFields = 2;
    public const long BoundReceiver = 1;
    public const long BoundClosure = 2;

    /// <summary>A table: word 0 its entry count, then capacity pairs (key symbol, 0 when empty; value word).</summary>
    public const long TableCount = 0;
}

/// <summary>What a runtime error was, set in the error globals just before the runtime traps
/// <c>Unreachable</c>; the host turns it into clox's message.</summary>
internal enum RuntimeError : long
{
    None = 0,
    OperandNumber = 1,
    OperandsNumbers = 2,
    OperandsAdd = 3,
    UndefinedVariable = 4,
    UndefinedProperty = 5,
    NotCallable = 6,
    Arity = 7,
    PropertiesOnlyOnInstances = 8,
    FieldsOnlyOnInstances = 9,
    SuperclassNotClass = 10,
    MethodsOnlyOnInstances = 11,
}
