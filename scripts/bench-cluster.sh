#!/usr/bin/env bash
# Clustering benchmark: simulates a chain of N transactions (kept between runs), ingests it,
# then times `sleuth cluster build` with /usr/bin/time -v (wall time, peak RSS).
#
#   scripts/bench-cluster.sh [TRANSACTIONS=10000000] [WORKDIR=/tmp/sleuth-bench-cluster]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${2:-/tmp/sleuth-bench-cluster}

cargo build --release -q -p sleuth
sleuth=target/release/sleuth
if [ ! -f "$work/idx/meta.json" ]; then
  rm -rf "$work"
  "$sleuth" -q simulate --out "$work/sim" --transactions "$n" --seed 42 >/dev/null
  "$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" >/dev/null
fi
rm -rf "$work/idx/cluster"
/usr/bin/time -v "$sleuth" -q --data-dir "$work/idx" cluster build --json >"$work/cluster.json" 2>"$work/cluster.time"
inputs=$("$sleuth" --data-dir "$work/idx" status --json | grep -o '"inputs": [0-9]*' | grep -o '[0-9]*$')
wall=$(awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/cluster.time")
rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/cluster.time")
awk -v n="$inputs" -v s="$wall" -v rss="$rss" 'BEGIN {
  printf "cluster build (default heuristics): %d inputs in %.2f s (%.1f M inputs/s), peak RSS %d MB\n", n, s, n/s/1e6, rss
}'
grep -E '"(clusters|largest_cluster|addresses)"' "$work/cluster.json"
