//! [`sync`]: brings an index to a node's tip over RPC, through any reorg the node made.
//!
//! Each run finds the highest indexed block that is still on the node's best chain (walking
//! down from the tip, one `getblockhash` a height: reorgs are shallow), unwinds what is
//! above it, then fetches each new block (`getblockhash`, `getblock <hash> 0`) on a second
//! thread, ahead of the writer, and appends it through the same checks as block files:
//! the block's hash is the one asked for and its parent is the indexed tip; proof of work
//! against its own target and the chain's limit; no header time more than two hours ahead;
//! merkle root (without CVE-2012-2459), coinbase, amounts, BIP34 ([`check_block`]); spends,
//! maturity, BIP30, fees and the coinbase's value ([`append_checked`]). The target's
//! retargeting and the median-time-past rule, which need headers the index does not keep,
//! are the node's: it validated them before it made the block its tip.
//!
//! Batches are committed every [`SyncOptions::commit_secs`] and at the end, so that a reader
//! sees a new block within a commit of its arrival and never half of one; a `kill -9`
//! resumes from the last commit like a file ingest. A node that switches branches while a
//! sync runs shows up as a block whose parent is not the indexed tip: the sync commits what
//! it has and returns with [`SyncReport::moved`], and the next run unwinds.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitcoin::BlockHash;
use serde::{Deserialize, Serialize};
use sleuth_chain::decode::{parse_block, ParsedBlock};
use sleuth_chain::validate::headers::header_pow_failure;
use sleuth_chain::validate::{check_block, Rules, ValidationError};
use sleuth_chain::Chain;
use sleuth_index::{append_checked, AppendError, Height, IndexWriter};

use crate::client::NodeClient;
use crate::error::NodeError;

/// Core's limit on how far ahead of the clock a header's time may be (`MAX_FUTURE_BLOCK_TIME`).
const MAX_FUTURE_SECS: u64 = 2 * 60 * 60;

/// Blocks fetched ahead of the writer.
const PREFETCH: usize = 16;

/// How a sync commits.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Seconds between batch commits while catching up (each sync also commits at its end).
    pub commit_secs: u64,
    /// Stop after this height (for tests and benchmarks).
    pub until_height: Option<u32>,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions { commit_secs: 5, until_height: None }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The node's height when the sync began.
    pub node_height: u32,
    /// Indexed blocks removed because the node's best chain left them.
    pub unwound_blocks: u64,
    /// Blocks added.
    pub added_blocks: u64,
    /// Transactions added.
    pub added_transactions: u64,
    /// Batches committed.
    pub commits: u64,
    /// The node switched branches during the sync: run it again.
    pub moved: bool,
    /// Stopped early on request.
    pub interrupted: bool,
    /// Height of the indexed tip after the sync.
    pub height: Option<u32>,
    /// Its hash.
    pub tip_hash: Option<String>,
}

/// The chain of the node at `node`: its genesis, known to Sleuth.
///
/// # Errors
/// Calls that fail; [`NodeError::WrongChain`] for a genesis of no chain Sleuth knows.
pub fn node_chain(node: &NodeClient, data_dir: &Path) -> Result<Chain, NodeError> {
    let genesis = node.genesis()?;
    Chain::with_genesis(&genesis).ok_or_else(|| NodeError::WrongChain {
        url: node.url().to_owned(),
        node_chain: "a chain Sleuth does not know".to_owned(),
        genesis: genesis.to_string(),
        index_chain: "any chain Sleuth knows".to_owned(),
        data_dir: data_dir.to_owned(),
    })
}

/// Opens (or creates, for the node's chain) the index in `data_dir` and syncs it.
///
/// # Errors
/// As [`sync`]; [`NodeError::WrongChain`] if the index holds another chain.
pub fn sync_data_dir(
    data_dir: &Path,
    node: &NodeClient,
    opts: &SyncOptions,
    stop: &AtomicBool,
) -> Result<SyncReport, NodeError> {
    let chain = node_chain(node, data_dir)?;
    if let Some(have) = IndexWriter::chain_of(data_dir)? {
        if have != chain {
            return Err(wrong_chain(node, chain.genesis_hash(), have, data_dir));
        }
    }
    let mut index = IndexWriter::open(data_dir, chain)?;
    sync(&mut index, node, opts, stop)
}

fn wrong_chain(node: &NodeClient, genesis: BlockHash, have: Chain, data_dir: &Path) -> NodeError {
    NodeError::WrongChain {
        url: node.url().to_owned(),
        node_chain: Chain::with_genesis(&genesis).map_or("a chain Sleuth does not know".to_owned(), |c| c.to_string()),
        genesis: genesis.to_string(),
        index_chain: have.to_string(),
        data_dir: data_dir.to_owned(),
    }
}

