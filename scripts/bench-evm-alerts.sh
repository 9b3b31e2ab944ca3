#!/usr/bin/env bash
# Block-to-webhook latency of watch alerts on an EVM data dir, following a real Anvil node
# over its JSON-RPC: a drain is watched; then, block after block, the thief pays one of N
# fresh deposit addresses tagged as an exchange's, and the time from the node's receipt (the
# block is mined) to the webhook receiving that payment's `service` alert is recorded.
# Prints p50, p99 and max, for the server's --refresh (how often it asks the node).
#
#   scripts/bench-evm-alerts.sh [N=50] [REFRESH=1.0] [WORKDIR=/tmp/sleuth-bench-evm-alerts]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
refresh=${2:-1.0}
work=${3:-/tmp/sleuth-bench-evm-alerts}
anvil=tools/evm/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
[ -x "$anvil" ] || npm ci --prefix tools/evm --no-audit --no-fund
cargo build --release -q -p sleuth
rm -rf "$work" && mkdir -p "$work"
exec python3 - "$PWD/target/release/sleuth" "$PWD/$anvil" "$work" "$n" "$refresh" <<'PY'
import atexit, http.server, json, socket, subprocess, sys, threading, time, urllib.request

sleuth, anvil, work, n, refresh = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
port, hook_port = free_port(), free_port()
node = subprocess.Popen([anvil, "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
atexit.register(node.kill)
url = f"http://127.0.0.1:{port}"
def rpc(method, *params):
    req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode(),
                                 {"Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(req))
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]
for _ in range(300):
    try:
        rpc("eth_chainId"); break
    except OSError:
        time.sleep(0.1)
def send(frm, to, wei):
    h = rpc("eth_sendTransaction", {"from": frm, "to": to, "value": hex(wei)})
    while (r := rpc("eth_getTransactionReceipt", h)) is None:
        time.sleep(0.005)
    return h
eth = 10**18
victim = rpc("eth_accounts")[0]
thief = "0x00000000000000000000000000000000000f0f01"
rpc("anvil_impersonateAccount", thief)
drain = send(victim, thief, 1000 * eth)
deposits = [f"0x{0xd0000000 + i:040x}" for i in range(n)]
with open(f"{work}/tags.csv", "w") as f:
    f.write("address,label,category,source\n" + "".join(f"{d},Exchange B,exchange,bench\n" for d in deposits))
idx = f"{work}/eth"
run = lambda *a: subprocess.run([sleuth, "-q", "--data-dir", idx, *a], check=True, stdout=subprocess.DEVNULL)
run("ingest", "--rpc-url", url, "--chain", "anvil")
run("tags", "import", f"{work}/tags.csv", "--format", "csv")
run("watch", "add", "--from", drain, "--label", "bench", "--webhook", f"http://127.0.0.1:{hook_port}/hook")

arrived, lock = {}, threading.Lock()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            if body.get("kind") == "service":
                arrived.setdefault(body["txid"].lower(), time.monotonic())
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
threading.Thread(target=http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook).serve_forever, daemon=True).start()
server = subprocess.Popen([sleuth, "-q", "--data-dir", idx, "serve", "--listen", "127.0.0.1:0", "--rpc-url", url,
                           "--refresh", refresh], stdout=subprocess.PIPE)
atexit.register(server.kill)
server.stdout.readline()
took = []
try:
    for d in deposits:
        pay = send(thief, d, eth).lower()
        mined = time.monotonic()
        while True:
            with lock:
                if pay in arrived:
                    took.append(arrived[pay] - mined); break
            if time.monotonic() - mined > 60:
                raise SystemExit(f"no alert for {pay} within 60 s")
            time.sleep(0.002)
finally:
    server.kill(); node.terminate(); node.wait()
took.sort()
q = lambda p: took[min(len(took) - 1, int(p * len(took)))] * 1000
print(f"{len(took)} blocks, --refresh {refresh} s, receipt to webhook: p50 {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms, max {took[-1]*1000:.0f} ms")
PY
