//! [`DataDir`]: the layout of a data dir, in one place.

use std::path::{Path, PathBuf};

/// Where each store of a data dir lives. The index's own files are at the root
/// (`docs/schema.md`); every other store has a folder of its own and its own crash-safe
/// writes ([`sleuth_durable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data dir at `root`.
    pub fn new(root: &Path) -> DataDir {
        DataDir { root: root.to_owned() }
    }

    /// The root: the index's files and `meta.json`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The clustering generations (`cluster/meta.json`, `cluster/g<N>/`).
    pub fn cluster(&self) -> PathBuf {
        sleuth_analysis::cluster::cluster_dir(&self.root)
    }

    /// The tag store: one JSON file per imported source.
    pub fn tags(&self) -> PathBuf {
        self.root.join("tags")
    }

    /// The incident ledger (thefts, their outputs, victims and actors).
    pub fn incidents(&self) -> PathBuf {
        self.root.join("incidents")
    }

    /// Watched coins and addresses.
    pub fn watches(&self) -> PathBuf {
        self.root.join("watches")
    }

    /// Alerts raised by watches.
    pub fn alerts(&self) -> PathBuf {
        self.root.join("alerts")
    }
}
