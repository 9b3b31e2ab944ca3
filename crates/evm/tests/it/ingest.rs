//! Ingest of the heist: every account's ETH and token balance equals the node's, counts
//! equal the node's, and both trace dialects give the same transfers.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use alloy::primitives::{Address, U256};
use serde_json::json;
use sleuth_evm::model::{AssetId, TransferKind};
use sleuth_evm::store::EvmStore;
use sleuth_evm::{sync, EvmNode, SyncOptions, SyncReport, TraceDialect};
use sleuth_testkit::anvil::Anvil;

use crate::heist::{node_balance, node_nonce, node_token_balance, Heist, ETH};

pub fn ingest(node: &Anvil, dir: &Path, dialect: Option<TraceDialect>) -> SyncReport {
    let rpc = EvmNode::connect(&node.url()).unwrap();
    let opts = SyncOptions { dialect, batch_blocks: 7, ..SyncOptions::default() };
    sync(dir, &rpc, &opts, &AtomicBool::new(false), &mut |_, _| {}).unwrap()
}

#[test]
fn balances_counts_and_transfers_equal_the_nodes_under_both_trace_dialects() {
    let node = Anvil::start();
    let heist = Heist::play(&node);
    let tip = node.height();
    let parity_dir = tempfile::tempdir().unwrap();
    let geth_dir = tempfile::tempdir().unwrap();
    let report = ingest(&node, parity_dir.path(), None);
    assert_eq!(report.traces, TraceDialect::Parity, "anvil answers trace_block");
    assert_eq!(report.height, Some(tip));
    assert_eq!(report.chain_id, 31337);
    ingest(&node, geth_dir.path(), Some(TraceDialect::Geth));

    let store = EvmStore::open(parity_dir.path()).unwrap();
    let r = store.reader().unwrap();
    // Every account's ETH and token balance, as the node has them at the tip.
    let accounts = r.account_addresses().unwrap();
    assert!(accounts.len() >= 15, "{} accounts", accounts.len());
    let token = r.token_id(&heist.token).unwrap().expect("the token is indexed");
    let mut holders = 0;
    for a in &accounts {
        assert_eq!(r.balance(a, AssetId::ETH).unwrap(), node_balance(&node, a), "ETH balance of {a}");
        let held = r.balance(a, token).unwrap();
        if !a.is_zero() {
            assert_eq!(held, node_token_balance(&node, &heist.token, a), "token balance of {a}");
            holders += (!held.is_zero()) as usize;
        }
    }
    assert_eq!(holders, 4, "exchange A, the thief and the two deposits hold the token");
    for a in node.accounts() {
        let a: Address = a.parse().unwrap();
        assert!(accounts.contains(&a), "dev account {a} is indexed");
        assert_eq!(r.account(&a).unwrap().unwrap().sent, node_nonce(&node, &a), "transactions sent by {a}");
    }
    // Transaction counts, block by block.
    let mut node_txs = 0u64;
    for h in 0..=tip {
        let n = node.rpc("eth_getBlockTransactionCountByNumber", json!([format!("0x{h:x}")]));
        let n = u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        assert_eq!(r.block(h).unwrap().unwrap().tx_count as u64, n, "transactions in block {h}");
        node_txs += n;
    }
    assert_eq!(r.counts().unwrap().transactions, node_txs);

    // Token metadata from the contract.
    let t = r.token(token).unwrap().unwrap();
    assert_eq!((t.symbol.as_deref(), t.decimals), (Some("USDX"), Some(6)));

    // The reverted transaction: indexed, failed, its value marked reverted; its fee paid.
    let v = r.tx_view(&heist.reverted_tx).unwrap();
    assert!(!v.success);
    let value = v.transfers.iter().find(|t| t.kind == TransferKind::Value).expect("its value transfer is kept");
    assert!(value.reverted && value.to == heist.refuser.to_string());
    assert!(v.transfers.iter().any(|t| t.kind == TransferKind::FeeBurn && !t.reverted));

    // The reverted internal call, and the payment made inside it, are kept and marked; the
    // fallback payment moved.
    let v = r.tx_view(&heist.pay_or_else_tx).unwrap();
    let internal: Vec<_> = v.transfers.iter().filter(|t| t.kind == TransferKind::Internal).collect();
    assert_eq!(internal.len(), 3, "{internal:?}");
    assert!(internal[0].reverted && internal[0].to == heist.bouncer.to_string());
    assert!(
        internal[1].reverted
            && internal[1].from == heist.bouncer.to_string()
            && internal[1].to == heist.mules[1].to_string()
    );
    assert!(!internal[2].reverted && internal[2].to == heist.mules[0].to_string());
    assert_eq!(internal[2].amount_base.0, U256::from(2 * ETH));

    // Created with value and destroyed in one transaction: both recorded on the child.
    let v = r.tx_view(&heist.ephemeral_tx).unwrap();
    let create = v.transfers.iter().find(|t| t.kind == TransferKind::Create).expect("the endowment");
    let destroy = v.transfers.iter().find(|t| t.kind == TransferKind::Selfdestruct).expect("the payout");
    assert_eq!(create.from, heist.factory.to_string());
    assert_eq!(destroy.from, create.to);
    assert_eq!(destroy.to, heist.deposit_b.to_string());
    let child: Address = create.to.parse().unwrap();
    let child_view = r.address_view(&child).unwrap();
    assert_eq!(child_view.kind, "contract");
    assert_eq!(child_view.created_by.as_deref(), Some(v.hash.as_str()));
    assert_eq!(child_view.destroyed_by.as_deref(), Some(v.hash.as_str()));
    let code = node.rpc("eth_getCode", json!([child.to_string(), "latest"]));
    assert_eq!(code, "0x", "the node deleted the child");

    // The router's fan-out and the mixer's payout are internal transfers.
    let mule = r.address_view(&heist.mules[2]).unwrap();
    assert!(mule.transfers.iter().any(|t| t.kind == TransferKind::Internal
        && t.from == heist.router.to_string()
        && t.amount_base.0 == U256::from(30 * ETH)));
    let fresh = r.address_view(&heist.fresh).unwrap();
    assert_eq!(fresh.balance_wei.0, U256::from(ETH));
    assert!(fresh.transfers.iter().any(|t| t.kind == TransferKind::Internal && t.from == heist.mixer.to_string()));
    let drain = r.tx_view(&heist.drain_token).unwrap();
    assert!(drain.transfers.iter().any(|t| t.kind == TransferKind::Token && t.to == heist.thief.to_string()));
    assert_eq!(r.tx_view(&heist.drain_eth).unwrap().value_wei.0, U256::from(100 * ETH));
    let user = r.address_view(&heist.user).unwrap();
    assert_eq!(user.kind, "externally_owned");
    assert_eq!(user.balance_wei.0, node_balance(&node, &heist.user));
    let _ = (heist.exchange_a, heist.deposit_c);

    // Geth's callTracer gives the very same transfers as Parity's trace_block.
    let geth = EvmStore::open(geth_dir.path()).unwrap();
    let g = geth.reader().unwrap();
    assert_eq!(g.counts().unwrap(), r.counts().unwrap());
    let n = r.counts().unwrap().transfers;
    assert_eq!(g.transfers(0, n).unwrap(), r.transfers(0, n).unwrap());
    assert_eq!(g.status_view().unwrap().traces.as_deref(), Some("geth"));
}

