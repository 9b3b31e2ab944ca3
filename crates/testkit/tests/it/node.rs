use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;

use serde_json::json;
use sleuth_testkit::{RegtestNode, RpcError};

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn starts_mines_and_is_gone_after_drop() {
    let node = RegtestNode::start();
    node.create_wallet("miner");
    let address = node.new_address("miner", "bech32");
    assert!(address.starts_with("rltc1q"), "{address}");

    let hashes = node.mine(101, &address);
    assert_eq!(hashes.len(), 101);
    assert_eq!(node.rpc("getblockcount", json!([])), 101);
    assert_eq!(node.rpc("getbestblockhash", json!([])), hashes[100]);
    assert!(node.blocks_dir().join("blk00000.dat").is_file());

    let pid = node.pid().expect("the node runs");
    let rpc_port = node.rpc_port();
    let datadir = node.datadir().to_path_buf();
    assert!(process_exists(pid));
    drop(node);

    assert!(!process_exists(pid), "litecoind {pid} still runs after drop");
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, rpc_port)).is_err());
    assert!(!datadir.exists(), "{} was not deleted", datadir.display());
}

#[test]
fn restarts_on_the_same_chain_with_wallets_and_reports_errors() {
    let mut node = RegtestNode::start();
    node.create_wallet("alice");
    node.create_wallet("bob");
    for address_type in ["legacy", "p2sh-segwit", "bech32"] {
        node.new_address("bob", address_type);
    }
    // Litecoin Core 0.21 predates bech32m.
    let error = node.try_wallet_rpc("bob", "getnewaddress", json!(["", "bech32m"])).unwrap_err();
    assert_eq!(error.code, -5, "{error}");

    let alice = node.new_address("alice", "legacy");
    let tip = node.mine(3, &alice).pop().unwrap();
    assert_eq!(
        node.try_rpc("getblockhash", json!([1000])),
        Err(RpcError { code: -8, message: "Block height out of range".into() })
    );

    node.stop();
    assert_eq!(node.pid(), None);
    let blk = node.blocks_dir().join("blk00000.dat");
    assert!(blk.metadata().unwrap().len() > 0);

    node.restart();
    assert_eq!(node.rpc("getbestblockhash", json!([])), tip);
    let mut wallets = node.rpc("listwallets", json!([]));
    wallets.as_array_mut().unwrap().sort_by_key(|w| w.to_string());
    assert_eq!(wallets, json!(["alice", "bob"]));
    assert_eq!(node.wallet_rpc("alice", "getbalances", json!([]))["mine"]["immature"], json!(150.0));
}
