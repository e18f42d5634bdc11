#!/bin/sh
# Runs the book's Lox suite one process per script, as the book's runner does: every *.lox under the suite folder
# except scanning/, expressions/ and benchmark/ (246 files), in name order, output discarded, exit codes ignored
# (the suite's expectations are checked by tests/JitVm.Lox.Tests; this only times it).
#
#   perf/lox-suite/run-suite.sh COMMAND [ARGS...]     runs COMMAND ARGS... FILE for each FILE
#
# e.g. perf/lox-suite/run-suite.sh /tmp/clox/clox
#      perf/lox-suite/run-suite.sh "$HOME/.jitvm-tools/jitvm" run --tier tiered
# The folder is JITVM_LOX_TESTS, else /work/shared/lox/test. perf/RESULTS.md ("The Lox suite's wall time") has the
# measurements and the hyperfine command.
set -eu
suite=${JITVM_LOX_TESTS:-/work/shared/lox/test}
[ -d "$suite" ] || { echo "run-suite.sh: no suite folder at $suite (set JITVM_LOX_TESTS)" >&2; exit 66; }
[ $# -ge 1 ] || { echo "usage: run-suite.sh COMMAND [ARGS...]" >&2; exit 64; }
count=0
for file in $(find "$suite" -name '*.lox' -not -path '*/scanning/*' -not -path '*/expressions/*' -not -path '*/benchmark/*' | LC_ALL=C sort); do
  "$@" "$file" >/dev/null 2>&1 </dev/null || true
  count=$((count + 1))
done
[ "$count" -eq 246 ] || { echo "run-suite.sh: ran $count scripts, not the suite's 246" >&2; exit 1; }
