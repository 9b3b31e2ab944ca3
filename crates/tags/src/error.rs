//! Errors of tag import and the tag store, each naming the file, the line and what to do.

use std::path::PathBuf;

/// A problem reading a tag file or the tag store.
///
/// Import errors name the file and the 1-based line of the offending entry; an import that
/// fails changes nothing in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not well-formed YAML, XML or CSV.
    #[error("{}:{line}: {message}; fix the file and import it again", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: u64,
        /// What the parser found.
        message: String,
    },
    /// An entry of the file breaks the format's rules (a missing mandatory field, a category
    /// outside the taxonomy, an address with spaces in it, …).
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the entry (for a TagPack tag, the line where the tag starts).
        line: u64,
        /// What is wrong, naming the tag's index where there is one, and the fix.
        message: String,
    },
    /// The file as a whole cannot be of the format asked for (wrong name, wrong root element).
    #[error("{}: {message}", path.display())]
    WrongFile {
        /// The file.
        path: PathBuf,
        /// Why, and which format or file name would fit.
        message: String,
    },
    /// A file of the tag store does not hold what this version writes.
    #[error("{}: {message}; delete this file and import its source again", path.display())]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Another process is importing into the same store.
    #[error("{}: another import into this tag store is running; wait for it to finish", path.display())]
    Busy {
        /// The store's lock file.
        path: PathBuf,
    },
    /// A format name that is none of the known ones.
    #[error("unknown tag format {0:?}; expected one of {expected}", expected = crate::TagFormat::NAME_LIST)]
    UnknownFormat(String),
}

impl TagError {
    /// The 1-based line the error points at, for errors inside a file.
    pub fn line(&self) -> Option<u64> {
        match self {
            TagError::Syntax { line, .. } | TagError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> TagError {
        TagError::Io { path: path.into(), source }
    }
}
