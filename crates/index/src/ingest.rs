//! The ingest stage: from a node's blocks folder to the index, incrementally.
//!
//! Every run scans the record headers (88 bytes a block; those of earlier runs come from
//! `headers.cache`), orders them into the most-work chain, unwinds indexed blocks that left it (a reorg between runs), then reads, decodes and
//! appends the new blocks. Decoding runs on a second thread, ahead of the writer, with a
//! bounded queue and recycled buffers. Batches are committed every `commit_secs` seconds,
//! `batch_txs` transactions or `commit_blocks` blocks, whichever comes first.
//!
//! Nothing on disk is trusted: before any block is read, every header in the files must meet
//! its proof of work and the target of the chain's rules, and link up to genesis; otherwise
//! the ingest fails and the index is left as it was. Each block is then checked as it is
//! decoded (merkle root without CVE-2012-2459 malleation, coinbase, amounts, BIP34) and
//! appended (no missing or twice-spent output, coinbase value within subsidy plus fees). The
//! first block that fails stops the ingest with an error naming its file, offset, hash and
//! rule: it and the blocks above it are not indexed, and the batch it was in is not
//! committed (the blocks below it committed in earlier batches stay).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use bitcoin::hashes::Hash as _;
use serde::{Deserialize, Serialize};
use sleuth_chain::blockfile::{BestChainError, BlockFileError, BlockFileReader, BlockLocation, HeaderCache};
use sleuth_chain::decode::{parse_block, ParsedBlock};
use sleuth_chain::validate::{bip34_height, check_block, validate_headers, RuleSet, Rules, ValidationError};
use sleuth_chain::Chain;

use crate::checked_append::{append_checked, AppendError};
use crate::error::IndexError;
use crate::schema::Height;
use crate::store::IndexWriter;

/// What to ingest and how.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The node's `blocks/` folder.
    pub blocks_dir: PathBuf,
    /// The chain expected; detected from the files when `None`.
    pub chain: Option<Chain>,
    /// Commit after about this many transactions…
    pub batch_txs: u64,
    /// …or after this many seconds, whichever comes first. Each commit flushes the mapped
    /// files, after which every page touched again faults once more, so commits are kept
    /// rare: a crash loses at most this much work.
    pub commit_secs: u64,
    /// …or after this many blocks, when set: tests, followers and small machines commit
    /// often (every commit costs a flush of every mapped file; see the README's figures).
    pub commit_blocks: Option<u64>,
    /// Index the best chain only up to this height (an index as it stood then, for
    /// comparisons and for evidence pinned to a date); `None` for the whole chain.
    pub until_height: Option<u32>,
    /// Bytes of memory the ingest may hold (its open batch's writes, its decoding queue):
    /// a batch is committed before it outgrows them. See [`default_memory`].
    pub memory: u64,
    /// Write in place while the randomly written files span at most this many bytes
    /// ([`crate::IndexWriter::set_direct_limit`]); `None` for the default.
    pub direct_limit: Option<u64>,
    /// Ids a hash-table segment takes before it is frozen
    /// ([`crate::IndexWriter::set_segment_ids`]); `None` for the default. Tests freeze small
    /// segments.
    pub segment_ids: Option<u64>,
    /// When the writer keeps a cache of the unspent outputs it appends, in a quarter of
    /// [`Self::memory`] ([`crate::CoinCacheUse`]; by default once its lookups read the disk).
    pub coin_cache: crate::CoinCacheUse,
}

/// Memory an ingest holds apart from its open batch: the decoding queue (64 blocks, their
/// buffers) and the header scan.
const FIXED_MEMORY: u64 = 256 << 20;

/// Default [`IngestOptions::memory`]: a third of the machine's physical memory (the rest is
/// left to the page cache, which holds the index's hot pages), at least 512 MiB.
pub fn default_memory() -> u64 {
    (physical_memory() / 3).max(512 << 20)
}

/// The machine's physical memory (`MemTotal`), 8 GiB where it cannot be read.
pub fn physical_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    total.map_or(8 << 30, |kb| kb * 1024)
}

/// Default [`IngestOptions::batch_txs`].
pub const DEFAULT_BATCH_TXS: u64 = 50_000_000;
/// Default [`IngestOptions::commit_secs`].
pub const DEFAULT_COMMIT_SECS: u64 = 300;

