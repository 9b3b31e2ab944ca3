//! Appending blocks to the index in batches (committing them: `commit.rs`).

use std::sync::atomic::Ordering;

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use sleuth_chain::decode::ParsedBlock;

use crate::coin_cache::CoinCacheUse;
use crate::column::store_u64;
use crate::error::IndexError;
use crate::hashtable::SegmentedTable;
use crate::hashtable::{hash_bytes, hash_random_key};
use crate::schema::{BlockRec, Height, OutputRec, SpentRec, TxMetaRec, TxRec, NONE32, NONE64};
use crate::store::IndexWriter;
use crate::utxo_rules::unspent_twin;

/// Counts of what one block added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// Transactions.
    pub transactions: u64,
    /// Inputs.
    pub inputs: u64,
    /// Outputs.
    pub outputs: u64,
    /// What the coinbase pays.
    pub coinbase_value: u64,
    /// Fees of the other transactions: what their inputs spend less what they pay.
    pub fees: u64,
}

/// How far ahead (in outputs, or in transactions) the block loop asks the CPU for the
/// hash-table slots it will look up: far enough to hide a miss, near enough that the line is
/// still in cache when it is used.
const PREFETCH_AHEAD: usize = 16;

/// Bytes the batch's in-memory tables take per transaction when presized (a txid and two
/// addresses, each 8 bytes of hash and 8-byte slots at most half full, rounded up).
const PENDING_BYTES_PER_TX: u64 = 3 * 24 * 2;

/// Page reads from disk in one block's lookups (and at least one per 32 lookups) above which
/// the next block asks for its pages ahead ([`crate::column::Column::will_need`]): a system
/// call per lookup, worth it only while lookups wait on the disk.
const COLD_FAULTS: u64 = 16;

/// Blocks that ask for their pages ahead after a block whose lookups read from disk.
const COLD_BLOCKS: u32 = 64;

/// Page faults of the calling thread that read from disk (`getrusage`), 0 where unknown.
fn major_faults() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, u.as_mut_ptr()) } == 0 {
            // SAFETY: initialised by the successful call.
            return unsafe { u.assume_init() }.ru_majflt as u64;
        }
    }
    0
}

impl IndexWriter {
    /// Starts a batch: marks the index dirty, because appending changes committed address
    /// lists in place; [`Index::commit`] ends it.
    ///
    /// # Errors
    /// I/O errors writing the meta file.
    pub fn begin_batch(&mut self) -> Result<(), IndexError> {
        if !self.meta.dirty {
            self.meta.dirty = true;
            self.meta.store(&self.dir)?;
        }
        Ok(())
    }

    /// Sizes the hash tables for `more_txs` more transactions (and twice as many addresses)
    /// up front, so that they are not rebuilt as they fill, and the open batch's in-memory
    /// tables for as many of them as `memory` bytes hold.
    ///
    /// # Errors
    /// I/O errors.
    pub fn reserve_for(&mut self, more_txs: u64, memory: u64) -> Result<(), IndexError> {
        let IndexWriter { txs, addr_keys, txid_idx, addr_idx, .. } = self;
        let (n_tx, n_addr) = (txs.len(), addr_keys.len());
        txid_idx.set_planned(n_tx + more_txs);
        addr_idx.set_planned(n_addr + 2 * more_txs);
        // The segment being written is frozen once full: sized for what it will hold.
        txid_idx.reserve(txid_idx.segment_end().min(n_tx + more_txs), |i| hash_random_key(&txs.get(i).txid))?;
        addr_idx.reserve(addr_idx.segment_end().min(n_addr + 2 * more_txs), |i| hash_bytes(&addr_keys.get(i)))?;
        // What a batch of them adds to the randomly written files, a transaction: ~2.4
        // spenders and ~1.5 address heads of 8 bytes, and table slots at most half full
        // (16 bytes a key) for its txid and ~1.5 new addresses; rounded up.
        self.batch_growth = more_txs.min(crate::ingest::DEFAULT_BATCH_TXS) * 72;
        if !self.lens_differ_from_commit() {
            self.choose_mode();
        }
        if self.direct {
            return Ok(());
        }
        // The batch's in-memory tables too, for as much of it as memory allows (beside the
        // coin cache, which a deferring batch may turn on), so that they are not rehashed as
        // they fill.
        let memory = memory.saturating_sub(self.coins.budget());
        let IndexWriter { txid_idx, addr_idx, .. } = self;
        let batch = more_txs.min(memory / PENDING_BYTES_PER_TX);
        let room = |t: &SegmentedTable, len: u64| t.segment_end().saturating_sub(len);
        let (txid_room, addr_room) = (room(txid_idx, self.txs.len()), room(addr_idx, self.addr_keys.len()));
        txid_idx.active().presize_pending(batch.min(txid_room));
        addr_idx.active().presize_pending((2 * batch).min(addr_room));
        Ok(())
    }

