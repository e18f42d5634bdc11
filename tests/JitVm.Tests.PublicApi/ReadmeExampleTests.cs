using JitVm.Diagnostics;
using JitVm.Hosting;
using Xunit;

namespace JitVm.Tests.PublicApi;

/// <summary>The embedding snippet of the README, run as written against a small game script.</summary>
public sealed class ReadmeExampleTests
{
    private const string Game = """
        .import speed (i64) -> (f64)
        .global x f64 = 0
        .func update (dt: f64) -> () export
            global.get x
            i64.const 1
            call speed
            local.get dt
            f64.mul
            f64.add
            global.set x
            return
        .end
        .func position () -> (f64) export
            global.get x
            return
        .end
        """;

    [Fact]
    public void TheReadmeSnippetRuns()
    {
        var path = Path.Combine(Path.GetTempPath(), $"game-{Guid.NewGuid():N}.jvm");
        File.WriteAllText(path, Game);
        var errors = new StringWriter();
        try
        {
            // From here to the end of the loop: the README's snippet (with Console.Error replaced).
            var engine = new Engine(new EngineOptions { IsolateDefaults = new IsolateOptions { Fuel = 1_000_000, Timeout = TimeSpan.FromMilliseconds(5) } });
            var module = engine.LoadFile(path);
            var isolate = engine.CreateIsolate(module, [HostFunction.FromFunc<long, double>("speed", id => 2.5)]);
            var update = isolate.GetAction<double>("update");
            for (var frame = 0; frame < 60; frame++)
            {
                isolate.Fuel = 100_000;
                try { update(1.0 / 60); }
                catch (TrapException trap) { errors.WriteLine(trap.Report()); }
            }

            // The only trap the script can meet is its 5 ms timeout, when a loaded machine (or the CLR compiling the
            // update function at its first call) stalls a frame: the snippet reports it and goes on, and each frame
            // that ran moved x by 2.5/60. Asserting that no frame timed out would depend on the machine's speed.
            var reports = errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("trap:", StringComparison.Ordinal)).ToList();
            Assert.All(reports, r => Assert.StartsWith("trap: DeadlineExceeded", r, StringComparison.Ordinal));
            Assert.Equal(2.5 * (60 - reports.Count) / 60, isolate.GetFunction<double>("position")(), 9);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
