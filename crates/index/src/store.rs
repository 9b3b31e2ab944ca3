//! [`IndexWriter`]: the one writer of a data dir. Opening it takes the data dir's lock,
//! creates the index if there is none, and repairs what an interrupted batch left behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sleuth_chain::Chain;
use sleuth_durable::FileLock;

use crate::column::Column;
use crate::deferred::Deferred;
use crate::error::IndexError;
use crate::hashtable::SegmentedTable;
use crate::meta::Meta;
use crate::overlay::Overlay;
use crate::schema::{AddrKeyRec, BlockRec, Counts, OutputRec, SpentRec, TxMetaRec, TxRec, NONE64};
use crate::snapshot::{Shared, Snapshot, SnapshotSource, READERS_FILE};
use crate::view::{Files, View};

/// Default [`IndexWriter::set_direct_limit`]: a tenth of physical memory, the kernel's default
/// threshold for writing dirty pages back in the background (`vm.dirty_background_ratio`).
pub fn default_direct_limit() -> u64 {
    crate::ingest::physical_memory() / 10
}

/// The index of one chain in one data dir, open for writing: appends, commits and unwinds.
/// Reads go through [`Snapshot`]s ([`IndexWriter::snapshot`]).
pub struct IndexWriter {
    pub(crate) dir: PathBuf,
    /// The committed state.
    pub(crate) meta: Meta,
    pub(crate) blocks: Column<BlockRec>,
    pub(crate) txs: Column<TxRec>,
    pub(crate) tx_meta: Column<TxMetaRec>,
    /// The transaction of each output (`output_tx.col`, a [`crate::TxNum`] per output).
    pub(crate) output_tx: Column<u32>,
    /// The transaction of each input (`input_tx.col`).
    pub(crate) input_tx: Column<u32>,
    pub(crate) inputs: Column<u64>,
    /// What each input spends, copied (`input_spent.col`).
    pub(crate) input_spent: Column<SpentRec>,
    pub(crate) outputs: Column<OutputRec>,
    /// The input spending each output (`spent_by.col`), or [`NONE64`].
    pub(crate) spent_by: Column<u64>,
    pub(crate) addr_keys: Column<AddrKeyRec>,
    pub(crate) addr_heads: Column<u64>,
    pub(crate) txid_idx: SegmentedTable,
    pub(crate) block_idx: SegmentedTable,
    pub(crate) addr_idx: SegmentedTable,
    /// The open batch's writes into records already in the files, written at the commit.
    pub(crate) deferred: Deferred,
    /// Whether the open batch writes in place (see [`IndexWriter::set_direct_limit`]).
    pub(crate) direct: bool,
    /// Largest span of randomly written files for which a batch writes in place.
    pub(crate) direct_limit: u64,
    /// Bytes the ingest expects a batch to add to those files ([`IndexWriter::reserve_for`]).
    pub(crate) batch_growth: u64,
    /// Hashes of the current block's output addresses, computed once for the prefetch and
    /// the lookups (reused from block to block).
    pub(crate) addr_hashes: Vec<u64>,
    /// The current block's inputs resolved ahead: the output each spends (reused from block
    /// to block).
    pub(crate) spends: Vec<u64>,
    /// For each of the current block's inputs resolved from [`crate::coin_cache::CoinCache`],
    /// the output it spends and what it copies (reused from block to block; `None` where
    /// the index resolves it).
    pub(crate) cached_spends: Vec<Option<(u64, SpentRec)>>,
    /// The unspent outputs this writer appended, for inputs resolved without the index.
    pub(crate) coins: crate::coin_cache::CoinCache,
    /// When [`Self::coins`] is kept.
    pub(crate) coin_use: crate::coin_cache::CoinCacheUse,
    /// The outputs of the coinbases too young to spend.
    pub(crate) young_coinbases: crate::utxo_rules::YoungCoinbases,
    /// Blocks still to ask for their lookups' pages ahead, since the last whose lookups read
    /// pages from disk.
    pub(crate) cold_reads: u32,
    /// Blocks whose lookups read from disk, since the writer opened.
    pub(crate) cold_blocks: u32,
    /// What the snapshots handed out share with the writer.
    pub(crate) shared: Arc<Shared>,
    /// Overlays of live snapshots that a reorg left: heads moved by the new branch are saved
    /// into them first.
    pub(crate) cow: Vec<Arc<Overlay>>,
    /// `READERS`: taken exclusively by a reorg, to wait for readers in other processes.
    pub(crate) readers: File,
    _lock: FileLock,
}

