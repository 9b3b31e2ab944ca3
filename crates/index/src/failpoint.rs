//! Crash points for tests: the process aborts, as a power cut or `kill -9` would, at the
//! exact step that `SLEUTH_FAILPOINT` names. Read only at commits and unwinds, never in
//! the per-block path.

/// Aborts the process if `SLEUTH_FAILPOINT` is `name`.
pub(crate) fn failpoint(name: &str) {
    if std::env::var_os("SLEUTH_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
