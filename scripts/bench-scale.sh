#!/usr/bin/env bash
# Scale benchmark: a chain of at least 100,000,000 simulated transactions (block files only:
# `simulate --no-truth`), ingested on this machine under /usr/bin/time -v; then
# `cluster build` and a forward trace from the largest heist, each with its time and peak
# memory. Prints tx/s for the whole ingest and for every 10M-transaction window, the bytes the
# ingest wrote to disk per transaction (/proc/PID/io write_bytes), the index's size per
# transaction, and peak memory (RSS, and of it what is not the page cache of mapped files).
#
#   scripts/bench-scale.sh [TRANSACTIONS=100000000] [WORKDIR=/tmp/sleuth-scale] [MEMORY=default]
#
# It checks the free disk space first and says what it needs (~430 bytes of block files and
# ~350 bytes of index a transaction). The block files are kept between runs (simulating 100M
# takes about 15 minutes); the index is rebuilt every time. KEEP_INDEX=1 skips the ingest when
# an index of the chain is already there. SLEUTH_BIN=path runs that binary instead of building
# this checkout (so the checkout can be rebuilt while a run goes on).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000000}
work=${2:-/tmp/sleuth-scale}
memory=${3:-}

if [ -n "${SLEUTH_BIN:-}" ]; then
  sleuth=$(realpath "$SLEUTH_BIN")
else
  cargo build --release -q -p sleuth
  sleuth=$PWD/target/release/sleuth
fi
mkdir -p "$work"

wall_s() { awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
rss_mb() { awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }

have_sim=0
[ "$(cat "$work/sim/requested" 2>/dev/null)" = "$n" ] && have_sim=1
need=$((n * 350))
[ "$have_sim" = 1 ] || need=$((need + n * 430))
if [ -d "$work/idx" ] && [ -z "${KEEP_INDEX:-}" ]; then rm -rf "$work/idx"; fi
avail=$(df -B1 --output=avail "$work" | tail -1 | tr -d ' ')
if [ "$avail" -lt "$need" ]; then
  awk -v n="$n" -v need="$need" -v avail="$avail" -v w="$work" -v kept="$have_sim" 'BEGIN {
    printf "bench-scale: %d transactions need about %.0f GB free in %s (%sindex ~350 B a transaction); %.0f GB are free\n",
      n, need/1e9, w, kept ? "block files kept, " : "block files ~430 B a transaction, ", avail/1e9 }' >&2
  exit 1
fi

if [ "$have_sim" = 0 ]; then
  rm -rf "$work/sim"
  echo "simulating $n transactions into $work/sim (block files only) ..."
  /usr/bin/time -v "$sleuth" -q simulate --out "$work/sim" --transactions "$n" --seed 42 --chain bitcoin --no-truth --json \
    >"$work/simulate.json.tmp" 2>"$work/simulate.time"
  mv "$work/simulate.json.tmp" "$work/simulate.json"
  echo "$n" >"$work/sim/requested"
fi
bytes=$(du -sb "$work/sim/blocks" | cut -f1)
echo "chain: $n transactions, $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e9}') GB of block files; machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"

if [ ! -f "$work/idx/meta.json" ]; then
  echo "ingesting ..."
  args=()
  [ -n "$memory" ] && args=(--memory "$memory")
  SLEUTH_INGEST_WINDOWS=10000000 /usr/bin/time -v -o "$work/ingest.time" \
    "$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" "${args[@]}" --json \
    >"$work/ingest.json" 2>"$work/ingest.windows"
  txs=$(grep -o '"added_transactions": [0-9]*' "$work/ingest.json" | grep -o '[0-9]*$')
  secs=$(wall_s "$work/ingest.time")
  written=$(awk -F: '/File system outputs/ {print $2 * 512}' "$work/ingest.time")
  # Allocated bytes: the columns grow by doubling as sparse files, so their apparent size
  # (`du -b`) counts up to twice the records.
  index=$(du -s --block-size=1 "$work/idx" | cut -f1)
  apparent=$(du -sb "$work/idx" | cut -f1)
  grep '^scan:' "$work/ingest.windows" | sed 's/^/  /'
  echo "windows of 10M transactions:"
  grep '^window' "$work/ingest.windows" | awk '{
    split($2, r, "\\."); sub(",", "", $11); sub(",", "", $13);
    printf "  %5.0fM-%5.0fM tx: %7.0f tx/s, %6.0f s in, written so far %6.1f GB, RSS anon %5.1f GB, file %5.1f GB\n",
      r[1]/1e6, r[3]/1e6, $4, $6, $11/1e9, $13/1048576, $15/1048576 }'
  awk -v n="$txs" -v s="$secs" -v w="$written" -v i="$index" -v b="$bytes" \
      -v rss="$(rss_mb "$work/ingest.time")" -v anon="$(grep '^window' "$work/ingest.windows" | awk '{v=$13+0; if (v>m) m=v} END {print m/1024}')" -v ap="$apparent" 'BEGIN {
    printf "ingest: %d transactions in %.0f s: %.0f tx/s, %.1f MB/s of block files\n", n, s, n/s, b/1e6/s
    printf "disk:   wrote %.1f GB (%.0f B a transaction), index %.1f GB on disk (%.0f B a transaction; files %.1f GB with their sparse room to grow): writes %.2f x the index\n", w/1e9, w/n, i/1e9, i/n, ap/1e9, w/i
    printf "memory: peak RSS %d MB (mapped index pages included), peak anonymous %.0f MB at the windows\n", rss, anon
  }'
fi

heist=$(awk -F, 'NR>1 && $4>max {max=$4; t=$1} END {print t}' "$work/sim/truth/heists.csv")
echo "cluster build ..."
rm -rf "$work/idx/cluster"
/usr/bin/time -v -o "$work/cluster.time" "$sleuth" -q --data-dir "$work/idx" cluster build --json >"$work/cluster.json"
echo "  $(wall_s "$work/cluster.time") s, peak RSS $(rss_mb "$work/cluster.time") MB; $(grep -o '"clusters": [0-9]*' "$work/cluster.json")"
echo "forward trace from the largest heist $heist, all policies ..."
/usr/bin/time -v -o "$work/trace.time" "$sleuth" -q --data-dir "$work/idx" trace --from "$heist" --policy all --json >"$work/trace.json"
echo "  $(wall_s "$work/trace.time") s, peak RSS $(rss_mb "$work/trace.time") MB; $(grep -oE '"(transactions_visited|endpoint_count)": [0-9]*' "$work/trace.json" | tr '\n' ' ')"
