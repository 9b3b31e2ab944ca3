//! Clustering measured on real wallets: the real-wallet economy of the test kit, built on a
//! real `litecoind -regtest`, clustered with the default heuristics and scored against the
//! truth the node's wallets give back.

use std::collections::HashSet;

use sleuth_analysis::cluster::BuildReport;
use sleuth_testkit::economy::{Economy, EconomyConfig};
use sleuth_testkit::RegtestNode;

use crate::common::{cluster_export, ingest, sleuth, tx};

/// Seed of the economy this test builds.
const SEED: u64 = 7;

/// The default set's recall on this economy as a share of the oracle ceiling: measured at
/// 30 % on seed 7 (24 % on seed 1, 30 % on the large economy), where multi-input alone
/// reaches 12–16 %. What the node chooses itself (keys, change positions) moves it between
/// runs, hence the margin; a rule change that loses the change links fails here.
const MIN_SHARE_OF_CEILING: f64 = 0.18;

#[test]
fn real_wallets_never_mix_and_the_default_reaches_its_measured_recall() {
    let node = RegtestNode::start();
    let economy = Economy::build(&node, EconomyConfig::small(SEED));
    let truth = &economy.truth;
    assert!(truth.txs.len() > 200 && truth.change.len() > 80, "a small economy after all: {} txs", truth.txs.len());
    assert!(economy.coinjoins.len() >= 2, "{:?}", economy.coinjoins);

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &node.blocks_dir(), &[]);

    let ceiling = truth.score(&truth.ceiling_clusters());
    assert_eq!((ceiling.precision, ceiling.mixed_clusters), (1.0, 0), "the oracle never mixes wallets: {ceiling:?}");

    let r: BuildReport = sleuth(&d, ["cluster", "build", "--heuristics", "multi-input", "--json", "-q"]).run_json();
    assert!(r.coinjoins.values().sum::<u64>() >= economy.coinjoins.len() as u64, "{r:?}");
    let multi_input = truth.score(&cluster_export(&d));

    let r: BuildReport = sleuth(&d, ["cluster", "build", "--json", "-q"]).run_json();
    assert!(!r.incremental);
    let clusters = cluster_export(&d);
    let default = truth.score(&clusters);
    assert_eq!(default.mixed_clusters, 0, "a cluster mixes wallets: {default:?}");
    assert!(default.precision >= 0.999, "{default:?}");
    assert!(default.recall > multi_input.recall, "change adds links: {default:?} vs {multi_input:?}");
    let share = default.recall / ceiling.recall;
    assert!(
        share >= MIN_SHARE_OF_CEILING,
        "default recall {:.4} is {:.0} % of the ceiling {:.4}; at least {:.0} % was measured",
        default.recall,
        share * 100.0,
        ceiling.recall,
        MIN_SHARE_OF_CEILING * 100.0
    );

    // No CoinJoin merged its participants: each one's inputs sit in distinct clusters.
    for t in &economy.coinjoins {
        let info = tx(&d, t);
        let ids: HashSet<u64> = info.inputs.iter().map(|i| clusters[i.address.as_ref().unwrap()]).collect();
        assert_eq!(ids.len(), info.inputs.len(), "coinjoin {t}: inputs of different wallets share a cluster");
    }
}
