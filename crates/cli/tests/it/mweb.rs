//! Litecoin with MWEB active, end to end: a real `litecoind -regtest` whose MWEB deployment
//! activates at height 432 (regtest's own parameters), peg-ins into MWEB addresses and a send
//! inside MWEB, so that blocks carry MWEB data and a HogEx transaction; then `sleuth ingest`
//! of the node's block files, compared transaction by transaction with the node's `getblock`.

use serde_json::{json, Value};
use sleuth_index::{BlockInfo, TxInfo};
use sleuth_testkit::RegtestNode;

use crate::common::{ingest, sleuth, tx};

/// A node amount in LTC as litoshis.
fn litoshi(v: &Value) -> u64 {
    // Amounts have at most 8 decimals; the string form avoids float rounding.
    let s = v.to_string();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    whole.parse::<u64>().unwrap() * 100_000_000 + format!("{frac:0<8}").parse::<u64>().unwrap()
}

#[test]
fn blocks_with_mweb_and_hogex_index_as_the_node_sees_them() {
    let mut node = RegtestNode::start_with_mweb();
    node.create_wallet("w");
    let miner = node.new_address("w", "bech32");
    node.mine(431, &miner);
    let info = node.rpc("getblockchaininfo", json!([]));
    assert_eq!(info["softforks"]["mweb"]["active"], true, "{info}");
    // Two peg-ins, a block, a send from MWEB to MWEB, a block, a peg-out, a block.
    let mweb_a = node.wallet_rpc("w", "getnewaddress", json!(["", "mweb"])).as_str().unwrap().to_owned();
    let mweb_b = node.wallet_rpc("w", "getnewaddress", json!(["", "mweb"])).as_str().unwrap().to_owned();
    node.wallet_rpc("w", "sendtoaddress", json!([mweb_a, 5]));
    node.wallet_rpc("w", "sendtoaddress", json!([mweb_b, 3]));
    node.mine(1, &miner);
    node.wallet_rpc("w", "sendtoaddress", json!([node.wallet_rpc("w", "getnewaddress", json!(["", "mweb"])), 1]));
    node.mine(1, &miner);
    let plain = node.new_address("w", "bech32");
    let _ = node.try_wallet_rpc("w", "sendtoaddress", json!([plain, 6]));
    node.mine(2, &miner);
    let tip = node.rpc("getblockcount", json!([])).as_u64().unwrap();
    let blocks: Vec<Value> = (430..=tip)
        .map(|h| {
            let hash = node.rpc("getblockhash", json!([h]));
            node.rpc("getblock", json!([hash, 2]))
        })
        .collect();
    let with_mweb = blocks.iter().filter(|b| b.get("mweb").is_some()).count();
    assert!(with_mweb >= 3, "{with_mweb} blocks with MWEB data");
    node.stop();

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    let r = ingest(&d, &node.blocks_dir(), &[]);
    assert_eq!((r["chain"].as_str(), r["height"].as_u64()), (Some("litecoin-regtest"), Some(tip)), "{r}");
    assert!(r["mweb_bytes_skipped"].as_u64().unwrap() > 0, "MWEB data is reported as skipped: {r}");

    let mut hogex = 0;
    for b in &blocks {
        let height = b["height"].as_u64().unwrap();
        let ours: BlockInfo = sleuth(&d, ["block", &height.to_string(), "--json"]).run_json();
        assert_eq!(ours.hash, b["hash"].as_str().unwrap(), "height {height}");
        let theirs: Vec<&str> = b["tx"].as_array().unwrap().iter().map(|t| t["txid"].as_str().unwrap()).collect();
        assert_eq!(ours.txids, theirs, "height {height}: the canonical transactions, in order");
        for t in b["tx"].as_array().unwrap() {
            let info: TxInfo = tx(&d, t["txid"].as_str().unwrap());
            let vin = t["vin"].as_array().unwrap();
            assert_eq!(info.coinbase, vin[0].get("coinbase").is_some());
            if !info.coinbase {
                let prev: Vec<(String, u32)> = vin
                    .iter()
                    .map(|i| (i["txid"].as_str().unwrap().to_owned(), i["vout"].as_u64().unwrap() as u32))
                    .collect();
                let ours: Vec<(String, u32)> =
                    info.inputs.iter().map(|i| (i.prev_txid.clone().unwrap(), i.prev_vout.unwrap())).collect();
                assert_eq!(ours, prev, "{}: inputs", info.txid);
            }
            let vout = t["vout"].as_array().unwrap();
            assert_eq!(info.outputs.len(), vout.len(), "{}", info.txid);
            for (o, v) in info.outputs.iter().zip(vout) {
                assert_eq!(o.value_sat.get(), litoshi(&v["value"]), "{} output {}", info.txid, o.n);
                let spk = &v["scriptPubKey"];
                if let Some(a) = spk["addresses"].as_array().and_then(|a| a.first()).or(spk.get("address")) {
                    assert_eq!(o.address.as_deref(), a.as_str(), "{} output {}", info.txid, o.n);
                }
            }
            if vout.iter().any(|v| v["scriptPubKey"]["type"] == "witness_mweb_hogaddr") {
                // The HogEx is the block's last transaction.
                assert_eq!(Some(&info.txid.as_str()), theirs.last(), "height {height}");
                hogex += 1;
            }
        }
    }
    assert!(hogex >= 3, "{hogex} HogEx transactions checked");
}
