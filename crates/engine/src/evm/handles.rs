//! Handles kept open for the life of the process, one set per data dir: the account index
//! read-only (each reader is a redb read transaction on it, and sees the last commit, the
//! writer's in this process or another), and the tag store, opened again only when its files
//! change. A server answers each request from them instead of opening both files each time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sleuth_evm::{EvmError, EvmStore};
use sleuth_tags::TagStore;

use crate::{EngineError, FilesStamp};

#[derive(Default)]
struct Handles {
    store: Option<Arc<EvmStore>>,
    tags: Option<(FilesStamp, Arc<TagStore>)>,
}

fn all() -> &'static Mutex<HashMap<PathBuf, Handles>> {
    static ALL: OnceLock<Mutex<HashMap<PathBuf, Handles>>> = OnceLock::new();
    ALL.get_or_init(Default::default)
}

/// The account index of `data_dir`, opened read-only once.
pub(super) fn store(data_dir: &Path) -> Result<Arc<EvmStore>, EvmError> {
    let mut all = all().lock().unwrap_or_else(|e| e.into_inner());
    let h = all.entry(data_dir.to_path_buf()).or_default();
    if let Some(s) = &h.store {
        return Ok(s.clone());
    }
    let s = Arc::new(EvmStore::open(data_dir)?);
    h.store = Some(s.clone());
    Ok(s)
}

/// The tag store of `data_dir`, opened again when a file of it changed (an import).
pub(super) fn tags(data_dir: &Path) -> Result<Arc<TagStore>, EngineError> {
    let dir = crate::DataDir::new(data_dir).tags();
    let stamp = crate::tag_files_stamp(&dir);
    let mut all = all().lock().unwrap_or_else(|e| e.into_inner());
    let h = all.entry(data_dir.to_path_buf()).or_default();
    if let Some((s, t)) = &h.tags {
        if *s == stamp {
            return Ok(t.clone());
        }
    }
    let t = Arc::new(TagStore::open(&dir)?);
    h.tags = Some((stamp, t.clone()));
    Ok(t)
}
