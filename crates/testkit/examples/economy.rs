//! Builds a real-wallet economy on a fresh `litecoind -regtest`, or scores a clustering
//! against one; used by `scripts/cluster-accuracy-real.sh`.
//!
//! ```text
//! economy build OUT [small|large] [SEED]   # OUT/blocks/blk*.dat, OUT/truth/*.csv, ceiling.json
//! economy score TRUTH_DIR CLUSTERS_CSV     # JSON: the score, the ceiling, share of the ceiling
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::{env, fs, process};

use serde_json::json;
use sleuth_testkit::economy::{Economy, EconomyConfig, Score, Truth};
use sleuth_testkit::RegtestNode;

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build", out, rest @ ..] => {
            let seed = rest.get(1).map_or(1, |s| s.parse().expect("SEED is a number"));
            let config = match rest.first().copied().unwrap_or("small") {
                "small" => EconomyConfig::small(seed),
                "large" => EconomyConfig::large(seed),
                other => fail(&format!("unknown size {other:?}; expected small or large")),
            };
            build(Path::new(out), config);
        }
        ["score", truth, clusters] => score(Path::new(truth), Path::new(clusters)),
        _ => fail("usage: economy build OUT [small|large] [SEED] | economy score TRUTH_DIR CLUSTERS_CSV"),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    process::exit(2)
}

fn build(out: &Path, config: EconomyConfig) {
    let mut node = RegtestNode::start();
    let economy = Economy::build(&node, config);
    economy.write(&out.join("truth")).unwrap_or_else(|e| fail(&format!("writing {}: {e}", out.display())));
    node.stop();
    let blocks = out.join("blocks");
    fs::create_dir_all(&blocks).unwrap_or_else(|e| fail(&format!("creating {}: {e}", blocks.display())));
    for entry in fs::read_dir(node.blocks_dir()).expect("the node's blocks folder") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if name.starts_with("blk") && name.ends_with(".dat") {
            fs::copy(&path, blocks.join(&name)).unwrap_or_else(|e| fail(&format!("copying {}: {e}", path.display())));
        }
    }
    let ceiling = economy.truth.score(&economy.truth.ceiling_clusters());
    eprintln!(
        "{} transactions, {} wallet addresses, {} change outputs, {} coinjoins; ceiling recall {:.4}",
        economy.truth.txs.len(),
        economy.truth.owner.len(),
        economy.truth.change.len(),
        economy.coinjoins.len(),
        ceiling.recall
    );
}

fn score(truth_dir: &Path, clusters: &Path) {
    let truth = Truth::read_dir(truth_dir).unwrap_or_else(|e| fail(&format!("reading {}: {e}", truth_dir.display())));
    let text = fs::read_to_string(truth_dir.join("ceiling.json")).unwrap_or_else(|e| fail(&e.to_string()));
    let ceiling: Score = serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("ceiling.json: {e}")));
    let text = fs::read_to_string(clusters).unwrap_or_else(|e| fail(&format!("reading {}: {e}", clusters.display())));
    let map: HashMap<String, u64> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(a, c)| (a.to_owned(), c.parse().unwrap_or_else(|_| fail(&format!("bad cluster id in {l:?}", l = c)))))
        .collect();
    let s = truth.score(&map);
    let share = if ceiling.recall > 0.0 { s.recall / ceiling.recall } else { 0.0 };
    println!("{}", json!({"score": s, "ceiling_recall": ceiling.recall, "share_of_ceiling": share}));
}
