//! Against a real `litecoind -regtest`: wallet transactions of every address type, ingested
//! while the node runs and after it stops, compared with the node's own answers; then more
//! blocks, a second ingest, and an `invalidateblock` reorg.

use std::path::Path;

use serde_json::{json, Value};
use sleuth_chain::script::AddressKey;
use sleuth_chain::Chain;
use sleuth_testkit::RegtestNode;

use crate::common::{address, digest, ingest, sleuth, status, tx};

fn sats(v: &Value) -> u64 {
    (v.as_f64().expect("an amount") * 1e8).round() as u64
}

/// The address of a node's `scriptPubKey` object (0.21 lists `addresses`, later ones `address`).
fn node_address(spk: &Value) -> Option<String> {
    spk.get("address")
        .or_else(|| spk.get("addresses").and_then(|a| a.get(0)))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Everything the index says must agree with the node: tip, tx count, the balance of every
/// address in `addrs` by `scantxoutset`, and every transaction of the last `last` blocks.
fn compare_with_node(node: &RegtestNode, d: &Path, addrs: &[String], last: u64) {
    let st = status(d);
    let height = node.rpc("getblockcount", json!([])).as_u64().unwrap();
    assert_eq!(st.chain, Chain::LitecoinRegtest);
    assert_eq!(st.height, Some(height as u32));
    assert_eq!(st.tip_hash.as_deref(), node.rpc("getbestblockhash", json!([])).as_str());
    let stats = node.rpc("getchaintxstats", json!([]));
    assert_eq!(st.transactions, stats["txcount"].as_u64().unwrap(), "transaction count vs getchaintxstats");

    for a in addrs {
        let scan = node.rpc("scantxoutset", json!(["start", [format!("addr({a})")]]));
        let ours = address(d, a);
        assert_eq!(ours.balance_sat.get(), sats(&scan["total_amount"]), "balance of {a} vs scantxoutset");
        assert_eq!(ours.unspent_count, scan["unspents"].as_array().unwrap().len() as u64, "utxos of {a}");
        assert_eq!(ours.address, *a);
    }

    for h in height.saturating_sub(last - 1)..=height {
        let hash = node.rpc("getblockhash", json!([h]));
        let block = node.rpc("getblock", json!([hash, 2]));
        for t in block["tx"].as_array().unwrap() {
            compare_tx(node, d, t, h);
        }
    }
}

fn compare_tx(node: &RegtestNode, d: &Path, t: &Value, height: u64) {
    let txid = t["txid"].as_str().unwrap();
    let ours = tx(d, txid);
    assert_eq!(ours.block_height as u64, height, "{txid}");
    let vin = t["vin"].as_array().unwrap();
    let vout = t["vout"].as_array().unwrap();
    assert_eq!(ours.inputs.len(), vin.len(), "{txid} inputs");
    assert_eq!(ours.outputs.len(), vout.len(), "{txid} outputs");
    let mut in_sum = 0;
    for (i, (mine, theirs)) in ours.inputs.iter().zip(vin).enumerate() {
        if theirs.get("coinbase").is_some() {
            assert!(ours.coinbase && mine.prev_txid.is_none(), "{txid}:{i} is a coinbase input");
            continue;
        }
        let prev_txid = theirs["txid"].as_str().unwrap();
        let prev_vout = theirs["vout"].as_u64().unwrap();
        assert_eq!(mine.prev_txid.as_deref(), Some(prev_txid), "{txid} input {i}");
        assert_eq!(mine.prev_vout, Some(prev_vout as u32), "{txid} input {i}");
        let prev = node.rpc("getrawtransaction", json!([prev_txid, true]));
        let spent = &prev["vout"][prev_vout as usize];
        assert_eq!(mine.value_sat.get(), sats(&spent["value"]), "{txid} input {i} value");
        assert_eq!(mine.address, node_address(&spent["scriptPubKey"]), "{txid} input {i} address");
        in_sum += sats(&spent["value"]);
    }
    let mut out_sum = 0;
    for (mine, theirs) in ours.outputs.iter().zip(vout) {
        let n = theirs["n"].as_u64().unwrap();
        assert_eq!(mine.n as u64, n);
        assert_eq!(mine.value_sat.get(), sats(&theirs["value"]), "{txid}:{n} value");
        assert_eq!(mine.address, node_address(&theirs["scriptPubKey"]), "{txid}:{n} address");
        out_sum += mine.value_sat.get();
        match &mine.spent_by {
            Some(s) => {
                let spender = node.rpc("getrawtransaction", json!([s.txid, true]));
                let input = &spender["vin"][s.vin as usize];
                assert_eq!(
                    (input["txid"].as_str(), input["vout"].as_u64()),
                    (Some(txid), Some(n)),
                    "{txid}:{n} spender"
                );
            }
            None => {
                let utxo = node.rpc("gettxout", json!([txid, n, false]));
                let unspendable = theirs["scriptPubKey"]["type"] == "nulldata";
                assert!(!utxo.is_null() || unspendable, "{txid}:{n}: the node says it is spent, the index does not");
            }
        }
    }
    if !ours.coinbase {
        assert_eq!(ours.fee_sat.get(), in_sum - out_sum, "{txid} fee");
    }
}

#[test]
fn ingest_agrees_with_the_node_through_new_blocks_a_reorg_and_a_stop() {
    let mut node = RegtestNode::start();
    node.create_wallet("alice");
    node.create_wallet("bob");
    let miner = node.new_address("alice", "bech32");
    node.mine(110, &miner);
    let mut addrs = vec![miner.clone()];

    // Alice pays Bob on every address type the wallet makes, plus a Taproot output.
    for kind in ["legacy", "p2sh-segwit", "bech32", "legacy", "p2sh-segwit", "bech32"] {
        let a = node.new_address("bob", kind);
        node.wallet_rpc("alice", "sendtoaddress", json!([a, 1.25]));
        addrs.push(a);
    }
    let taproot = sleuth_chain::address::encode(&AddressKey::witness(1, &[0x5a; 32]).unwrap(), Chain::LitecoinRegtest);
    assert_eq!(node.rpc("validateaddress", json!([taproot]))["isvalid"], true);
    node.wallet_rpc("alice", "sendtoaddress", json!([taproot, 0.5]));
    addrs.push(taproot);
    // An address paid twice (reuse).
    node.wallet_rpc("alice", "sendtoaddress", json!([addrs[1], 0.1]));
    node.mine(1, &miner);
    // Bob spends from each of his address types back to Alice.
    let back = node.new_address("alice", "legacy");
    node.wallet_rpc("bob", "sendtoaddress", json!([back, 7.0]));
    addrs.push(back);
    node.mine(1, &miner);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("idx");
    // Ingest while the node runs: its last block file is preallocated and still open.
    let r = ingest(&d, &node.blocks_dir(), &[]);
    assert_eq!(r["chain"], "litecoin-regtest");
    assert_eq!(r["added_blocks"], 113);
    compare_with_node(&node, &d, &addrs, 5);

    // More blocks and a second ingest: only the new blocks are processed.
    let carol = node.new_address("bob", "bech32");
    node.wallet_rpc("alice", "sendtoaddress", json!([carol, 3.0]));
    addrs.push(carol);
    node.mine(3, &miner);
    let r = ingest(&d, &node.blocks_dir(), &[]);
    assert_eq!(r["added_blocks"], 3);
    assert_eq!(r["unwound_blocks"], 0);
    compare_with_node(&node, &d, &addrs, 4);

    // Reorg: the node drops its last three blocks and mines a longer branch.
    let tip = node.rpc("getblockcount", json!([])).as_u64().unwrap();
    let old_tip = node.rpc("getbestblockhash", json!([])).as_str().unwrap().to_owned();
    let cut = node.rpc("getblockhash", json!([tip - 2]));
    node.rpc("invalidateblock", json!([cut]));
    let dave = node.new_address("bob", "p2sh-segwit");
    node.wallet_rpc("alice", "sendtoaddress", json!([dave, 2.0]));
    addrs.push(dave);
    let other_miner = node.new_address("bob", "legacy");
    node.mine(5, &other_miner);
    addrs.push(other_miner);
    let r = ingest(&d, &node.blocks_dir(), &[]);
    assert_eq!(r["unwound_blocks"], 3);
    assert_eq!(r["added_blocks"], 5);
    compare_with_node(&node, &d, &addrs, 8);
    let (code, err) = sleuth(&d, ["block", &old_tip]).run_fail();
    assert_ne!(code, 0);
    assert!(err.contains(&old_tip), "{err}");

    // After the node stops, its files are complete: nothing new, and the incremental index
    // answers exactly as one built from scratch.
    node.stop();
    let r = ingest(&d, &node.blocks_dir(), &[]);
    assert_eq!(r["added_blocks"], 0);
    assert!(r["stale_blocks"].as_u64().unwrap() >= 3, "the invalidated blocks stay in the files as stale");
    let fresh = dir.path().join("fresh");
    ingest(&fresh, &node.blocks_dir(), &[]);
    assert_eq!(digest(&d), digest(&fresh));
}
