//! Tracing the heist forward from the drain: the deposits at the two exchanges with the
//! amounts the node's transactions carry, the mixed share dark with its candidate
//! withdrawals, and every policy's reconciliation exact to the wei.

use std::sync::atomic::AtomicBool;

use alloy::primitives::{Address, U256};
use serde_json::json;
use sleuth_evm::store::EvmStore;
use sleuth_evm::trace::{
    trace_forward, AccountLabel, AccountPolicy, AccountTraceOptions, EvidenceLevel, LabelClass, TraceStart,
};
use sleuth_evm::{sync, EvmNode, SyncOptions};
use sleuth_testkit::anvil::Anvil;

use crate::heist::{Heist, ETH};

fn value_of(node: &Anvil, to: &Address) -> Vec<U256> {
    // Every transaction the node mined that paid `to` directly, by its value.
    let mut out = Vec::new();
    for h in 0..=node.height() {
        let b = node.rpc("eth_getBlockByNumber", json!([format!("0x{h:x}"), true]));
        for tx in b["transactions"].as_array().unwrap() {
            if tx["to"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&to.to_string())) {
                out.push(tx["value"].as_str().unwrap().parse().unwrap());
            }
        }
    }
    out
}

#[test]
fn the_drain_is_traced_to_both_exchanges_with_the_mixed_share_dark() {
    let node = Anvil::start();
    let heist = Heist::play(&node);
    let dir = tempfile::tempdir().unwrap();
    let rpc = EvmNode::connect(&node.url()).unwrap();
    sync(dir.path(), &rpc, &SyncOptions::default(), &AtomicBool::new(false), &mut |_, _| {}).unwrap();
    let r = EvmStore::open(dir.path()).unwrap().reader().unwrap();
    let (b, c) = (heist.deposit_b, heist.deposit_c);
    let labels = move |a: &Address| {
        let name = if *a == b {
            "Exchange B"
        } else if *a == c {
            "Exchange C"
        } else {
            return None;
        };
        Some(AccountLabel { entity: name.into(), category: "exchange".into(), class: LabelClass::Service })
    };

    let report =
        trace_forward(&r, &TraceStart::Txs(vec![heist.drain_eth]), &AccountTraceOptions::default(), &labels).unwrap();
    assert_eq!(report.asset, "ETH");
    assert_eq!(report.traced_base.0, U256::from(100 * ETH));
    assert_eq!(report.sources.len(), 1);
    assert_eq!(report.sources[0].to, heist.thief.to_string());
    let col = |p: AccountPolicy| report.policies.iter().position(|x| *x == p).unwrap();

    // The deposits, with the amounts the node's own transactions paid them.
    let paid_b: U256 = value_of(&node, &heist.deposit_b).into_iter().sum();
    let paid_c: U256 = value_of(&node, &heist.deposit_c).into_iter().sum();
    assert_eq!((paid_b, paid_c), (U256::from(15 * ETH), U256::from(25 * ETH)));
    // Exchange B is two payments from the thief (fan-out, mule's deposit); Exchange C is four
    // (fan-out, two peel-chain links, the last link's deposit).
    for (deposit, paid, entity, hops) in
        [(heist.deposit_b, paid_b, "Exchange B", 2), (heist.deposit_c, paid_c, "Exchange C", 4)]
    {
        let e = report
            .endpoints
            .iter()
            .find(|e| e.address == deposit.to_string())
            .unwrap_or_else(|| panic!("no endpoint at {deposit}: {report:#?}"));
        assert_eq!(e.stop_reason, "service");
        assert_eq!(e.entity.as_deref(), Some(entity));
        // The thief and its mules held only stolen ETH: haircut and FIFO find all of it.
        for p in [AccountPolicy::Haircut, AccountPolicy::Fifo, AccountPolicy::Lifo, AccountPolicy::Poison] {
            assert_eq!(e.amounts_base[col(p)].0, paid, "{p:?} at {entity}");
        }
        assert_eq!(e.hops, hops, "{entity}: {e:?}");
        assert_eq!(e.path_txids.len(), hops as usize + 1, "the drain, then one transaction a hop: {:?}", e.path_txids);
        assert_eq!(e.path_txids[0], heist.drain_eth.to_string());
        let by = report.by_entity.iter().find(|x| x.entity == entity).unwrap();
        assert_eq!(by.amounts_base[col(AccountPolicy::Haircut)].0, paid);
    }

    // What the peel chain peeled off is still where it went.
    let peeled =
        report.endpoints.iter().find(|e| e.address == heist.peeled_to.to_string()).expect("the peeled-off account");
    assert_eq!(peeled.stop_reason, "unspent");
    assert_eq!(peeled.amounts_base[col(AccountPolicy::Haircut)].0, U256::from(2 * ETH));

    // Two notes of 1 ETH went into the mixer, recognised by its behaviour, reported dark.
    let mixer =
        report.endpoints.iter().find(|e| e.address == heist.mixer.to_string()).expect("the mixer is an endpoint");
    assert_eq!(mixer.stop_reason, "mixer");
    assert_eq!(mixer.category.as_deref(), Some("mixer (behaviour)"));
    assert_eq!(mixer.amounts_base[col(AccountPolicy::Haircut)].0, U256::from(2 * ETH));
    assert_eq!(report.mixer_deposits.len(), 2);
    for d in &report.mixer_deposits {
        assert!(d.recognised_by.starts_with("behaviour: 2 deposits and 1 payouts"), "{}", d.recognised_by);
        assert_eq!(d.depositor, heist.thief.to_string());
        let w = d.candidates.first().expect("the withdrawal is a candidate");
        assert_eq!(w.to, heist.fresh.to_string());
        assert_eq!(w.level, EvidenceLevel::Weak, "a relayer paid its gas: {w:?}");
        assert!(w.evidence.iter().any(|e| e.starts_with("same denomination")));
    }

    // Per policy the parts add up to the 100 ETH traced, to the wei; poison over-reaches
    // (the mule paid 2 ETH by a clean user counts as tainted).
    for rec in &report.reconciliation {
        let p = rec.policy.unwrap();
        assert_eq!(rec.to_services_base.0, U256::from(40 * ETH), "{p:?}");
        assert_eq!(rec.mixers_base.0, U256::from(2 * ETH), "{p:?}");
        assert!(!rec.fees_base.0.is_zero(), "the thief paid gas: {p:?}");
        if p == AccountPolicy::Poison {
            assert!(rec.total() > report.traced_base.0, "poison over-reaches");
        } else {
            assert_eq!(rec.total(), report.traced_base.0, "{p:?}: {rec:?}");
        }
    }

    // The token drain, traced on its own asset: both deposits, and the burn.
    let token = r.token_id(&heist.token).unwrap().unwrap();
    let opts = AccountTraceOptions { asset: token, ..AccountTraceOptions::default() };
    let t = trace_forward(&r, &TraceStart::Txs(vec![heist.drain_token]), &opts, &labels).unwrap();
    assert_eq!(t.asset, heist.token.to_string());
    assert_eq!(t.traced_base.0, U256::from(500_000_000_000u64));
    let at = |a: &Address| t.endpoints.iter().find(|e| e.address == a.to_string()).map(|e| e.amounts_base[1].0);
    assert_eq!(at(&heist.deposit_b), Some(U256::from(100_000_000u64)));
    assert_eq!(at(&heist.deposit_c), Some(U256::from(200_000_000u64)));
    for rec in t.reconciliation.iter().filter(|x| x.policy != Some(AccountPolicy::Poison)) {
        assert_eq!(rec.total(), t.traced_base.0);
        assert!(rec.fees_base.0.is_zero(), "tokens pay no gas");
    }

    // From the thief's account instead: the same deposits.
    let from_thief =
        trace_forward(&r, &TraceStart::Account(heist.thief), &AccountTraceOptions::default(), &labels).unwrap();
    assert_eq!(from_thief.traced_base.0, U256::from(100 * ETH));
    assert_eq!(from_thief.reconciliation[1].to_services_base.0, U256::from(40 * ETH));
}