/// Brings `index` to the node's best chain: unwinds what left it, appends what is new.
///
/// # Errors
/// [`NodeError::WrongChain`]; a call that fails (the blocks appended before it are
/// committed); [`NodeError::BadBlock`] for a block that fails decoding or validation (it and
/// the blocks above it are not indexed); [`NodeError::Index`].
pub fn sync(
    index: &mut IndexWriter,
    node: &NodeClient,
    opts: &SyncOptions,
    stop: &AtomicBool,
) -> Result<SyncReport, NodeError> {
    let chain = index.chain();
    let genesis = node.genesis()?;
    if genesis != chain.genesis_hash() {
        return Err(wrong_chain(node, genesis, chain, index.dir()));
    }
    let (node_height, _) = node.tip()?;
    let mut report = SyncReport { node_height, ..SyncReport::default() };

    // The highest indexed block still on the node's best chain.
    let indexed = index.height_count();
    let mut keep = indexed.min(u64::from(node_height) + 1);
    while keep > 0 && index.block_hash(Height::new(keep as u32 - 1)) != node.block_hash(keep as u32 - 1)? {
        keep -= 1;
    }
    if keep < indexed && keep == u64::from(node_height) + 1 {
        // The node is behind the index on the same branch (restarted from an older copy,
        // or still loading): nothing was reorganised, so nothing is removed.
        tracing::warn!(node_height, index_tip = indexed - 1, "the node is below the indexed tip on the same chain");
    } else if keep < indexed {
        tracing::warn!(
            from = indexed - 1,
            to = keep as i64 - 1,
            url = node.url(),
            "the node's best chain moved to another branch: unwinding"
        );
        index.unwind_to(keep)?;
        report.unwound_blocks = indexed - keep;
    }
    let last = opts.until_height.map_or(node_height, |u| u.min(node_height));
    if keep <= u64::from(last) {
        append_new(index, node, keep as u32, last, opts, stop, &mut report)?;
    }
    let tip = index.height_count().checked_sub(1);
    report.height = tip.map(|h| h as u32);
    report.tip_hash = tip.map(|h| index.block_hash(Height::new(h as u32)).to_string());
    Ok(report)
}

/// A fetched block, or why it could not be.
type Fetched = Result<(u32, ParsedBlock), NodeError>;

/// Fetches heights `from..=to` on a second thread and appends them in order.
fn append_new(
    index: &mut IndexWriter,
    node: &NodeClient,
    from: u32,
    to: u32,
    opts: &SyncOptions,
    stop: &AtomicBool,
    report: &mut SyncReport,
) -> Result<(), NodeError> {
    let chain = index.chain();
    let rules = Rules::consensus(chain);
    let url = node.url().to_owned();
    let (tx, rx) = mpsc::sync_channel::<Fetched>(PREFETCH);
    std::thread::scope(|s| -> Result<(), NodeError> {
        // The sender moves into the fetcher: when it ends, the loop below does.
        s.spawn(move || {
            for height in from..=to {
                let fetched = fetch(node, height, chain.is_litecoin());
                let failed = fetched.is_err();
                if tx.send(fetched).is_err() || failed {
                    return;
                }
            }
        });
        index.begin_batch()?;
        let mut batch_started = Instant::now();
        let mut outcome = Ok(());
        for item in rx.iter() {
            let (height, block) = match item {
                Ok(b) => b,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            if height > 0 && block.header.prev_blockhash != index.block_hash(Height::new(height - 1)) {
                tracing::info!(height, "the node switched branches during the sync; syncing again");
                report.moved = true;
                break;
            }
            if let Err(detail) = check_header_and_block(&block, height, &rules, &url) {
                outcome = Err(NodeError::BadBlock { url: url.clone(), height, hash: block.hash.to_string(), detail });
                break;
            }
            match append_checked(index, &block, &rules) {
                Ok(added) => {
                    report.added_blocks += 1;
                    report.added_transactions += added.transactions;
                }
                Err(e) => {
                    // Part of the block is in the batch: none of the batch may be committed.
                    if let Err(d) = index.discard_batch() {
                        tracing::error!("could not put back the failed batch: {d}; the next open repairs it");
                    }
                    return Err(match e {
                        AppendError::Index(e) => NodeError::Index(e),
                        e => NodeError::BadBlock { url, height, hash: block.hash.to_string(), detail: e.to_string() },
                    });
                }
            }
            let stopping = stop.load(Ordering::Relaxed);
            if stopping || batch_started.elapsed().as_secs() >= opts.commit_secs {
                index.commit()?;
                report.commits += 1;
                if stopping {
                    report.interrupted = true;
                    break;
                }
                index.begin_batch()?;
                batch_started = Instant::now();
            }
        }
        // Dropping the receiver ends the fetcher if we stopped early.
        drop(rx);
        // Every block in the batch passed every check: keep them, whatever stopped the loop.
        if index.lens_differ_from_commit() {
            report.commits += 1;
        }
        index.commit()?;
        outcome
    })
}

/// Block `height` of the node's best chain, decoded.
fn fetch(node: &NodeClient, height: u32, litecoin: bool) -> Fetched {
    let hash = node.block_hash(height)?;
    let raw = node.raw_block(&hash)?;
    let mut block = ParsedBlock::default();
    let bad =
        |detail: String| NodeError::BadBlock { url: node.url().to_owned(), height, hash: hash.to_string(), detail };
    parse_block(&raw, litecoin, &mut block).map_err(|e| bad(format!("it does not decode: {e}")))?;
    if block.hash != hash {
        return Err(bad(format!("its header hashes to {}, not to the hash asked for", block.hash)));
    }
    Ok((height, block))
}

/// The checks of one block that need no spent outputs; `Err` says which failed.
fn check_header_and_block(block: &ParsedBlock, height: u32, rules: &Rules, url: &str) -> Result<(), String> {
    if let Some(why) = header_pow_failure(&block.header, &block.hash, rules, true) {
        return Err(format!("breaks rule proof-of-work: {why}"));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if u64::from(block.header.time) > now + MAX_FUTURE_SECS {
        return Err(format!(
            "breaks rule timestamp: its time {} is more than two hours ahead of this machine's clock",
            block.header.time
        ));
    }
    match check_block(block, height, rules, Path::new(url), 0) {
        Ok(()) => Ok(()),
        Err(ValidationError::Block { rule, detail, .. }) => Err(format!("breaks rule {rule}: {detail}")),
        Err(e) => Err(e.to_string()),
    }
}
