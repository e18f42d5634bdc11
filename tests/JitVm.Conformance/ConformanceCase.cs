using System.Globalization;

namespace JitVm.Conformance;

/// <summary>
/// A conformance case: a program file whose comments state what running it must produce
/// (tests/JitVm.Conformance/README.md lists the directives).
/// </summary>
internal sealed class ConformanceCase
{
    public required string Path { get; init; }

    public required string Name { get; init; }

    public required string Text { get; init; }

    public List<string> ExpectedOutput { get; } = [];

    public string? ExpectedTrap { get; set; }

    /// <summary>"function:line" of the innermost frame, when the case names it.</summary>
    public string? ExpectedTrapLocation { get; set; }

    public string? ExpectedVerifyError { get; set; }

    public string? ExpectedFormatError { get; set; }

    public long? ExpectedFuel { get; set; }

    public long? Fuel { get; set; }

    public int? MaxDepth { get; set; }

    public long? MaxHeap { get; set; }

    /// <summary>IsolateOptions.MaxTasks: the most spawned tasks alive at once.</summary>
    public int? MaxTasks { get; set; }

    /// <summary>The isolate's timeout per call, in milliseconds.</summary>
    public int? TimeoutMilliseconds { get; set; }

    /// <summary>The program runs with an already-cancelled token.</summary>
    public bool Cancelled { get; set; }

    public string Entry { get; set; } = "main";

    public List<string> Arguments { get; } = [];

    public bool ExpectsFailureToLoad => ExpectedVerifyError is not null || ExpectedFormatError is not null;

    public static ConformanceCase Parse(string path, string name)
    {
        var text = File.ReadAllText(path);
        var result = new ConformanceCase { Path = path, Name = name, Text = text };
        foreach (var rawLine in text.Split('\n'))
        {
            var comment = rawLine.IndexOf(';', StringComparison.Ordinal);
            if (comment < 0) continue;
            var directive = rawLine[(comment + 1)..].Trim();
            var colon = directive.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var key = directive[..colon].Trim();
            var rawValue = directive[(colon + 1)..];
            // "expect:" keeps the value exactly (minus one separating space) so leading spaces can be tested.
            var value = rawValue.Trim();
            switch (key)
            {
                case "expect":
                    result.ExpectedOutput.Add(rawValue.StartsWith(' ') ? rawValue[1..].TrimEnd('\r') : rawValue.TrimEnd('\r'));
                    break;
                case "expect-trap":
                    var parts = value.Split(" at ", 2, StringSplitOptions.TrimEntries);
                    result.ExpectedTrap = parts[0];
                    result.ExpectedTrapLocation = parts.Length > 1 ? parts[1] : null;
                    break;
                case "expect-verify-error": result.ExpectedVerifyError = value; break;
                case "expect-format-error": result.ExpectedFormatError = value; break;
                case "expect-fuel": result.ExpectedFuel = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "fuel": result.Fuel = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "max-depth": result.MaxDepth = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "max-heap": result.MaxHeap = long.Parse(value, CultureInfo.InvariantCulture); break;
                case "max-tasks": result.MaxTasks = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "timeout-ms": result.TimeoutMilliseconds = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "cancelled": result.Cancelled = bool.Parse(value); break;
                case "entry": result.Entry = value; break;
                case "args": result.Arguments.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break;
            }
        }
        return result;
    }

    public override string ToString() => Name;
}
