//! A builder that runs the `sleuth` binary and checks how it ended.

use std::env;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::de::DeserializeOwned;

/// Runs the CLI binary for a test and asserts on its exit code.
///
/// Callers pass `env!("CARGO_BIN_EXE_sleuth")` as the binary. `SLEUTH_*` variables of the
/// test's own environment are removed so a developer's settings cannot leak in; set the ones
/// a test needs with [`Sleuth::env`].
///
/// ```no_run
/// # let data_dir = std::path::Path::new("/tmp/index");
/// # let sleuth = "target/debug/sleuth";
/// use sleuth_testkit::Sleuth;
///
/// // In the CLI's own tests, `sleuth` is `env!("CARGO_BIN_EXE_sleuth")`.
/// let status: serde_json::Value = Sleuth::new(sleuth, ["status", "--json"])
///     .data_dir(data_dir)
///     .run_json();
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Sleuth command does nothing until run"]
pub struct Sleuth {
    bin: PathBuf,
    args: Vec<OsString>,
    data_dir: Option<PathBuf>,
    envs: Vec<(OsString, OsString)>,
}

impl Sleuth {
    /// A command running `bin` with `args` (the subcommand and its arguments).
    pub fn new(bin: impl AsRef<Path>, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        Sleuth {
            bin: bin.as_ref().to_path_buf(),
            args: args.into_iter().map(|arg| arg.as_ref().to_os_string()).collect(),
            data_dir: None,
            envs: Vec::new(),
        }
    }

    /// Passes `--data-dir <dir>` before the subcommand's arguments.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// Sets environment variable `key` to `value` for the run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Runs the command and returns its stdout.
    ///
    /// # Panics
    ///
    /// If it does not exit with code 0 (quoting the command, its stderr and stdout), or its
    /// stdout is not UTF-8.
    pub fn run(&self) -> String {
        let output = self.output();
        if !output.status.success() {
            panic!("{} failed with {}{}", self.command_line(), output.status, streams(&output));
        }
        String::from_utf8(output.stdout).unwrap_or_else(|_| panic!("{}: stdout is not utf-8", self.command_line()))
    }

    /// Runs the command and deserializes its stdout as JSON; pass `--json` in the arguments.
    ///
    /// # Panics
    ///
    /// As [`Sleuth::run`], and if stdout does not deserialize into `T`.
    pub fn run_json<T: DeserializeOwned>(&self) -> T {
        let stdout = self.run();
        serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!("{}: stdout is not the expected json ({error}):\n{stdout}", self.command_line())
        })
    }

    /// Runs the command and deserializes its stdout as JSON, or `None` when it fails: for
    /// polling a store that another process is still creating.
    pub fn try_run_json<T: DeserializeOwned>(&self) -> Option<T> {
        let output = self.output();
        if !output.status.success() {
            return None;
        }
        serde_json::from_slice(&output.stdout).ok()
    }

    /// Runs a command that must fail and returns its exit code and stderr.
    ///
    /// # Panics
    ///
    /// If it exits with code 0 (quoting its stdout), or is killed by a signal.
    pub fn run_fail(&self) -> (i32, String) {
        let output = self.output();
        assert!(
            !output.status.success(),
            "{} succeeded but was expected to fail{}",
            self.command_line(),
            streams(&output)
        );
        let code = output.status.code().unwrap_or_else(|| {
            panic!("{} was killed by a signal ({}){}", self.command_line(), output.status, streams(&output))
        });
        (code, String::from_utf8_lossy(&output.stderr).into_owned())
    }

    fn full_args(&self) -> Vec<OsString> {
        let mut args = Vec::with_capacity(self.args.len() + 2);
        if let Some(dir) = &self.data_dir {
            args.push("--data-dir".into());
            args.push(dir.clone().into_os_string());
        }
        args.extend(self.args.iter().cloned());
        args
    }

    fn output(&self) -> Output {
        let mut command = Command::new(&self.bin);
        command.args(self.full_args());
        for (key, _) in env::vars_os() {
            if key.to_string_lossy().starts_with("SLEUTH_") {
                command.env_remove(key);
            }
        }
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        command.output().unwrap_or_else(|error| panic!("spawning {}: {error}", self.command_line()))
    }

    /// The command as a shell would show it, for messages.
    fn command_line(&self) -> String {
        let mut line = self.bin.display().to_string();
        for arg in self.full_args() {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        line
    }
}

/// Stderr and stdout, labelled, for a panic message.
fn streams(output: &Output) -> String {
    format!(
        "\n--- stderr ---\n{}\n--- stdout ---\n{}",
        String::from_utf8_lossy(&output.stderr).trim_end(),
        String::from_utf8_lossy(&output.stdout).trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_goes_before_the_subcommand() {
        let out = Sleuth::new("echo", ["tx", "abc", "--json"]).data_dir(Path::new("/tmp/d")).run();
        assert_eq!(out, "--data-dir /tmp/d tx abc --json\n");
    }

    #[test]
    fn run_returns_stdout_only() {
        let out = Sleuth::new("sh", ["-c", "echo out; echo err >&2"]).run();
        assert_eq!(out, "out\n");
    }

    #[test]
    #[should_panic(expected = "--- stderr ---\nbroken")]
    fn run_panics_with_stderr_on_failure() {
        Sleuth::new("sh", ["-c", "echo broken >&2; exit 2"]).run();
    }

    #[test]
    fn run_json_deserializes_stdout() {
        let value: serde_json::Value = Sleuth::new("echo", [r#"{"height": 101}"#]).run_json();
        assert_eq!(value["height"], 101);
    }

    #[test]
    fn run_fail_returns_code_and_stderr() {
        let (code, stderr) = Sleuth::new("sh", ["-c", "echo 'error: no index' >&2; exit 3"]).run_fail();
        assert_eq!((code, stderr.as_str()), (3, "error: no index\n"));
    }

    #[test]
    #[should_panic(expected = "expected to fail")]
    fn run_fail_panics_on_success() {
        Sleuth::new("true", [] as [&str; 0]).run_fail();
    }

    #[test]
    fn env_is_passed() {
        let out = Sleuth::new("sh", ["-c", "echo \"$SLEUTH_CHAIN\""]).env("SLEUTH_CHAIN", "litecoin-regtest").run();
        assert_eq!(out, "litecoin-regtest\n");
    }
}