    /// Bytes the open batch holds in memory until its commit (its hash-table inserts and its
    /// writes into committed records): what [`crate::ingest::IngestOptions::memory`] bounds.
    pub fn pending_bytes(&self) -> u64 {
        self.txid_idx.pending_bytes()
            + self.addr_idx.pending_bytes()
            + self.block_idx.pending_bytes()
            + self.deferred.bytes()
            + self.coins.bytes()
    }

    /// Forgets everything appended since the last commit: the columns go back to the
    /// committed counts (their records past them are leftovers), and the batch's pending
    /// inserts and deferred writes are dropped. A batch that wrote in place moved heads of
    /// committed addresses onto its outputs: they are put back as after a crash, before the
    /// next batch overwrites the records they point at.
    ///
    /// # Errors
    /// I/O errors of that repair.
    pub fn discard_batch(&mut self) -> Result<(), IndexError> {
        let c = self.meta.counts();
        self.truncate_columns(c);
        self.txid_idx.active().reset_pending(c.txs);
        self.block_idx.active().reset_pending(c.blocks);
        self.addr_idx.active().reset_pending(c.addrs);
        self.deferred = crate::deferred::Deferred::default();
        if self.direct && self.meta.dirty {
            self.repair()?;
        }
        Ok(())
    }

    /// Forgets the columns' records from `c` on (they stay in the files until overwritten).
    pub(crate) fn truncate_columns(&mut self, c: crate::schema::Counts) {
        self.blocks.truncate(c.blocks);
        self.txs.truncate(c.txs);
        self.tx_meta.truncate(c.txs);
        self.output_tx.truncate(c.outputs);
        self.input_tx.truncate(c.inputs);
        self.inputs.truncate(c.inputs);
        self.input_spent.truncate(c.inputs);
        self.outputs.truncate(c.outputs);
        self.spent_by.truncate(c.outputs);
        self.addr_keys.truncate(c.addrs);
        self.addr_heads.truncate(c.addrs);
        // Some of its coins may be spent or gone in the state now in force.
        self.coins.clear();
    }

    /// Sets when the writer keeps a cache of the unspent outputs it appends, and the bytes
    /// the cache may take ([`CoinCacheUse`]; the module `coin_cache` says why). Those bytes
    /// count toward the open batch's memory once the cache holds them
    /// ([`Self::pending_bytes`]). A writer starts with the cache off.
    pub fn set_coin_cache(&mut self, use_: CoinCacheUse, budget: u64) {
        self.coin_use = use_;
        self.coins.set_budget(if use_ == CoinCacheUse::Off { 0 } else { budget });
    }

    /// Inputs resolved from the coin cache, and from the index while the cache held coins,
    /// since the writer opened.
    pub fn coin_cache_hits(&self) -> (u64, u64) {
        self.coins.hits_misses()
    }

    /// Sets the largest span of randomly written files (the txid and address tables, the
    /// spenders and the address heads) for which a batch writes in place: below it, a batch's
    /// random writes stay in the page cache until the commit writes them once, and deferring
    /// them only adds the commit's pass; above it, they are deferred ("Write path" in
    /// `docs/schema.md`). 0 always defers. Decided at each batch's first block.
    pub fn set_direct_limit(&mut self, bytes: u64) {
        self.direct_limit = bytes;
    }

