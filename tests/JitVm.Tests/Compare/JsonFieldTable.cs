using System.Text.Json;
using Xunit;

namespace JitVm.Tests.Compare;

/// <summary>
/// The JSON field tables of spec/execution.md §10.3 and §10.4 (<c>| `name` | type | meaning |</c>), and a check
/// that a document has exactly the fields the table lists, each of a listed type. The spec is the schema: the
/// test reads it rather than keeping a copy of it.
/// </summary>
internal sealed class JsonFieldTable
{
    private readonly Dictionary<string, string[]> _types;

    private JsonFieldTable(Dictionary<string, string[]> types) => _types = types;

    /// <summary>Reads the table that follows the line starting with <paramref name="caption"/>.</summary>
    public static JsonFieldTable FromSpec(string caption)
    {
        var lines = File.ReadAllLines(RepositoryPaths.File("spec", "execution.md"));
        var start = Array.FindIndex(lines, l => l.StartsWith(caption, StringComparison.Ordinal));
        Assert.True(start >= 0, $"spec/execution.md has no line starting '{caption}'");
        var types = new Dictionary<string, string[]>();
        foreach (var line in lines.Skip(start + 1).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (!cells[1].StartsWith('`')) continue;
            types[cells[1].Trim('`')] = cells[2].Split(" or ");
        }
        Assert.NotEmpty(types);
        return new JsonFieldTable(types);
    }

    /// <summary>Asserts that <paramref name="element"/>, found at <paramref name="prefix"/> (empty for the root,
    /// else like <c>configurations[].</c>), has exactly the table's fields at that level, with their types, and
    /// checks nested objects and arrays of objects the same way.</summary>
    public void Check(JsonElement element, string prefix = "")
    {
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
        var expected = _types.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !k[prefix.Length..].Contains('.'))
            .Select(k => k[prefix.Length..]).Order().ToArray();
        var actual = element.EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(expected, actual);
        foreach (var property in element.EnumerateObject())
        {
            var path = prefix + property.Name;
            var allowed = _types[path];
            var kind = property.Value.ValueKind switch
            {
                JsonValueKind.String => "string",
                JsonValueKind.Number => "number",
                JsonValueKind.True or JsonValueKind.False => "boolean",
                JsonValueKind.Null => "null",
                JsonValueKind.Array => "array",
                JsonValueKind.Object => "object",
                var other => other.ToString(),
            };
            Assert.True(allowed.Contains(kind), $"{path} is {kind}; spec/execution.md allows {string.Join(" or ", allowed)}");
            if (kind == "object") Check(property.Value, path + ".");
            if (kind == "array")
                foreach (var item in property.Value.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object))
                    Check(item, path + "[].");
        }
    }
}
