//! A reorg made on the node (`evm_snapshot`, `evm_revert`, then other blocks) is unwound and
//! redone, and balances equal the node's on its new branch.

use alloy::primitives::{Address, B256};
use serde_json::json;
use sleuth_evm::model::AssetId;
use sleuth_evm::store::EvmStore;
use sleuth_testkit::anvil::Anvil;

use crate::heist::{node_balance, ETH};
use crate::ingest::ingest;

#[test]
fn a_reorg_on_the_node_is_unwound_and_balances_follow_the_new_branch() {
    let node = Anvil::start();
    let acc = node.accounts();
    node.send(&acc[0], Some(&acc[1]), 3 * ETH, "0x");
    let snapshot = node.rpc("evm_snapshot", json!([]));
    let orphan = node.send(&acc[1], Some(&acc[2]), 2 * ETH, "0x");
    node.mine(1);
    let dir = tempfile::tempdir().unwrap();
    let first = ingest(&node, dir.path(), None);
    let orphan_hash: B256 = orphan["transactionHash"].as_str().unwrap().parse().unwrap();
    {
        let r = EvmStore::open(dir.path()).unwrap().reader().unwrap();
        assert!(r.tx_num_of(&orphan_hash).unwrap().is_some());
    }

    assert_eq!(node.rpc("evm_revert", json!([snapshot])), true);
    let replacement = node.send(&acc[1], Some(&acc[3]), ETH, "0x");
    node.mine(3);
    let second = ingest(&node, dir.path(), None);
    assert_eq!(second.unwound_blocks, 2, "the orphaned transaction's block and the empty one above it");
    assert_eq!(second.height, Some(node.height()));
    assert!(second.height > first.height);

    let r = EvmStore::open(dir.path()).unwrap().reader().unwrap();
    assert!(r.tx_num_of(&orphan_hash).unwrap().is_none(), "the orphaned transaction is gone");
    let replacement_hash: B256 = replacement["transactionHash"].as_str().unwrap().parse().unwrap();
    assert!(r.tx_num_of(&replacement_hash).unwrap().is_some());
    for a in r.account_addresses().unwrap() {
        assert_eq!(r.balance(&a, AssetId::ETH).unwrap(), node_balance(&node, &a), "ETH balance of {a}");
    }
    // The account paid only on the orphaned branch took part in no transaction any more,
    // and its orphaned credit is gone from the credits a screening reads.
    let a2: Address = acc[2].parse().unwrap();
    assert_eq!(r.account(&a2).unwrap().unwrap().tx_count, 0);
    let credits = r.credits_of(&a2, AssetId::ETH, 100).unwrap();
    assert_eq!(credits.len(), 1, "only its genesis allocation: {credits:?}");
    assert!(!credits[0].1.has_payer());
    // Every account's credits agree with its transfers.
    for a in r.account_addresses().unwrap() {
        let from_credits: Vec<u64> =
            r.credits_of(&a, AssetId::ETH, usize::MAX).unwrap().into_iter().map(|(n, _)| n).collect();
        let mut from_transfers = Vec::new();
        for n in r.account_transfer_nums(&a, None, usize::MAX).unwrap() {
            let t = r.transfer(n).unwrap();
            if t.to == a && t.effective() && t.kind.credits() && t.asset == AssetId::ETH {
                from_transfers.push(n);
            }
        }
        assert_eq!(from_credits, from_transfers, "credits of {a}");
    }
    for h in 0..=node.height() {
        let hash =
            node.rpc("eth_getBlockByNumber", json!([format!("0x{h:x}"), false]))["hash"].as_str().unwrap().to_string();
        assert_eq!(r.block(h).unwrap().unwrap().hash.to_string(), hash, "block {h}");
    }
}
