using System.Diagnostics;
using Embedding;
using JitVm.Diagnostics;
using JitVm.Hosting;

const string Usage = "usage: Embedding [--frames N] [--script game|misbehaving]";
const double FrameTime = 1.0 / 60;           // a fixed simulation step, whatever the wall clock does
const long FrameFuel = 10_000;               // a frame's instruction budget: about 30 times what game.jvm needs
const long LoadFuel = 1_000_000_000_000;     // loading may take far longer than a frame...
var loadTimeout = TimeSpan.FromMilliseconds(250);   // ...but not longer than this
var frameTimeout = TimeSpan.FromMilliseconds(50);   // a frame stops at whichever comes first: its fuel or this

if (!TryParseArguments(args, out var frames, out var scripts))
{
    Console.Error.WriteLine(Usage);
    return 64;
}

// The engine hands these limits to every isolate it creates. Each isolate has its own heap, fuel and call depth,
// so one runaway script can exhaust only its own budget, never the host's memory, stack or time.
var engine = new Engine(new EngineOptions
{
    IsolateDefaults = new IsolateOptions
    {
        Fuel = FrameFuel,
        MaxHeapBytes = 1 << 20,
        MaxCallDepth = 500,
        Timeout = frameTimeout,
    },
});

foreach (var script in scripts) RunScript(engine, script, frames, loadTimeout, frameTimeout);
return 0;

static void RunScript(Engine engine, string script, int frames, TimeSpan loadTimeout, TimeSpan frameTimeout)
{
    Console.WriteLine($"== scripts/{script}.jvm, {frames} frames");
    // Loading assembles and verifies the script: malformed or unsafe code is rejected here, before any of it runs.
    var module = engine.LoadFile(Path.Combine(AppContext.BaseDirectory, "scripts", script + ".jvm"));
    var world = new World();
    var isolate = engine.CreateIsolate(module, world.HostFunctions());
    // Binding once, outside the loop, checks the signatures a single time; each frame's call is then a plain
    // delegate call with no lookup and no boxing.
    var init = isolate.GetAction("init");
    var update = isolate.GetAction<double>("update");

    // Limits can be changed between calls: loading gets more fuel and time than a frame, then back to frame limits.
    isolate.Fuel = LoadFuel;
    isolate.Timeout = loadTimeout;
    var traps = Report("init", Run(init)) ? 1 : 0;
    isolate.Timeout = frameTimeout;
    if (module.FindFunction("greet") >= 0)
    {
        // Strings cross the boundary as VM strings (a byte length, then UTF-8): a string parameter of a typed export
        // is copied into the isolate's heap for the call, and a string result is copied back out.
        var greet = isolate.GetFunction<string, string>("greet");
        if (Report("greet", Run(() => Console.WriteLine($"    the script greeted {greet("Ada Lovelace")}")))) traps++;
    }

    var reportEvery = Math.Max(1, frames / 5);
    long totalFuel = 0;
    var clock = Stopwatch.StartNew();
    for (var frame = 1; frame <= frames; frame++)
    {
        // A fresh budget each frame: a frame that loops forever costs that frame's budget and nothing more.
        isolate.Fuel = FrameFuel;
        var trap = Run(() => update(FrameTime));
        var used = FrameFuel - isolate.Fuel;
        totalFuel += used;
        if (trap is not null || frame % reportEvery == 0)
            Console.WriteLine($"frame {frame,3}: fuel {used,5}  {world.Describe()}");
        if (Report($"frame {frame}", trap)) traps++;
    }
    clock.Stop();
    Console.WriteLine($"{frames} frames in {clock.Elapsed.TotalMilliseconds:0.0} ms " +
                      $"({clock.Elapsed.TotalMicroseconds / frames:0.0} µs/frame), fuel {totalFuel} " +
                      $"({totalFuel / frames}/frame), {traps} traps, {isolate.HeapUsedBytes} heap bytes in use");
    // Globals are readable by name: the script's own frame counter agrees with the host's loop.
    Console.WriteLine($"the script counted {isolate.GetGlobal("frame").AsI64} frames");
    if (module.FindFunction("velocities") >= 0)
    {
        // An object of f64 words comes back as a double[], copied out under the VM's bounds and tag rules.
        var velocities = isolate.GetFunction<double[]>("velocities")();
        Console.WriteLine($"velocities now: {string.Join(" ", velocities.Select(v => v.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))}");
    }
    Console.WriteLine();
}

// A trap ends only the call that raised it. The isolate stays usable, its globals and heap as the script left
// them, so the game simply carries on with the next frame.
static TrapException? Run(Action call)
{
    try
    {
        call();
        return null;
    }
    catch (TrapException trap)
    {
        return trap;
    }
}

static bool Report(string what, TrapException? trap)
{
    if (trap is null) return false;
    // Report() gives the trap, its VM call stack (innermost first, with source lines) and any host exception.
    // Runaway recursion makes the stack long, so only its top is shown.
    var lines = trap.Report().Split('\n');
    Console.WriteLine($"  {what} trapped ({trap.VmStackTrace.Count} VM frames):");
    foreach (var line in lines.Take(3)) Console.WriteLine("    " + line);
    if (lines.Length > 3) Console.WriteLine("      ...");
    return true;
}

static bool TryParseArguments(string[] args, out int frames, out string[] scripts)
{
    frames = 300;
    scripts = ["game", "misbehaving"];
    for (var i = 0; i < args.Length; i++)
    {
        var value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--frames" when int.TryParse(value, out frames) && frames > 0:
                i++;
                break;
            case "--script" when value is "game" or "misbehaving":
                scripts = [value];
                i++;
                break;
            default:
                return false;
        }
    }
    return true;
}