#[test]
fn a_second_run_adds_only_new_blocks_and_a_wrong_chain_is_refused() {
    let node = Anvil::start();
    let acc = node.accounts();
    node.send(&acc[0], Some(&acc[1]), ETH, "0x");
    let dir = tempfile::tempdir().unwrap();
    let first = ingest(&node, dir.path(), None);
    assert_eq!(first.added_blocks, 2);
    let again = ingest(&node, dir.path(), None);
    assert_eq!((again.added_blocks, again.unwound_blocks), (0, 0));
    node.send(&acc[1], Some(&acc[2]), ETH / 2, "0x");
    let next = ingest(&node, dir.path(), None);
    assert_eq!((next.added_blocks, next.added_transactions), (1, 1));

    // Another chain (another chain id) into the same data dir: refused, named.
    let other = Anvil::start_with(&["--chain-id", "1337"]);
    let rpc = EvmNode::connect(&other.url()).unwrap();
    let err = sync(dir.path(), &rpc, &SyncOptions::default(), &AtomicBool::new(false), &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("anvil (chain id 31337)") && err.contains("1337"), "{err}");
}

#[test]
fn selfdestruct_to_itself_burns_the_balance_only_where_the_contract_goes_away() {
    use sleuth_testkit::anvil::bytecode;
    let vanish = format!("0x{}", alloy::hex::encode(&alloy::primitives::keccak256("vanish()")[..4]));
    // Anvil's latest hardfork (past Cancun, EIP-6780) and one before it.
    for (hardfork, older_keeps) in [(None, true), (Some("shanghai"), false)] {
        let node = match hardfork {
            Some(h) => Anvil::start_with(&["--hardfork", h]),
            None => Anvil::start(),
        };
        let acc = node.accounts();
        // Destroyed in its constructor: made and destroyed in one transaction.
        let gone = node.deploy(&acc[0], &format!("{}{:064x}", bytecode("SelfPayer"), 1), 2 * ETH);
        // Made in one transaction, destroying itself in a later one.
        let older = node.deploy(&acc[0], &format!("{}{:064x}", bytecode("SelfPayer"), 0), 3 * ETH);
        let r = node.send(&acc[1], Some(&older), 0, &vanish);
        assert_eq!(r["status"], "0x1", "{r}");
        let dir = tempfile::tempdir().unwrap();
        ingest(&node, dir.path(), None);
        let reader = EvmStore::open(dir.path()).unwrap().reader().unwrap();
        let (gone, older): (Address, Address) = (gone.parse().unwrap(), older.parse().unwrap());
        let at = hardfork.unwrap_or("latest");
        assert_eq!(node_balance(&node, &gone), U256::ZERO, "{at}: burnt with the contract");
        assert_eq!(reader.balance(&gone, AssetId::ETH).unwrap(), U256::ZERO, "{at}: the index burns it too");
        let kept = if older_keeps { U256::from(3 * ETH) } else { U256::ZERO };
        assert_eq!(node_balance(&node, &older), kept, "{at}: the node's rule");
        assert_eq!(reader.balance(&older, AssetId::ETH).unwrap(), kept, "{at}: the index's");
        // Every account the index holds agrees with the node, burns included.
        for a in reader.account_addresses().unwrap() {
            assert_eq!(reader.balance(&a, AssetId::ETH).unwrap(), node_balance(&node, &a), "{at}: {a}");
        }
        let burns = (0..reader.counts().unwrap().transfers)
            .filter(|&n| reader.transfer(n).unwrap().kind == TransferKind::SelfdestructBurn)
            .count();
        assert_eq!(burns, if older_keeps { 1 } else { 2 }, "{at}");
    }
}
