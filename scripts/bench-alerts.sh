#!/usr/bin/env bash
# Block-to-webhook latency of watch alerts, following a real `litecoind -regtest` over RPC:
# a theft is split into N outputs; then, block after block, one of them is paid to an
# exchange's tagged deposit address, and the time from `generatetoaddress` returning to the
# webhook receiving that payment's `service` alert is recorded. Prints p50, p99 and max.
#
#   scripts/bench-alerts.sh [N=100] [WORKDIR=/tmp/sleuth-bench-alerts]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
work=${2:-/tmp/sleuth-bench-alerts}
command -v litecoind >/dev/null || { echo "needs litecoind (scripts/test installs it)" >&2; exit 1; }
cargo build --release -q -p sleuth
rm -rf "$work" && mkdir -p "$work/node"
exec python3 - "$PWD/target/release/sleuth" "$work" "$n" <<'PY'
import atexit, base64, http.server, json, os, socket, subprocess, sys, threading, time, urllib.request

sleuth, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
rpc_port, p2p_port, hook_port = free_port(), free_port(), free_port()
node = subprocess.Popen(["litecoind", "-regtest", "-vbparams=mweb:-2:0", f"-datadir={work}/node", f"-rpcport={rpc_port}",
    f"-port={p2p_port}", "-listen=0", "-server=1", "-txindex=1", "-fallbackfee=0.0001", "-printtoconsole=0", "-keypool=10"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
atexit.register(node.kill)
cookie = f"{work}/node/regtest/.cookie"
def rpc(method, params=(), wallet=None):
    auth = base64.b64encode(open(cookie).read().strip().encode()).decode()
    url = f"http://127.0.0.1:{rpc_port}/" + (f"wallet/{wallet}" if wallet else "")
    req = urllib.request.Request(url, json.dumps({"id": 1, "method": method, "params": list(params)}).encode(),
                                 {"Authorization": "Basic " + auth})
    try:
        return json.load(urllib.request.urlopen(req))["result"]
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method}: {e.read().decode()}")
for _ in range(600):
    try:
        rpc("getblockcount"); break
    except (OSError, RuntimeError):
        time.sleep(0.1)
for w in ("w", "thief", "exchange"):
    rpc("createwallet", [w])
miner = rpc("getnewaddress", [], "w")
rpc("generatetoaddress", [101 + n // 50, miner])
loot = rpc("getnewaddress", [], "thief")
theft = rpc("sendtoaddress", [loot, 20.0], "w")
rpc("generatetoaddress", [1, miner])
vout = rpc("gettransaction", [theft], "thief")["details"][0]["vout"]
# The thief splits the loot into n coins of its own, one for each payment.
split = rpc("sendmany", ["", {rpc("getnewaddress", [], "thief"): 0.1 for _ in range(n)}], "thief")
rpc("generatetoaddress", [1, miner])
coins = [(split, o["n"]) for o in rpc("getrawtransaction", [split, True])["vout"] if abs(o["value"] - 0.1) < 1e-9][:n]
deposits = [rpc("getnewaddress", ["", "p2sh-segwit"], "exchange") for _ in range(n)]
with open(f"{work}/tags.csv", "w") as f:
    f.write("address,label,category,source\n" + "".join(f"{d},Exchange A,exchange,bench\n" for d in deposits))
idx = f"{work}/idx"
auth = ["--rpc-url", f"http://127.0.0.1:{rpc_port}", "--rpc-cookie", cookie]
run = lambda *a: subprocess.run([sleuth, "-q", "--data-dir", idx, *a], check=True, stdout=subprocess.DEVNULL)
run("ingest", *auth)
run("tags", "import", f"{work}/tags.csv", "--format", "csv")
run("cluster", "build")
run("watch", "add", "--from", f"{theft}:{vout}", "--label", "bench", "--webhook", f"http://127.0.0.1:{hook_port}/hook")

arrived, lock = {}, threading.Lock()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            if body.get("kind") == "service":
                arrived.setdefault(body["txid"], time.monotonic())
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
threading.Thread(target=http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook).serve_forever, daemon=True).start()
server = subprocess.Popen([sleuth, "-q", "--data-dir", idx, "serve", "--listen", "127.0.0.1:0", *auth], stdout=subprocess.PIPE)
atexit.register(server.kill)
server.stdout.readline()
took = []
try:
    for (txid, k), deposit in zip(coins, deposits):
        raw = rpc("createrawtransaction", [[{"txid": txid, "vout": k}], {deposit: 0.0999}])
        pay = rpc("sendrawtransaction", [rpc("signrawtransactionwithwallet", [raw], "thief")["hex"]])
        rpc("generatetoaddress", [1, miner])
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
print(f"{len(took)} blocks, block to webhook: p50 {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms, max {took[-1]*1000:.0f} ms")
PY
