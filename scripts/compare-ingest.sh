#!/usr/bin/env bash
# Same-run comparison of two sleuth binaries' ingest (e.g. before and after a change) on the
# block files scripts/bench-ingest.sh leaves, alternating ROUNDS times, with the parse-only
# baseline once. Build the old one from its commit in a worktree with its own target dir:
#
#   git worktree add /tmp/old <commit> && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old/target cargo build --release -p sleuth)
#   scripts/compare-ingest.sh /tmp/old/target/release/sleuth target/release/sleuth [BLOCKS=/tmp/sleuth-bench/sim/blocks] [ROUNDS=6]
set -euo pipefail
old=$1 new=$2
blocks=${3:-/tmp/sleuth-bench/sim/blocks}
rounds=${4:-6}
idx=$(mktemp -d)
for i in $(seq "$rounds"); do
  for which in old new; do
    bin=$new; [ "$which" = old ] && bin=$old
    rm -rf "$idx/d"
    # The previous run's dirty pages first: their writeback would slow this run.
    sync
    /usr/bin/time -f "$which %e s %M KB" "$bin" -q --data-dir "$idx/d" ingest --blocks-dir "$blocks" >/dev/null
  done
done 2>&1 | awk '{print} {s[$1]+=$2; n[$1]++} END {for (k in s) printf "%s mean %.3f s over %d runs\n", k, s[k]/n[k], n[k]}'
baseline=$(dirname "$0")/../bench/baseline/target/release/parse-baseline
[ -x "$baseline" ] && /usr/bin/time -f "baseline %e s %M KB" "$baseline" "$blocks" >/dev/null
rm -rf "$idx"
