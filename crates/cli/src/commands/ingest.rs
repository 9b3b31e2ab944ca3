//! `sleuth ingest`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use sleuth_chain::Chain;
use sleuth_index::ingest::{IngestOptions, IngestReport, DEFAULT_BATCH_TXS, DEFAULT_COMMIT_SECS};

use super::rpc_args::RpcArgs;
use crate::output::{print, thousands, Human};
use crate::progress::Bar;
use crate::Context;

/// Index the block files of a Bitcoin Core or Litecoin Core node.
#[derive(Debug, clap::Args)]
pub struct Ingest {
    /// The node's blocks folder [default: the chain's usual one, e.g. ~/.bitcoin/blocks].
    #[arg(long, env = "SLEUTH_BLOCKS_DIR")]
    pub blocks_dir: Option<PathBuf>,
    /// bitcoin, testnet, testnet4, signet, regtest, litecoin, litecoin-testnet or
    /// litecoin-regtest [default: detected from the files' magic and genesis block]; or an
    /// EVM chain, read over --rpc-url: ethereum, sepolia, holesky, anvil or evm-<chain id>.
    #[arg(long, env = "SLEUTH_CHAIN")]
    pub chain: Option<ChainArg>,
    /// EVM chains: the chain's genesis.json (Geth's format), whose allocation no trace shows
    /// [default: a dev node's funded accounts on anvil; none elsewhere].
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// EVM chains: how the node reports internal calls, parity (trace_block) or geth
    /// (debug_traceBlockByNumber with the callTracer) [default: trace_block if answered].
    #[arg(long, value_name = "DIALECT")]
    pub traces: Option<String>,
    /// Commit after about this many transactions…
    #[arg(long, default_value_t = DEFAULT_BATCH_TXS, hide = true)]
    pub batch_txs: u64,
    /// …or this many seconds, whichever comes first.
    #[arg(long, default_value_t = DEFAULT_COMMIT_SECS, hide = true)]
    pub commit_secs: u64,
    /// Commit after every N blocks as well (default: every 5 minutes). Queries then see new
    /// blocks sooner, at a cost in throughput (see the README).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub commit_every: Option<u64>,
    /// Index the best chain only up to this height.
    #[arg(long, value_name = "HEIGHT")]
    pub until_height: Option<u32>,
    /// Memory the ingest may hold, e.g. 8G or 512M: a batch is committed before its
    /// deferred writes outgrow it [default: a third of physical memory].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<u64>,
    /// Write in place while the randomly written files span at most this many bytes
    /// (default a tenth of RAM; 0 always defers to the commit). For tests and benchmarks.
    #[arg(long, value_name = "BYTES", hide = true)]
    pub direct_limit: Option<u64>,
    /// Ids a hash-table segment takes before it is frozen (default 31,457,280). For tests.
    #[arg(long, value_name = "IDS", hide = true)]
    pub segment_ids: Option<u64>,
    /// When the writer keeps a cache of the unspent outputs it appends (in a quarter of
    /// --memory): once its lookups read the disk (default), always, or never. For tests and
    /// benchmarks.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = CoinCacheArg::WhenCold, hide = true)]
    pub coin_cache: CoinCacheArg,
    /// Index from a node's JSON-RPC instead of its block files (a node on another machine;
    /// block files are the faster way to a first sync).
    #[command(flatten)]
    pub rpc: RpcArgs,
}

/// `--coin-cache` ([`sleuth_index::CoinCacheUse`]).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CoinCacheArg {
    /// Once the writer's lookups read the disk.
    WhenCold,
    /// From the first block.
    Always,
    /// Never.
    Off,
}

/// A UTXO chain read from block files (or Core's RPC), or an EVM chain read from an
/// execution client's JSON-RPC.
#[derive(Debug, Clone, Copy)]
pub enum ChainArg {
    /// Bitcoin or Litecoin, any network.
    Utxo(Chain),
    /// An EVM chain.
    Evm(sleuth_engine::evm::EvmChain),
}

impl std::str::FromStr for ChainArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<Chain>() {
            Ok(c) => Ok(ChainArg::Utxo(c)),
            Err(utxo) => s
                .parse()
                .map(ChainArg::Evm)
                .map_err(|_| format!("{utxo}; or an EVM chain: ethereum, sepolia, holesky, anvil or evm-<chain id>")),
        }
    }
}

/// Parses a size in bytes with an optional K, M, G or T suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(p) => t.split_at(p),
        None => (t, ""),
    };
    let mult: u64 = match unit.trim().to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        other => return Err(format!("unknown unit {other:?} in {s:?}: use K, M, G or T, as in 8G")),
    };
    let v: f64 = num.parse().map_err(|_| format!("{s:?} is not a size: use a number with K, M, G or T, as in 8G"))?;
    let bytes = (v * mult as f64) as u64;
    if bytes < 64 << 20 {
        return Err(format!("{s:?} is less than the 64M an ingest needs at least"));
    }
    Ok(bytes)
}

