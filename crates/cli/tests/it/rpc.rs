//! Indexing from a real `litecoind -regtest` over its JSON-RPC: `ingest --rpc-url` builds the
//! same index as the node's block files, incremental runs and a reorg follow the node, and an
//! unreachable node, refused credentials and a wrong chain are clear errors; `serve
//! --rpc-url` on an empty data dir serves the node's tip, each new block within a second of
//! `generatetoaddress` returning, and a reorg.

use serde_json::{json, Value};
use sleuth_testkit::RegtestNode;

use crate::common::{digest, ingest, simulate, sleuth};
use crate::serve::{get, http_text, serve, until};

fn best(node: &RegtestNode) -> String {
    node.rpc("getbestblockhash", json!([])).as_str().unwrap().to_owned()
}

/// Payments to each address type, mined into one block.
fn payments(node: &RegtestNode, miner: &str) {
    for kind in ["legacy", "p2sh-segwit", "bech32"] {
        let to = node.new_address("w", kind);
        node.wallet_rpc("w", "sendtoaddress", json!([to, 1.25]));
    }
    node.mine(1, miner);
}

#[test]
fn ingest_over_rpc_builds_the_index_the_block_files_give_and_follows_reorgs() {
    let mut node = RegtestNode::start();
    node.create_wallet("w");
    let miner = node.new_address("w", "bech32");
    node.mine(105, &miner);
    payments(&node, &miner);
    let tmp = tempfile::tempdir().unwrap();
    let over_rpc = tmp.path().join("rpc");
    let (url, cookie) = (node.rpc_url(), node.cookie_file());
    let rpc_ingest = |d: &std::path::Path| -> Value {
        sleuth(d, ["--json", "ingest", "--rpc-url", &url, "--rpc-cookie", cookie.to_str().unwrap()]).run_json()
    };
    let r = rpc_ingest(&over_rpc);
    assert_eq!((r["added_blocks"].as_u64(), r["height"].as_u64()), (Some(107), Some(106)), "{r}");
    assert_eq!(r["tip_hash"].as_str(), Some(best(&node).as_str()));

    // Incremental: only what is new.
    payments(&node, &miner);
    node.mine(1, &miner);
    let r = rpc_ingest(&over_rpc);
    assert_eq!((r["added_blocks"].as_u64(), r["unwound_blocks"].as_u64()), (Some(2), Some(0)), "{r}");

    // A reorg: the node drops its two newest blocks for a longer branch of three.
    let h = node.rpc("getblockcount", json!([])).as_u64().unwrap();
    let dropped = node.rpc("getblockhash", json!([h - 1]));
    node.rpc("invalidateblock", json!([dropped]));
    payments(&node, &miner);
    node.mine(2, &miner);
    let r = rpc_ingest(&over_rpc);
    assert_eq!((r["unwound_blocks"].as_u64(), r["added_blocks"].as_u64()), (Some(2), Some(3)), "{r}");
    assert_eq!(r["tip_hash"].as_str(), Some(best(&node).as_str()));

    // The same index as the node's own block files (stale blocks and all in them).
    // The cookie as it was: the node deletes its own when it stops.
    let old_cookie = tmp.path().join("old.cookie");
    std::fs::copy(&cookie, &old_cookie).unwrap();
    node.stop();
    let from_files = tmp.path().join("files");
    ingest(&from_files, &node.blocks_dir(), &[]);
    assert_eq!(digest(&over_rpc), digest(&from_files), "every block, transaction and address alike");

    // The node away: a clear error, the index as it was.
    let away = ["ingest", "--rpc-url", &url, "--rpc-cookie", old_cookie.to_str().unwrap()];
    let (code, err) = sleuth(&over_rpc, away).run_fail();
    assert_eq!(code, 1);
    assert!(err.contains(&format!("no answer from the node at {url}")), "{err}");
    let (_, err) =
        sleuth(&over_rpc, ["ingest", "--rpc-url", &url, "--rpc-cookie", cookie.to_str().unwrap()]).run_fail();
    assert!(err.contains("regtest/.cookie") && err.contains("is the node running"), "{err}");
    node.restart();
    // Credentials the node refuses.
    let wrong = tmp.path().join("wrong.cookie");
    std::fs::write(&wrong, "__cookie__:not-the-password\n").unwrap();
    let (_, err) = sleuth(&over_rpc, ["ingest", "--rpc-url", &url, "--rpc-cookie", wrong.to_str().unwrap()]).run_fail();
    assert!(err.contains("refused the credentials"), "{err}");
    let (_, err) = sleuth(&over_rpc, ["ingest", "--rpc-url", &url]).run_fail();
    assert!(err.contains("needs credentials"), "{err}");
    // An index of another chain.
    let sim = tmp.path().join("sim");
    simulate(&sim, &["--transactions", "2000", "--seed", "3"]);
    let other = tmp.path().join("other");
    ingest(&other, &sim.join("blocks"), &[]);
    let (_, err) =
        sleuth(&other, ["ingest", "--rpc-url", &url, "--rpc-cookie", node.cookie_file().to_str().unwrap()]).run_fail();
    assert!(err.contains("is on litecoin-regtest") && err.contains("holds regtest"), "{err}");
}

#[test]
fn serve_over_rpc_starts_from_an_empty_data_dir_and_follows_blocks_and_reorgs() {
    let node = RegtestNode::start();
    node.create_wallet("w");
    let miner = node.new_address("w", "bech32");
    node.mine(101, &miner);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    let (url, cookie) = (node.rpc_url(), node.cookie_file());
    let s = serve(&d, &["--rpc-url", &url, "--rpc-cookie", cookie.to_str().unwrap()]);
    let tip = |v: &Value| v["tip_hash"].as_str().map(str::to_owned);
    assert_eq!(tip(&get(&s, "/api/v1/status").1), Some(best(&node)), "served from the node's tip");

    let mut took = Vec::new();
    for _ in 0..10 {
        let to = node.new_address("w", "p2sh-segwit");
        let txid = node.wallet_rpc("w", "sendtoaddress", json!([to, 0.5])).as_str().unwrap().to_owned();
        let block = node.mine(1, &miner).remove(0);
        took.push(until(&s, "/api/v1/status", "the new block", |v| tip(v) == Some(block.clone())));
        let (code, t) = get(&s, &format!("/api/v1/txs/{txid}"));
        assert_eq!((code, t["block_hash"].as_str()), (200, Some(block.as_str())), "{t}");
    }
    took.sort();
    eprintln!(
        "block to /api/v1/status over RPC: p50 {:?}, max {:?} of {}",
        took[took.len() / 2],
        took.last().unwrap(),
        took.len()
    );

    // A reorg to a longer branch.
    let h = node.rpc("getblockcount", json!([])).as_u64().unwrap();
    node.rpc("invalidateblock", json!([node.rpc("getblockhash", json!([h - 1]))]));
    // Another coinbase address, so that the new branch's first block is not the one invalidated.
    node.mine(3, &node.new_address("w", "legacy"));
    let want = best(&node);
    until(&s, "/api/v1/status", "the new branch", |v| tip(v) == Some(want.clone()));
    let (_, metrics) = http_text(&s, "/metrics");
    assert!(
        metrics.contains(&format!("sleuth_node_height {}", h + 1)) && metrics.contains("sleuth_lag_blocks 0"),
        "{metrics}"
    );
}
