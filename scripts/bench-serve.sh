#!/usr/bin/env bash
# REST API load benchmark: `sleuth serve` on the clustered, tagged 10M-transaction chain of
# scripts/bench-trace.sh (run that first), and `wrk` from a second process on loopback POSTing
# /api/v1/screen with addresses drawn at random from the simulation's truth; then the same for
# GET /api/v1/txs/<txid>. Prints wrk's requests per second, latency percentiles and errors, and
# the server's peak RSS.
#
#   scripts/bench-serve.sh [WORKDIR=/tmp/sleuth-bench-cluster] [SECONDS=20] [CONNECTIONS=16]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/sleuth-bench-cluster}
secs=${2:-20}
conns=${3:-16}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -f "$work/idx/cluster/meta.json" ] || { echo "run scripts/bench-trace.sh first (no clustered index in $work/idx)" >&2; exit 1; }
cargo build --release -q -p sleuth
awk -F, 'BEGIN { srand(7) } NR > 1 && rand() < 0.0006 { print $1 }' "$work/sim/truth/addresses.csv" >"$work/addrs.txt"
awk -F, 'BEGIN { srand(8) } NR > 1 && rand() < 0.001 { print $1 }' "$work/sim/truth/transactions.csv" >"$work/txids.txt"
/usr/bin/time -v target/release/sleuth -q --data-dir "$work/idx" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.time" &
server=$!
# $server is /usr/bin/time, which ignores SIGINT: signal the server itself.
trap 'pkill -INT -P $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
addr=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.out")
echo "serving on $addr ($(wc -l <"$work/addrs.txt") addresses, $(wc -l <"$work/txids.txt") txids to draw from)"
# The server warms its snapshot (attribution, big clusters' exposure) before it listens.
for kind in screen tx; do
  f=$work/addrs.txt; [ "$kind" = tx ] && f=$work/txids.txt
  for c in 1 $conns; do
    echo "== $kind: wrk -t$(( c < 2 ? 1 : 2 )) -c$c -d${secs}s"
    KIND=$kind SUBJECTS=$f wrk -t$(( c < 2 ? 1 : 2 )) -c"$c" -d"${secs}s" --latency -s scripts/lib/screen.lua "http://$addr" \
      | grep -E 'Requests/sec|50%|90%|99%|requests in|Non-2xx|Socket errors'
  done
done
pkill -INT -P $server; wait $server 2>/dev/null || true
awk -F: '/Maximum resident set size/ {printf "server peak RSS: %.0f MB\n", $2/1024}' "$work/serve.time"
