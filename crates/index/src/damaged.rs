//! What a reader does when the index's files contradict themselves: an id read from one
//! record points past the committed count of the column it names. Only a damaged file (a
//! flipped bit, a file of another index copied in) does that.
//!
//! The read paths are plain accessors returning values, inlined into the hot loops of traces
//! and clustering; threading a `Result` through every one of them would cost those loops and
//! every caller. So a contradiction unwinds instead, with a [`Damaged`] payload and without the
//! panic hook (`resume_unwind`, as rustc raises its fatal errors), and the binary's edge turns
//! it into the one-line error "the index is damaged …" ([`Damaged::catch`]). A real bug still
//! panics as a bug does.

use std::path::{Path, PathBuf};

/// The payload a reader unwinds with when the index contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// The data dir.
    pub dir: PathBuf,
    /// What was read and why it cannot be.
    pub what: String,
    /// What the user does about it.
    pub remedy: &'static str,
}

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the index is damaged ({}); {} (check the disk first)",
            self.dir.display(),
            self.what,
            self.remedy
        )
    }
}

impl Damaged {
    /// Runs `f`; if a reader unwound with [`Damaged`], returns it as `Err`. Other panics go on.
    pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Damaged> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => Ok(r),
            Err(payload) => match payload.downcast::<Damaged>() {
                Ok(d) => Err(*d),
                Err(other) => std::panic::resume_unwind(other),
            },
        }
    }
}

impl Damaged {
    /// Unwinds with a [`Damaged`] payload for the files under `dir`, saying `remedy`: for
    /// readers outside the index's columns (the clustering) whose files contradict themselves
    /// in the same way.
    #[cold]
    #[inline(never)]
    pub fn raise(dir: &Path, what: String, remedy: &'static str) -> ! {
        std::panic::resume_unwind(Box::new(Damaged { dir: dir.to_owned(), what, remedy }))
    }
}

/// Unwinds with [`Damaged`]: `pos` of a column named `column` is at or past `count`.
#[cold]
#[inline(never)]
pub(crate) fn past_count(dir: &Path, column: &str, pos: u64, count: u64) -> ! {
    Damaged::raise(
        dir,
        format!("a record points at {column} {pos}, and the index holds {count}"),
        "delete the data dir and ingest again",
    )
}
