using System.CommandLine;

namespace JitVm.Cli;

/// <summary>
/// Options whose value is one name of an enum. Their parse error is one line that lists every valid value as the
/// help text spells them, instead of the parser's default, which names the .NET type and spreads its
/// suggestions over several lines.
/// </summary>
internal static class EnumOptions
{
    /// <summary>An option taking one name of <typeparamref name="T"/> (any case); <paramref name="what"/> names a value in
    /// the error, as in "'bogus' is not a tier"; <paramref name="lowerCase"/> lists the names in lower case, as the help
    /// text of that option spells them.</summary>
    public static Option<T> Create<T>(string name, string what, T defaultValue, bool lowerCase = false) where T : struct, Enum
    {
        var option = new Option<T>(name) { DefaultValueFactory = _ => defaultValue };
        option.CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !text.Any(char.IsDigit)) return value;
            var names = Enum.GetNames<T>().Select(n => lowerCase ? n.ToLowerInvariant() : n).ToArray();
            var list = names.Length == 1 ? names[0] : string.Join(", ", names[..^1]) + " or " + names[^1];
            result.AddError($"{name}: {Diagnostics.Printable.Quote(text)} is not {what}; use {list}");
            return defaultValue;
        };
        return option;
    }
}
