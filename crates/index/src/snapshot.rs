//! [`Snapshot`]: a read-only handle pinned to one committed state of the index.
//!
//! Two kinds, one type:
//! - from the writer ([`crate::IndexWriter::snapshot`], or a [`SnapshotSource`] handed to other
//!   threads): it shares the writer's gate, so a reorg in this process preserves what the
//!   snapshot sees in an overlay instead of waiting for it;
//! - opened from the data dir by another process ([`Snapshot::open`]): it holds a shared lock
//!   on `READERS` while it lives, and a reorg in the writing process waits for it to be
//!   dropped before it overwrites anything (queries from the command line take milliseconds).
//!
//! A snapshot is cheap to take (it maps the files; nothing is read), `Send + Sync`, and clones
//! share it. [`Snapshot::view`] starts a read; [`SnapshotSource::latest`] moves to the newest
//! commit.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::Duration;

use crate::error::IndexError;
use crate::hashtable::MappedTable;
use crate::mapped::MappedFile;
use crate::meta::{Meta, Tables};
use crate::overlay::Overlay;
use crate::schema::{AddrKeyRec, BlockRec, Counts, OutputRec, SpentRec, TxMetaRec, TxRec};
use crate::view::{Files, Gate, Tail, View};

/// File whose shared `flock` readers in other processes hold, and which a reorg takes
/// exclusively before it overwrites anything.
pub(crate) const READERS_FILE: &str = "READERS";

/// File a writer creates while a reorg waits for readers in other processes (`READERS`), and
/// removes once they are gone: a reader that holds snapshots for long (a server) drops them
/// when it sees it, and takes new ones once it is gone.
pub const UNWIND_WAITING_FILE: &str = "UNWIND-WAITING";

/// Whether a writer of the index in `dir` waits for readers to drop their snapshots.
pub fn unwind_waiting(dir: &Path) -> bool {
    dir.join(UNWIND_WAITING_FILE).exists()
}

/// A snapshot's pin as the writer sees it: where it is pinned, and the overlay a reorg gave it.
pub(crate) struct Cell {
    pub pinned: Counts,
    pub overlay: Mutex<Option<Arc<Overlay>>>,
}

/// What the writer shares with the snapshots it hands out.
pub(crate) struct Shared {
    pub dir: PathBuf,
    /// Held shared by every view in flight, exclusively by a reorg while it installs
    /// overlays and overwrites the in-place words.
    pub gate: RwLock<()>,
    /// The live snapshots' pins.
    pub cells: Mutex<Vec<Weak<Cell>>>,
    /// The newest commit and its sequence number (one per commit since the writer opened).
    pub committed: Mutex<(u64, Meta)>,
    pub commits: Condvar,
}

impl Shared {
    pub fn new(dir: &Path, meta: Meta) -> Shared {
        Shared {
            dir: dir.to_owned(),
            gate: RwLock::new(()),
            cells: Mutex::new(Vec::new()),
            committed: Mutex::new((0, meta)),
            commits: Condvar::new(),
        }
    }

    /// Publishes a commit to snapshots taken from now on, and wakes followers.
    pub fn publish(&self, meta: &Meta) {
        let mut c = self.committed.lock().unwrap_or_else(|e| e.into_inner());
        c.0 += 1;
        c.1 = meta.clone();
        self.commits.notify_all();
    }

    /// The live cells (dropping the dead ones).
    pub fn live_cells(&self) -> Vec<Arc<Cell>> {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.retain(|w| w.strong_count() > 0);
        cells.iter().filter_map(Weak::upgrade).collect()
    }
}

/// The index's files mapped read-only.
struct Maps {
    blocks: MappedFile<BlockRec>,
    txs: MappedFile<TxRec>,
    tx_meta: MappedFile<TxMetaRec>,
    output_tx: MappedFile<u32>,
    input_tx: MappedFile<u32>,
    inputs: MappedFile<u64>,
    input_spent: MappedFile<SpentRec>,
    outputs: MappedFile<OutputRec>,
    spent_by: MappedFile<u64>,
    addr_keys: MappedFile<AddrKeyRec>,
    addr_heads: MappedFile<u64>,
    txid_idx: MappedTable,
    block_idx: MappedTable,
    addr_idx: MappedTable,
}

