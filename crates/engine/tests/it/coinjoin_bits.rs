//! The CoinJoins a clustering build records for the traces (`coinjoins.bin`) are exactly the
//! transactions the detector recognises, for a build from the start and for one extended by
//! new blocks; past the clustering's last transaction it answers nothing, so a trace detects.

use std::sync::atomic::AtomicBool;

use sleuth_analysis::cluster::{coinjoin, HeuristicSet, TxView};
use sleuth_chain::Chain;
use sleuth_engine::Engine;
use sleuth_index::ingest::{IngestOptions, NoProgress};
use sleuth_index::TxNum;
use sleuth_simulator::SimConfig;

#[test]
fn the_recorded_coinjoins_are_the_detectors_from_the_start_and_extended() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let cfg = SimConfig { out: sim.clone(), transactions: 20_000, seed: 9, chain: Chain::Regtest, truth: false };
    sleuth_simulator::simulate(&cfg, &mut |_| {}).unwrap();
    let ingest = |root: &std::path::Path, until: Option<u32>| {
        let opts = IngestOptions { until_height: until, ..IngestOptions::new(sim.join("blocks")) };
        sleuth_engine::ingest(root, &opts, &mut NoProgress, &AtomicBool::new(false)).unwrap();
    };
    let fresh = tmp.path().join("fresh");
    ingest(&fresh, None);
    let tip = Engine::open(&fresh).snapshot().unwrap().index().view().counts().blocks - 1;
    let extended = tmp.path().join("extended");
    ingest(&extended, Some(tip as u32 / 2));
    Engine::open(&extended).build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    {
        // Before the rest is indexed the clustering covers half the chain.
        ingest(&extended, None);
        let snap = Engine::open(&extended).snapshot().unwrap();
        let (view, cl) = (snap.index().view(), snap.clustering().expect("a clustering"));
        let upto = cl.meta().upto_tx;
        assert!(upto < view.tx_count());
        assert_eq!(cl.is_coinjoin(TxNum::new(upto as u32)), None, "past the clustering: the trace detects");
    }
    let report = Engine::open(&extended).build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    assert!(report.incremental, "the second build extends the first");
    Engine::open(&fresh).build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    for root in [&fresh, &extended] {
        let snap = Engine::open(root).snapshot().unwrap();
        let (view, cl) = (snap.index().view(), snap.clustering().expect("a clustering"));
        let (mut tx, mut scratch, mut found) = (TxView::default(), Vec::new(), 0);
        for t in 0..view.tx_count() {
            let t = TxNum::new(t as u32);
            tx.load(&view, t);
            let detected = coinjoin::detect(&tx, &mut scratch).is_some();
            found += usize::from(detected);
            assert_eq!(cl.is_coinjoin(t), Some(detected), "{}: transaction {}", root.display(), t.get());
        }
        assert!(found > 10, "the simulated chain has CoinJoins: {found}");
    }
}
