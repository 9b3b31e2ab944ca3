//! Helpers shared by the integration tests.

use std::collections::HashMap;
use std::path::Path;

use sleuth_index::{AddressInfo, Status, TxInfo};
use sleuth_testkit::Sleuth;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sleuth");

/// `sleuth --data-dir <d> <args…>`.
pub fn sleuth<I, S>(data_dir: &Path, args: I) -> Sleuth
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Sleuth::new(BIN, args).data_dir(data_dir)
}

/// Ingests `blocks` into `data_dir` and returns the JSON report.
pub fn ingest(data_dir: &Path, blocks: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["ingest", "--json", "-q", "--blocks-dir", blocks.to_str().unwrap()];
    args.extend_from_slice(extra);
    sleuth(data_dir, args).run_json()
}

/// `status --json`.
pub fn status(data_dir: &Path) -> Status {
    sleuth(data_dir, ["status", "--json"]).run_json()
}

/// `tx <txid> --json`.
pub fn tx(data_dir: &Path, txid: &str) -> TxInfo {
    sleuth(data_dir, ["tx", txid, "--json"]).run_json()
}

/// `address <a> --json`.
pub fn address(data_dir: &Path, a: &str) -> AddressInfo {
    sleuth(data_dir, ["address", a, "--json"]).run_json()
}

/// A digest of everything an index answers: every block, every transaction (with spenders)
/// and every address, through the library. Two indexes with equal digests answer alike.
pub fn digest(data_dir: &Path) -> Vec<String> {
    let snap = sleuth_index::Snapshot::open(data_dir).unwrap();
    let index = snap.view();
    let mut out = vec![serde_json::to_string(&index.status()).unwrap()];
    let blocks = index.status().blocks;
    for h in 0..blocks {
        let b = index.block(sleuth_index::BlockRef::Height(h as u32)).unwrap();
        for t in &b.txids {
            let info = index.tx(&t.parse().unwrap()).unwrap();
            out.push(serde_json::to_string(&info).unwrap());
        }
        out.push(serde_json::to_string(&b).unwrap());
    }
    for a in 0..index.status().addresses {
        let key = index.address_key(sleuth_index::AddrId::new(a as u32));
        out.push(serde_json::to_string(&index.address(&key).unwrap()).unwrap());
    }
    out
}

/// `cluster export --csv` as address → cluster id.
pub fn cluster_export(d: &Path) -> HashMap<String, u64> {
    let out = sleuth(d, ["cluster", "export", "--csv"]).run();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("address,cluster_id"));
    lines.map(|l| l.split_once(',').unwrap()).map(|(a, c)| (a.to_owned(), c.parse().unwrap())).collect()
}

/// A chain and a longer branch of it, mined by a real `litecoind -regtest`, as raw blocks:
/// `main` is heights 0..=103 with a payment in block 102; after `invalidateblock` of 102 the
/// node mined `branch`, heights 102..=104 paying another miner, which has more work. (btcd's
/// test chain 0-1-2-3-4 with its branch 3A-4A-5A served before; it spends coinbases one
/// block after they were mined, which Bitcoin's rules forbid, so a validating ingest refuses
/// it.)
pub struct Branches {
    /// Raw blocks of heights 0..=103.
    pub main: Vec<Vec<u8>>,
    /// Their hashes.
    pub main_hashes: Vec<String>,
    /// Raw blocks of the branch, heights 102..=104.
    pub branch: Vec<Vec<u8>>,
    /// Their hashes.
    pub branch_hashes: Vec<String>,
    /// The payment mined in `main`'s block 102.
    pub payment: String,
}

impl Branches {
    /// Mines the two branches on a fresh node, which is stopped again.
    pub fn mine() -> Branches {
        use serde_json::json;
        let mut node = sleuth_testkit::RegtestNode::start();
        node.create_wallet("w");
        let miner = node.new_address("w", "bech32");
        node.mine(101, &miner);
        let payee = node.new_address("w", "legacy");
        let payment = node.wallet_rpc("w", "sendtoaddress", json!([payee, 1.5])).as_str().unwrap().to_owned();
        node.mine(2, &miner);
        let raw = |hash: &str| {
            let hex = node.rpc("getblock", json!([hash, 0]));
            <Vec<u8> as bitcoin::hex::FromHex>::from_hex(hex.as_str().unwrap()).unwrap()
        };
        let hash_at = |h: u64| node.rpc("getblockhash", json!([h])).as_str().unwrap().to_owned();
        let main_hashes: Vec<String> = (0..=103).map(hash_at).collect();
        let main = main_hashes.iter().map(|h| raw(h)).collect();
        node.rpc("invalidateblock", json!([main_hashes[102]]));
        let other = node.new_address("w", "p2sh-segwit");
        let branch_hashes = node.mine(3, &other);
        let branch = branch_hashes.iter().map(|h| raw(h)).collect();
        node.stop();
        Branches { main, main_hashes, branch, branch_hashes, payment }
    }

    /// A blocks folder `tmp/blocks` holding `main` in `blk00000.dat`.
    pub fn main_folder(&self, tmp: &Path) -> std::path::PathBuf {
        let b = tmp.join("blocks");
        std::fs::create_dir_all(&b).unwrap();
        write_records(&b.join("blk00000.dat"), self.main.iter());
        b
    }

    /// Writes the branch as `blk00001.dat`, its records in `order` (indices into `branch`).
    pub fn add_branch(&self, blocks: &Path, order: [usize; 3]) {
        write_records(&blocks.join("blk00001.dat"), order.iter().map(|&i| &self.branch[i]));
    }
}

/// Writes blocks as Litecoin Core's block files frame them: the network's magic (regtest's),
/// the size, the block.
fn write_records<'a>(path: &Path, blocks: impl Iterator<Item = &'a Vec<u8>>) {
    let mut out = Vec::new();
    for b in blocks {
        out.extend_from_slice(&[0xfa, 0xbf, 0xb5, 0xda]);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    std::fs::write(path, out).unwrap();
}

/// `sleuth simulate --out <out> --json <args…>`: the summary.
pub fn simulate(out: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["-q", "simulate", "--json", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    sleuth(out.parent().unwrap(), all).run_json()
}

/// The rows of a CSV text with a header line, as column name → field.
pub fn rows(text: &str) -> Vec<HashMap<&str, &str>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| header.iter().copied().zip(l.split(',')).collect()).collect()
}