impl IngestOptions {
    /// Options for `blocks_dir` with the chain detected and the default commit cadence.
    pub fn new(blocks_dir: PathBuf) -> IngestOptions {
        IngestOptions {
            blocks_dir,
            chain: None,
            batch_txs: DEFAULT_BATCH_TXS,
            commit_secs: DEFAULT_COMMIT_SECS,
            commit_blocks: None,
            until_height: None,
            memory: default_memory(),
            direct_limit: None,
            segment_ids: None,
            coin_cache: Default::default(),
        }
    }
}

/// Receives progress during an ingest.
pub trait Progress {
    /// Ingest of `blocks` new blocks begins.
    fn start(&mut self, blocks: u64);
    /// A block was appended with `txs` transactions.
    fn block(&mut self, txs: u64);
    /// A batch was committed at `height`.
    fn committed(&mut self, _height: u64) {}
    /// The ingest ended.
    fn finish(&mut self);
}

/// A [`Progress`] that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: u64) {}
    fn block(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// Why an ingest stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The block files are unreadable, corrupt or of another chain.
    #[error(transparent)]
    BlockFile(#[from] BlockFileError),
    /// No chain can be formed from them.
    #[error(transparent)]
    BestChain(#[from] BestChainError),
    /// A header or block fails validation, or the files do not form one chain.
    #[error(transparent)]
    Invalid(Box<ValidationError>),
    /// A block breaks a rule checked against the outputs it spends.
    #[error("{}: block at byte {offset}: {source}", path.display())]
    Block {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The rule broken.
        source: IndexError,
    },
    /// A coinbase claims more than the subsidy and the fees.
    #[error("{}: block {height} at byte {offset} (hash {hash}) breaks rule coinbase-value: its coinbase pays {claimed} base units, the subsidy and fees allow {allowed}; the block files are damaged or forged", path.display())]
    CoinbaseValue {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The block's hash.
        hash: String,
        /// Its height.
        height: u32,
        /// What the coinbase pays.
        claimed: u64,
        /// Subsidy plus fees.
        allowed: u64,
    },
    /// The index cannot be opened or written.
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl From<ValidationError> for IngestError {
    fn from(e: ValidationError) -> IngestError {
        IngestError::Invalid(Box::new(e))
    }
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Chain of the files.
    pub chain: Chain,
    /// The rules the files were validated by.
    pub rules: RuleSet,
    /// Block records found in the files.
    pub records: u64,
    /// Of those, how many came from the header cache of earlier runs instead of the files.
    pub headers_cached: u64,
    /// Of those, blocks not on the best chain (stale or orphaned).
    pub stale_blocks: u64,
    /// Bytes of block files.
    pub file_bytes: u64,
    /// Indexed blocks removed because the best chain moved to another branch.
    pub unwound_blocks: u64,
    /// Blocks added.
    pub added_blocks: u64,
    /// Transactions added.
    pub added_transactions: u64,
    /// Inputs added.
    pub added_inputs: u64,
    /// Outputs added.
    pub added_outputs: u64,
    /// Bytes of blocks decoded.
    pub added_bytes: u64,
    /// Bytes of Litecoin MWEB extension data skipped.
    pub mweb_bytes_skipped: u64,
    /// Whether the newest file ended in a block still being written (left for the next run).
    pub partial_tail: bool,
    /// Stopped early on request; the index holds everything committed before.
    pub interrupted: bool,
    /// Batches committed (with the commit at the end).
    #[serde(default)]
    pub commits: u64,
    /// Height of the tip after the ingest.
    pub height: Option<u32>,
    /// Hash of the tip after the ingest.
    pub tip_hash: Option<String>,
    /// Seconds spent.
    pub seconds: f64,
    /// Inputs resolved from the writer's coin cache ([`IngestOptions::coin_cache`]), and
    /// from the index while the cache held coins: 0 and 0 while it never did.
    #[serde(default)]
    pub coin_cache_hits: u64,
    /// See [`Self::coin_cache_hits`].
    #[serde(default)]
    pub coin_cache_misses: u64,
}

type Decoded = Result<(ParsedBlock, BlockLocation), IngestError>;

/// Brings the index in `data_dir` up to the best chain of the block files, opening its
/// writer (and creating the index for the files' chain if there is none).
///
/// `stop` is polled between blocks: when set, the batch in flight is committed and the
/// ingest returns with `interrupted` set.
///
/// # Errors
/// An [`IngestError`] naming the file and offset, or the index file, at fault. Blocks of
/// the batch in flight are not committed; earlier batches are.
pub fn ingest(
    data_dir: &Path,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<IngestReport, IngestError> {
    let existing = IndexWriter::chain_of(data_dir)?;
    if let (Some(want), Some(have)) = (opts.chain, existing) {
        if want != have {
            return Err(IndexError::WrongChain { path: data_dir.join("meta.json"), found: have, expected: want }.into());
        }
    }
    let scanned = Scanned::read(data_dir, opts, opts.chain.or(existing))?;
    let mut index = IndexWriter::open(data_dir, scanned.chain)?;
    apply(&mut index, scanned, opts, progress, stop)
}

/// Brings an open writer's index up to the best chain of the block files: the same as
/// [`ingest`], for a process that holds the writer (and hands out snapshots) itself.
///
/// # Errors
/// As [`ingest`]; [`IndexError::WrongChain`] if the files hold another chain.
pub fn ingest_with(
    index: &mut IndexWriter,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<IngestReport, IngestError> {
    let chain = index.chain();
    if opts.chain.is_some_and(|c| c != chain) {
        let expected = opts.chain.expect("checked");
        return Err(IndexError::WrongChain { path: index.dir().join("meta.json"), found: chain, expected }.into());
    }
    let scanned = Scanned::read(index.dir(), opts, Some(chain))?;
    apply(index, scanned, opts, progress, stop)
}

/// The block files' headers, scanned and ordered into the best chain.
struct Scanned {
    started: Instant,
    reader: BlockFileReader,
    scan: sleuth_chain::blockfile::HeaderScan,
    chain: Chain,
    rules: Rules,
    best: Vec<usize>,
    stale: u64,
    headers_cached: u64,
    next_cache: HeaderCache,
}

impl Scanned {
    fn read(data_dir: &Path, opts: &IngestOptions, requested: Option<Chain>) -> Result<Scanned, IngestError> {
        let started = Instant::now();
        let mut reader = BlockFileReader::open(&opts.blocks_dir)?;
        // Headers found by earlier runs are reused; only what the node appended is read.
        let cache_path = data_dir.join("headers.cache");
        let cache = HeaderCache::load(&cache_path);
        let (scan, next_cache, headers_cached) =
            reader.scan_headers_cached(requested.map(Chain::magic), cache.as_ref())?;
        if !scan.records.iter().any(|r| Chain::with_genesis(&r.hash).is_some()) {
            pruned(&mut reader, &scan)?;
        }
        let chain = reader.detect_chain(&scan, requested)?;
        let rules = rules_for(chain, &opts.blocks_dir);
        // Once per process: a follower ingests the same folder every second.
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if rules.set == RuleSet::Simulated && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(dir = %opts.blocks_dir.display(), "a chain written by `sleuth simulate` (truth/ beside it): validated by the simulator's rules");
        }
        let valid =
            validate_headers(&scan.records, &scan.from_cache, &rules, chain.genesis_hash(), reader.dir(), &|f| {
                reader.path_of(f)
            })?;
        Ok(Scanned {
            started,
            reader,
            scan,
            chain,
            rules,
            best: valid.best,
            stale: valid.stale,
            headers_cached,
            next_cache,
        })
    }
}

/// Where `blkN.dat` of `dir` would be.
fn reader_dir_path(dir: &Path, file: u32) -> PathBuf {
    dir.join(format!("blk{file:05}.dat"))
}

/// The rules `blocks_dir`'s files are validated by: the chain's own, unless `sleuth simulate`
/// wrote them (its ground truth lies beside them in `truth/`), whose blocks no node would
/// accept (regtest's target on any chain, no halvings).
fn rules_for(chain: Chain, blocks_dir: &Path) -> Rules {
    let truth = blocks_dir.parent().map(|p| p.join("truth"));
    let simulated = truth.is_some_and(|t| t.join("entities.csv").is_file() && t.join("addresses.csv").is_file());
    if simulated {
        Rules::simulated(chain)
    } else {
        Rules::consensus(chain)
    }
}

/// The error for files without the genesis block: a pruned node's folder (its oldest files
/// deleted) says so and from which block, and height, it has blocks.
fn pruned(reader: &mut BlockFileReader, scan: &sleuth_chain::blockfile::HeaderScan) -> Result<(), IngestError> {
    let first_file = reader.file_numbers().next().unwrap_or(0);
    let first = scan.records.iter().filter(|r| r.loc.file == first_file).min_by_key(|r| r.loc.offset);
    let numbered_from_zero = reader.file_numbers().enumerate().all(|(i, n)| i as u32 == n);
    match first {
        Some(r) if !numbered_from_zero => {
            let mut raw = Vec::new();
            let mut block = ParsedBlock::default();
            let height = reader
                .read_block(&r.loc, &mut raw)
                .ok()
                .and_then(|()| parse_block(&raw, true, &mut block).ok())
                .and_then(|()| bip34_height(&block.coinbase_script_head[..block.coinbase_script_len.min(8)]));
            Err(ValidationError::Pruned {
                path: reader.dir().to_owned(),
                first_file: reader.path_of(first_file),
                first_hash: r.hash.to_string(),
                height: height.filter(|_| r.header.version.to_consensus() >= 2),
            }
            .into())
        }
        _ => Ok(()),
    }
}

fn apply(
    index: &mut IndexWriter,
    scanned: Scanned,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<IngestReport, IngestError> {
    let Scanned { started, mut reader, scan, chain, rules, mut best, stale, headers_cached, next_cache } = scanned;
    if let Some(limit) = opts.direct_limit {
        index.set_direct_limit(limit);
    }
    if let Some(ids) = opts.segment_ids {
        index.set_segment_ids(ids);
    }
    let files_best = best.len() as u64;
    if let Some(h) = opts.until_height {
        best.truncate(h as usize + 1);
    }
    // Saved only by the writer (it holds the data dir's lock).
    let cache_path = index.dir().join("headers.cache");
    if let Err(e) = next_cache.save(&cache_path) {
        tracing::warn!(path = %cache_path.display(), "could not save the header cache: {e}");
    }
    // Keep the longest indexed prefix that is still on the best chain.
    let indexed = index.height_count();
    let mut keep = indexed.min(best.len() as u64);
    while keep > 0 && index.block_hash(Height::new(keep as u32 - 1)) != scan.records[best[keep as usize - 1]].hash {
        keep -= 1;
    }
    let mut unwound = 0;
    if keep < indexed && keep == best.len() as u64 {
        // The files end below the index's tip on the same branch (a node still syncing, or
        // an older copy of its folder): nothing was reorganised, so nothing is removed.
        tracing::warn!(
            files_tip = keep as i64 - 1,
            index_tip = indexed - 1,
            "the block files end below the indexed tip on the same chain; nothing to do"
        );
    } else if keep < indexed {
        tracing::warn!(from = indexed - 1, to = keep as i64 - 1, "the best chain moved to another branch: unwinding");
        index.unwind_to(keep)?;
        unwound = indexed - keep;
    }
    let todo: Vec<BlockLocation> = best[keep as usize..].iter().map(|&i| scan.records[i].loc).collect();
    let mut report = IngestReport {
        chain,
        rules: rules.set,
        records: scan.records.len() as u64,
        headers_cached,
        stale_blocks: stale.min(scan.records.len() as u64 - files_best),
        file_bytes: scan.bytes,
        unwound_blocks: unwound,
        added_blocks: 0,
        added_transactions: 0,
        added_inputs: 0,
        added_outputs: 0,
        added_bytes: 0,
        mweb_bytes_skipped: 0,
        partial_tail: scan.partial_tail.is_some(),
        interrupted: false,
        commits: 0,
        height: None,
        tip_hash: None,
        seconds: 0.0,
        coin_cache_hits: 0,
        coin_cache_misses: 0,
    };
    progress.start(todo.len() as u64);
    // Bitcoin averages ~590 bytes a transaction, the simulator ~420: 400 errs towards room.
    // Too low, a table is rebuilt once it is half full (in file order, like a commit); too
    // high, every commit writes more of it.
    let todo_bytes: u64 = todo.iter().map(|l| l.size as u64).sum();
    index.set_coin_cache(opts.coin_cache, opts.memory.saturating_sub(FIXED_MEMORY) / 4);
    index.reserve_for(todo_bytes / 400, opts.memory.saturating_sub(FIXED_MEMORY))?;

    let litecoin = chain.is_litecoin();
    let paths: Vec<(u32, PathBuf)> = reader.file_numbers().map(|n| (n, reader.path_of(n))).collect();
    let path_of = |file: u32| {
        paths
            .iter()
            .find(|(n, _)| *n == file)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| reader_dir_path(&opts.blocks_dir, file))
    };
    let (tx, rx) = mpsc::sync_channel::<Decoded>(64);
    let (recycle_tx, recycle_rx) = mpsc::channel::<ParsedBlock>();
    let result = std::thread::scope(|s| -> Result<(), IngestError> {
        let reader = &mut reader;
        let todo = &todo;
        let rules = &rules;
        s.spawn(move || {
            let mut raw = Vec::new();
            for (k, loc) in todo.iter().enumerate() {
                let height = (keep + k as u64) as u32;
                let mut block = recycle_rx.try_recv().unwrap_or_default();
                let res = reader
                    .read_block(loc, &mut raw)
                    .and_then(|()| {
                        parse_block(&raw, litecoin, &mut block).map_err(|source| BlockFileError::Corrupt {
                            path: reader.path_of(loc.file),
                            offset: loc.offset,
                            hash: bitcoin::hashes::sha256d::Hash::hash(&raw[..80.min(raw.len())]).to_string(),
                            source,
                        })
                    })
                    .map_err(IngestError::from)
                    .and_then(|()| {
                        check_block(&block, height, rules, &reader.path_of(loc.file), loc.offset)
                            .map_err(IngestError::from)
                    });
                let failed = res.is_err();
                if tx.send(res.map(|()| (block, *loc))).is_err() || failed {
                    return;
                }
            }
        });
        index.begin_batch()?;
        let mut in_batch = 0u64;
        let mut blocks_in_batch = 0u64;
        let mut batch_started = Instant::now();
        for item in rx.iter() {
            let (block, loc) = item?;
            let block_error = |source| IngestError::Block { path: path_of(loc.file), offset: loc.offset, source };
            let added = append_checked(index, &block, rules).map_err(|e| match e {
                AppendError::Rule(e) => block_error(e),
                AppendError::CoinbaseValue { claimed, allowed } => IngestError::CoinbaseValue {
                    path: path_of(loc.file),
                    offset: loc.offset,
                    hash: block.hash.to_string(),
                    height: index.height_count() as u32 - 1,
                    claimed,
                    allowed,
                },
                AppendError::Index(e) => IngestError::Index(e),
            })?;
            report.added_blocks += 1;
            report.added_transactions += added.transactions;
            report.added_inputs += added.inputs;
            report.added_outputs += added.outputs;
            report.added_bytes += block.size as u64;
            report.mweb_bytes_skipped += block.mweb_bytes as u64;
            in_batch += added.transactions;
            progress.block(added.transactions);
            let _ = recycle_tx.send(block);
            let stopping = stop.load(Ordering::Relaxed);
            blocks_in_batch += 1;
            if in_batch >= opts.batch_txs
                || stopping
                || opts.commit_blocks.is_some_and(|n| blocks_in_batch >= n)
                || batch_started.elapsed().as_secs() >= opts.commit_secs
                || index.pending_bytes() + FIXED_MEMORY >= opts.memory
                || index.segment_full()
            {
                index.commit()?;
                report.commits += 1;
                progress.committed(index.height_count());
                in_batch = 0;
                blocks_in_batch = 0;
                batch_started = Instant::now();
                if stopping {
                    report.interrupted = true;
                    break;
                }
                index.begin_batch()?;
            }
        }
        // Dropping the receiver ends the reader thread if we stopped early.
        drop(rx);
        report.commits += u64::from(index.lens_differ_from_commit());
        index.commit()?;
        Ok(())
    });
    progress.finish();
    if result.is_err() {
        // A block failed part-way: what the batch appended must not reach a later commit
        // of a writer that stays open (`ingest_with`).
        if let Err(e) = index.discard_batch() {
            tracing::error!(
                "could not put back the address lists of the failed batch: {e}; the next open repairs them"
            );
        }
    }
    result?;
    let tip = index.meta().blocks.checked_sub(1);
    report.height = tip.map(|h| h as u32);
    report.tip_hash = tip.map(|h| index.block_hash(Height::new(h as u32)).to_string());
    report.seconds = started.elapsed().as_secs_f64();
    (report.coin_cache_hits, report.coin_cache_misses) = index.coin_cache_hits();
    Ok(report)
}