impl IndexWriter {
    /// Opens the index in `dir` for writing, creating it for `chain` if there is none, and
    /// repairs what an interrupted batch left.
    ///
    /// # Errors
    /// [`IndexError::WrongChain`] if the index holds another chain, [`IndexError::Locked`] if
    /// another writer has it, [`IndexError::Version`] for another format, I/O and corruption
    /// errors naming the file.
    pub fn open(dir: &Path, chain: Chain) -> Result<IndexWriter, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
        let lock_path = dir.join("LOCK");
        let lock = FileLock::try_exclusive(&lock_path)
            .map_err(|e| IndexError::io(&lock_path, e))?
            .ok_or(IndexError::Locked { path: lock_path })?;
        let readers_path = dir.join(READERS_FILE);
        let readers = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&readers_path)
            .map_err(|e| IndexError::io(&readers_path, e))?;
        let meta = match Meta::load(dir)? {
            Some(m) if m.chain != chain => {
                return Err(IndexError::WrongChain { path: dir.join("meta.json"), found: m.chain, expected: chain })
            }
            Some(m) => m,
            None => {
                let m = Meta::empty(chain);
                m.store(dir)?;
                m
            }
        };
        let p = |name: &str| dir.join(name);
        let mut w = IndexWriter {
            blocks: Column::open(&p("blocks.col"), meta.blocks)?,
            txs: Column::open(&p("txs.col"), meta.transactions)?,
            tx_meta: Column::open(&p("tx_meta.col"), meta.transactions)?,
            output_tx: Column::open(&p("output_tx.col"), meta.outputs)?,
            input_tx: Column::open(&p("input_tx.col"), meta.inputs)?,
            inputs: Column::open(&p("inputs.col"), meta.inputs)?,
            input_spent: Column::open(&p("input_spent.col"), meta.inputs)?,
            outputs: Column::open(&p("outputs.col"), meta.outputs)?,
            spent_by: Column::open(&p("spent_by.col"), meta.outputs)?,
            addr_keys: Column::open(&p("addr_keys.col"), meta.addresses)?,
            addr_heads: Column::open(&p("addr_heads.col"), meta.addresses)?,
            txid_idx: SegmentedTable::open(dir, "txid", &meta.tables.txid, meta.transactions)?,
            block_idx: SegmentedTable::open(dir, "blockhash", &meta.tables.blockhash, meta.blocks)?,
            addr_idx: SegmentedTable::open(dir, "addr", &meta.tables.addr, meta.addresses)?,
            deferred: Deferred::default(),
            direct: false,
            direct_limit: default_direct_limit(),
            batch_growth: 0,
            addr_hashes: Vec::new(),
            spends: Vec::new(),
            cached_spends: Vec::new(),
            coins: Default::default(),
            coin_use: crate::coin_cache::CoinCacheUse::Off,
            young_coinbases: Default::default(),
            cold_reads: 0,
            cold_blocks: 0,
            shared: Arc::new(Shared::new(dir, meta.clone())),
            cow: Vec::new(),
            readers,
            dir: dir.to_owned(),
            meta,
            _lock: lock,
        };
        if w.meta.dirty {
            w.repair()?;
        }
        Ok(w)
    }

    /// The chain of an existing index, without opening its columns.
    ///
    /// # Errors
    /// As [`Snapshot::open`].
    pub fn chain_of(dir: &Path) -> Result<Option<Chain>, IndexError> {
        Ok(Meta::load(dir)?.map(|m| m.chain))
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The committed state.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The chain indexed.
    pub fn chain(&self) -> Chain {
        self.meta.chain
    }

    /// A snapshot of the newest commit, for this thread or to send to another.
    ///
    /// # Errors
    /// I/O errors mapping the files.
    pub fn snapshot(&self) -> Result<Snapshot, IndexError> {
        Snapshot::from_writer(&self.shared)
    }

    /// A handle other threads use to take snapshots of this writer's commits.
    pub fn snapshots(&self) -> SnapshotSource {
        SnapshotSource(self.shared.clone())
    }

    /// The writer's own files as slices (every slot, valid or not).
    pub(crate) fn files(&self) -> Files<'_> {
        Files {
            blocks: self.blocks.all_slots(),
            txs: self.txs.all_slots(),
            tx_meta: self.tx_meta.all_slots(),
            output_tx: self.output_tx.all_slots(),
            input_tx: self.input_tx.all_slots(),
            inputs: self.inputs.all_slots(),
            input_spent: self.input_spent.all_slots(),
            outputs: self.outputs.all_slots(),
            spent_by: self.spent_by.all_slots(),
            addr_keys: self.addr_keys.all_slots(),
            addr_heads: self.addr_heads.all_slots(),
            txid_idx: self.txid_idx.view(),
            block_idx: self.block_idx.view(),
            addr_idx: self.addr_idx.view(),
        }
    }

    /// A view of the committed state through the writer's own mappings, with `ov` over it
    /// (`split` its keep) when given. Only for the writer's thread, with no batch open.
    pub(crate) fn committed_view(&self, ov: Option<Arc<Overlay>>) -> View<'_> {
        let top = ov.as_ref().map_or_else(|| self.meta.counts(), |o| o.top);
        View {
            files: self.files(),
            split: ov.as_ref().map_or(top, |o| o.keep),
            ov,
            top,
            chain: self.meta.chain,
            dir: &self.dir,
            tail: None,
            _gate: None,
        }
    }

    /// Counts of records appended, committed or not.
    pub(crate) fn lens(&self) -> Counts {
        Counts {
            blocks: self.blocks.len(),
            txs: self.txs.len(),
            inputs: self.inputs.len(),
            outputs: self.outputs.len(),
            addrs: self.addr_keys.len(),
        }
    }

    /// Puts back the head of every address list that an interrupted batch or unwind moved
    /// past the committed outputs: each list is walked back along `prev_same_addr` (those
    /// outputs are still in the file after a killed process) to the newest committed output.
    pub(crate) fn repair(&mut self) -> Result<(), IndexError> {
        let n_out = self.meta.outputs;
        let mut repaired = 0u64;
        for a in 0..self.addr_heads.len() {
            let h = self.addr_heads.get(a);
            if h == NONE64 || h < n_out {
                continue;
            }
            let head = self.walk_back(a as u32, h).unwrap_or_else(|| self.scan_head(a as u32));
            self.addr_heads.set(a, head);
            repaired += 1;
        }
        tracing::info!(repaired, "repaired address lists after an interrupted ingest");
        self.flush()?;
        self.meta.dirty = false;
        self.meta.store(&self.dir)?;
        self.shared.publish(&self.meta);
        Ok(())
    }

    /// The newest committed output on the list through `h`, if the leftovers are intact.
    fn walk_back(&self, addr: u32, mut h: u64) -> Option<u64> {
        while h != NONE64 && h >= self.meta.outputs {
            let rec = self.outputs.get_leftover(h)?;
            if rec.addr != addr || rec.prev_same_addr != NONE64 && rec.prev_same_addr >= h {
                return None;
            }
            h = rec.prev_same_addr;
        }
        (h == NONE64 || self.outputs.get(h).addr == addr).then_some(h)
    }

    /// The newest committed output paying `addr`, by scanning: the fallback when the
    /// leftovers of an interrupted batch did not reach the disk.
    fn scan_head(&self, addr: u32) -> u64 {
        let outs = &self.outputs.as_slice()[..self.meta.outputs as usize];
        outs.iter().rposition(|o| o.addr == addr).map_or(NONE64, |p| p as u64)
    }

    /// Flushes the columns a batch appends to disk: what the batch's later writes point at.
    /// Not `spent_by.col`: the spenders the commit writes next fill its new records too, so
    /// it is flushed once, with the tables ([`IndexWriter::flush`]).
    pub(crate) fn flush_appends(&self) -> Result<(), IndexError> {
        self.blocks.flush()?;
        self.txs.flush()?;
        self.tx_meta.flush()?;
        self.output_tx.flush()?;
        self.input_tx.flush()?;
        self.inputs.flush()?;
        self.input_spent.flush()?;
        self.outputs.flush()?;
        self.addr_keys.flush()?;
        self.addr_heads.flush()
    }

    /// Flushes every file to disk.
    pub(crate) fn flush(&self) -> Result<(), IndexError> {
        self.flush_appends()?;
        self.spent_by.flush()?;
        self.txid_idx.flush()?;
        self.block_idx.flush()?;
        self.addr_idx.flush()
    }
}
