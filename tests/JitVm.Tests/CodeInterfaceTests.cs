using System.Reflection;
using System.Runtime.CompilerServices;
using JitVm.Bytecode;
using JitVm.Diagnostics;
using JitVm.Jit;
using Xunit;

namespace JitVm.Tests;

/// <summary>
/// Saved assemblies are compiled against <see cref="CodeInterface.Version"/>: what compiled IL depends on is
/// fingerprinted here and compared with src/JitVm/Jit/CodeInterface.fingerprint, so changing any of it without
/// bumping the version fails. Regenerate with JITVM_UPDATE_FINGERPRINT=1 after bumping the version.
/// </summary>
public sealed class CodeInterfaceTests
{
    private const string UpdateVariable = "JITVM_UPDATE_FINGERPRINT";

    private static string FingerprintPath => RepositoryPaths.File("src", "JitVm", "Jit", "CodeInterface.fingerprint");

    [Fact]
    public void TheCodeInterfaceMatchesItsFingerprint()
    {
        var generated = Generate();
        var current = File.Exists(FingerprintPath) ? File.ReadAllText(FingerprintPath).ReplaceLineEndings("\n") : null;
        if (current == generated) return;
        var recordedVersion = current?.Split('\n')[0];
        var bumped = recordedVersion != generated.Split('\n')[0];
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            // Regenerating is only for a new version: the same version with another interface would let old
            // assemblies load and call helpers that changed under them.
            Assert.True(current is null || bumped,
                $"the code interface changed but CodeInterface.Version is still {CodeInterface.Version}: bump it before regenerating the fingerprint\n{Difference(current, generated)}");
            File.WriteAllText(FingerprintPath, generated);
            return;
        }
        Assert.Fail((bumped && current is not null && Difference(current, generated).Split('\n').All(l => l[2..].StartsWith("version ", StringComparison.Ordinal))
                        ? "CodeInterface.Version changed: update the fingerprint"
                        : "the code interface changed: bump CodeInterface.Version and update the fingerprint") +
                    $" ({UpdateVariable}=1 dotnet test --filter {nameof(CodeInterfaceTests)} writes {FingerprintPath}), then review the diff\n" +
                    Difference(current, generated));
    }

    /// <summary>Lines only in the recorded fingerprint (-) and only in the code (+).</summary>
    private static string Difference(string? current, string generated)
    {
        var old = (current ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var now = generated.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', old.Except(now, StringComparer.Ordinal).Select(l => "- " + l).Concat(now.Except(old, StringComparer.Ordinal).Select(l => "+ " + l)));
    }

    /// <summary>The mechanically checkable part of the code interface, one fact a line (see CodeInterface.Version).</summary>
    internal static string Generate()
    {
        var lines = new List<string> { $"version {CodeInterface.Version}" };
        foreach (var type in Enum.GetValues<VmType>()) lines.Add($"type {type.Name()} {Name(FunctionCompiler.ClrType(type))}");
        lines.Add($"parameters {string.Join(", ", FunctionCompiler.ParameterTypes(new FunctionType([], [])).Select(Name))}, arguments...");
        for (var results = 0; results <= 2; results++)
            lines.Add($"returns with {results} i64 results {Name(FunctionCompiler.ReturnType(new FunctionType([], [.. Enumerable.Repeat(VmType.I64, results)])))}");
        lines.Add($"adapter {Signature(typeof(SlotAdapter).GetMethod("Invoke")!)}");
        lines.Add($"dispatcher {Signature(typeof(SavedDispatcher).GetMethod("Invoke")!)}");
        var layout = typeof(Word).StructLayoutAttribute!;
        lines.Add($"word layout {layout.Value} pack {layout.Pack} size {layout.Size} managed size {Unsafe.SizeOf<Word>()}");
        foreach (var field in typeof(Word).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).OrderBy(f => f.MetadataToken))
            lines.Add($"word field {Name(field.FieldType)} {field.Name}");
        lines.AddRange(typeof(JitRuntime).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Select(m => $"helper {Signature(m)}").Order(StringComparer.Ordinal));
        // Compiled code also calls some of JitVm's shared definitions directly (the arithmetic both tiers use).
        lines.AddRange(typeof(FunctionCompiler.Helpers).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetValue(null)).OfType<MethodInfo>()
            .Where(m => m.DeclaringType!.Assembly == typeof(JitRuntime).Assembly && m.DeclaringType != typeof(JitRuntime))
            .Select(m => $"shared {m.DeclaringType!.FullName}.{Signature(m)}").Distinct().Order(StringComparer.Ordinal));
        foreach (var code in Enum.GetValues<TrapCode>()) lines.Add($"trap {code} {(int)code}");
        lines.Add($"deoptimising slice {JitVm.Runtime.Fiber.DeoptimisingSlice}");
        lines.Add($"size fuel units {SizeFuel.UnitsPerFuel}");
        foreach (var op in OpCodeTable.All) lines.Add($"fuel {op.Mnemonic} {op.Fuel} per {op.WordsPerFuel}");
        return string.Join('\n', lines) + "\n";
    }

    private static string Signature(MethodInfo method) =>
        $"{method.Name}({string.Join(", ", method.GetParameters().Select(p => Name(p.ParameterType)))}) -> {Name(method.ReturnType)}";

    /// <summary>A type's name without assembly versions, so the fingerprint does not change with the framework.</summary>
    private static string Name(Type type) =>
        type.IsByRef ? Name(type.GetElementType()!) + "&"
        : type.IsArray ? Name(type.GetElementType()!) + "[]"
        : type.IsGenericType ? $"{type.Namespace}.{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>"
        : type.FullName ?? type.Name;
}
