"""Writes the peer table (markdown, to stdout) from what perf/peers/run.sh left in its output folder.

    python3 perf/peers/table.py OUT

OUT holds machine.txt (key=value lines: the machine, versions, load, settings, programs and runtimes in order)
and json/PROGRAM.RUNTIME.json, one hyperfine export per row. A row is printed only for a file that exists.
"""
import json
import os
import statistics
import sys

NAMES = {
    "csharp": "C# (.NET, Release)",
    "jitvm-jit": "JitVm `--tier jit`",
    "jitvm-tiered": "JitVm `--tier tiered`",
    "jitvm-interpreter": "JitVm `--tier interpreter`",
    "luajit": "LuaJIT",
    "luajit-joff": "LuaJIT `-joff`",
    "lua5.4": "Lua 5.4",
    "node": "node",
    "node-jitless": "node `--jitless`",
}
STARTUP = "hello"


def read_machine(out):
    machine = {}
    with open(os.path.join(out, "machine.txt")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            machine[key] = value
    return machine


def read_rows(out, programs, runtimes):
    """rows[program][runtime] = hyperfine's result (times in seconds), for the rows that were measured."""
    rows = {}
    for program in programs:
        for runtime in runtimes:
            path = os.path.join(out, "json", f"{program}.{runtime}.json")
            if os.path.exists(path):
                with open(path) as f:
                    rows.setdefault(program, {})[runtime] = json.load(f)["results"][0]
    return rows


def ms(seconds):
    return f"{seconds * 1000:,.0f}" if seconds >= 0.0095 else f"{seconds * 1000:.1f}"


def ratio(value, baseline):
    return f"{value / baseline:.2f}×" if baseline else "—"


def cpu(result):
    return result["user"] + result["system"]


def main(out):
    machine = read_machine(out)
    programs = machine["programs"].split()
    runtimes = machine["runtimes"].split()
    rows = read_rows(out, programs, runtimes)

    print(f"Measured {machine['started']} to {machine['finished']} with `perf/peers/run.sh` "
          f"({machine['settings']}), JitVm at {machine['jitvm']}.")
    print()
    print(f"- Machine: {machine['cpu']}; {machine['kernel']}; {machine['dotnet']}")
    versions = [machine[k] for k in ("lua5.4", "luajit", "node", "hyperfine") if k in machine]
    print(f"- Peers: {'; '.join(versions)}")
    print(f"- Load before: `{machine['load_before'].strip()}`")
    print(f"- Load after: `{machine['load_after'].strip()}`")
    if machine["skipped"]:
        print(f"- Skipped, not installed: {machine['skipped']}")
    print()

    print("Wall time of the whole process, median in ms, and its ratio to C#'s (lower is faster):")
    print()
    print("| runtime | " + " | ".join(programs) + " |")
    print("|---|" + "---|" * len(programs))
    for runtime in runtimes:
        cells = []
        for program in programs:
            result = rows.get(program, {}).get(runtime)
            baseline = rows.get(program, {}).get("csharp")
            if result is None:
                cells.append("—")
            else:
                cells.append(f"{ms(result['median'])} ({ratio(result['median'], baseline['median'] if baseline else 0)})")
        print(f"| {NAMES[runtime]} | " + " | ".join(cells) + " |")
    print()

    for program in programs:
        measured = rows.get(program, {})
        baseline = measured.get("csharp")
        print(f"**{program}**")
        print()
        print("| runtime | median (ms) | min – max (ms) | runs | × C# | CPU user+sys, mean (ms) | CPU × C# |"
              + (" median − own start-up (ms) |" if program != STARTUP else ""))
        print("|---|---|---|---|---|---|---|" + ("---|" if program != STARTUP else ""))
        for runtime in runtimes:
            result = measured.get(runtime)
            if result is None:
                continue
            times = result["times"]
            cells = [
                NAMES[runtime],
                ms(statistics.median(times)),
                f"{ms(min(times))} – {ms(max(times))}",
                str(len(times)),
                ratio(result["median"], baseline["median"] if baseline else 0),
                ms(cpu(result)),
                ratio(cpu(result), cpu(baseline) if baseline else 0),
            ]
            if program != STARTUP:
                startup = rows.get(STARTUP, {}).get(runtime)
                cells.append(ms(result["median"] - startup["median"]) if startup else "—")
            print("| " + " | ".join(cells) + " |")
        print()

    print("Notes:")
    print()
    print("- Every figure is a whole process: start-up (runtime, loading, for JitVm reading and verifying the module, "
          "and compiling in the jit tier) is included. The `hello` row measures start-up alone (one line printed); "
          "the last column subtracts each runtime's own `hello` median, a rough estimate of the work alone.")
    print("- JitVm runs the `dotnet build -c Release` output (JitVm.Cli with the CLR JIT compiling its code at start-up), "
          "not the ReadyToRun tool that `dotnet pack` makes, which starts faster (RESULTS.md, \"Start-up and `jitvm "
          "compare`\"); C# is `dotnet publish -c Release`, also without ReadyToRun.")
    print("- The CPU columns are hyperfine's mean user + system time: less sensitive to other processes on a loaded "
          "machine than wall time, but they add up background threads (.NET's tiering and GC threads, JitVm's "
          "compilation, V8's compiler and GC), so they can exceed the wall time.")
    print("- All runtimes printed the same output for each program (checked before each row's runs). The "
          "programs: perf/peers/README.md.")


if __name__ == "__main__":
    main(sys.argv[1])
