//! What the reader and decoder report for folders and bytes that are not what they should be:
//! the variant, the path and the byte offset.

use sleuth_chain::blockfile::{BlockFileError, BlockFileReader};
use sleuth_chain::decode::{parse_block, DecodeError, ParsedBlock};
use sleuth_chain::Chain;

use crate::blk00000::index_rows;
use crate::common::{frame, read_shared, unframe, BlocksDir, BTC_MAGIC, LTC_MAGIC};

fn scan_err(dir: &BlocksDir) -> BlockFileError {
    let reader = BlockFileReader::open(dir.path()).expect("the folder opens");
    reader.scan_headers(None).expect_err("the scan must fail")
}

#[test]
fn a_first_record_with_an_unknown_magic() {
    let mut bytes = read_shared("blocks/btcd_blocks1-255.dat");
    bytes[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let dir = BlocksDir::with_files(&[&bytes]);
    let err = scan_err(&dir);
    let path = dir.blk(0);
    assert!(
        matches!(&err, BlockFileError::BadMagic { path: p, offset: 0, found, chain: None, .. } if *p == path && found.starts_with("deadbeef")),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("byte 0"), "{msg}");
    assert!(msg.contains("deadbeef"), "{msg}");
}

#[test]
fn a_later_record_with_another_magic() {
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let end = plain.len() as u64;
    // Garbage after the last record, then in another file a Litecoin record.
    let dir = BlocksDir::with_files(&[&[plain.clone(), vec![0xde, 0xad, 0xbe, 0xef, 80, 0, 0, 0]].concat()]);
    let err = scan_err(&dir);
    assert!(
        matches!(&err, BlockFileError::BadMagic { offset, found, expected, chain: Some(Chain::Bitcoin), .. }
            if *offset == end && found.starts_with("deadbeef") && expected.starts_with("f9beb4d9")),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!("byte {end}")), "{err}");

    let ltc = read_shared("blocks/litecoin/litecoin_mainnet_framed.dat");
    let dir = BlocksDir::with_files(&[&plain, &ltc]);
    let err = scan_err(&dir);
    let path = dir.blk(1);
    assert!(
        matches!(&err, BlockFileError::BadMagic { path: p, offset: 0, found, .. } if *p == path && found.starts_with("fbc0b6db")),
        "{err:?}"
    );
    // Told which magic to expect, the reader refuses even the first record.
    let reader = BlockFileReader::open(dir.path()).unwrap();
    let err = reader.scan_headers(Some(LTC_MAGIC)).unwrap_err();
    assert!(matches!(&err, BlockFileError::BadMagic { offset: 0, chain: Some(Chain::Litecoin), .. }), "{err:?}");
}

#[test]
fn a_truncated_record_in_an_older_file() {
    // The first MiB ends in a record that declares 216 bytes with 31 present (README); a
    // newer file follows, so the node is not still writing it.
    let dir =
        BlocksDir::with_files(&[&read_shared("blocks/blk00000_first1MiB.dat"), &read_shared("blocks/block277647.dat")]);
    let err = scan_err(&dir);
    let path = dir.blk(0);
    assert!(
        matches!(&err, BlockFileError::Truncated { path: p, offset: 1_048_537, size: 216, available: 31 } if *p == path),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()) && msg.contains("1048537"), "{msg}");

    // Cut inside the 8-byte record header.
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let cut = &read_shared("blocks/blk00000_first1MiB.dat")[..plain.len() + 5];
    let dir = BlocksDir::with_files(&[cut, &read_shared("blocks/block277647.dat")]);
    let err = scan_err(&dir);
    assert!(matches!(&err, BlockFileError::Truncated { offset: 1_048_537, .. }), "{err:?}");
}

#[test]
fn a_truncated_record_in_the_newest_file_is_a_partial_tail() {
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let mib = read_shared("blocks/blk00000_first1MiB.dat");
    let rows = index_rows("blocks/blk00000_heights0-4521.index.csv");
    let (a, b) = mib.split_at(rows[4000].offset as usize);
    let dir = BlocksDir::with_files(&[a, b]);
    let (_, scan) = dir.scan();
    assert_eq!(scan.records.len(), 4522);
    assert_eq!(scan.partial_tail, Some((dir.blk(1), (plain.len() - a.len()) as u64)));
}

#[test]
fn an_implausible_record_size() {
    let mut bytes = read_shared("blocks/btcd_blocks1-255.dat");
    bytes[4..8].copy_from_slice(&79u32.to_le_bytes());
    let dir = BlocksDir::with_files(&[&bytes]);
    let err = scan_err(&dir);
    assert!(matches!(&err, BlockFileError::BadSize { offset: 0, size: 79, .. }), "{err:?}");
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = BlocksDir::with_files(&[&bytes]);
    assert!(matches!(scan_err(&dir), BlockFileError::BadSize { size: u32::MAX, .. }));
}

