//! The same seed gives the same bytes; another seed gives others.

use std::path::Path;

use sleuth_chain::Chain;

use crate::common::{run, scratch};

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["blocks", "truth"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub)).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for p in names {
            out.push((format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()), std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (scratch("det-a"), scratch("det-b"), scratch("det-c"));
    let sa = run(&a, 3_000, 7, Chain::Regtest);
    let sb = run(&b, 3_000, 7, Chain::Regtest);
    let sc = run(&c, 3_000, 8, Chain::Regtest);
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(fa.len(), fb.len());
    for ((na, da), (nb, db)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(da == db, "{na} differs between two runs with the same seed");
    }
    assert_eq!(sa.tip_hash, sb.tip_hash);
    assert_ne!(sa.tip_hash, sc.tip_hash);
    let blocks = |f: &[(String, Vec<u8>)]| f.iter().find(|(n, _)| n == "blocks/blk00000.dat").unwrap().1.clone();
    assert_ne!(blocks(&fa), blocks(&fc));
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
