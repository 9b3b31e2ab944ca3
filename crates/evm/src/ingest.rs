//! Bringing the account index to the node's tip: incremental, reorg-aware, interruptible.
//!
//! Each round asks the node for its tip, walks back from the indexed tip until the node's
//! block hash at a height equals the index's (the fork point), fetches the next window of
//! blocks many at a time, checks that each is the child of the one before, and commits the
//! unwind and the new blocks in one transaction. A node that switches branches while a
//! window is in flight breaks that chain of parents; the round is then done again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use alloy::primitives::{Address, B256};
use serde::Serialize;

use crate::chain::EvmChain;
use crate::error::EvmError;
use crate::extract::{decode_block, minted};
use crate::genesis::read_genesis_file;
use crate::model::{BlockData, TransferKind};
use crate::rpc::{EvmNode, TraceDialect};
use crate::store::{Batch, EvmStore, TokenMeta};

/// How to sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// The chain the user expects the node to serve (checked against `eth_chainId`).
    pub chain: Option<EvmChain>,
    /// Stop at this height.
    pub until_height: Option<u64>,
    /// Blocks fetched at once.
    pub in_flight: usize,
    /// Blocks per commit.
    pub batch_blocks: u64,
    /// The chain's genesis.json, for its allocation.
    pub genesis: Option<PathBuf>,
    /// Force a trace dialect instead of detecting it.
    pub dialect: Option<TraceDialect>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { chain: None, until_height: None, in_flight: 16, batch_blocks: 256, genesis: None, dialect: None }
    }
}

/// What a sync did.
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    /// The chain.
    pub chain: EvmChain,
    /// Its EIP-155 id.
    pub chain_id: u64,
    /// The node's height when the sync ended.
    pub node_height: u64,
    /// The indexed tip.
    pub height: Option<u64>,
    /// Its hash.
    pub tip_hash: Option<String>,
    /// Blocks added.
    pub added_blocks: u64,
    /// Transactions added.
    pub added_transactions: u64,
    /// Transfers added (ETH and tokens, fees included).
    pub added_transfers: u64,
    /// Blocks unwound by reorgs.
    pub unwound_blocks: u64,
    /// The trace dialect used.
    pub traces: TraceDialect,
    /// Wall time.
    pub seconds: f64,
    /// Stopped early by the caller.
    pub interrupted: bool,
}

