//! Block files obfuscated with an `xor.dat` key (Bitcoin Core 28+) read the same as plain ones.

use sleuth_chain::blockfile::{BlockFileError, BlockFileReader, HeaderScan, XorKey};

use crate::common::{read_shared, BlocksDir};

const KEY: [u8; 8] = [0x5a, 0x13, 0xc7, 0x00, 0xff, 0x81, 0x2e, 0x69];

/// Byte `i` of a file is stored XOR `key[i % 8]`, `i` counted from the start of that file.
fn obfuscate(plain: &[u8], key: [u8; 8]) -> Vec<u8> {
    plain.iter().enumerate().map(|(i, b)| b ^ key[i % 8]).collect()
}

/// The (hash, header, location) of every record: what two scans must agree on.
fn records(scan: &HeaderScan) -> Vec<String> {
    scan.records.iter().map(|r| format!("{} {:?} {:?}", r.hash, r.header, r.loc)).collect()
}

/// Every record's bytes as read through `reader`.
fn all_blocks(reader: &mut BlockFileReader, scan: &HeaderScan) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    scan.records
        .iter()
        .map(|r| {
            reader.read_block(&r.loc, &mut buf).unwrap();
            buf.clone()
        })
        .collect()
}

#[test]
fn an_obfuscated_file_scans_and_reads_like_the_plain_one() {
    let plain = read_shared("blocks/blk00000_first1MiB.dat");
    let plain_dir = BlocksDir::with_files(&[&plain]);
    let (mut plain_reader, plain_scan) = plain_dir.scan();

    let dir = BlocksDir::with_files(&[&obfuscate(&plain, KEY)]);
    dir.write("xor.dat", &KEY);
    let (mut reader, scan) = dir.scan();
    assert_eq!(reader.xor_key(), XorKey(KEY));
    assert_eq!(scan.magic, plain_scan.magic);
    assert_eq!(scan.records.len(), 4522);
    assert_eq!(records(&scan), records(&plain_scan));
    assert_eq!(scan.partial_tail, Some((dir.blk(0), 1_048_537)));
    let blocks = all_blocks(&mut reader, &scan);
    assert_eq!(blocks, all_blocks(&mut plain_reader, &plain_scan));
    // And those are the plain file's bytes at each record.
    for (r, b) in scan.records.iter().zip(&blocks) {
        let start = r.loc.offset as usize + 8;
        assert_eq!(&plain[start..start + r.loc.size as usize], &b[..]);
    }
}

#[test]
fn each_file_is_obfuscated_from_its_own_first_byte() {
    // Split at a record boundary that is not a multiple of 8 (block 1 starts at 293).
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let (a, b) = plain.split_at(293);
    let plain_dir = BlocksDir::with_files(&[a, b]);
    let (mut plain_reader, plain_scan) = plain_dir.scan();
    let dir = BlocksDir::with_files(&[&obfuscate(a, KEY), &obfuscate(b, KEY)]);
    dir.write("xor.dat", &KEY);
    let (mut reader, scan) = dir.scan();
    assert_eq!(scan.records.len(), 4522);
    assert_eq!(scan.records[1].loc.file, 1);
    assert_eq!(scan.records[1].loc.offset, 0);
    assert_eq!(records(&scan), records(&plain_scan));
    assert_eq!(scan.partial_tail, None);
    assert_eq!(all_blocks(&mut reader, &scan), all_blocks(&mut plain_reader, &plain_scan));
}

#[test]
fn an_all_zero_key_means_plain_files() {
    let plain = read_shared("blocks/btcd_blocks1-255.dat");
    let dir = BlocksDir::with_files(&[&plain]);
    dir.write("xor.dat", &[0; 8]);
    let (reader, scan) = dir.scan();
    assert!(reader.xor_key().is_identity());
    assert_eq!(scan.records.len(), 255);
}

#[test]
fn a_key_of_the_wrong_length_is_refused() {
    let dir = BlocksDir::with_files(&[&read_shared("blocks/btcd_blocks1-255.dat")]);
    let xor = dir.write("xor.dat", &KEY[..7]);
    let err = BlockFileReader::open(dir.path()).unwrap_err();
    assert!(matches!(&err, BlockFileError::BadXorKey { path, len: 7 } if *path == xor), "{err:?}");
    assert!(err.to_string().contains("xor.dat"), "{err}");
}

/// Bitcoin Core preallocates block files in 16 MiB chunks by writing plain zeros to the disk
/// (`FlatFileSeq::Allocate` → `AllocateFileRange`, through a bare `FILE*` that is not
/// obfuscated). With a key, the newest file therefore ends in zeros *on disk*, which read as
/// the key repeated once de-obfuscated. The scan must still stop there cleanly.
#[test]
fn preallocated_zeros_at_the_end_of_an_obfuscated_file_are_skipped() {
    let plain = read_shared("blocks/blk00000_heights0-4521.dat");
    let mut on_disk = obfuscate(&plain, KEY);
    on_disk.resize(plain.len() + 100 * 1024, 0);
    let dir = BlocksDir::with_files(&[&on_disk]);
    dir.write("xor.dat", &KEY);
    let reader = BlockFileReader::open(dir.path()).unwrap();
    let scan = reader.scan_headers(None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.records.len(), 4522);
    assert_eq!(scan.partial_tail, None);
}
