using JitVm.Bytecode;

namespace JitVm.Cli.Repl;

/// <summary>The words the REPL completes and colours. Mnemonics come from the instruction table, never a list of
/// their own.</summary>
internal static class Vocabulary
{
    public static IReadOnlyList<string> Mnemonics { get; } = [.. OpCodeTable.All.Select(o => o.Mnemonic).Order(StringComparer.Ordinal)];

    public static IReadOnlyList<string> Directives { get; } = [".func", ".end", ".local", ".import", ".global", ".data", ".type"];

    public static bool IsMnemonic(string word) => OpCodeTable.TryGet(word, out _);

    // One-letter parts (the f of load.f) are left out: they would colour every one-letter name.
    private static readonly HashSet<string> MnemonicParts = [.. OpCodeTable.All.SelectMany(o => o.Mnemonic.Split('.')).Where(p => p.Length > 1)];

    private static readonly HashSet<string> DirectiveWords = [.. Directives.Select(d => d[1..])];

    private static readonly HashSet<string> CommandWords = [.. ReplSession.Commands.Select(c => c.Name[1..])];

    /// <summary>A whole mnemonic, or a part of one between dots (<c>local</c>, <c>get</c>).</summary>
    public static bool IsMnemonicPart(string word) => IsMnemonic(word) || MnemonicParts.Contains(word);

    /// <summary>A directive without its dot (<c>func</c>).</summary>
    public static bool IsDirectiveWord(string word) => DirectiveWords.Contains(word) || Directives.Contains(word);

    /// <summary>A command without its colon (<c>help</c>).</summary>
    public static bool IsCommandWord(string word) => CommandWords.Contains(word) || ReplSession.Commands.Any(c => c.Name == word);
}
