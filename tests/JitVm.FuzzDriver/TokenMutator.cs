using System.Text;

namespace JitVm.FuzzDriver;

/// <summary>
/// Seeded token-level mutations of assembly sources (spec/text-format.md §2): tokens are replaced by other tokens of
/// the corpus, deleted, duplicated or swapped; numbers become edge values; lines are duplicated, dropped or
/// moved; random instructions and odd raw characters are inserted. Most mutants still lex, so they reach the
/// assembler and the verifier.
/// </summary>
public sealed class TokenMutator
{
    private static readonly string[] InterestingNumbers =
    [
        "0", "1", "-1", "2", "7", "63", "64", "255", "256", "65535", "65536", "65537", "2147483647", "2147483648",
        "-2147483648", "4294967295", "4294967296", "4294967297", "4294967291", "4294967303", "9223372036854775807",
        "-9223372036854775808", "9223372036854775806", "0xFFFFFFFFFFFFFFFF", "0x7FFFFFFFFFFFFFFF", "0x100000000",
        "1099511627776", "16777216", "1e308", "-0.0", "nan", "inf", "-inf", "nan:0x7ff8000000000001",
        "'a'", "'\\xff'", "99999999999999999999", "0x", "1_000",
    ];

    private static readonly string[] OddCharacters =
        ["\0", "\r", "\v", "\f", "\u001b[31m", "\u0085", "\u2028", "\u00e9", "\ud83d\ude00", "\ufeff", "\u007f", "\"", "'", "\\", "#", "@"];

    private readonly string[] _dictionary;
    private readonly string[] _mnemonics;

    /// <summary>Builds the token dictionary from every seed source.</summary>
    public TokenMutator(IEnumerable<string> sources)
    {
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        var mnemonics = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            foreach (var line in source.Split('\n'))
            {
                var significant = Tokenize(line).Where(t => !IsTrivia(t)).ToList();
                foreach (var token in significant) tokens.Add(token);
                // An instruction line starts with its mnemonic; directives start with '.', labels end with ':'.
                if (significant.Count > 0 && char.IsAsciiLetter(significant[0][0]) && !significant[0].EndsWith(':'))
                    mnemonics.Add(significant[0]);
            }
        }
        _dictionary = [.. tokens.Order(StringComparer.Ordinal)];
        _mnemonics = [.. mnemonics.Order(StringComparer.Ordinal)];
    }

    /// <summary>Makes one mutant of <paramref name="source"/>: one to four edits chosen from the random stream.</summary>
    public string Mutate(string source, Random random)
    {
        var lines = source.Split('\n').Select(line => Tokenize(line).ToList()).ToList();
        var edits = 1 + random.Next(4);
        for (var k = 0; k < edits; k++) Edit(lines, random);
        var text = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0) text.Append('\n');
            foreach (var token in lines[i]) text.Append(token);
        }
        return text.ToString();
    }

    private void Edit(List<List<string>> lines, Random random)
    {
        var line = lines[random.Next(lines.Count)];
        var significant = Enumerable.Range(0, line.Count).Where(i => !IsTrivia(line[i])).ToList();
        switch (random.Next(11))
        {
            case 10:
                {
                    // A raw character the lexer must reject or accept cleanly: controls, NUL, CR, escape, non-ASCII.
                    var character = OddCharacters[random.Next(OddCharacters.Length)];
                    var at = random.Next(line.Count + 1);
                    line.Insert(at, character);
                    break;
                }
            case 0:
            case 1:
                if (significant.Count > 0) line[significant[random.Next(significant.Count)]] = _dictionary[random.Next(_dictionary.Length)];
                break;
            case 2:
                if (significant.Count > 0) line.RemoveAt(significant[random.Next(significant.Count)]);
                break;
            case 3:
                if (significant.Count > 0)
                {
                    var at = significant[random.Next(significant.Count)];
                    line.Insert(at, " ");
                    line.Insert(at, line[at + 1]);
                }
                break;
            case 4:
                if (significant.Count > 1)
                {
                    var a = significant[random.Next(significant.Count)];
                    var b = significant[random.Next(significant.Count)];
                    (line[a], line[b]) = (line[b], line[a]);
                }
                break;
            case 5:
            case 6:
                {
                    var numbers = significant.Where(i => IsNumber(line[i])).ToList();
                    var number = InterestingNumbers[random.Next(InterestingNumbers.Length)];
                    if (numbers.Count > 0) line[numbers[random.Next(numbers.Count)]] = number;
                    else line.AddRange([" ", number]);
                    break;
                }
            case 7:
                lines.Insert(random.Next(lines.Count + 1), [.. line]);
                break;
            case 8:
                if (lines.Count > 1)
                {
                    lines.Remove(line);
                    if (random.Next(2) == 0) lines.Insert(random.Next(lines.Count + 1), line);
                }
                break;
            default:
                {
                    // A random instruction with a random operand drawn from the corpus (often of the right kind).
                    List<string> inserted = ["    ", _mnemonics[random.Next(_mnemonics.Length)]];
                    if (random.Next(2) == 0) inserted.AddRange([" ", _dictionary[random.Next(_dictionary.Length)]]);
                    lines.Insert(random.Next(lines.Count + 1), inserted);
                    break;
                }
        }
    }

    private static bool IsTrivia(string token) => token.Length == 0 || token[0] is ' ' or '\t' or '\r' or ';';

    private static bool IsNumber(string token) =>
        token.Length > 0 && (char.IsAsciiDigit(token[0]) || (token.Length > 1 && token[0] is '-' or '+' && char.IsAsciiDigit(token[1])));

    /// <summary>Splits one line into tokens, keeping whitespace and comments as tokens so the text can be rebuilt.
    /// The split only approximates the real lexer: a mutant that lexes differently is still a valid test input.</summary>
    public static IEnumerable<string> Tokenize(string line)
    {
        var i = 0;
        while (i < line.Length)
        {
            var start = i;
            var c = line[i];
            if (c is ' ' or '\t' or '\r')
            {
                while (i < line.Length && line[i] is ' ' or '\t' or '\r') i++;
            }
            else if (c == ';')
            {
                i = line.Length;
            }
            else if (c is '"' or '\'')
            {
                i++;
                while (i < line.Length && line[i] != c)
                    i += line[i] == '\\' ? 2 : 1;
                i = Math.Min(line.Length, i + 1);
            }
            else if (c == '-' && i + 1 < line.Length && line[i + 1] == '>')
            {
                i += 2;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '$' or '-' or '+')
            {
                i++;
                while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or '.' or '$' or ':')) i++;
            }
            else
            {
                i++;
            }
            yield return line[start..i];
        }
    }
}
