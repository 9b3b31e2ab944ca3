//! Helpers shared by the modules: the manifests, framing raw blocks, temporary blocks folders
//! and per-transaction views of a [`ParsedBlock`].

use std::path::{Path, PathBuf};

use serde_json::Value;
use sleuth_chain::blockfile::{BlockFileReader, HeaderScan};
use sleuth_chain::decode::{parse_block, ParsedBlock, ParsedInput, ParsedOutput};
use sleuth_testkit::shared_data;

/// Bitcoin mainnet's record magic.
pub const BTC_MAGIC: [u8; 4] = [0xf9, 0xbe, 0xb4, 0xd9];
/// Litecoin mainnet's record magic.
pub const LTC_MAGIC: [u8; 4] = [0xfb, 0xc0, 0xb6, 0xdb];

/// Satoshis in one coin.
pub const COIN: u64 = 100_000_000;

/// Reads a file of the shared data folder.
pub fn read_shared(rel: &str) -> Vec<u8> {
    let path = shared_data(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Parses a JSON file of the shared data folder.
pub fn json(rel: &str) -> Value {
    serde_json::from_slice(&read_shared(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `blocks/MANIFEST.json`.
pub fn btc_manifest() -> Value {
    json("blocks/MANIFEST.json")
}

/// `blocks/litecoin/MANIFEST.json`.
pub fn ltc_manifest() -> Value {
    json("blocks/litecoin/MANIFEST.json")
}

/// A manifest field that must be a string.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("manifest field {key:?} is not a string in {v}"))
}

/// A manifest field that must be an unsigned integer.
pub fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("manifest field {key:?} is not an integer in {v}"))
}

/// The rows of a CSV file without quoted commas in its first `n` columns: the header row is
/// dropped and each row is cut into at most `n` fields (the last keeps the rest of the line).
pub fn csv_rows(rel: &str, n: usize) -> Vec<Vec<String>> {
    let text = String::from_utf8(read_shared(rel)).expect("CSV files are UTF-8");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.splitn(n, ',').map(str::to_owned).collect())
        .collect()
}

/// `magic ‖ u32le(len) ‖ block` for each block, as a node writes them.
pub fn frame(magic: [u8; 4], blocks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in blocks {
        out.extend_from_slice(&magic);
        out.extend_from_slice(&u32::try_from(b.len()).expect("blocks are < 4 GiB").to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// The blocks of a framed byte string, in order, without their record headers.
pub fn unframe(mut data: &[u8]) -> Vec<&[u8]> {
    let mut blocks = Vec::new();
    while data.len() >= 8 {
        let len = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
        blocks.push(&data[8..8 + len]);
        data = &data[8 + len..];
    }
    blocks
}

/// A temporary `blocks/` folder.
pub struct BlocksDir {
    dir: tempfile::TempDir,
}

impl Default for BlocksDir {
    fn default() -> Self {
        BlocksDir::new()
    }
}

impl BlocksDir {
    pub fn new() -> BlocksDir {
        BlocksDir { dir: tempfile::tempdir().expect("a temporary folder can be created") }
    }

    /// A folder whose `blk00000.dat`, `blk00001.dat`, … hold `files` in that order.
    pub fn with_files(files: &[&[u8]]) -> BlocksDir {
        let d = BlocksDir::new();
        for (n, bytes) in files.iter().enumerate() {
            d.write_blk(n as u32, bytes);
        }
        d
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Path of `blkN.dat` in this folder.
    pub fn blk(&self, n: u32) -> PathBuf {
        self.path().join(format!("blk{n:05}.dat"))
    }

    pub fn write_blk(&self, n: u32, bytes: &[u8]) -> PathBuf {
        self.write(&format!("blk{n:05}.dat"), bytes)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
        p
    }

    /// Opens the folder and scans it, both of which must succeed.
    pub fn scan(&self) -> (BlockFileReader, HeaderScan) {
        let reader = BlockFileReader::open(self.path()).expect("the folder opens");
        let scan = reader.scan_headers(None).expect("the folder scans");
        (reader, scan)
    }
}

/// Decodes a block, which must succeed.
pub fn parse(raw: &[u8], litecoin: bool) -> ParsedBlock {
    let mut b = ParsedBlock::default();
    parse_block(raw, litecoin, &mut b).unwrap_or_else(|e| panic!("block does not parse: {e}"));
    b
}

/// The inputs of transaction `i`.
pub fn tx_inputs(b: &ParsedBlock, i: usize) -> &[ParsedInput] {
    let start: usize = b.txs[..i].iter().map(|t| t.n_inputs as usize).sum();
    &b.inputs[start..start + b.txs[i].n_inputs as usize]
}

/// The outputs of transaction `i`.
pub fn tx_outputs(b: &ParsedBlock, i: usize) -> &[ParsedOutput] {
    let start: usize = b.txs[..i].iter().map(|t| t.n_outputs as usize).sum();
    &b.outputs[start..start + b.txs[i].n_outputs as usize]
}
