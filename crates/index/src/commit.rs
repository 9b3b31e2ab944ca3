//! Committing a batch: making what was appended durable, writing what the batch deferred,
//! and freezing the hash-table segments that are full.

use crate::error::IndexError;
use crate::failpoint::failpoint;
use crate::hashtable::{hash_bytes, hash_random_key};
use crate::store::IndexWriter;

impl IndexWriter {
    /// Makes everything appended since the last commit durable: flushes the columns and
    /// tables, then replaces the meta file with the new counts. A crash before the rename
    /// leaves the previous commit in force. Snapshots taken from now on see the new commit.
    ///
    /// # Errors
    /// I/O errors.
    pub fn commit(&mut self) -> Result<(), IndexError> {
        let started = std::time::Instant::now();
        // The appended records reach the disk before the writes that point at them.
        self.flush_appends()?;
        let flushed = started.elapsed();
        let lens = self.lens();
        // The columns' writes and the tables' are independent: one on each core (the
        // decoder thread waits during a commit).
        let IndexWriter {
            deferred,
            direct,
            inputs,
            meta,
            spent_by,
            addr_heads,
            cow,
            txid_idx,
            block_idx,
            addr_idx,
            ..
        } = self;
        std::thread::scope(|s| {
            if !*direct {
                s.spawn(|| {
                    let t = std::time::Instant::now();
                    deferred.apply(inputs, meta.inputs, spent_by, addr_heads, cow);
                    tracing::debug!(took = ?t.elapsed(), "spenders and heads written");
                });
            }
            let t = std::time::Instant::now();
            for (table, live) in [(txid_idx, lens.txs), (block_idx, lens.blocks), (addr_idx, lens.addrs)] {
                table.active().apply_pending();
                table.active().reset_pending(live);
            }
            tracing::debug!(took = ?t.elapsed(), "table inserts written");
        });
        let applied = started.elapsed();
        self.freeze_full_segments(lens)?;
        self.flush()?;
        tracing::debug!(?flushed, ?applied, total = ?started.elapsed(), "commit");
        failpoint("commit-before-meta");
        let lens = self.lens();
        self.meta.set_counts(lens);
        self.meta.dirty = false;
        self.meta.store(&self.dir)?;
        self.shared.publish(&self.meta);
        // Overlays no snapshot holds any more need no copies of moved heads.
        self.cow.retain(|o| std::sync::Arc::strong_count(o) > 1);
        Ok(())
    }

    /// Freezes each table's segment being written that holds its share of the `lens`
    /// committed ids (`docs/schema.md`, "Segments"), and names the segments in the meta
    /// about to be stored.
    fn freeze_full_segments(&mut self, lens: crate::schema::Counts) -> Result<(), IndexError> {
        let IndexWriter { txs, addr_keys, blocks, txid_idx, addr_idx, block_idx, .. } = self;
        txid_idx.freeze_if_full(lens.txs, |i| hash_random_key(&txs.get(i).txid))?;
        addr_idx.freeze_if_full(lens.addrs, |i| hash_bytes(&addr_keys.get(i)))?;
        block_idx.freeze_if_full(lens.blocks, |i| hash_random_key(&blocks.get(i).hash))?;
        self.name_segments();
        Ok(())
    }

    /// Names the tables' segments in the meta, for its next store.
    pub(crate) fn name_segments(&mut self) {
        self.meta.tables = crate::meta::Tables {
            txid: self.txid_idx.segments(),
            blockhash: self.block_idx.segments(),
            addr: self.addr_idx.segments(),
        };
    }

    /// Whether a table's segment being written holds its share of ids, open batch included:
    /// the ingest then commits the batch, and the commit freezes the segment.
    pub fn segment_full(&self) -> bool {
        self.txid_idx.is_full(self.txs.len())
            || self.addr_idx.is_full(self.addr_keys.len())
            || self.block_idx.is_full(self.blocks.len())
    }

    /// Sets how many ids a table segment takes before it is frozen (default
    /// 31,457,280: `DEFAULT_SEGMENT_IDS` in `hashtable/segments.rs`): tests freeze small segments.
    pub fn set_segment_ids(&mut self, ids: u64) {
        for t in [&mut self.txid_idx, &mut self.block_idx, &mut self.addr_idx] {
            t.set_segment_ids(ids);
        }
    }
}