/// Syncs the index in `data_dir` with the node. `progress` hears (indexed height, node height).
pub fn sync(
    data_dir: &Path,
    node: &EvmNode,
    opts: &SyncOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncReport, EvmError> {
    let started = Instant::now();
    let mut store = EvmStore::open_or_create(data_dir)?;
    let chain_id = node.chain_id()?;
    let chain = EvmChain::from_id(chain_id);
    if let Some(want) = opts.chain {
        if want.id() != chain_id {
            return Err(EvmError::ChainMismatch {
                asked: format!("{want} (chain id {})", want.id()),
                url: node.url().to_string(),
                node: format!("{chain} (chain id {chain_id})"),
            });
        }
    }
    let reader = store.reader()?;
    if let Some(id) = reader.meta("chain_id")?.as_deref().and_then(crate::store::read_u64) {
        if id != chain_id {
            return Err(EvmError::WrongChain {
                dir: data_dir.to_path_buf(),
                indexed: format!("{} (chain id {id})", EvmChain::from_id(id)),
                node: format!("{chain} (chain id {chain_id})"),
            });
        }
    }
    if let Some(g) = reader.block(0)? {
        let node_genesis = node.block_hash(0)?;
        if node_genesis != Some(g.hash) {
            return Err(EvmError::WrongChain {
                dir: data_dir.to_path_buf(),
                indexed: format!("{chain} with genesis {}", g.hash),
                node: format!("a chain with genesis {}", node_genesis.map_or("-".into(), |h| h.to_string())),
            });
        }
    }
    let dialect = match (reader.meta("trace_dialect")?, opts.dialect) {
        (_, Some(d)) => d,
        (Some(v), None) => TraceDialect::parse(&String::from_utf8_lossy(&v)).unwrap_or(TraceDialect::Parity),
        (None, None) => node.detect_dialect()?,
    };
    drop(reader);

    let mut report = SyncReport {
        chain,
        chain_id,
        node_height: 0,
        height: None,
        tip_hash: None,
        added_blocks: 0,
        added_transactions: 0,
        added_transfers: 0,
        unwound_blocks: 0,
        traces: dialect,
        seconds: 0.0,
        interrupted: false,
    };
    loop {
        if stop.load(Ordering::Relaxed) {
            report.interrupted = true;
            break;
        }
        let node_tip = node.block_number()?;
        report.node_height = node_tip;
        let target = opts.until_height.map_or(node_tip, |u| u.min(node_tip));
        let (fork, unwound) = fork_point(&store, node)?;
        let next = fork.map_or(0, |(h, _)| h + 1);
        if next > target && unwound == 0 {
            break;
        }
        let last = target.min(next + opts.batch_blocks.max(1) - 1);
        let fetched = if next <= last { node.fetch_blocks(next, last, dialect, opts.in_flight)? } else { Vec::new() };
        let mut blocks = Vec::with_capacity(fetched.len());
        for f in &fetched {
            blocks.push(decode_block(&f.block, &f.receipts, &f.traces)?);
        }
        // The fetched blocks must hang off the fork point and off each other; a node that
        // reorganised meanwhile did not give one chain, so the round starts over.
        let mut parent = fork.map(|(_, h)| h);
        let linked = blocks.iter().all(|b| {
            let ok = parent.is_none_or(|p| p == b.rec.parent_hash);
            parent = Some(b.rec.hash);
            ok
        });
        if !linked {
            tracing::info!("the node changed branches during the fetch; fetching again");
            continue;
        }
        if let Some(b0) = blocks.first_mut().filter(|b| b.number == 0) {
            add_genesis_allocation(b0, chain, node, opts)?;
        }
        let tokens = token_metadata(&store, node, &blocks)?;
        let mut meta = vec![
            ("chain_id", chain_id.to_be_bytes().to_vec()),
            ("trace_dialect", dialect.as_str().as_bytes().to_vec()),
        ];
        meta.push(("node_url", node.url().as_bytes().to_vec()));
        store.commit(Batch {
            unwind_to: (unwound > 0).then_some(fork.map(|(h, _)| h)),
            blocks: &blocks,
            tokens: Some(&tokens),
            meta,
        })?;
        if unwound > 0 {
            tracing::info!(unwound, fork = ?fork.map(|(h, _)| h), "reorg: blocks unwound and replaced by the node's branch");
        }
        report.unwound_blocks += unwound;
        report.added_blocks += blocks.len() as u64;
        report.added_transactions += blocks.iter().map(|b| b.txs.len() as u64).sum::<u64>();
        report.added_transfers += blocks
            .iter()
            .map(|b| b.block_transfers.len() as u64 + b.txs.iter().map(|t| t.transfers.len() as u64).sum::<u64>())
            .sum::<u64>();
        progress(last, target);
    }
    let r = store.reader()?;
    if let Some((h, b)) = r.tip()? {
        report.height = Some(h);
        report.tip_hash = Some(b.hash.to_string());
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The highest indexed block the node also has (its height and hash), and how many indexed
/// blocks above it the node has replaced.
fn fork_point(store: &EvmStore, node: &EvmNode) -> Result<(Option<(u64, B256)>, u64), EvmError> {
    let r = store.reader()?;
    let Some((tip, _)) = r.tip()? else { return Ok((None, 0)) };
    let mut h = tip;
    loop {
        let ours = r.block(h)?.map(|b| b.hash);
        let theirs = node.block_hash(h)?;
        if let Some(hash) = ours.filter(|o| Some(*o) == theirs) {
            return Ok((Some((h, hash)), tip - h));
        }
        if h == 0 {
            // Genesis differs: checked at the start, so the node was swapped meanwhile.
            return Err(EvmError::WrongChain {
                dir: store.path().to_path_buf(),
                indexed: "a chain with another genesis".into(),
                node: "a different chain".into(),
            });
        }
        h -= 1;
    }
}

fn add_genesis_allocation(
    b0: &mut BlockData,
    chain: EvmChain,
    node: &EvmNode,
    opts: &SyncOptions,
) -> Result<(), EvmError> {
    let alloc = match &opts.genesis {
        Some(path) => read_genesis_file(path)?,
        None if chain.is_dev() => node.dev_genesis_allocation()?,
        None => {
            tracing::warn!(
                "no genesis allocation for {chain}: pass --genesis FILE (the chain's genesis.json) or balances of accounts funded at genesis will not add up"
            );
            Vec::new()
        }
    };
    b0.block_transfers.extend(alloc.into_iter().map(|(a, v)| minted(TransferKind::Genesis, a, v)));
    Ok(())
}

/// `symbol()` and `decimals()` of every token first seen in `blocks`, asked at the block it
/// first moves in.
fn token_metadata(
    store: &EvmStore,
    node: &EvmNode,
    blocks: &[BlockData],
) -> Result<HashMap<Address, TokenMeta>, EvmError> {
    let r = store.reader()?;
    let mut out = HashMap::new();
    for b in blocks {
        for t in b.txs.iter().flat_map(|t| t.transfers.iter()) {
            if let Some(token) = t.token {
                if !out.contains_key(&token) && r.token_id(&token)?.is_none() {
                    out.insert(token, node.token_meta(token, b.number));
                }
            }
        }
    }
    Ok(out)
}
