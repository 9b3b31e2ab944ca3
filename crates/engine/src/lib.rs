//! Sleuth's engine: one type owns a data dir, and every investigator's view is answered from
//! one consistent snapshot of it.
//!
//! - [`DataDir`]: where each store lives (the index, the clustering generations, the tag store,
//!   and the folders for incidents, watches and alerts).
//! - [`Engine`]: opens a data dir for reading (from any process) or beside its writer
//!   ([`Engine::beside_writer`]), builds clusterings and imports tags.
//! - [`EngineSnapshot`]: the index pinned at one commit, with the clustering and the tags
//!   as they were when it was taken; [`views`] are its answers (address with balance, cluster
//!   and tags; cluster with facts, members and labels; `why`), each a serializable struct.
//!
//! - [`evm`]: an EVM chain's data dir (its own account index), opened by the same engine.
//!
//! Interfaces (the CLI today, the server and reports next) parse input, call the engine and
//! print; none of them assembles an answer from the stores itself.

mod datadir;
mod error;
pub mod evm;
mod exposure;
pub mod incidents;
pub mod prices;
pub mod report;
pub mod report_render;
pub mod screen;
mod snapshot;
pub mod trace;
pub mod views;
pub mod watch;

pub use datadir::DataDir;
pub use error::EngineError;
pub use snapshot::{ClusteringState, EngineSnapshot};
pub use trace::Subject;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use sleuth_analysis::cluster::{build, BuildReport, ClusterError, HeuristicSet};
use sleuth_durable::FileLock;
use sleuth_index::ingest::{IngestOptions, IngestReport, Progress};
use sleuth_index::{Snapshot, SnapshotSource};
use sleuth_tags::{ImportReport, TagFormat, TagStore};

/// Where snapshots of the index come from.
enum Source {
    /// The data dir's files, from a process that does not write it.
    Files,
    /// The writer in this process.
    Writer(SnapshotSource),
}

/// A data dir opened by the engine; see the crate documentation.
pub struct Engine {
    dir: DataDir,
    source: Source,
    /// The tag store as last loaded, with the stamp of the files it was loaded from.
    tags: Mutex<Option<(FilesStamp, Arc<TagStore>)>>,
}

impl Engine {
    /// Opens the data dir at `root` for reading. Nothing is read until a snapshot is taken.
    pub fn open(root: &Path) -> Engine {
        Engine { dir: DataDir::new(root), source: Source::Files, tags: Mutex::new(None) }
    }

    /// Opens the data dir whose writer this process holds: snapshots come from `source`.
    pub fn beside_writer(root: &Path, source: SnapshotSource) -> Engine {
        Engine { dir: DataDir::new(root), source: Source::Writer(source), tags: Mutex::new(None) }
    }

    /// The data dir.
    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    /// A snapshot of the newest commit of the index with the clustering and tags of now.
    ///
    /// # Errors
    /// [`EngineError::Index`] if there is no index or it cannot be read;
    /// [`EngineError::Cluster`] / [`EngineError::Tags`] if a store exists but is damaged.
    pub fn snapshot(&self) -> Result<EngineSnapshot, EngineError> {
        // The clustering first: the index only moves forward from here (or reorgs, which
        // `EngineSnapshot` notices), so a clustering is never newer than the index it joins.
        // One saved by another format (an upgrade) leaves the index usable; the commands
        // that need the clustering say to build it again.
        let clustering = match sleuth_analysis::cluster::Clustering::load_if_built(self.dir.root()) {
            Err(ClusterError::OtherFormat { found, .. }) => Err(found),
            loaded => Ok(loaded?),
        };
        let tags = self.tag_store()?;
        let incidents = Arc::new(incidents::Ledger::load(&self.dir.incidents())?);
        let index = self.index_snapshot()?;
        Ok(EngineSnapshot::new(index, clustering, tags, incidents))
    }

    /// A snapshot of the index alone.
    ///
    /// # Errors
    /// As [`Engine::snapshot`].
    pub fn index_snapshot(&self) -> Result<Snapshot, EngineError> {
        Ok(match &self.source {
            Source::Files => Snapshot::open(self.dir.root())?,
            Source::Writer(s) => s.latest()?,
        })
    }

