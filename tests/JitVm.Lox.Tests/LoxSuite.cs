using Xunit;
using System.Text;
using System.Text.RegularExpressions;
using JitVm.Hosting;

namespace JitVm.Lox.Tests;

/// <summary>
/// The book's test suite, read where it lies (never copied into the repository): the folder named by
/// <c>JITVM_LOX_TESTS</c>, else <c>shared/lox/test</c> next to an ancestor of the test binaries' folder. The clox
/// suite is every <c>*.lox</c> there except <c>scanning/</c>, <c>expressions/</c> and <c>benchmark/</c>.
/// </summary>
internal static partial class LoxSuite
{
    public static readonly string? Directory = Locate();

    public const string Missing = "the Lox test suite was not found (set JITVM_LOX_TESTS to its test folder)";

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable("JITVM_LOX_TESTS") is { Length: > 0 } configured)
            return System.IO.Directory.Exists(configured) ? Path.GetFullPath(configured) : null;
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "shared", "lox", "test");
            if (System.IO.Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static readonly string[] Excluded = ["scanning", "expressions", "benchmark"];

    /// <summary>The suite's files, relative to <see cref="Directory"/>, with '/' separators, sorted.</summary>
    public static IReadOnlyList<string> Files { get; } = Directory is null
        ? []
        : [.. System.IO.Directory.EnumerateFiles(Directory, "*.lox", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Directory, path).Replace('\\', '/'))
            .Where(path => !Excluded.Any(folder => path.StartsWith(folder + "/", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)];

    [GeneratedRegex(@"// expect: ?(.*)")]
    private static partial Regex ExpectedOutput();

    [GeneratedRegex(@"// (Error.*)")]
    private static partial Regex ExpectedError();

    [GeneratedRegex(@"// \[((java|c) )?line (\d+)\] (Error.*)")]
    private static partial Regex ErrorLine();

    [GeneratedRegex(@"// expect runtime error: (.+)")]
    private static partial Regex ExpectedRuntimeError();

    /// <summary>What a test file expects, read as the book's runner (tool/bin/test.dart) reads it for clox.</summary>
    public sealed record Expectation(List<string> Output, List<string> CompileErrors, string? RuntimeError, int RuntimeErrorLine)
    {
        public int ExitCode => CompileErrors.Count > 0 ? 65 : RuntimeError is not null ? 70 : 0;
    }

    public static Expectation Read(string source)
    {
        var expectation = new Expectation([], [], null, 0);
        var lines = source.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNumber = i + 1;
            var line = lines[i];
            if (ExpectedOutput().Match(line) is { Success: true } output)
            {
                expectation.Output.Add(output.Groups[1].Value.TrimEnd('\r'));
                continue;
            }
            if (ErrorLine().Match(line) is { Success: true } errorLine)
            {
                if (errorLine.Groups[2].Value != "java")
                    expectation.CompileErrors.Add($"[line {errorLine.Groups[3].Value}] {errorLine.Groups[4].Value.TrimEnd('\r')}");
                continue;
            }
            if (ExpectedError().Match(line) is { Success: true } error)
            {
                expectation.CompileErrors.Add($"[line {lineNumber}] {error.Groups[1].Value.TrimEnd('\r')}");
                continue;
            }
            if (ExpectedRuntimeError().Match(line) is { Success: true } runtime)
                expectation = expectation with { RuntimeError = runtime.Groups[1].Value.TrimEnd('\r'), RuntimeErrorLine = lineNumber };
        }
        return expectation;
    }

    /// <summary>Compiles and runs <paramref name="source"/> in-process; returns the exit code clox would give and
    /// both output streams.</summary>
    public static (int ExitCode, string Output, string Error) Run(string source, IsolateOptions options, string name = "test.lox")
    {
        LoxProgram program;
        try
        {
            program = LoxCompiler.Compile(source, name);
        }
        catch (LoxCompileException e)
        {
            return (LoxProgram.CompileErrorExitCode, "", string.Join("\n", e.Errors) + "\n");
        }
        using var output = new MemoryStream();
        var error = new StringWriter();
        var code = program.Run(output, error, options);
        return (code, Encoding.UTF8.GetString(output.ToArray()), error.ToString());
    }

    /// <summary>Runs one suite file and returns what differs from its expectations (empty when it passes).</summary>
    public static List<string> Check(string relativePath, IsolateOptions options)
    {
        // An absolute path (an example of the repository) is taken as it is.
        var source = File.ReadAllText(Path.Combine(Directory ?? "", relativePath));
        var expected = Read(source);
        var (exitCode, output, error) = Run(source, options, Path.GetFileName(relativePath));
        var failures = new List<string>();
        var outputLines = output.Split('\n').ToList();
        if (outputLines[^1].Length == 0) outputLines.RemoveAt(outputLines.Count - 1);
        var errorLines = error.Split('\n').Where(l => l.Length > 0).ToList();
        if (expected.CompileErrors.Count > 0)
        {
            foreach (var missing in expected.CompileErrors.Where(e => !errorLines.Contains(e))) failures.Add($"missing compile error: {missing}");
            foreach (var extra in errorLines.Where(e => !expected.CompileErrors.Contains(e))) failures.Add($"unexpected error output: {extra}");
        }
        else if (expected.RuntimeError is not null)
        {
            if (errorLines.Count == 0) failures.Add($"expected runtime error '{expected.RuntimeError}' and got none");
            else
            {
                if (errorLines[0] != expected.RuntimeError) failures.Add($"expected runtime error '{expected.RuntimeError}', got '{errorLines[0]}'");
                if (!errorLines.Skip(1).Any(l => l.Contains($"[line {expected.RuntimeErrorLine}]", StringComparison.Ordinal)))
                    failures.Add($"expected a stack trace line with [line {expected.RuntimeErrorLine}], got: {string.Join(" | ", errorLines.Skip(1))}");
            }
        }
        else if (errorLines.Count > 0)
        {
            failures.Add($"unexpected error output: {string.Join(" | ", errorLines)}");
        }
        if (exitCode != expected.ExitCode) failures.Add($"exit code {exitCode}, expected {expected.ExitCode}");
        for (var i = 0; i < Math.Max(outputLines.Count, expected.Output.Count); i++)
        {
            var actual = i < outputLines.Count ? outputLines[i] : "<nothing>";
            var wanted = i < expected.Output.Count ? expected.Output[i] : "<nothing>";
            if (actual != wanted)
            {
                failures.Add($"output line {i + 1}: expected '{wanted}', got '{actual}'");
                break;
            }
        }
        return failures;
    }
}

/// <summary>A theory over the suite's files, skipped (never passed) when the suite is not there.</summary>
public sealed class LoxSuiteTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips the theory when the suite is absent.</summary>
    public LoxSuiteTheoryAttribute()
    {
        if (LoxSuite.Directory is null) Skip = LoxSuite.Missing;
    }
}

/// <summary>A fact about the suite, skipped (never passed) when the suite is not there.</summary>
public sealed class LoxSuiteFactAttribute : FactAttribute
{
    /// <summary>Skips the fact when the suite is absent.</summary>
    public LoxSuiteFactAttribute()
    {
        if (LoxSuite.Directory is null) Skip = LoxSuite.Missing;
    }
}
