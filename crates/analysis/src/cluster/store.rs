//! The clustering on disk, under `<data dir>/cluster/`: `roots.bin` (the cluster of every
//! address, `u32` each), `merges.bin` (the evidence of every union) and `meta.json`.

use std::path::{Path, PathBuf};

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

/// Version of the clustering files and rules: bumped whenever a file layout, a CoinJoin
/// detector or a change heuristic changes, so that a saved clustering is rebuilt rather than
/// extended with different rules.
pub const CLUSTER_FORMAT: u32 = 4;

/// One union: transaction `tx` joined addresses `a` and `b` by the heuristics in `heuristic`
/// (bits, see [`super::heuristics::bit_names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct MergeRec {
    /// The transaction (`TxNum`).
    pub tx: u32,
    /// One side (`AddrId`): an input address.
    pub a: u32,
    /// The other side (`AddrId`): another input address, or the change output's address.
    pub b: u32,
    /// Heuristic bits.
    pub heuristic: u8,
    /// Padding.
    pub _pad: [u8; 3],
}

/// What `meta.json` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMeta {
    /// Format version.
    pub version: u32,
    /// Heuristic names.
    pub heuristics: Vec<String>,
    /// Transactions processed (`0..upto_tx`).
    pub upto_tx: u64,
    /// Txid of the last one processed, to notice a reorg below it.
    pub last_txid: Option<String>,
    /// Addresses covered.
    pub addresses: u64,
}

/// Errors reading or writing the clustering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The files are damaged or of another version.
    #[error("{}: {what}; run `sleuth cluster build` again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No clustering has been built.
    #[error("no clustering in {}; run `sleuth cluster build` first", path.display())]
    NotBuilt {
        /// The folder.
        path: PathBuf,
    },
    /// The index could not be read.
    #[error(transparent)]
    Index(#[from] sleuth_index::IndexError),
    /// An address or value the clustering does not know.
    #[error("{0}")]
    NotFound(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ClusterError + '_ {
    move |source| ClusterError::Io { path: path.to_owned(), source }
}

/// Writes `bytes` to `path` atomically.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ClusterError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Saves a clustering: the data files first, `meta.json` last, so a crash leaves either the
/// old meta (whose counts no longer match, which [`load`] reports) or the new whole.
pub fn save(dir: &Path, meta: &ClusterMeta, roots: &[u32], merges: &[MergeRec]) -> Result<(), ClusterError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write_atomic(&dir.join("roots.bin"), bytemuck::cast_slice(roots))?;
    write_atomic(&dir.join("merges.bin"), bytemuck::cast_slice(merges))?;
    write_atomic(&dir.join("meta.json"), &serde_json::to_vec_pretty(meta).expect("meta serializes"))
}

/// A saved clustering: its meta, every address's root, and the unions.
pub type Saved = (ClusterMeta, Vec<u32>, Vec<MergeRec>);

/// Loads a clustering; `None` if none was built.
pub fn load(dir: &Path) -> Result<Option<Saved>, ClusterError> {
    let meta_path = dir.join("meta.json");
    let meta: ClusterMeta = match std::fs::read(&meta_path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| ClusterError::Corrupt { path: meta_path.clone(), what: e.to_string() })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&meta_path)(e)),
    };
    if meta.version != CLUSTER_FORMAT {
        return Err(ClusterError::Corrupt {
            path: meta_path,
            what: format!("made by rules version {}, this sleuth has {CLUSTER_FORMAT}", meta.version),
        });
    }
    let roots_path = dir.join("roots.bin");
    let roots_bytes = std::fs::read(&roots_path).map_err(io(&roots_path))?;
    if roots_bytes.len() as u64 != meta.addresses * 4 {
        return Err(ClusterError::Corrupt { path: roots_path, what: "size does not match meta.json".into() });
    }
    let roots: Vec<u32> = bytemuck::pod_collect_to_vec(&roots_bytes);
    let merges_path = dir.join("merges.bin");
    let merges_bytes = std::fs::read(&merges_path).map_err(io(&merges_path))?;
    if merges_bytes.len() % std::mem::size_of::<MergeRec>() != 0 {
        return Err(ClusterError::Corrupt { path: merges_path, what: "not a whole number of records".into() });
    }
    Ok(Some((meta, roots, bytemuck::pod_collect_to_vec(&merges_bytes))))
}
