#!/usr/bin/env bash
# Tracing and screening benchmark: a chain of N simulated transactions (kept between runs, in
# the same folder as scripts/bench-cluster.sh), ingested and clustered, with up to 2,000
# addresses of every exchange and OTC desk tagged from the simulator's truth, and every address
# of the gambling services (gambling), thieves (service_hack) and CoinJoin coordinators
# (mixing_service) as risk sources for screening; then a forward
# trace from the largest heist under all five policies in one pass and under each alone, and
# 10,000 random screenings of addresses and of outputs (engine library calls, benches/trace.rs),
# all under /usr/bin/time -v for peak memory.
#
#   scripts/bench-trace.sh [TRANSACTIONS=10000000] [WORKDIR=/tmp/sleuth-bench-cluster]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${2:-/tmp/sleuth-bench-cluster}

cargo build --release -q -p sleuth
cargo bench -q -p sleuth-engine --bench trace --no-run 2>/dev/null
bench=$(ls -t target/release/deps/trace-* | grep -v '\.d$' | head -1)
sleuth=target/release/sleuth
if [ ! -f "$work/idx/meta.json" ]; then
  rm -rf "$work"
  "$sleuth" -q simulate --out "$work/sim" --transactions "$n" --seed 42 >/dev/null
  "$sleuth" -q --data-dir "$work/idx" ingest --blocks-dir "$work/sim/blocks" >/dev/null
fi
[ -f "$work/idx/cluster/meta.json" ] || "$sleuth" -q --data-dir "$work/idx" cluster build >/dev/null
if [ "$(wc -l <"$work/sim/truth/addresses.csv")" -le 1 ]; then
  echo "bench-trace: $work/sim/truth/addresses.csv lists no addresses (a chain made with --no-truth?):" >&2
  echo "  nothing to tag from; remove $work and run again" >&2
  exit 1
fi
if [ ! -d "$work/idx/tags" ]; then
  awk -F, 'NR==FNR { name[$1]=$2
                     cat[$1] = ($3=="exchange" || $3=="otc") ? "exchange" : ($3=="gambling") ? "gambling" \
                             : ($3=="thief") ? "service_hack" : ($3=="coinjoin_coordinator") ? "mixing_service" : ""
                     next }
           FNR>1 && cat[$2]=="exchange" && seen[$2]++ < 2000 { print $1 "," name[$2] ",exchange,truth" }
           FNR>1 && cat[$2]!="" && cat[$2]!="exchange" { print $1 "," name[$2] "," cat[$2] ",truth" }' \
    "$work/sim/truth/entities.csv" "$work/sim/truth/addresses.csv" \
    | { echo "address,label,category,source"; cat; } >"$work/services.csv"
  "$sleuth" -q --data-dir "$work/idx" tags import "$work/services.csv" --format csv >/dev/null
fi
heist=$(awk -F, 'NR>1 && $4>max {max=$4; t=$1} END {print t}' "$work/sim/truth/heists.csv")
echo "chain: $("$sleuth" --data-dir "$work/idx" status --json | grep -o '"transactions": [0-9]*'); largest heist $heist"
/usr/bin/time -v "$bench" "$work/idx" "$heist" 10000 2>"$work/trace.time"
awk -F: '/Maximum resident set size/ {printf "peak RSS of the whole run: %.0f MB\n", $2/1024}' "$work/trace.time"