    /// Picks the open (empty) batch's mode from the files' sizes now and what the ingest
    /// expects a batch to add to them.
    fn choose_mode(&mut self) {
        let span = (self.txid_idx.capacity() + self.addr_idx.capacity()) * 8
            + self.spent_by.capacity() * 8
            + self.addr_heads.capacity() * 8;
        self.direct = span + self.batch_growth <= self.direct_limit;
        for t in [&mut self.txid_idx, &mut self.block_idx, &mut self.addr_idx] {
            t.active().set_direct(self.direct);
        }
    }

    /// Whether records were appended since the last commit.
    pub fn lens_differ_from_commit(&self) -> bool {
        self.lens() != self.meta.counts()
    }

    /// Number of blocks in the index, committed or in the open batch.
    pub fn height_count(&self) -> u64 {
        self.blocks.len()
    }

    /// Hash of the block at height `h`, committed or in the open batch.
    pub fn block_hash(&self, h: Height) -> BlockHash {
        BlockHash::from_byte_array(self.blocks.get(h.pos()).hash)
    }

    /// Appends the next block of the best chain. Its inputs must spend outputs already in
    /// the index or earlier in the same block.
    ///
    /// # Errors
    /// [`IndexError::MissingPrevout`] for an input whose output is unknown,
    /// [`IndexError::DoubleSpend`] for one whose output an earlier input spent,
    /// [`IndexError::ValueOutExceedsIn`] for a transaction paying more than it spends,
    /// [`IndexError::ImmatureSpend`] for a coinbase spent too young, and, with `bip30`,
    /// [`IndexError::DuplicateTxid`] for a txid repeated while its twin has unspent outputs; I/O
    /// errors. The block is then partly appended: the batch must not be committed.
    pub fn append_block(&mut self, b: &ParsedBlock, bip30: bool) -> Result<Appended, IndexError> {
        if !self.lens_differ_from_commit() {
            self.choose_mode();
        }
        let IndexWriter {
            blocks,
            txs,
            tx_meta,
            output_tx,
            input_tx,
            inputs,
            input_spent,
            outputs,
            spent_by,
            addr_keys,
            addr_heads,
            txid_idx,
            block_idx,
            addr_idx,
            addr_hashes,
            spends,
            cached_spends,
            coins,
            coin_use,
            young_coinbases,
            deferred,
            cold_reads,
            cold_blocks,
            direct,
            cow,
            ..
        } = self;
        let direct = *direct;
        let height = blocks.len();
        let n_tx = txs.len();
        txid_idx.reserve(n_tx + b.txs.len() as u64, |i| hash_random_key(&txs.get(i).txid))?;
        let n_addr = addr_keys.len();
        addr_idx.reserve(n_addr + b.outputs.len() as u64, |i| hash_bytes(&addr_keys.get(i)))?;
        block_idx.reserve(height + 1, |i| hash_random_key(&blocks.get(i).hash))?;
        inputs.reserve(inputs.len() + b.inputs.len() as u64)?;
        input_tx.reserve(inputs.len() + b.inputs.len() as u64)?;
        input_spent.reserve(inputs.len() + b.inputs.len() as u64)?;
        outputs.reserve(outputs.len() + b.outputs.len() as u64)?;
        output_tx.reserve(outputs.len() + b.outputs.len() as u64)?;
        spent_by.reserve(outputs.len() + b.outputs.len() as u64)?;

        // Start every hash-table probe of the block at once so the misses overlap: in the CPU's
        // cache, and, while lookups keep reading pages from disk, in the page cache too.
        let cold = *cold_reads > 0;
        // Kept from the first block, or once the lookups read the disk.
        let keep_coins = match coin_use {
            CoinCacheUse::Always => true,
            CoinCacheUse::WhenCold => txs.is_read_at_random(),
            CoinCacheUse::Off => false,
        };
        // Coins this writer appended and nothing spent yet come from memory; the others'
        // probes start now. An input resolved here takes its coin out of the cache: if the
        // block fails, the batch is discarded and the cache with it.
        for pin in &b.inputs {
            coins.prefetch(pin.prev_txid.as_byte_array(), pin.prev_vout);
        }
        cached_spends.clear();
        cached_spends.extend(b.inputs.iter().map(|pin| {
            if pin.is_null() {
                return None;
            }
            let cached = coins.take(pin.prev_txid.as_byte_array(), pin.prev_vout);
            if cached.is_none() {
                let h = hash_random_key(pin.prev_txid.as_byte_array());
                txid_idx.prefetch(h);
                if cold {
                    txid_idx.will_need(h);
                }
            }
            cached
        }));
        // The outputs' addresses are looked up last, after the inputs' misses: prefetched
        // all at once here, their lines were evicted again before use at 10M transactions
        // (a third of the block loop stalled on them), so the CPU is asked for them
        // `PREFETCH_AHEAD` outputs ahead instead (below); only the disk hint goes now.
        addr_hashes.clear();
        for pout in &b.outputs {
            let h = pout.address.as_ref().map_or(0, |key| hash_bytes(key.as_bytes()));
            if pout.address.is_some() && cold {
                addr_idx.will_need(h);
            }
            addr_hashes.push(h);
        }
        for &h in addr_hashes.iter().take(PREFETCH_AHEAD) {
            addr_idx.prefetch(h);
        }
        for ptx in b.txs.iter().take(PREFETCH_AHEAD) {
            txid_idx.prefetch(hash_random_key(ptx.txid.as_byte_array()));
        }
        let faults = major_faults();
        // Resolve the outputs of earlier blocks that the inputs spend, in two passes with the
        // records each reads next loaded ahead: the spent transaction's record, then the
        // spent output's (the double-spend and fee checks load it: a load miss stalls, where
        // the store of its spender alone did not). Between the passes, an input holds the
        // transaction it spends from.
        let live0 = txs.len();
        spends.clear();
        spends.extend(b.inputs.iter().zip(cached_spends.iter()).map(|(pin, cached)| {
            if let Some((o, _)) = cached {
                return *o;
            }
            if pin.is_null() {
                return NONE64;
            }
            let prev = pin.prev_txid.to_byte_array();
            let pt = txid_idx.get(hash_random_key(&prev), live0, |id| txs.get(id).txid == prev);
            if let Some(pt) = pt {
                txs.prefetch(pt);
                if cold {
                    txs.will_need(pt);
                }
            }
            pt.unwrap_or(NONE64)
        }));
        for ((spend, pin), cached) in spends.iter_mut().zip(&b.inputs).zip(cached_spends.iter()) {
            if *spend == NONE64 || cached.is_some() {
                continue;
            }
            let pt = *spend;
            let start = txs.get(pt).first_output;
            let end = if pt + 1 < live0 { txs.get(pt + 1).first_output } else { outputs.len() };
            let o = start + pin.prev_vout as u64;
            *spend = if o < end { o } else { NONE64 };
            if o < end {
                outputs.prefetch(o);
                spent_by.prefetch(o);
                if cold {
                    outputs.will_need(o);
                    spent_by.will_need(o);
                }
            }
        }
        let mut spends = spends.iter().zip(cached_spends.iter());
        let mut hashes = addr_hashes.iter();
        let first_tx = txs.len();
        let first_output = outputs.len();
        let first_addr = addr_keys.len();
        let mut in_iter = b.inputs.iter();
        let mut out_iter = b.outputs.iter();
        let (mut coinbase_value, mut fees) = (0u128, 0u128);
        // Coinbase maturity: the coinbases of the 99 blocks before (and of this block) cannot
        // be spent yet.
        young_coinbases.start_block(blocks, txs, height, first_output);
        for (t_in_block, ptx) in b.txs.iter().enumerate() {
            // BIP30 looks the txid up and the insert takes a slot beside it.
            if let Some(ahead) = b.txs.get(t_in_block + PREFETCH_AHEAD) {
                txid_idx.prefetch(hash_random_key(ahead.txid.as_byte_array()));
            }
            let t = txs.len();
            let mut value_in = 0u128;
            let txid = ptx.txid.to_byte_array();
            if bip30 {
                if let Some(vout) = unspent_twin(txs, outputs, spent_by, inputs, deferred, txid_idx, &txid) {
                    return Err(IndexError::DuplicateTxid {
                        height: height as u32,
                        hash: b.hash.to_string(),
                        txid: ptx.txid.to_string(),
                        vout,
                    });
                }
            }
            txs.push(TxRec { txid, first_input: inputs.len(), first_output: outputs.len() })?;
            txid_idx.insert(hash_random_key(&txid), t);
            tx_meta.push(TxMetaRec {
                locktime: ptx.locktime,
                version: ptx.version.clamp(0, 255) as u8,
                sequences: ptx.sequences as u8,
                segwit: ptx.segwit as u8,
                bip69: ptx.bip69 as u8,
            })?;
            for vin in 0..ptx.n_inputs {
                let pin = in_iter.next().expect("block has as many inputs as its txs count");
                let i = inputs.len();
                let (&resolved, &cached) = spends.next().expect("one resolution per input");
                input_tx.push(t as u32)?;
                if pin.is_null() {
                    inputs.push(NONE64)?;
                    input_spent.push(SpentRec::COINBASE)?;
                    continue;
                }
                let prev = pin.prev_txid.to_byte_array();
                // Outputs of this block were not resolved above: the cache has them if on.
                let cached = match (resolved, cached) {
                    (NONE64, None) => coins.take(&prev, pin.prev_vout),
                    _ => cached,
                };
                let resolved = cached.map_or(resolved, |(o, _)| o);
                let live = txs.len();
                let found = match resolved {
                    NONE64 => txid_idx.get(hash_random_key(&prev), live, |id| txs.get(id).txid == prev),
                    _ => None,
                };
                let o = (resolved != NONE64).then_some(resolved).or_else(|| {
                    found.and_then(|pt| {
                        let start = txs.get(pt).first_output;
                        let end = if pt + 1 < live { txs.get(pt + 1).first_output } else { outputs.len() };
                        let o = start + pin.prev_vout as u64;
                        (o < end).then_some(o)
                    })
                });
                let Some(o) = o else {
                    return Err(IndexError::MissingPrevout {
                        height: height as u32,
                        hash: b.hash.to_string(),
                        txid: ptx.txid.to_string(),
                        vin,
                        prev_txid: pin.prev_txid.to_string(),
                        prev_vout: pin.prev_vout,
                    });
                };
                if let Some(cb_height) = young_coinbases.find(o) {
                    return Err(IndexError::ImmatureSpend {
                        height: height as u32,
                        hash: b.hash.to_string(),
                        txid: ptx.txid.to_string(),
                        vin,
                        prev: format!("{}:{}", pin.prev_txid, pin.prev_vout),
                        coinbase_height: cb_height as u32,
                    });
                }
                // Spent already if its spender is an earlier input that points back (a stale
                // value left by an unwound block or an interrupted batch does not). The file
                // holds spenders of earlier commits only (the batch's wait in `deferred`).
                // A coin from the cache is unspent: it leaves the cache when spent.
                let spent = cached.map_or_else(|| SpentRec::of(&outputs.get(o)), |(_, rec)| rec);
                let earlier = |s: u64| s != NONE64 && s < i && inputs.get(s) == o;
                if cached.is_none() && (earlier(spent_by.get(o)) || deferred.is_spent(o)) {
                    return Err(IndexError::DoubleSpend {
                        height: height as u32,
                        hash: b.hash.to_string(),
                        txid: ptx.txid.to_string(),
                        vin,
                        prev_txid: pin.prev_txid.to_string(),
                        prev_vout: pin.prev_vout,
                    });
                }
                value_in += u128::from(spent.value);
                // The input first: a reader trusts a spender only if the input points back.
                inputs.push(o)?;
                input_spent.push(spent)?;
                if direct {
                    store_u64(spent_by.get_mut(o), i, Ordering::Release);
                } else {
                    deferred.set_spent(o);
                }
            }
            let mut value_out = 0u128;
            for vout in 0..ptx.n_outputs {
                let pout = out_iter.next().expect("block has as many outputs as its txs count");
                value_out += u128::from(pout.value);
                let h = *hashes.next().expect("one hash per output");
                let o = outputs.len();
                if let Some(&ahead) = addr_hashes.get((o - first_output) as usize + PREFETCH_AHEAD) {
                    if ahead != 0 {
                        addr_idx.prefetch(ahead);
                    }
                }
                output_tx.push(t as u32)?;
                let (addr, prev_same_addr, paid_again) = match &pout.address {
                    None => (NONE32, NONE64, false),
                    Some(key) => {
                        let kb = key.as_bytes();
                        let live = addr_keys.len();
                        match addr_idx.get(h, live, |id| addr_keys.get(id) == *kb) {
                            Some(a) => {
                                let head = deferred.head(a as u32).unwrap_or_else(|| addr_heads.get(a));
                                (a as u32, head, true)
                            }
                            None => {
                                // A new address: its list starts at this output, appended
                                // with it (no reader sees the address before the commit).
                                addr_keys.push(*kb)?;
                                addr_heads.push(o)?;
                                addr_idx.insert(h, live);
                                (live as u32, NONE64, false)
                            }
                        }
                    }
                };
                let rec = OutputRec { value: pout.value, prev_same_addr, addr, kind: pout.kind as u8, _pad: [0; 3] };
                outputs.push(rec)?;
                // Not a coinbase's: BIP30's duplicate txids are coinbases, and which copy an
                // input spends is the index's to say.
                if keep_coins && t_in_block != 0 {
                    coins.insert(&txid, vout, o, &rec);
                }
                spent_by.push(NONE64)?;
                if paid_again && direct {
                    // The record before the head that points at it (Release): a snapshot that
                    // loads the head walks back through records that are already there.
                    for ov in cow.iter() {
                        ov.capture_head(addr, prev_same_addr);
                    }
                    store_u64(addr_heads.get_mut(addr as u64), o, Ordering::Release);
                } else if paid_again {
                    deferred.set_head(addr, o);
                }
            }
            if t_in_block == 0 {
                coinbase_value = value_out;
                young_coinbases.push(height, first_output, outputs.len());
            } else if value_out > value_in {
                return Err(IndexError::ValueOutExceedsIn {
                    height: height as u32,
                    hash: b.hash.to_string(),
                    txid: ptx.txid.to_string(),
                    value_in: value_in as u64,
                    value_out: value_out.min(u64::MAX as u128) as u64,
                });
            } else {
                fees += value_in - value_out;
            }
        }
        // Pages read from disk while resolving this block: many, and the next block asks the
        // kernel for its pages ahead.
        let lookups = (b.inputs.len() + b.outputs.len()) as u64;
        let read = major_faults().saturating_sub(faults);
        // Asking ahead hides the faults it saves, so it goes on for a while once it starts.
        if read > COLD_FAULTS && read * 32 > lookups {
            *cold_reads = COLD_BLOCKS;
            *cold_blocks += 1;
        } else {
            *cold_reads = cold_reads.saturating_sub(1);
        }
        // Only after several cold blocks: a start with an empty page cache reads the program
        // itself from disk at first.
        if *cold_blocks >= 4 && !txs.is_read_at_random() {
            tracing::debug!(height, "lookups read from disk: the writer reads its files at random from now on");
            txs.read_at_random();
            inputs.read_at_random();
            outputs.read_at_random();
            spent_by.read_at_random();
            addr_keys.read_at_random();
            addr_heads.read_at_random();
            txid_idx.read_at_random();
            addr_idx.read_at_random();
        }
        blocks.push(BlockRec {
            hash: b.hash.to_byte_array(),
            time: b.header.time,
            first_tx: first_tx as u32,
            size: b.size as u32,
            first_addr: first_addr as u32,
        })?;
        block_idx.insert(hash_random_key(&b.hash.to_byte_array()), height);
        Ok(Appended {
            transactions: b.txs.len() as u64,
            inputs: b.inputs.len() as u64,
            outputs: b.outputs.len() as u64,
            coinbase_value: coinbase_value.min(u64::MAX as u128) as u64,
            fees: fees.min(u64::MAX as u128) as u64,
        })
    }
}