    /// The tag store, loaded again only when its files changed.
    fn tag_store(&self) -> Result<Arc<TagStore>, EngineError> {
        let dir = self.dir.tags();
        let stamp = tag_files_stamp(&dir);
        let mut cached = self.tags.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, store)) = cached.as_ref() {
            if *s == stamp {
                return Ok(store.clone());
            }
        }
        let store = Arc::new(TagStore::open(&dir)?);
        *cached = Some((stamp, store.clone()));
        Ok(store)
    }

    /// Builds (or extends) the clustering of the newest commit with `set`. One build at a
    /// time per data dir (`cluster/LOCK`).
    ///
    /// # Errors
    /// [`EngineError::Busy`] if another build runs; index and clustering errors.
    pub fn build_clustering(
        &self,
        set: HeuristicSet,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BuildReport, EngineError> {
        let dir = self.dir.cluster();
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let lock_path = dir.join("LOCK");
        let _lock = FileLock::try_exclusive(&lock_path)
            .map_err(|e| EngineError::io(&lock_path, e))?
            .ok_or(EngineError::Busy { path: lock_path })?;
        let snap = self.index_snapshot()?;
        let view = snap.view();
        Ok(build(&view, set, progress)?)
    }

    /// The tags of an address of any chain; needs no index.
    ///
    /// # Errors
    /// [`EngineError::Tags`] if the tag store is damaged.
    pub fn tags_of(&self, address: &str) -> Result<views::TagList, EngineError> {
        views::TagList::of(&*self.tag_store()?, address)
    }

    /// Adds an incident after checking it against the newest commit; with `actors`, its actor
    /// is matched against that actor pack (by id or label) and the pack's id recorded.
    ///
    /// # Errors
    /// [`EngineError::Incident`] for a duplicate or malformed incident, index errors for a
    /// txid or output that is not there; the ledger is then unchanged.
    pub fn add_incidents(
        &self,
        new: Vec<incidents::NewIncident>,
        actors: Option<&Path>,
    ) -> Result<Vec<incidents::Incident>, EngineError> {
        let pack = actors.map(sleuth_tags::ActorPack::load).transpose()?;
        let snap = self.index_snapshot()?;
        let view = snap.view();
        let mut ledger = incidents::Ledger::load(&self.dir.incidents())?;
        let mut added = Vec::new();
        for n in new {
            let actor_id = n.actor.as_deref().and_then(|a| pack.as_ref()?.find(a)).map(|a| a.id.clone());
            let id = ledger.add(&view, n)?.id;
            ledger.set_actor_id(id, actor_id);
            added.push(ledger.find(&id.to_string()).expect("just added").clone());
        }
        ledger.save()?;
        Ok(added)
    }

    /// The incident ledger.
    ///
    /// # Errors
    /// [`EngineError::Incident`] if it is damaged.
    pub fn incidents(&self) -> Result<incidents::Ledger, EngineError> {
        incidents::Ledger::load(&self.dir.incidents())
    }

    /// Imports a tag file into the data dir's tag store.
    ///
    /// # Errors
    /// [`EngineError::Tags`] naming the file and line at fault.
    pub fn import_tags(&self, file: &Path, format: TagFormat) -> Result<ImportReport, EngineError> {
        let mut store = TagStore::open(&self.dir.tags())?;
        Ok(store.import(file, format)?)
    }
}

/// Names, sizes and modification times of a store's files.
pub type FilesStamp = Vec<(String, u64, std::time::SystemTime)>;

impl Engine {
    /// The stamp of the stores beside the index (clustering, tags, incidents, watches): when it
    /// changes, a new snapshot answers differently. A server compares it (with the index's
    /// tip) to know when to take one.
    pub fn stores_stamp(&self) -> FilesStamp {
        let mut v = tag_files_stamp(&self.dir.tags());
        let stores = [
            self.dir.cluster().join("meta.json"),
            self.dir.incidents().join("ledger.json"),
            // A new watch is traced at once.
            self.dir.watches().join("watches.json"),
        ];
        for f in stores {
            if let Some((m, t)) = std::fs::metadata(&f).ok().and_then(|m| Some((m.len(), m.modified().ok()?))) {
                v.push((f.display().to_string(), m, t));
            }
        }
        v
    }
}

/// The stamp of the tag store's files: what says it must be loaded again.
pub(crate) fn tag_files_stamp(dir: &Path) -> FilesStamp {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), m.len(), m.modified().ok()?))
        })
        .collect();
    v.sort();
    v
}

/// Brings the index of the data dir at `root` up to the block files (see
/// [`sleuth_index::ingest::ingest`]).
///
/// # Errors
/// [`EngineError::Ingest`] naming the file, offset or index file at fault.
pub fn ingest(
    root: &Path,
    opts: &IngestOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<IngestReport, EngineError> {
    Ok(sleuth_index::ingest::ingest(root, opts, progress, stop)?)
}
