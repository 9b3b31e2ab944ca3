//! The stored transaction of every output and input (`output_tx.col`, `input_tx.col`) against
//! the transactions' own ranges (`first_output`, `first_input`), over a simulated chain.

use std::sync::atomic::AtomicBool;

use sleuth_chain::Chain;
use sleuth_engine::Engine;
use sleuth_index::ingest::{IngestOptions, NoProgress};
use sleuth_index::{InputNum, OutputNum, TxNum};
use sleuth_simulator::SimConfig;

#[test]
fn every_output_and_input_leads_back_to_its_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let cfg = SimConfig { out: sim.clone(), transactions: 20_000, seed: 3, chain: Chain::Regtest, truth: false };
    sleuth_simulator::simulate(&cfg, &mut |_| {}).unwrap();
    let root = tmp.path().join("idx");
    sleuth_engine::ingest(&root, &IngestOptions::new(sim.join("blocks")), &mut NoProgress, &AtomicBool::new(false))
        .unwrap();
    let snap = Engine::open(&root).snapshot().unwrap();
    let view = snap.index().view();
    let (mut outputs, mut inputs) = (0u64, 0u64);
    for t in 0..view.tx_count() {
        let tx = TxNum::new(t as u32);
        for o in view.tx_output_range(tx) {
            assert_eq!(view.tx_of_output(OutputNum::new(o)), tx, "output {o}");
            outputs += 1;
        }
        for i in view.tx_input_range(tx) {
            assert_eq!(view.tx_of_input(InputNum::new(i)), tx, "input {i}");
            inputs += 1;
        }
    }
    assert!(view.tx_count() > 20_000 && outputs > view.tx_count() && inputs > view.tx_count());
}
