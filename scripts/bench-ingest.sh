#!/usr/bin/env bash
# Ingest benchmark: simulate a chain of N transactions as Bitcoin Core block files, ingest it
# with /usr/bin/time -v, and run a parse-only baseline (the bitcoin-block-parser crate) over the
# same files. Prints MB/s, tx/s, peak RSS and the ratio to the baseline.
#
#   scripts/bench-ingest.sh [TRANSACTIONS=1000000] [WORKDIR=/tmp/sleuth-bench]
#
# COMMIT_EVERY="1000 100" also ingests the same files with `--commit-every N` for each N and
# prints what committing that often costs.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
work=${2:-/tmp/sleuth-bench}

cargo build --release -q -p sleuth
cargo build --release -q --manifest-path bench/baseline/Cargo.toml
sleuth=target/release/sleuth
baseline=bench/baseline/target/release/parse-baseline

rm -rf "$work"
mkdir -p "$work"
echo "simulating $n transactions into $work/sim ..."
/usr/bin/time -v "$sleuth" -q simulate --out "$work/sim" --transactions "$n" --seed 42 --chain bitcoin --json \
  >"$work/simulate.json" 2>"$work/simulate.time"
bytes=$(cat "$work"/sim/blocks/blk*.dat | wc -c)

rss_mb() { awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
wall_s() { awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }

echo "ingesting ..."
/usr/bin/time -v "$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" --json \
  >"$work/ingest.json" 2>"$work/ingest.time"
echo "parse-only baseline ..."
/usr/bin/time -v "$baseline" "$work/sim/blocks" >"$work/baseline.json" 2>"$work/baseline.time"

txs=$(grep -o '"added_transactions": [0-9]*' "$work/ingest.json" | grep -o '[0-9]*$')
ing_s=$(wall_s "$work/ingest.time")
base_s=$(wall_s "$work/baseline.time")
sim_s=$(wall_s "$work/simulate.time")
idx_mb=$(du -sm "$work/idx" | cut -f1)
awk -v n="$txs" -v b="$bytes" -v s="$ing_s" -v bs="$base_s" -v ss="$sim_s" \
  -v rss="$(rss_mb "$work/ingest.time")" -v brss="$(rss_mb "$work/baseline.time")" -v srss="$(rss_mb "$work/simulate.time")" \
  -v idx="$idx_mb" -v cores="$(nproc)" 'BEGIN {
  printf "machine: %d cores\n", cores
  printf "chain: %d transactions, %.1f MB of block files\n", n, b/1e6
  printf "simulate: %.2f s (%.0f tx/s), peak RSS %d MB\n", ss, n/ss, srss
  printf "ingest:   %.2f s, %.0f tx/s, %.1f MB/s, peak RSS %d MB, index %d MB on disk\n", s, n/s, b/1e6/s, rss, idx
  printf "baseline: %.2f s, %.0f tx/s, %.1f MB/s, peak RSS %d MB (bitcoin-block-parser, parse + txids only)\n", bs, n/bs, b/1e6/bs, brss
  printf "ratio:    ingest runs at %.0f%% of the parse-only baseline speed\n", 100*bs/s
}'

for every in ${COMMIT_EVERY:-}; do
  rm -rf "$work/idx-every"
  /usr/bin/time -v "$sleuth" -q --data-dir "$work/idx-every" ingest --blocks-dir "$work/sim/blocks" --commit-every "$every" --json \
    >"$work/ingest-every.json" 2>"$work/ingest-every.time"
  blocks=$(grep -o '"added_blocks": [0-9]*' "$work/ingest-every.json" | grep -o '[0-9]*$')
  awk -v n="$txs" -v s="$(wall_s "$work/ingest-every.time")" -v base="$ing_s" -v every="$every" -v blocks="$blocks" \
    -v rss="$(rss_mb "$work/ingest-every.time")" 'BEGIN {
    printf "ingest --commit-every %d (%d commits): %.2f s, %.0f tx/s, peak RSS %d MB, %.2fx the default cadence\n", every, blocks/every, s, n/s, rss, s/base
  }'
done
