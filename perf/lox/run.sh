#!/usr/bin/env bash
# Runs the book's Lox benchmarks under clox and under JitVm's tiers, one process at a time, and prints a markdown
# table: each program's own last line (the seconds between its clock() calls) and the whole process's time.
#
#   perf/lox/run.sh [CLI] [CLOX] [RUNS] [BENCHMARKS...]
#
# CLI:   the JitVm command line built for timing (default /tmp/loxperf-rel/JitVm.Cli, from
#        `dotnet build src/JitVm.Cli -c Release -o /tmp/loxperf-rel`).
# CLOX:  the book's C interpreter (default /tmp/clox/clox, from
#        `mkdir -p /tmp/clox && gcc -O2 -DNDEBUG -o /tmp/clox/clox /work/shared/lox/clox/*.c`).
# RUNS:  processes per configuration (default 1): the whole-process figure is the mean over RUNS runs (hyperfine's
#        when installed, else `date` around each process), the script's own figure the median of what it printed.
# TIERS: environment variable, the JitVm tiers to run (default "jit tiered interpreter").
# LOX_BENCHMARKS: the folder of the benchmark scripts (default /work/shared/lox/test/benchmark).
set -euo pipefail
cli=${1:-/tmp/loxperf-rel/JitVm.Cli}
clox=${2:-/tmp/clox/clox}
runs=${3:-1}
shift $(( $# > 3 ? 3 : $# ))
dir=${LOX_BENCHMARKS:-/work/shared/lox/test/benchmark}
tiers=${TIERS:-jit tiered interpreter}
benchmarks=("$@")
[ ${#benchmarks[@]} -eq 0 ] && benchmarks=(fib binary_trees method_call invocation properties instantiation equality trees zoo)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure NAME COMMAND...: prints "own whole" (seconds) for RUNS runs of COMMAND.
measure() {
  local name=$1; shift
  local own=()
  local whole
  : >"$tmp/$name.out"
  if command -v hyperfine >/dev/null; then
    # hyperfine runs the command through a shell; `tail -1` keeps each run's own figure (a few ms of overhead).
    hyperfine --runs "$runs" --export-json "$tmp/$name.json" "$(printf '%q ' "$@") 2>&1 | tail -1 >> $tmp/$name.out" >/dev/null 2>&1 || true
    whole=$(python3 -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['results'][0]['mean'])" "$tmp/$name.json" 2>/dev/null || echo '?')
  else
    local total=0 start end
    for _ in $(seq "$runs"); do
      start=$(date +%s.%N)
      "$@" 2>&1 | tail -1 >>"$tmp/$name.out"
      end=$(date +%s.%N)
      total=$(echo "$total + $end - $start" | bc)
    done
    whole=$(echo "scale=2; $total / $runs" | bc)
  fi
  mapfile -t own <"$tmp/$name.out"
  local sorted
  sorted=$(printf '%s\n' "${own[@]}" | sort -g)
  local median
  median=$(echo "$sorted" | sed -n "$(( (${#own[@]} + 1) / 2 ))p")
  printf '%.2f %s\n' "$median" "$whole" 2>/dev/null || echo "? $whole"
}

header="| benchmark | clox (s) |"
rule="|---|---|"
for t in $tiers; do header="$header $t (s, × clox) |"; rule="$rule---|"; done
header="$header whole process clox / ${tiers// / \/ } (s) |"; rule="$rule---|"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); runs per configuration: $runs"
echo
echo "$header"
echo "$rule"
for b in "${benchmarks[@]}"; do
  read -r clox_own clox_whole < <(measure "$b.clox" "$clox" "$dir/$b.lox")
  row="| $b | $clox_own |"
  wholes="$clox_whole"
  for t in $tiers; do
    read -r own whole < <(measure "$b.$t" "$cli" run "$dir/$b.lox" --tier "$t")
    ratio=$(echo "scale=2; $own / $clox_own" | bc 2>/dev/null || echo '?')
    row="$row $own (${ratio}x) |"
    wholes="$wholes / $whole"
  done
  echo "$row $wholes |"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
