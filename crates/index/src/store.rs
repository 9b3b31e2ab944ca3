//! [`Index`]: opening the data dir, its columns and hash tables, and repairing what an
//! interrupted batch left behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use sleuth_chain::Chain;

use crate::column::Column;
use crate::error::IndexError;
use crate::hashtable::IdHashTable;
use crate::meta::Meta;
use crate::schema::{AddrKeyRec, BlockRec, OutputRec, TxMetaRec, TxRec, NONE64};

/// The index of one chain in one data dir.
pub struct Index {
    pub(crate) dir: PathBuf,
    pub(crate) meta: Meta,
    pub(crate) blocks: Column<BlockRec>,
    pub(crate) txs: Column<TxRec>,
    pub(crate) tx_meta: Column<TxMetaRec>,
    pub(crate) inputs: Column<u64>,
    pub(crate) outputs: Column<OutputRec>,
    pub(crate) addr_keys: Column<AddrKeyRec>,
    pub(crate) addr_heads: Column<u64>,
    pub(crate) txid_idx: IdHashTable,
    pub(crate) block_idx: IdHashTable,
    pub(crate) addr_idx: IdHashTable,
    /// Hashes of the current block's output addresses, computed once for the prefetch and
    /// the lookups (reused from block to block).
    pub(crate) addr_hashes: Vec<u64>,
    _lock: Option<File>,
}

impl Index {
    /// Opens an existing index to query it.
    ///
    /// # Errors
    /// [`IndexError::NoIndex`] if `dir` holds none, [`IndexError::Version`] if another
    /// format version wrote it, I/O and corruption errors naming the file.
    pub fn open(dir: &Path) -> Result<Index, IndexError> {
        let meta = Meta::load(dir)?.ok_or_else(|| IndexError::NoIndex { path: dir.to_owned() })?;
        Index::open_with(dir, meta, None)
    }

    /// Opens the index in `dir` for writing, creating it for `chain` if there is none, and
    /// repairs what an interrupted batch left.
    ///
    /// # Errors
    /// [`IndexError::WrongChain`] if the index holds another chain, [`IndexError::Locked`] if
    /// another process writes it, and the errors of [`Index::open`].
    pub fn open_for_write(dir: &Path, chain: Chain) -> Result<Index, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
        let lock_path = dir.join("LOCK");
        let lock = File::create(&lock_path).map_err(|e| IndexError::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(IndexError::Locked { path: lock_path });
        }
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
        let mut index = Index::open_with(dir, meta, Some(lock))?;
        if index.meta.dirty {
            index.repair()?;
        }
        Ok(index)
    }

    /// The chain of an existing index, without opening its columns.
    ///
    /// # Errors
    /// As [`Index::open`].
    pub fn chain_of(dir: &Path) -> Result<Option<Chain>, IndexError> {
        Ok(Meta::load(dir)?.map(|m| m.chain))
    }

    fn open_with(dir: &Path, meta: Meta, lock: Option<File>) -> Result<Index, IndexError> {
        let p = |name: &str| dir.join(name);
        Ok(Index {
            blocks: Column::open(&p("blocks.col"), meta.blocks)?,
            txs: Column::open(&p("txs.col"), meta.transactions)?,
            tx_meta: Column::open(&p("tx_meta.col"), meta.transactions)?,
            inputs: Column::open(&p("inputs.col"), meta.inputs)?,
            outputs: Column::open(&p("outputs.col"), meta.outputs)?,
            addr_keys: Column::open(&p("addr_keys.col"), meta.addresses)?,
            addr_heads: Column::open(&p("addr_heads.col"), meta.addresses)?,
            txid_idx: IdHashTable::open(&p("txid.idx"))?,
            block_idx: IdHashTable::open(&p("blockhash.idx"))?,
            addr_idx: IdHashTable::open(&p("addr.idx"))?,
            addr_hashes: Vec::new(),
            dir: dir.to_owned(),
            meta,
            _lock: lock,
        })
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

    /// Puts back the head of every address list that an interrupted batch or unwind moved
    /// past the committed outputs: each list is walked back along `prev_same_addr` (those
    /// outputs are still in the file after a killed process) to the newest committed output.
    fn repair(&mut self) -> Result<(), IndexError> {
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
        self.meta.store(&self.dir)
    }

    /// The newest committed output on the list through `h`, if the leftovers are intact.
    pub(crate) fn walk_back(&self, addr: u32, mut h: u64) -> Option<u64> {
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
        let outs = self.outputs.as_slice();
        outs.iter().rposition(|o| o.addr == addr).map_or(NONE64, |p| p as u64)
    }

    pub(crate) fn flush(&self) -> Result<(), IndexError> {
        self.blocks.flush()?;
        self.txs.flush()?;
        self.tx_meta.flush()?;
        self.inputs.flush()?;
        self.outputs.flush()?;
        self.addr_keys.flush()?;
        self.addr_heads.flush()?;
        self.txid_idx.flush()?;
        self.block_idx.flush()?;
        self.addr_idx.flush()
    }
}
