using JitVm.Bytecode;

namespace JitVm.Cli.Repl;

/// <summary>The words the REPL completes and colours. Mnemonics come from the instruction table, never a list of
/// their own.</summary>
internal static class Vocabulary
{
    public static IReadOnlyList<string> Mnemonics { get; } = [.. OpCodeTable.All.Select(o => o.Mnemonic).Order(StringComparer.Ordinal)];

    public static IReadOnlyList<string> Directives { get; } = [".func", ".end", ".local", ".import", ".global", ".data", ".type"];

    public static bool IsMnemonic(string word) => OpCodeTable.TryGet(word, out _);
}
