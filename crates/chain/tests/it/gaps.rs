//! Zero-filled space in block files (a node preallocates them in chunks) is skipped, and the
//! scan goes on in the file or the next one.

use sleuth_chain::blockfile::best_chain;
use sleuth_chain::Chain;

use crate::blk00000::{decode_best_chain, index_rows};
use crate::common::{read_shared, BlocksDir};

fn zeros(n: usize) -> Vec<u8> {
    vec![0; n]
}

/// The heights 0..4521 file, cut at the record of `height`.
fn split_at_height(height: usize) -> (Vec<u8>, Vec<u8>) {
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let rows = index_rows("blocks/blk00000_heights0-4521.index.csv");
    let (a, b) = plain.split_at(rows[height].offset as usize);
    (a.to_vec(), b.to_vec())
}

/// Scans `dir` and checks that its best chain is heights 0..4521 of the index CSV.
fn assert_full_chain(dir: &BlocksDir) -> sleuth_chain::blockfile::HeaderScan {
    let (mut reader, scan) = dir.scan();
    assert_eq!(scan.records.len(), 4522);
    assert_eq!(scan.partial_tail, None);
    let rows = index_rows("blocks/blk00000_heights0-4521.index.csv");
    let chain = best_chain(&scan.records, Chain::Bitcoin.genesis_hash()).unwrap();
    let hashes: Vec<String> = chain.iter().map(|&i| scan.records[i].hash.to_string()).collect();
    let expected: Vec<String> = rows.iter().map(|r| r.hash.clone()).collect();
    assert_eq!(hashes, expected);
    let blocks = decode_best_chain(&mut reader, &scan);
    assert_eq!(blocks.iter().map(|b| b.txs.len()).sum::<usize>(), 4583);
    scan
}

#[test]
fn zeros_at_the_end_of_a_file_then_the_next_file() {
    let (mut a, mut b) = split_at_height(2000);
    let a_len = a.len() as u64;
    a.extend(zeros(100 * 1024));
    b.extend(zeros(64 * 1024)); // the newest file is preallocated too
    let dir = BlocksDir::with_files(&[&a, &b]);
    let scan = assert_full_chain(&dir);
    assert_eq!(scan.bytes, (a.len() + b.len()) as u64);
    let r2000 = &scan.records[2000];
    assert_eq!((r2000.loc.file, r2000.loc.offset), (1, 0));
    let r1999 = &scan.records[1999];
    assert_eq!(r1999.loc.offset + 8 + u64::from(r1999.loc.size), a_len);
}

#[test]
fn zeros_between_records_in_one_file() {
    let (a, b) = split_at_height(170);
    // 1003 bytes: not a multiple of 8, so the next record starts at an odd offset.
    let file = [a.clone(), zeros(1003), b].concat();
    let dir = BlocksDir::with_files(&[&file]);
    let scan = assert_full_chain(&dir);
    assert_eq!(scan.records[170].loc.offset, a.len() as u64 + 1003);
}

#[test]
fn fewer_than_eight_zeros_at_the_end_of_an_older_file() {
    let (a, b) = split_at_height(4000);
    let dir = BlocksDir::with_files(&[&[a, zeros(5)].concat(), &b]);
    assert_full_chain(&dir);
}

#[test]
fn a_file_of_zeros_only() {
    let (a, b) = split_at_height(3000);
    let dir = BlocksDir::with_files(&[&a, &zeros(4096), &b]);
    let scan = assert_full_chain(&dir);
    assert_eq!(scan.records[3000].loc.file, 2);
}
