#!/usr/bin/env bash
# What validation costs: ingests the same simulated chain with a binary built before block
# validation was added and with this checkout's, alternately, ROUNDS times each, and prints
# each run's wall time and the medians.
#
#   scripts/bench-validate.sh BASE_SLEUTH [TRANSACTIONS=1000000] [ROUNDS=3] [WORKDIR=/tmp/sleuth-bench-validate]
#
# BASE_SLEUTH: e.g. built with `git archive <commit> | tar -x -C /tmp/base && cd /tmp/base &&
# CARGO_TARGET_DIR=/tmp/base-target cargo build --release -p sleuth`.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$1
n=${2:-1000000}
rounds=${3:-3}
work=${4:-/tmp/sleuth-bench-validate}
cargo build --release -q -p sleuth
new=target/release/sleuth
rm -rf "$work"
mkdir -p "$work"
"$new" -q simulate --out "$work/sim" --transactions "$n" --seed 42 --chain bitcoin --json >/dev/null
wall_s() { awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
for r in $(seq "$rounds"); do
  for which in base new; do
    bin=$base; [ "$which" = new ] && bin=$new
    rm -rf "$work/idx"
    /usr/bin/time -v "$bin" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" --json >"$work/$which.json" 2>"$work/$which.time"
    echo "$which $(wall_s "$work/$which.time")" | tee -a "$work/times"
  done
done
awk '{t[$1]=t[$1] " " $2} END {
  for (w in t) { n=split(substr(t[w],2),a," "); for(i=1;i<=n;i++) for(j=i+1;j<=n;j++) if (a[j]<a[i]) {x=a[i]; a[i]=a[j]; a[j]=x}; printf "%s: runs%s, median %.2f s\n", w, t[w], a[int((n+1)/2)] }
}' "$work/times"
