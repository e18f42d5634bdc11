#!/usr/bin/env bash
# The peer table: the same programs under JitVm (each tier), C#, Lua 5.4, LuaJIT and node, one process per run,
# timed with hyperfine, written as a markdown table of wall times and ratios to C#.
#
#   perf/peers/run.sh                       # from anywhere; builds, checks, measures, writes the table
#
# Programs (perf/peers/README.md): hello (start-up), loop, mulmod, fib (32), binary_trees (the Crafting
# Interpreters version, depth 14). Every runtime must print the same output for a program, or the script stops.
#
# Environment (defaults in brackets):
#   PEERS_RUNS [5]          hyperfine runs per row for the compiling runtimes (C#, JitVm jit/tiered, LuaJIT, node)
#   PEERS_WARMUP [1]        hyperfine warm-up runs for those rows
#   PEERS_SLOW_RUNS [3]     runs per row for the interpreters (JitVm interpreter, Lua 5.4, LuaJIT -joff,
#                           node --jitless), which take seconds per run
#   PEERS_SLOW_WARMUP [0]   warm-up runs for those rows (the output check before each row already ran it once)
#   PEERS_PROGRAMS          the programs to run [hello loop mulmod fib binary_trees]
#   PEERS_RUNTIMES          the runtimes [csharp jitvm-jit jitvm-tiered jitvm-interpreter luajit luajit-joff lua5.4
#                           node node-jitless]
#   PEERS_OUT [/tmp/jitvm-peers]   builds, outputs, hyperfine JSON and the table (PEERS_OUT/peers.md)
#   PEERS_NO_BUILD          set to 1 to reuse the builds already in PEERS_OUT
#
# Needs dotnet, hyperfine and python3 (for the table). Lua 5.4, LuaJIT and node are optional: a runtime that is
# not installed is skipped and named in the table's header; no row is made up for it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peers=$root/perf/peers
out=${PEERS_OUT:-/tmp/jitvm-peers}
runs=${PEERS_RUNS:-5}
warmup=${PEERS_WARMUP:-1}
slow_runs=${PEERS_SLOW_RUNS:-3}
slow_warmup=${PEERS_SLOW_WARMUP:-0}
read -r -a programs <<<"${PEERS_PROGRAMS:-hello loop mulmod fib binary_trees}"
read -r -a runtimes <<<"${PEERS_RUNTIMES:-csharp jitvm-jit jitvm-tiered jitvm-interpreter luajit luajit-joff lua5.4 node node-jitless}"
cli=$out/cli/JitVm.Cli
csharp=$out/csharp/peers-csharp

fail() { echo "run.sh: $*" >&2; exit 1; }
for tool in dotnet hyperfine python3; do
  command -v "$tool" >/dev/null || fail "$tool is required and not installed"
done

# The executable a runtime needs; a runtime whose executable is missing is skipped.
executable_of() {
  case $1 in
    csharp | jitvm-*) echo dotnet ;;
    luajit | luajit-joff) echo luajit ;;
    lua5.4) echo lua5.4 ;;
    node | node-jitless) echo node ;;
    *) fail "unknown runtime '$1' (see PEERS_RUNTIMES in perf/peers/run.sh)" ;;
  esac
}

is_interpreter() {
  case $1 in jitvm-interpreter | lua5.4 | luajit-joff | node-jitless) return 0 ;; *) return 1 ;; esac
}

# The JitVm module of a program: the examples that already are the peer table's algorithm and size, else
# perf/peers/jvm (fib 32 instead of 30, mulmod over 1 .. 10^8, the book's binary-trees).
jvm_file() {
  case $1 in
    hello | loop) echo "$root/examples/$1.jvm" ;;
    *) echo "$peers/jvm/$1.jvm" ;;
  esac
}

# command_of RUNTIME PROGRAM: the command line, words separated by spaces (paths must not contain spaces).
command_of() {
  local runtime=$1 program=$2
  case $runtime in
    csharp) echo "$csharp $program" ;;
    jitvm-*) echo "$cli run $(jvm_file "$program") --tier ${runtime#jitvm-}" ;;
    luajit) echo "luajit $peers/lua/$program.lua" ;;
    luajit-joff) echo "luajit -joff $peers/lua/$program.lua" ;;
    lua5.4) echo "lua5.4 $peers/lua/$program.lua" ;;
    node) echo "node $peers/js/$program.js" ;;
    node-jitless) echo "node --jitless $peers/js/$program.js" ;;
  esac
}