impl Ingest {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let evm_chain = match self.chain {
            Some(ChainArg::Evm(c)) => Some(c),
            _ => None,
        };
        if evm_chain.is_some() || sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return super::evm::ingest(
                ctx,
                super::evm::EvmIngestArgs {
                    rpc_url: self.rpc.rpc_url,
                    chain: evm_chain,
                    until_height: self.until_height,
                    genesis: self.genesis,
                    traces: self.traces,
                    commit_every: self.commit_every,
                },
            );
        }
        let utxo_chain = match self.chain {
            Some(ChainArg::Utxo(c)) => Some(c),
            _ => None,
        };
        if let Some(node) = self.rpc.client()? {
            return sync_over_rpc(ctx, &node, self.until_height);
        }
        let blocks_dir = match self.blocks_dir {
            Some(d) => d,
            None => {
                let home = std::env::var_os("HOME").context("HOME is not set; pass --blocks-dir")?;
                PathBuf::from(home).join(utxo_chain.unwrap_or(Chain::Bitcoin).default_blocks_dir())
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        // Ctrl-C: finish the block in flight, commit, and exit cleanly.
        let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
        let opts = IngestOptions {
            chain: utxo_chain,
            batch_txs: self.batch_txs.max(1),
            commit_secs: self.commit_secs,
            commit_blocks: self.commit_every,
            until_height: self.until_height,
            memory: self.memory.unwrap_or_else(sleuth_index::ingest::default_memory),
            direct_limit: self.direct_limit,
            segment_ids: self.segment_ids,
            coin_cache: match self.coin_cache {
                CoinCacheArg::WhenCold => sleuth_index::CoinCacheUse::WhenCold,
                CoinCacheArg::Always => sleuth_index::CoinCacheUse::Always,
                CoinCacheArg::Off => sleuth_index::CoinCacheUse::Off,
            },
            ..IngestOptions::new(blocks_dir)
        };
        let mut bar = Bar::new(!ctx.quiet);
        let report = sleuth_engine::ingest(&ctx.data_dir, &opts, &mut bar, &stop)
            .with_context(|| format!("ingesting {} into {}", opts.blocks_dir.display(), ctx.data_dir.display()))?;
        print(ctx, &report);
        Ok(())
    }
}

/// `ingest --rpc-url`: the index brought to the node's tip over RPC.
fn sync_over_rpc(ctx: &Context, node: &sleuth_node::NodeClient, until_height: Option<u32>) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
    let opts = sleuth_node::SyncOptions { until_height, ..sleuth_node::SyncOptions::default() };
    let report = loop {
        let r = sleuth_node::sync_data_dir(&ctx.data_dir, node, &opts, &stop)
            .with_context(|| format!("indexing from {} into {}", node.url(), ctx.data_dir.display()))?;
        // A node that switched branches during the sync: once more, to its new tip.
        if !r.moved {
            break r;
        }
    };
    print(ctx, &report);
    Ok(())
}

impl Human for sleuth_node::SyncReport {
    fn human(&self) -> String {
        let mut s = format!(
            "from the node (height {}): {} new blocks, {} transactions, {} unwound\n",
            self.node_height,
            thousands(self.added_blocks),
            thousands(self.added_transactions),
            thousands(self.unwound_blocks)
        );
        match (self.height, &self.tip_hash) {
            (Some(h), Some(hash)) => s += &format!("tip: height {h}, {hash}\n"),
            _ => s += "tip: none (empty index)\n",
        }
        if self.interrupted {
            s += "interrupted: run again to continue\n";
        }
        s
    }
}

impl Human for IngestReport {
    fn human(&self) -> String {
        let secs = self.seconds.max(1e-9);
        let mut s = format!(
            "{}: {} new blocks, {} transactions, {} inputs, {} outputs in {:.2}s ({:.0} blocks/s, {:.0} tx/s, {:.1} MB/s)\n",
            self.chain,
            thousands(self.added_blocks),
            thousands(self.added_transactions),
            thousands(self.added_inputs),
            thousands(self.added_outputs),
            self.seconds,
            self.added_blocks as f64 / secs,
            self.added_transactions as f64 / secs,
            self.added_bytes as f64 / secs / 1e6,
        );
        match (self.height, &self.tip_hash) {
            (Some(h), Some(hash)) => s += &format!("tip: height {h}, {hash}\n"),
            _ => s += "tip: none (empty index)\n",
        }
        if self.unwound_blocks > 0 {
            s += &format!("reorg: {} blocks unwound and replaced by the best chain\n", self.unwound_blocks);
        }
        if self.stale_blocks > 0 {
            s += &format!("{} stale blocks in the files left out\n", self.stale_blocks);
        }
        if self.mweb_bytes_skipped > 0 {
            s += &format!(
                "{} bytes of MWEB extension data skipped (confidential)\n",
                thousands(self.mweb_bytes_skipped)
            );
        }
        if self.partial_tail {
            s += "the newest block file ends in a block still being written; it is left for the next run\n";
        }
        if self.interrupted {
            s += "interrupted: everything up to the tip above is committed; run ingest again to continue\n";
        }
        s
    }
}
