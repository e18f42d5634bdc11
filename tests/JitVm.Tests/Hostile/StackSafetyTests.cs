using System.Diagnostics;
using Xunit;

namespace JitVm.Tests.Hostile;

/// <summary>
/// VM code must never overflow the host's .NET stack (which kills the process): on small host threads, below a
/// host's own deep frames, through nested entries and with huge compiled frames, every tier ends in the right
/// result or a <c>CallDepthExceeded</c> trap. Each scenario runs in a child process (tests/JitVm.ChildHost), in
/// all three tiers, so an overflow shows as a failed test with the child's output instead of a crashed test run.
/// </summary>
public sealed class StackSafetyTests
{
    private static readonly string[] TierNames = ["interpreter", "jit", "tiered"];

    private const string RecursionCompletes =
        "down trap CallDepthExceeded; sum result 40504500; typed sum result 40504500; typed down trap CallDepthExceeded";

    /// <summary>Runs the child host with one scenario and checks it exited normally and printed, for every tier,
    /// <c>scenario tier: expected</c>.</summary>
    private static void AssertScenario(string scenario, string expected)
    {
        var childDll = Path.Combine(AppContext.BaseDirectory, "JitVm.ChildHost.dll");
        Assert.True(File.Exists(childDll), $"the child host was not built next to the tests: {childDll}");
        var start = new ProcessStartInfo(ChildProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(childDll);
        start.ArgumentList.Add(scenario);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        // Only a guard against a hung child, far above any run's length: nothing here measures speed.
        if (!child.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"the child host did not finish scenario '{scenario}'");
        }
        var stdout = output.Result.ReplaceLineEndings("\n");
        var stderr = error.Result;
        Assert.True(child.ExitCode == 0,
            $"the child host died running '{scenario}' (exit code {child.ExitCode}; 134 is a stack overflow)\nstdout:\n{stdout}\nstderr:\n{Tail(stderr)}");
        var wanted = string.Concat(TierNames.Select(tier => $"{scenario} {tier}: {expected}\n"));
        Assert.Equal(wanted, stdout);
    }


    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];

    [Theory]
    [InlineData(128)]
    [InlineData(160)]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(1024)]
    public void RecursionOnASmallHostThreadTrapsOrCompletesInsteadOfOverflowingIt(int stackKib) =>
        AssertScenario($"thread:{stackKib}", RecursionCompletes);

    [Fact]
    public void AHostThatHasUsed600KiBOfA1MiBStackCanStillCallIn() =>
        AssertScenario("preused", RecursionCompletes);

    [Fact]
    public void AnEntryWithTooLittleStackLeftTrapsCallDepthExceeded() =>
        AssertScenario("exhausted", "down trap CallDepthExceeded; sum trap CallDepthExceeded; typed sum trap CallDepthExceeded; typed down trap CallDepthExceeded");

    [Fact]
    public void SixteenNestedIsolateEntriesNineThousandFramesDeepEachGiveTheRightResult() =>
        AssertScenario("nested", "result 648072001 (expected)");

    [Fact]
    public void ATrapInTheInnermostOfSixteenNestedEntriesReachesTheOutermostHost() =>
        AssertScenario("nestedtrap", "trap CallDepthExceeded");

    [Fact]
    public void AFunctionWhoseCompiledFrameWouldOverflowTheStackStillReturnsItsResult() =>
        AssertScenario("bigframe", "main thread result 7; 256 KiB thread result 7; typed result 7");

    [Fact]
    public void MutualRecursionOfAnInterpretedAndACompiledFunctionTrapsWithoutOverflowing() =>
        AssertScenario("mutual", "trap CallDepthExceeded");

    [Fact]
    public void MutualRecursionOnASmallThreadTrapsWithoutOverflowing() =>
        AssertScenario("mutual:256", "trap CallDepthExceeded");
}
