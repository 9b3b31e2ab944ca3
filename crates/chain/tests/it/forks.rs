//! [`best_chain`] over blocks stored out of height order, stale branches, duplicates and
//! missing parents, with btcd's fork fixtures (a side chain from block 2 that becomes longer).

use sleuth_chain::blockfile::{best_chain, BestChainError, HeaderScan};
use sleuth_chain::Chain;

use crate::blk00000::{index_rows, IndexRow};
use crate::common::{btc_manifest, frame, read_shared, s, unframe, BlocksDir, BTC_MAGIC};

/// The synthetic files by their short name.
fn file(name: &str) -> Vec<u8> {
    read_shared(&format!("blocks/synthetic/btcd_blk_{name}.dat"))
}

/// Hashes, from the manifest, of `0`..`4` and `3A`, `4A`, `5A`.
fn hash_of(name: &str) -> String {
    let m = btc_manifest();
    let (file, i) = match name {
        "3A" | "4A" | "5A" => (format!("synthetic/btcd_blk_{name}.dat"), 0),
        _ => ("synthetic/btcd_blk_0_to_4.dat".to_owned(), name.parse().unwrap()),
    };
    s(&m["files"][file.as_str()]["block_list"][i], "hash").to_owned()
}

fn chain_names(scan: &HeaderScan) -> Vec<String> {
    let names = ["0", "1", "2", "3", "4", "3A", "4A", "5A"];
    let hashes: Vec<String> = names.iter().map(|n| hash_of(n)).collect();
    best_chain(&scan.records, Chain::Bitcoin.genesis_hash())
        .unwrap()
        .iter()
        .map(|&i| {
            let h = scan.records[i].hash.to_string();
            let k = hashes.iter().position(|x| *x == h).expect("a known block");
            names[k].to_owned()
        })
        .collect()
}

fn best_of(files: &[&[u8]]) -> Vec<String> {
    let dir = BlocksDir::with_files(files);
    let (reader, scan) = dir.scan();
    assert_eq!(reader.detect_chain(&scan, None).unwrap(), Chain::Bitcoin);
    chain_names(&scan)
}

#[test]
fn the_fixtures_are_a_fork_at_block_2_of_equal_difficulty() {
    let m = btc_manifest();
    let f = &m["files"];
    assert_eq!(s(&f["synthetic/btcd_blk_3A.dat"]["block_list"][0], "prev"), hash_of("2"));
    assert_eq!(s(&f["synthetic/btcd_blk_4A.dat"]["block_list"][0], "prev"), hash_of("3A"));
    assert_eq!(s(&f["synthetic/btcd_blk_5A.dat"]["block_list"][0], "prev"), hash_of("4A"));
    // Each block after genesis has the same target, so work follows length.
    let dir = BlocksDir::with_files(&[&file("0_to_4"), &file("3A"), &file("4A"), &file("5A")]);
    let (_, scan) = dir.scan();
    let work: Vec<_> = scan.records.iter().map(|r| r.header.work()).collect();
    assert!(work[1..].iter().all(|w| *w == work[1]), "{work:?}");
}

#[test]
fn the_longer_side_chain_wins_whatever_the_file_order() {
    let want = ["0", "1", "2", "3A", "4A", "5A"];
    let (b04, a3, a4, a5) = (file("0_to_4"), file("3A"), file("4A"), file("5A"));
    for order in [[&b04, &a3, &a4, &a5], [&a5, &a4, &a3, &b04], [&a5, &b04, &a4, &a3], [&a3, &a5, &b04, &a4]] {
        let files: Vec<&[u8]> = order.iter().map(|v| v.as_slice()).collect();
        assert_eq!(best_of(&files), want, "one file each");
        assert_eq!(best_of(&[&files.concat()]), want, "all in one file");
    }
    // 5A before 4A before 3A, and 3 and 4 left out, with the main chain's blocks reversed too.
    let mut blocks: Vec<&[u8]> = unframe(&b04);
    blocks.reverse();
    let reversed: Vec<Vec<u8>> = blocks.iter().map(|b| frame(BTC_MAGIC, &[b])).collect();
    let mut files: Vec<&[u8]> = vec![&a5, &a4, &a3];
    files.extend(reversed.iter().map(|v| v.as_slice()));
    assert_eq!(best_of(&files), want);
}

#[test]
fn the_original_chain_wins_over_a_shorter_branch() {
    let want = ["0", "1", "2", "3", "4"];
    assert_eq!(best_of(&[&file("0_to_4"), &file("3A")]), want);
    assert_eq!(best_of(&[&file("3A"), &file("0_to_4")]), want);
    // 5A's parent 4A is missing: 5A cannot be placed and is left out.
    assert_eq!(best_of(&[&file("5A"), &file("3A"), &file("0_to_4")]), want);
}

#[test]
fn equal_work_keeps_the_tip_found_first() {
    // 0-1-2-3-4 and 0-1-2-3A-4A have the same work.
    let (b04, a3, a4) = (file("0_to_4"), file("3A"), file("4A"));
    assert_eq!(best_of(&[&b04, &a3, &a4]), ["0", "1", "2", "3", "4"]);
    assert_eq!(best_of(&[&a3, &a4, &b04]), ["0", "1", "2", "3A", "4A"]);
}

#[test]
fn without_genesis_there_is_no_chain() {
    let dir = BlocksDir::with_files(&[&file("3A"), &file("4A")]);
    let (reader, scan) = dir.scan();
    let genesis = Chain::Bitcoin.genesis_hash();
    assert!(
        matches!(best_chain(&scan.records, genesis), Err(BestChainError::NoGenesis { genesis: g }) if g == genesis)
    );
    assert!(reader.detect_chain(&scan, None).is_err(), "no genesis, no chain to detect");
    assert_eq!(reader.detect_chain(&scan, Some(Chain::Bitcoin)).unwrap(), Chain::Bitcoin);
}

#[test]
fn duplicated_blocks_keep_their_first_copy() {
    // btcd's heights 1..255 are byte-identical to records of blk00000; stored before it,
    // they are found first, and the chain is still heights 0..4521.
    let dir = BlocksDir::with_files(&[
        &read_shared("blocks/btcd_blocks1-255.dat"),
        &read_shared("blocks/blk00000_heights0-4521.dat"),
    ]);
    let (_, scan) = dir.scan();
    assert_eq!(scan.records.len(), 255 + 4522);
    let rows: Vec<IndexRow> = index_rows("blocks/blk00000_heights0-4521.index.csv");
    let btcd_rows = index_rows("blocks/btcd_blocks1-255.index.csv");
    let chain = best_chain(&scan.records, Chain::Bitcoin.genesis_hash()).unwrap();
    assert_eq!(chain.len(), 4522);
    for (h, &i) in chain.iter().enumerate() {
        let r = &scan.records[i];
        assert_eq!(r.hash.to_string(), rows[h].hash, "height {h}");
        if (1..=255).contains(&h) {
            assert_eq!((r.loc.file, r.loc.offset), (0, btcd_rows[h - 1].offset), "height {h}: first copy");
        } else {
            assert_eq!((r.loc.file, r.loc.offset), (1, rows[h].offset), "height {h}");
        }
    }
    // The same file twice: every block is in both, the chain uses the first.
    let b04 = file("0_to_4");
    let dir = BlocksDir::with_files(&[&b04, &b04]);
    let (_, scan) = dir.scan();
    let chain = best_chain(&scan.records, Chain::Bitcoin.genesis_hash()).unwrap();
    assert_eq!(chain, [0, 1, 2, 3, 4]);
}
