//! A snapshot a block later takes over the attribution of the one before, and it is the
//! attribution it would have built itself: also for a tagged address the new block pays for
//! the first time.

use std::sync::atomic::AtomicBool;

use sleuth_analysis::cluster::HeuristicSet;
use sleuth_chain::Chain;
use sleuth_engine::Engine;
use sleuth_index::ingest::{IngestOptions, NoProgress};
use sleuth_index::AddrId;
use sleuth_simulator::SimConfig;
use sleuth_tags::TagFormat;

#[test]
fn a_block_later_the_attribution_is_taken_over_and_equals_a_fresh_one() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let cfg = SimConfig { out: sim.clone(), transactions: 5_000, seed: 5, chain: Chain::Regtest, truth: true };
    sleuth_simulator::simulate(&cfg, &mut |_| {}).unwrap();
    let root = tmp.path().join("idx");
    let ingest = |until: Option<u32>| {
        let opts = IngestOptions { until_height: until, ..IngestOptions::new(sim.join("blocks")) };
        sleuth_engine::ingest(&root, &opts, &mut NoProgress, &AtomicBool::new(false)).unwrap();
    };
    // The whole chain once, to learn which addresses its last block pays first.
    let full = tmp.path().join("full");
    let opts = IngestOptions::new(sim.join("blocks"));
    sleuth_engine::ingest(&full, &opts, &mut NoProgress, &AtomicBool::new(false)).unwrap();
    let full_snap = Engine::open(&full).snapshot().unwrap();
    let fv = full_snap.index().view();
    let tip = fv.counts().blocks - 1;
    ingest(Some(tip as u32 - 1));
    let engine = Engine::open(&root);
    engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    let before_addrs = engine.snapshot().unwrap().index().view().address_count();
    assert!(fv.address_count() > before_addrs + 2, "the last block pays new addresses");
    // Tags: an address the index already has, and two the last block pays for the first time.
    let (old, new1, new2) = (
        fv.address_of(AddrId::new(before_addrs as u32 / 2)),
        fv.address_of(AddrId::new(before_addrs as u32)),
        fv.address_of(AddrId::new(fv.address_count() as u32 - 1)),
    );
    let csv = format!(
        "address,label,category,source\n{old},Old Casino,gambling,t\n{new1},New Thief,service_hack,t\n{new2},New Exchange,exchange,t\n"
    );
    let tags = tmp.path().join("tags.csv");
    std::fs::write(&tags, csv).unwrap();
    engine.import_tags(&tags, TagFormat::Csv).unwrap();
    drop(fv);

    let prev = engine.snapshot().unwrap();
    prev.warm().unwrap();
    ingest(None);
    let next = engine.snapshot().unwrap();
    assert!(next.carry_over(&prev).unwrap(), "only a block was added: taken over");
    let fresh = engine.snapshot().unwrap();
    let (taken, built) = (next.attribution().unwrap(), fresh.attribution().unwrap());
    let view = next.index().view();
    assert_eq!(view.address_count(), full_snap.index().view().address_count());
    let mut labelled = 0;
    for a in 0..view.address_count() {
        let a = AddrId::new(a as u32);
        assert_eq!(taken.label_of(a), built.label_of(a), "address {}", view.address_of(a));
        labelled += taken.label_of(a).is_some() as u32;
    }
    assert!(labelled >= 3, "the tagged addresses are labelled: {labelled}");
    let id = |s: &str| (0..view.address_count()).map(|a| AddrId::new(a as u32)).find(|&a| view.address_of(a) == s);
    assert_eq!(taken.label_of(id(&new1).unwrap()).map(|l| l.entity.as_str()), Some("New Thief"));

    // Another clustering, or other tags: nothing is taken over.
    engine.build_clustering(HeuristicSet::default_set(), &mut |_, _| {}).unwrap();
    let extended = engine.snapshot().unwrap();
    assert!(!extended.carry_over(&next).unwrap(), "the clustering was extended");
    extended.warm().unwrap();
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, format!("address,label,category,source\n{old},Old Casino,gambling,u\n")).unwrap();
    engine.import_tags(&other, TagFormat::Csv).unwrap();
    let retagged = engine.snapshot().unwrap();
    assert!(!retagged.carry_over(&extended).unwrap(), "the tags changed");
}
