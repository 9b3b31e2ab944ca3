//! A simulated chain shared by the tests, read back into memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bitcoin::{Block, OutPoint, Transaction};
use sleuth_chain::blockfile::{best_chain, BlockFileReader};
use sleuth_chain::decode::{parse_block, ParsedBlock};
use sleuth_chain::Chain;
use sleuth_simulator::{simulate, SimConfig, SimSummary};

/// Transactions of the shared chain: enough for every actor and the thefts to show up,
/// few enough for a debug build.
pub const TRANSACTIONS: u64 = 12_000;

/// A simulation on disk and its blocks, decoded.
pub struct Sim {
    pub dir: PathBuf,
    pub summary: SimSummary,
    /// Blocks by height, as rust-bitcoin decodes them.
    pub blocks: Vec<Block>,
}

impl Sim {
    pub fn truth(&self, file: &str) -> Vec<Vec<String>> {
        read_csv(&self.dir.join("truth").join(file))
    }

    /// Every transaction with its block height.
    pub fn transactions(&self) -> impl Iterator<Item = (usize, &Transaction)> {
        self.blocks.iter().enumerate().flat_map(|(h, b)| b.txdata.iter().map(move |t| (h, t)))
    }

    /// Every output of the chain: value and script.
    pub fn outputs(&self) -> HashMap<OutPoint, (u64, Vec<u8>)> {
        let mut m = HashMap::new();
        for (_, tx) in self.transactions() {
            let txid = tx.compute_txid();
            for (vout, o) in tx.output.iter().enumerate() {
                m.insert(OutPoint { txid, vout: vout as u32 }, (o.value.to_sat(), o.script_pubkey.to_bytes()));
            }
        }
        m
    }
}

/// Rows of a CSV file, header line included.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

/// Simulates into `dir` (emptied first).
pub fn run(dir: &Path, transactions: u64, seed: u64, chain: Chain) -> SimSummary {
    let _ = std::fs::remove_dir_all(dir);
    let cfg = SimConfig { out: dir.to_owned(), transactions, seed, chain, truth: true };
    let mut last = 0;
    let summary = simulate(&cfg, &mut |n| {
        assert!(n >= last, "progress goes forwards");
        last = n;
    })
    .expect("simulation succeeds");
    assert_eq!(last, transactions, "the last progress call reports every economy transaction");
    summary
}

/// Reads a blocks folder through sleuth_chain's reader and best-chain selection, checking each
/// block with `parse_block` (merkle root included), and returns the blocks by height.
pub fn read_blocks(dir: &Path, chain: Chain) -> Vec<Block> {
    let mut reader = BlockFileReader::open(&dir.join("blocks")).expect("block files");
    let scan = reader.scan_headers(Some(chain.magic())).expect("scan");
    assert!(scan.partial_tail.is_none());
    assert_eq!(reader.detect_chain(&scan, None).expect("known genesis"), chain);
    let order = best_chain(&scan.records, chain.genesis_hash()).expect("genesis present");
    assert_eq!(order.len(), scan.records.len(), "every block is on the best chain");
    let mut buf = Vec::new();
    let mut parsed = ParsedBlock::default();
    let mut blocks = Vec::with_capacity(order.len());
    for (height, &i) in order.iter().enumerate() {
        reader.read_block(&scan.records[i].loc, &mut buf).expect("read");
        parse_block(&buf, chain.is_litecoin(), &mut parsed)
            .unwrap_or_else(|e| panic!("block {height} does not parse: {e}"));
        let block: Block = bitcoin::consensus::deserialize(&buf).expect("rust-bitcoin decodes it too");
        assert_eq!(block.block_hash(), parsed.hash);
        assert_eq!(block.txdata.len(), parsed.txs.len());
        blocks.push(block);
    }
    blocks
}

fn shared_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sleuth-simulator-{name}"))
}

/// The shared regtest chain of [`TRANSACTIONS`] transactions, seed 42.
pub fn shared() -> &'static Sim {
    static SIM: OnceLock<Sim> = OnceLock::new();
    SIM.get_or_init(|| {
        let dir = shared_dir("shared");
        let summary = run(&dir, TRANSACTIONS, 42, Chain::Regtest);
        let blocks = read_blocks(&dir, Chain::Regtest);
        Sim { dir, summary, blocks }
    })
}

/// A scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    shared_dir(name)
}