[[ $root != *" "* && $out != *" "* ]] || fail "the repository and PEERS_OUT must not contain spaces"

present=()
skipped=()
for runtime in "${runtimes[@]}"; do
  if command -v "$(executable_of "$runtime")" >/dev/null; then present+=("$runtime"); else skipped+=("$runtime"); fi
done
[ ${#skipped[@]} -eq 0 ] || echo "skipped, not installed: ${skipped[*]}" >&2

mkdir -p "$out"
if [ "${PEERS_NO_BUILD:-}" != 1 ]; then
  echo "building the JitVm command line and the C# programs (Release) into $out" >&2
  dotnet build "$root/src/JitVm.Cli" -c Release -o "$out/cli" --nologo -v quiet >&2
  dotnet publish "$peers/CSharp" -c Release -o "$out/csharp" --nologo -v quiet >&2
fi
[ -x "$cli" ] || fail "$cli is missing: run without PEERS_NO_BUILD=1"
[ -x "$csharp" ] || fail "$csharp is missing: run without PEERS_NO_BUILD=1"

rm -rf "$out/json" "$out/output"
mkdir -p "$out/json" "$out/output"
load_before=$(uptime)
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

for program in "${programs[@]}"; do
  reference=""
  for runtime in "${present[@]}"; do
    read -r -a command <<<"$(command_of "$runtime" "$program")"
    output=$out/output/$program.$runtime.txt
    # The check run: every runtime must print what the first one printed.
    "${command[@]}" >"$output" || fail "$program under $runtime failed (exit code $?): ${command[*]}"
    if [ -z "$reference" ]; then
      reference=$output
    elif ! cmp -s "$reference" "$output"; then
      diff "$reference" "$output" >&2 || true
      fail "$program prints something else under $runtime than under ${present[0]} (diff above)"
    fi
    if is_interpreter "$runtime"; then n=$slow_runs; w=$slow_warmup; else n=$runs; w=$warmup; fi
    echo "$program / $runtime: $n runs after $w warm-up: ${command[*]}" >&2
    hyperfine -N --style none --warmup "$w" --runs "$n" --command-name "$runtime" \
      --export-json "$out/json/$program.$runtime.json" "${command[*]}" >/dev/null
  done
done

load_after=$(uptime)
finished=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# The first two words of a tool's version line ("Lua 5.4.4", "LuaJIT 2.1.0-beta3"), without the copyright.
version_of() { "$@" 2>&1 | head -1 | awk '{ print ($2 == "" ? $1 : $1 " " $2) }'; }
{
  echo "started=$started"
  echo "finished=$finished"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') x $(nproc)"
  echo "kernel=$(uname -sr)"
  echo "dotnet=SDK $(dotnet --version), $(dotnet --list-runtimes | grep -m1 'Microsoft.NETCore.App' | cut -d' ' -f1-2)"
  echo "jitvm=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src && echo '' || echo ' (src modified)')"
  echo "hyperfine=$(version_of hyperfine --version)"
  command -v lua5.4 >/dev/null && echo "lua5.4=$(version_of lua5.4 -v)"
  command -v luajit >/dev/null && echo "luajit=$(version_of luajit -v)"
  command -v node >/dev/null && echo "node=node $(version_of node --version)"
  echo "load_before=$load_before"
  echo "load_after=$load_after"
  echo "settings=PEERS_RUNS=$runs PEERS_WARMUP=$warmup PEERS_SLOW_RUNS=$slow_runs PEERS_SLOW_WARMUP=$slow_warmup"
  echo "skipped=${skipped[*]}"
  echo "programs=${programs[*]}"
  echo "runtimes=${present[*]}"
} >"$out/machine.txt"

python3 "$peers/table.py" "$out" | tee "$out/peers.md"
echo "table written to $out/peers.md" >&2