#[test]
fn folders_without_block_files() {
    let dir = BlocksDir::new();
    let err = BlockFileReader::open(dir.path()).unwrap_err();
    assert!(matches!(&err, BlockFileError::NoBlockFiles { path } if path == dir.path()), "{err:?}");
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
    // Files that are not blkNNNNN.dat do not count.
    dir.write("rev00000.dat", b"x");
    dir.write("xor.dat", &[0; 8]);
    dir.write("blk_index.dat", b"x");
    dir.write("blk00000.dat.bak", b"x");
    assert!(matches!(BlockFileReader::open(dir.path()), Err(BlockFileError::NoBlockFiles { .. })));
    let missing = dir.path().join("no-such-folder");
    assert!(matches!(BlockFileReader::open(&missing), Err(BlockFileError::Io { path, .. }) if path == missing));
}

#[test]
fn files_are_read_in_file_number_order() {
    // blk2.dat and blk00010.dat sort by number, not by name.
    let bytes = read_shared("blocks/synthetic/btcd_blk_0_to_4.dat");
    let blocks = unframe(&bytes);
    let dir = BlocksDir::new();
    dir.write("blk00010.dat", &frame(BTC_MAGIC, &[blocks[2]]));
    dir.write("blk2.dat", &frame(BTC_MAGIC, &[blocks[1]]));
    dir.write("blk00000.dat", &frame(BTC_MAGIC, &[blocks[0]]));
    let (_, scan) = dir.scan();
    let files: Vec<u32> = scan.records.iter().map(|r| r.loc.file).collect();
    assert_eq!(files, [0, 2, 10]);
}

#[test]
fn a_block_without_genesis_has_no_chain_to_detect() {
    let b170 = {
        let plain = read_shared("blocks/blk00000_heights0-4521.dat");
        let row = &index_rows("blocks/blk00000_heights0-4521.index.csv")[170];
        plain[row.offset as usize + 8..(row.offset + 8 + row.size) as usize].to_vec()
    };
    let dir = BlocksDir::with_files(&[&frame(BTC_MAGIC, &[&b170])]);
    let (reader, scan) = dir.scan();
    let err = reader.detect_chain(&scan, None).unwrap_err();
    assert!(matches!(&err, BlockFileError::UnknownChain { magic, .. } if magic == "f9beb4d9"), "{err:?}");
    assert_eq!(reader.detect_chain(&scan, Some(Chain::Bitcoin)).unwrap(), Chain::Bitcoin);
    let err = reader.detect_chain(&scan, Some(Chain::Litecoin)).unwrap_err();
    assert!(matches!(err, BlockFileError::WrongChain { expected: Chain::Litecoin, found: Chain::Bitcoin, .. }));
}

fn parse_err(raw: &[u8], litecoin: bool) -> DecodeError {
    let mut b = ParsedBlock::default();
    parse_block(raw, litecoin, &mut b).expect_err("the block must be refused")
}

#[test]
fn altered_block_bytes_are_refused() {
    // Block 170 of mainnet: header 80 bytes, tx count, coinbase, then Satoshi → Hal.
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let row = &index_rows("blocks/blk00000_heights0-4521.index.csv")[170];
    let good = plain[row.offset as usize + 8..(row.offset + 8 + row.size) as usize].to_vec();
    crate::common::parse(&good, false);

    // A flipped bit in the last output's value (8 bytes before its 0x43-byte P2PK script
    // and the locktime): the tx hashes to another txid.
    let mut bad = good.clone();
    let value_at = good.len() - 4 - 0x43 - 1 - 8;
    bad[value_at + 2] ^= 0x01;
    assert!(matches!(parse_err(&bad, false), DecodeError::MerkleMismatch { .. }));
    // A flipped bit in the header's merkle root.
    let mut bad = good.clone();
    bad[40] ^= 0x80;
    let err = parse_err(&bad, false);
    let real_root = crate::common::parse(&good, false).header.merkle_root.to_string();
    assert!(matches!(&err, DecodeError::MerkleMismatch { found, .. } if *found == real_root), "{err:?}");
    // Every byte of a legacy tx is covered by its txid: any flipped byte after the header
    // is refused, by the decoder or by the merkle root.
    for at in 80..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0xff;
        let mut b = ParsedBlock::default();
        assert!(parse_block(&bad, false, &mut b).is_err(), "flipping byte {at} went unnoticed");
    }
    // Cut short, or with a byte too many.
    for len in [0, 79, 80, 81, good.len() - 1] {
        assert!(
            matches!(parse_err(&good[..len], false), DecodeError::Truncated { .. } | DecodeError::Implausible { .. }),
            "cut at {len}"
        );
    }
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        parse_err(&long, false),
        DecodeError::TrailingBytes { at, extra: 1 } if at == good.len()
    ));
    // A large segwit block: a flipped byte in a txid-covered part of the last tx.
    let big = read_shared("blocks/raw/block574200.bin");
    let mut bad = big.clone();
    let n = bad.len();
    bad[n - 4] ^= 0x01; // the last tx's locktime
    assert!(matches!(parse_err(&bad, false), DecodeError::MerkleMismatch { .. }));
}
