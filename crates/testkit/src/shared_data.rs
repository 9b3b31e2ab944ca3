//! Locating the shared reference data that lives beside the repository.

use std::env;
use std::path::{Path, PathBuf};

/// The environment variable that, when set, replaces `<workspace root>/../shared/data`.
pub const SHARED_DATA_ENV: &str = "SLEUTH_SHARED_DATA";

/// The shared reference data folder: `$SLEUTH_SHARED_DATA` if set, else
/// `<workspace root>/../shared/data`.
///
/// The folder is not checked for existence; [`shared_data`] checks the file it resolves.
pub fn shared_data_dir() -> PathBuf {
    resolve_dir(env::var_os(SHARED_DATA_ENV).map(PathBuf::from))
}

/// The path of `rel` inside the shared reference data folder (see [`shared_data_dir`]),
/// e.g. `shared_data("blocks/…")`. Fixtures are read in place, never copied.
///
/// # Panics
///
/// If the file or folder does not exist, naming the path and how to point at another folder.
pub fn shared_data(rel: &str) -> PathBuf {
    let dir = shared_data_dir();
    let path = dir.join(rel);
    assert!(
        path.exists(),
        "shared data file {} does not exist (looked in {}); the reference data is expected \
         beside the repository at ../shared/data, or set {SHARED_DATA_ENV} to its folder",
        path.display(),
        dir.display(),
    );
    path
}

/// `over` if given, else `<workspace root>/../shared/data`.
fn resolve_dir(over: Option<PathBuf>) -> PathBuf {
    match over {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => workspace_root().parent().expect("the workspace root has a parent folder").join("shared").join("data"),
    }
}

/// The workspace root: this crate lives at `<root>/crates/testkit`.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit lies two folders below the workspace root")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_is_beside_the_workspace() {
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert!(root.join("crates/testkit").is_dir());
        let dir = resolve_dir(None);
        assert_eq!(dir, root.parent().unwrap().join("shared/data"));
    }

    #[test]
    fn override_replaces_the_dir() {
        let over = PathBuf::from("/elsewhere/data");
        assert_eq!(resolve_dir(Some(over.clone())), over);
        // An empty variable counts as unset.
        assert_eq!(resolve_dir(Some(PathBuf::new())), resolve_dir(None));
    }

    #[test]
    #[should_panic(expected = "does not exist")]
    fn missing_file_panics() {
        shared_data("no/such/fixture.dat");
    }
}
