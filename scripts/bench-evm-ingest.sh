#!/usr/bin/env bash
# EVM ingest benchmark: starts Anvil (from tools/evm; `npm ci --prefix tools/evm` first),
# fills it with BLOCKS blocks of TXS_PER_BLOCK transactions (ETH payments, ERC-20 transfers,
# router fan-outs with three internal calls), then runs the bench under /usr/bin/time -v:
# a plain fetch of the same blocks, receipts and traces next to Sleuth's ingest.
# Usage: scripts/bench-evm-ingest.sh [BLOCKS] [TXS_PER_BLOCK] [IN_FLIGHT]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
blocks=${1:-400}
per_block=${2:-100}
in_flight=${3:-16}
anvil=tools/evm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
[ -x "$anvil" ] || npm ci --prefix tools/evm --no-audit --no-fund
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$anvil" --port "$port" --silent --no-mining --accounts 100 --balance 1000000 --gas-limit 1000000000 > "$work/anvil.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$url" >/dev/null && break; sleep 0.1; done
node tools/evm/compile.mjs crates/testkit/contracts/Heist.sol > "$work/contracts.json"
echo "filling anvil: $blocks blocks x $per_block transactions" >&2
python3 scripts/lib/evm_workload.py "$url" "$work/contracts.json" "$blocks" "$per_block" 42
cargo build --release -p sleuth-evm --bench ingest
bench=$(ls -t target/release/deps/ingest-* | grep -v '\.d$' | head -n 1)
/usr/bin/time -v "$bench" "$url" "$in_flight" 2> "$work/time.txt"
grep -E "Maximum resident|Elapsed" "$work/time.txt"

# The REST API on the same chain: `sleuth serve` on an EVM data dir, wrk POSTing
# /api/v1/screen for accounts paid in the last blocks, 1 and 16 connections.
if command -v wrk >/dev/null; then
    cargo build --release -p sleuth
    target/release/sleuth --data-dir "$work/eth" -q ingest --chain anvil --rpc-url "$url" > /dev/null
    python3 - "$url" > "$work/subjects.txt" <<'PY'
import json, sys, urllib.request
url = sys.argv[1]
def rpc(m, p):
    req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": m, "params": p}).encode(), {"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())["result"]
tip = int(rpc("eth_blockNumber", []), 16)
seen = set()
for h in range(max(0, tip - 20), tip + 1):
    for t in rpc("eth_getBlockByNumber", [hex(h), True])["transactions"]:
        if t.get("to"):
            seen.add(t["to"])
print("\n".join(sorted(seen)))
PY
    target/release/sleuth --data-dir "$work/eth" -q serve --listen 127.0.0.1:0 > "$work/serve.txt" &
    spid=$!
    for _ in $(seq 100); do grep -q listening "$work/serve.txt" && break; sleep 0.1; done
    addr=$(sed -n 's|listening on http://||p' "$work/serve.txt")
    for c in 1 16; do
        echo "== screen over REST: wrk -c$c -d10s, $(wc -l < "$work/subjects.txt") accounts"
        SUBJECTS="$work/subjects.txt" wrk -t$(( c < 2 ? 1 : 2 )) -c"$c" -d10s --latency -s scripts/lib/screen.lua "http://$addr" \
            | grep -E "Requests/sec|Non-2xx|Socket errors|^ +(50|90|99)%"
    done
    kill $spid
else
    echo "(wrk not found: apt-get install wrk for the REST figures)" >&2
fi
