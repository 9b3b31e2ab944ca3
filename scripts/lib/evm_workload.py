#!/usr/bin/env python3
"""Fills a running Anvil (started with --no-mining and many funded accounts) with a workload
for the EVM ingest benchmark: blocks of ETH payments, ERC-20 transfers and router fan-outs
(three internal calls each), sent as JSON-RPC batches and mined with evm_mine.

Usage: evm_workload.py URL CONTRACTS_JSON BLOCKS TXS_PER_BLOCK SEED
"""
import json
import random
import sys
import urllib.request


def rpc_batch(url, calls):
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
    req = urllib.request.Request(url, body.encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        out = json.loads(r.read())
    errors = [o["error"] for o in out if "error" in o]
    if errors:
        sys.exit(f"evm_workload: {errors[0]}")
    return [o["result"] for o in sorted(out, key=lambda o: o["id"])]


def rpc(url, method, params):
    return rpc_batch(url, [(method, params)])[0]


def word(v):
    return f"{v:064x}"


def addr_word(a):
    return a[2:].lower().rjust(64, "0")


def main():
    url, contracts_path, blocks, per_block, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    c = json.load(open(contracts_path))
    rnd = random.Random(seed)
    accounts = rpc(url, "eth_accounts", [])
    deployer = accounts[0]

    def deploy(bytecode):
        h = rpc(url, "eth_sendTransaction", [{"from": deployer, "data": bytecode, "gas": hex(5_000_000)}])
        rpc(url, "evm_mine", [])
        return rpc(url, "eth_getTransactionReceipt", [h])["contractAddress"]

    # Token("Bench", "BNCH", 6, 10**18): the constructor's arguments ABI-encoded by hand.
    args = word(0x80) + word(0xC0) + word(6) + word(10**18)
    args += word(5) + b"Bench".hex().ljust(64, "0") + word(4) + b"BNCH".hex().ljust(64, "0")
    token = deploy(c["Token"]["bytecode"] + args)
    router = deploy(c["Router"]["bytecode"])
    sel_transfer = c["Token"]["methods"]["transfer(address,uint256)"]
    sel_fan = c["Router"]["methods"]["fanOut(address[],uint256[])"]
    # Spread tokens to the senders first.
    rpc_batch(url, [("eth_sendTransaction", [{"from": deployer, "to": token, "gas": hex(100_000),
                     "data": "0x" + sel_transfer + addr_word(a) + word(10**15)}]) for a in accounts[1:]])
    rpc(url, "evm_mine", [])

    # Nonces kept here: Anvil numbers a batch's transactions from the mined state, not the pool.
    nonces = {a: int(rpc(url, "eth_getTransactionCount", [a, "pending"]), 16) for a in accounts}
    fresh = [f"0x{rnd.getrandbits(160):040x}" for _ in range(5000)]
    for _ in range(blocks):
        calls = []
        for _ in range(per_block):
            sender = rnd.choice(accounts)
            kind = rnd.random()
            if kind < 0.5:
                tx = {"from": sender, "to": rnd.choice(fresh + accounts), "value": hex(rnd.randrange(10**12, 10**17)), "gas": hex(21_000)}
            elif kind < 0.8:
                tx = {"from": sender, "to": token, "gas": hex(100_000),
                      "data": "0x" + sel_transfer + addr_word(rnd.choice(fresh + accounts)) + word(rnd.randrange(1, 10**6))}
            else:
                tos = [rnd.choice(fresh) for _ in range(3)]
                amounts = [rnd.randrange(10**12, 10**15) for _ in range(3)]
                data = "0x" + sel_fan + word(0x40) + word(0x40 + 32 * 4) + word(3) + "".join(addr_word(t) for t in tos)
                data += word(3) + "".join(word(a) for a in amounts)
                tx = {"from": sender, "to": router, "value": hex(sum(amounts)), "gas": hex(200_000), "data": data}
            tx["nonce"] = hex(nonces[sender])
            nonces[sender] += 1
            calls.append(("eth_sendTransaction", [tx]))
        rpc_batch(url, calls)
        rpc(url, "evm_mine", [])
    print(json.dumps({"token": token, "router": router, "height": int(rpc(url, "eth_blockNumber", []), 16)}))


if __name__ == "__main__":
    main()