impl Maps {
    fn open(dir: &Path, c: Counts, tables: &Tables) -> Result<Maps, IndexError> {
        let p = |name: &str| dir.join(name);
        Ok(Maps {
            blocks: MappedFile::open(&p("blocks.col"), c.blocks)?,
            txs: MappedFile::open(&p("txs.col"), c.txs)?,
            tx_meta: MappedFile::open(&p("tx_meta.col"), c.txs)?,
            output_tx: MappedFile::open(&p("output_tx.col"), c.outputs)?,
            input_tx: MappedFile::open(&p("input_tx.col"), c.inputs)?,
            inputs: MappedFile::open(&p("inputs.col"), c.inputs)?,
            input_spent: MappedFile::open(&p("input_spent.col"), c.inputs)?,
            outputs: MappedFile::open(&p("outputs.col"), c.outputs)?,
            spent_by: MappedFile::open(&p("spent_by.col"), c.outputs)?,
            addr_keys: MappedFile::open(&p("addr_keys.col"), c.addrs)?,
            addr_heads: MappedFile::open(&p("addr_heads.col"), c.addrs)?,
            txid_idx: MappedTable::open(dir, "txid", &tables.txid)?,
            block_idx: MappedTable::open(dir, "blockhash", &tables.blockhash)?,
            addr_idx: MappedTable::open(dir, "addr", &tables.addr)?,
        })
    }

    fn files(&self) -> Files<'_> {
        Files {
            blocks: self.blocks.slots(),
            txs: self.txs.slots(),
            tx_meta: self.tx_meta.slots(),
            output_tx: self.output_tx.slots(),
            input_tx: self.input_tx.slots(),
            inputs: self.inputs.slots(),
            input_spent: self.input_spent.slots(),
            outputs: self.outputs.slots(),
            spent_by: self.spent_by.slots(),
            addr_keys: self.addr_keys.slots(),
            addr_heads: self.addr_heads.slots(),
            txid_idx: self.txid_idx.view(),
            block_idx: self.block_idx.view(),
            addr_idx: self.addr_idx.view(),
        }
    }
}

struct Inner {
    dir: PathBuf,
    meta: Meta,
    counts: Counts,
    seq: u64,
    maps: Maps,
    outputs_path: PathBuf,
    tail: Mutex<Option<Arc<MappedFile<OutputRec>>>>,
    cell: Option<Arc<Cell>>,
    shared: Option<Arc<Shared>>,
    _readers: Option<File>,
}

/// A read-only handle pinned to one committed state; see the module documentation.
#[derive(Clone)]
pub struct Snapshot(Arc<Inner>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("dir", &self.0.dir).field("counts", &self.0.counts).finish()
    }
}

impl Snapshot {
    /// Opens a snapshot of the newest commit in `dir`, from a process that does not write it.
    /// Needs no write permission.
    ///
    /// # Errors
    /// [`IndexError::NoIndex`] if `dir` holds none, [`IndexError::Version`] for another format,
    /// I/O and corruption errors naming the file.
    pub fn open(dir: &Path) -> Result<Snapshot, IndexError> {
        // Shared lock first, then the commit: a reorg holds it exclusively from before it
        // overwrites anything until its own commit is in place.
        let readers = match File::open(dir.join(READERS_FILE)) {
            Ok(f) => {
                f.lock_shared().map_err(|e| IndexError::io(&dir.join(READERS_FILE), e))?;
                Some(f)
            }
            Err(_) => None,
        };
        let meta = Meta::load(dir)?.ok_or_else(|| IndexError::NoIndex { path: dir.to_owned() })?;
        Snapshot::pin(dir, meta, 0, None, None, readers)
    }

