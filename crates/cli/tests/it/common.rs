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

/// A blocks folder holding btcd's test chain 0-1-2-3-4 (mainnet genesis, then blocks of
/// difficulty 1) in `blk00000.dat`.
pub fn btcd_chain(tmp: &Path) -> std::path::PathBuf {
    let b = tmp.join("blocks");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(sleuth_testkit::shared_data("blocks/synthetic/btcd_blk_0_to_4.dat"), b.join("blk00000.dat")).unwrap();
    b
}

/// Writes the branch 3A-4A-5A from block 2, which has more work than 3-4, as `blk00001.dat`,
/// its records in the order given.
pub fn add_btcd_branch(blocks: &Path, order: [&str; 3]) {
    let mut branch = Vec::new();
    for f in order {
        branch
            .extend(std::fs::read(sleuth_testkit::shared_data(&format!("blocks/synthetic/btcd_blk_{f}.dat"))).unwrap());
    }
    std::fs::write(blocks.join("blk00001.dat"), branch).unwrap();
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
