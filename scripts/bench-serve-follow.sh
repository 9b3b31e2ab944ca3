#!/usr/bin/env bash
# REST API load while follow mode indexes blocks: the chain of scripts/bench-trace.sh (run that
# first) is split at its last two block files. A second data dir is ingested from the files
# before them, clustered and tagged like bench-trace.sh's; `sleuth serve --follow-blocks-dir`
# then serves it while a writer appends the held-back blocks, one every BLOCK_EVERY seconds, to
# the followed folder (as a node appends to its blk*.dat), and `wrk` from a second process on
# loopback POSTs /api/v1/screen with addresses drawn at random from the truth. Prints wrk's
# requests per second, latency percentiles and errors, the blocks indexed during the run and
# the time from each block's write to the status answering it, and the server's peak RSS.
#
#   scripts/bench-serve-follow.sh [WORKDIR=/tmp/sleuth-bench-cluster] [SECONDS=60] [CONNECTIONS=16] [BLOCK_EVERY=5]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/sleuth-bench-cluster}
secs=${2:-60}
conns=${3:-16}
every=${4:-5}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -f "$work/services.csv" ] || { echo "run scripts/bench-trace.sh first (no $work/services.csv)" >&2; exit 1; }
cargo build --release -q -p sleuth
sleuth=target/release/sleuth
fw=$work/follow
files=$(ls "$work/sim/blocks" | grep -c '^blk.*\.dat$')
held=("$work/sim/blocks"/blk$(printf %05d $((files - 2))).dat "$work/sim/blocks"/blk$(printf %05d $((files - 1))).dat)
if [ ! -f "$fw/base/cluster/meta.json" ] || [ ! -d "$fw/base/tags" ]; then
  rm -rf "$fw"
  mkdir -p "$fw/blocks"
  # The simulated chain's rules (no halvings) go with its truth beside the blocks.
  ln -s "$work/sim/truth" "$fw/truth"
  for f in $(ls "$work/sim/blocks" | grep '^blk.*\.dat$' | head -n $((files - 2))); do
    ln "$work/sim/blocks/$f" "$fw/blocks/$f"
  done
  "$sleuth" -q --data-dir "$fw/base" ingest --blocks-dir "$fw/blocks" >/dev/null
  "$sleuth" -q --data-dir "$fw/base" cluster build >/dev/null
  "$sleuth" -q --data-dir "$fw/base" tags import "$work/services.csv" --format csv >/dev/null
fi
# Each run starts from the base: a fresh copy of its index, no appended file.
rm -rf "$fw/run" "$fw/blocks"/blk$(printf %05d $((files - 2))).dat
cp -a "$fw/base" "$fw/run"
awk -F, 'BEGIN { srand(7) } NR > 1 && rand() < 0.0003 { print $1 }' "$work/sim/truth/addresses.csv" >"$fw/drawn.txt"

/usr/bin/time -v "$sleuth" -q --data-dir "$fw/run" serve --listen 127.0.0.1:0 --follow-blocks-dir "$fw/blocks" \
  >"$fw/serve.out" 2>"$fw/serve.time" &
server=$!
trap 'pkill -INT -P $server 2>/dev/null || true; kill $writer 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q listening "$fw/serve.out" 2>/dev/null && break; sleep 0.1; done
addr=$(grep -o '127.0.0.1:[0-9]*' "$fw/serve.out")
height() { curl -s "http://$addr/api/v1/status" | grep -o '"height": *[0-9]*' | grep -o '[0-9]*$'; }
start=$(height)
# Only addresses the served index knows (the truth lists the held-back blocks' too).
python3 - "http://$addr" "$fw/drawn.txt" >"$fw/addrs.txt" <<'PY'
import json, sys, urllib.error, urllib.request
for a in (l.strip() for l in open(sys.argv[2])):
    req = urllib.request.Request(sys.argv[1] + "/api/v1/screen", json.dumps({"subject": a}).encode(),
                                 {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
        print(a)
    except urllib.error.HTTPError:
        pass
PY
echo "serving on $addr at height $start ($(wc -l <"$fw/addrs.txt") of $(wc -l <"$fw/drawn.txt") drawn addresses known); appending a block every ${every}s to $fw/blocks"

# The writer: one block record (magic, size, block) per BLOCK_EVERY seconds, written whole,
# then it waits until the server's status shows that height and logs the delay.
python3 - "$fw/blocks/blk$(printf %05d $((files - 2))).dat" "$every" "$start" "http://$addr" "${held[@]}" \
  >"$fw/blocks.log" <<'PY' &
import json, struct, sys, time, urllib.request
out, every, height, url, sources = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
def records():
    for path in sources:
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 8 <= len(data):
            size = struct.unpack_from("<I", data, pos + 4)[0]
            if size == 0:
                break
            yield data[pos:pos + 8 + size]
            pos += 8 + size
with open(out, "ab", buffering=0) as f:
    for rec in records():
        time.sleep(every)
        height += 1
        f.write(rec)
        written = time.time()
        while True:
            try:
                h = json.load(urllib.request.urlopen(url + "/api/v1/status", timeout=5))["height"]
            except Exception:
                h = -1
            if h >= height or time.time() - written > 60:
                break
            time.sleep(0.05)
        print(height, round((time.time() - written) * 1000), flush=True)
PY
writer=$!
sleep 2
echo "== screen: wrk -t2 -c$conns -d${secs}s while blocks arrive"
SUBJECTS=$fw/addrs.txt wrk -t2 -c"$conns" -d"${secs}s" --latency -s scripts/lib/screen.lua "http://$addr" \
  | grep -E 'Requests/sec|50%|90%|99%|requests in|Non-2xx|Socket errors'
kill $writer 2>/dev/null || true
end=$(height)
echo "blocks indexed during the run: $((end - start)) (height $start -> $end)"
sort -n -k2 "$fw/blocks.log" | awk '{ d[NR] = $2 } END { if (NR) printf "block written -> status answers it: %d blocks, p50 %d ms, max %d ms\n", NR, d[int((NR + 1) / 2)], d[NR] }'
pkill -INT -P $server; wait $server 2>/dev/null || true
awk -F: '/Maximum resident set size/ {printf "server peak RSS: %.0f MB\n", $2/1024}' "$fw/serve.time"