    fn pin(
        dir: &Path,
        meta: Meta,
        seq: u64,
        cell: Option<Arc<Cell>>,
        shared: Option<Arc<Shared>>,
        readers: Option<File>,
    ) -> Result<Snapshot, IndexError> {
        let counts = meta.counts();
        Ok(Snapshot(Arc::new(Inner {
            maps: Maps::open(dir, counts, &meta.tables)?,
            dir: dir.to_owned(),
            outputs_path: dir.join("outputs.col"),
            tail: Mutex::new(None),
            meta,
            counts,
            seq,
            cell,
            shared,
            _readers: readers,
        })))
    }

    /// Pins the writer's newest commit (see [`SnapshotSource::latest`]).
    pub(crate) fn from_writer(shared: &Arc<Shared>) -> Result<Snapshot, IndexError> {
        // Inside the gate: a reorg installs overlays on the cells it finds and lowers the
        // commit under the exclusive gate, so a snapshot is either found or pinned after.
        let _gate = Gate::enter(&shared.gate);
        let (seq, meta) = shared.committed.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let cell = Arc::new(Cell { pinned: meta.counts(), overlay: Mutex::new(None) });
        let snap = Snapshot::pin(&shared.dir, meta, seq, Some(cell.clone()), Some(shared.clone()), None)?;
        shared.cells.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::downgrade(&cell));
        Ok(snap)
    }

    /// Starts a read of this snapshot's commit.
    pub fn view(&self) -> View<'_> {
        let inner = &*self.0;
        let gate = inner.shared.as_ref().map(|s| Gate::enter(&s.gate));
        let ov = inner.cell.as_ref().and_then(|c| c.overlay.lock().unwrap_or_else(|e| e.into_inner()).clone());
        View {
            files: inner.maps.files(),
            split: ov.as_ref().map_or(inner.counts, |o| o.keep),
            ov,
            top: inner.counts,
            chain: inner.meta.chain,
            dir: &inner.dir,
            tail: Some(Tail { path: &inner.outputs_path, map: &inner.tail }),
            _gate: gate,
        }
    }

    /// The commit this snapshot is pinned to.
    pub fn meta(&self) -> &Meta {
        &self.0.meta
    }

    /// Its counts.
    pub fn counts(&self) -> Counts {
        self.0.counts
    }

    /// For snapshots from a writer, the commit's sequence number since the writer opened
    /// (0 before its first commit, and for snapshots opened from the data dir).
    pub fn seq(&self) -> u64 {
        self.0.seq
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.0.dir
    }

    /// A snapshot of the newest commit: from the writer when this one came from it, else
    /// opened again from the data dir.
    ///
    /// # Errors
    /// As [`Snapshot::open`].
    pub fn refresh(&self) -> Result<Snapshot, IndexError> {
        match &self.0.shared {
            Some(s) => Snapshot::from_writer(s),
            None => Snapshot::open(&self.0.dir),
        }
    }
}

/// Hands out snapshots of a writer's commits to other threads (a server's request handlers,
/// a test's readers); `Clone + Send + Sync`.
#[derive(Clone)]
pub struct SnapshotSource(pub(crate) Arc<Shared>);

impl SnapshotSource {
    /// A snapshot of the newest commit.
    ///
    /// # Errors
    /// I/O errors mapping the files.
    pub fn latest(&self) -> Result<Snapshot, IndexError> {
        Snapshot::from_writer(&self.0)
    }

    /// The sequence number of the newest commit.
    pub fn seq(&self) -> u64 {
        self.0.committed.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Waits until a commit newer than `seq` is published, or `timeout` passes; returns the
    /// newest sequence number. Followers learn of commits this way instead of polling files.
    pub fn wait_past(&self, seq: u64, timeout: Duration) -> u64 {
        let c = self.0.committed.lock().unwrap_or_else(|e| e.into_inner());
        let (c, _) = self.0.commits.wait_timeout_while(c, timeout, |c| c.0 <= seq).unwrap_or_else(|e| e.into_inner());
        c.0
    }
}
