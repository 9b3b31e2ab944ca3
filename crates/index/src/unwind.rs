//! Unwinding a reorg: removing the blocks above a height, without disturbing snapshots that
//! still see them.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::column::store_u64;
use crate::error::IndexError;
use crate::failpoint::failpoint;
use crate::overlay::Overlay;
use crate::schema::{Counts, NONE32, NONE64};
use crate::store::IndexWriter;

impl IndexWriter {
    /// The counts of the state that ends at height `keep` (`keep` blocks), which must be at
    /// most the number of blocks appended.
    pub(crate) fn counts_at(&self, keep: u64) -> Counts {
        if keep >= self.blocks.len() {
            return self.lens();
        }
        let b = self.blocks.get(keep);
        let t = self.txs.get(b.first_tx as u64);
        Counts {
            blocks: keep,
            txs: b.first_tx as u64,
            inputs: t.first_input,
            outputs: t.first_output,
            addrs: b.first_addr as u64,
        }
    }

    /// Removes blocks from height `keep` on (a reorg). A batch in flight is committed first.
    ///
    /// Readers keep their state: the writer first waits for readers in other processes
    /// (`READERS`) and for views in flight in this one, then copies what the unwind and the
    /// new branch will overwrite into an overlay for every live snapshot pinned above `keep`
    /// (see `docs/schema.md`, "Snapshots"). Then the counts are lowered and committed, and
    /// the address lists and spent markers of what was removed are put back, so that a crash
    /// in between is repaired like an interrupted batch.
    ///
    /// # Errors
    /// I/O errors.
    pub fn unwind_to(&mut self, keep: u64) -> Result<(), IndexError> {
        if keep >= self.blocks.len() {
            return Ok(());
        }
        if self.lens_differ_from_commit() {
            self.commit()?;
        }
        let readers_path = self.dir.join(crate::snapshot::READERS_FILE);
        if self.readers.try_lock().is_err() {
            tracing::info!("waiting for readers in other processes to finish before unwinding");
            let waiting = self.dir.join(crate::snapshot::UNWIND_WAITING_FILE);
            // Tells long-lived readers to let go; losing it only means waiting for them.
            let _ = std::fs::write(&waiting, b"");
            let locked = self.readers.lock().map_err(|e| IndexError::io(&readers_path, e));
            let _ = std::fs::remove_file(&waiting);
            locked?;
        }
        let result = self.unwind_locked(keep);
        let _ = self.readers.unlock();
        result
    }

    fn unwind_locked(&mut self, keep: u64) -> Result<(), IndexError> {
        let k = self.counts_at(keep);
        let old = self.meta.counts();
        let shared = self.shared.clone();
        let _gate = shared.gate.write().unwrap_or_else(|e| e.into_inner());
        self.install_overlays(k);
        // The new branch's ids go into each table's segment being written, older ones too.
        self.txid_idx.unwound_to(k.txs);
        self.block_idx.unwound_to(k.blocks);
        self.addr_idx.unwound_to(k.addrs);
        self.name_segments();
        self.meta.set_counts(k);
        self.meta.dirty = true;
        self.meta.store(&self.dir)?;
        failpoint("unwind-after-meta");
        for o in (k.outputs..old.outputs).rev() {
            let rec = self.outputs.get(o);
            if rec.addr != NONE32 && (rec.addr as u64) < k.addrs {
                store_u64(self.addr_heads.get_mut(rec.addr as u64), rec.prev_same_addr, Ordering::Release);
            }
        }
        failpoint("unwind-after-heads");
        for i in k.inputs..old.inputs {
            let o = self.inputs.get(i);
            if o != NONE64 && o < k.outputs {
                store_u64(self.spent_by.get_mut(o), NONE64, Ordering::Relaxed);
            }
        }
        self.truncate_columns(k);
        self.commit()
    }

    /// Gives every live snapshot pinned above `keep` an overlay holding what it reads at or
    /// past `keep`; one overlay per frozen state, shared by the snapshots that see it. Called
    /// with the gate held exclusively and no batch open.
    fn install_overlays(&mut self, keep: Counts) {
        let cells = self.shared.live_cells();
        let mut fresh: Option<Arc<Overlay>> = None;
        let mut rebuilt: HashMap<*const Overlay, Arc<Overlay>> = HashMap::new();
        for cell in &cells {
            let mut slot = cell.overlay.lock().unwrap_or_else(|e| e.into_inner());
            let next = match slot.as_ref() {
                // An older reorg's overlay that starts above this one: the range between is
                // about to be overwritten too, so freeze it again from the older state.
                Some(o) if o.keep.blocks > keep.blocks => Some(
                    rebuilt
                        .entry(Arc::as_ptr(o))
                        .or_insert_with(|| Arc::new(Overlay::build(&self.committed_view(Some(o.clone())), keep)))
                        .clone(),
                ),
                Some(_) => None,
                None if cell.pinned.blocks > keep.blocks => Some(
                    fresh.get_or_insert_with(|| Arc::new(Overlay::build(&self.committed_view(None), keep))).clone(),
                ),
                None => None,
            };
            if let Some(n) = next {
                *slot = Some(n);
            }
        }
        let mut held: Vec<Arc<Overlay>> = Vec::new();
        for cell in &cells {
            if let Some(o) = cell.overlay.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                if !held.iter().any(|h| Arc::ptr_eq(h, o)) {
                    held.push(o.clone());
                }
            }
        }
        if let Some(f) = &fresh {
            tracing::info!(
                snapshots = cells.len(),
                bytes = f.bytes(),
                "kept the unwound blocks for snapshots that still see them"
            );
        }
        self.cow = held;
    }
}
