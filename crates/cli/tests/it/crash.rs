//! `kill -9` during ingest, at several points: the next ingest must end with the same index
//! as an uninterrupted run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sleuth_testkit::shared_data;

use crate::common::{digest, ingest, BIN};

fn blocks_dir(tmp: &Path) -> std::path::PathBuf {
    let b = tmp.join("blocks");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(shared_data("blocks/blk00000_heights0-4521.dat"), b.join("blk00000.dat")).unwrap();
    b
}

/// `sleuth ingest` committing every `batch` transactions, output discarded.
fn ingest_command(d: &Path, blocks: &Path, batch: u32) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--data-dir", d.to_str().unwrap(), "-q", "ingest", "--blocks-dir", blocks.to_str().unwrap()])
        .args(["--batch-txs", &batch.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Starts an ingest with small batches and sends it SIGKILL after `ms` milliseconds.
fn kill_9_after(d: &Path, blocks: &Path, ms: u64, deferred: bool) {
    let mut cmd = ingest_command(d, blocks, 50);
    if deferred {
        // The write path of large indexes: the batch's writes wait for its commit.
        cmd.args(["--direct-limit", "0"]);
    }
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn kill_9_at_any_point_then_resume_gives_the_uninterrupted_index() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = blocks_dir(tmp.path());
    let clean = tmp.path().join("clean");
    ingest(&clean, &blocks, &[]);
    let expected = digest(&clean);

    // Small batches make many commits, so the kills land before, between and inside them.
    for (round, delay_ms) in [5u64, 40, 90, 160, 260, 400].into_iter().enumerate() {
        let d = tmp.path().join(format!("crash{round}"));
        let deferred = round % 2 == 1;
        kill_9_after(&d, &blocks, delay_ms, deferred);
        // A second kill while resuming, then a full run.
        kill_9_after(&d, &blocks, delay_ms / 2, deferred);
        let r = ingest(&d, &blocks, &[]);
        assert_eq!(r["height"], 4521, "round {round}");
        assert_eq!(digest(&d), expected, "round {round}: killed after {delay_ms} ms");
    }
}

#[test]
fn ctrl_c_commits_what_was_ingested_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = blocks_dir(tmp.path());
    let d = tmp.path().join("idx");
    let child = Command::new(BIN)
        .args(["--data-dir", d.to_str().unwrap(), "-q", "ingest", "--json", "--blocks-dir", blocks.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once the index exists the handler is installed (it is set before the index is opened).
    for _ in 0..1000 {
        if d.join("meta.json").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGINT, as Ctrl-C sends it (if the ingest has not finished already).
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ingest exits 0 after Ctrl-C");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Whatever it got to is committed and readable; the next run completes the same index.
    let st = crate::common::status(&d);
    assert_eq!(Some(st.blocks), report["added_blocks"].as_u64());
    let clean = tmp.path().join("clean");
    ingest(&clean, &blocks, &[]);
    ingest(&d, &blocks, &[]);
    assert_eq!(digest(&d), digest(&clean));
}

/// Runs an ingest that aborts at failpoint `point`; it must not exit cleanly.
fn ingest_crashing_at(d: &Path, blocks: &Path, point: &str) {
    let status = ingest_command(d, blocks, 500).env("SLEUTH_FAILPOINT", point).status().unwrap();
    assert!(!status.success(), "the ingest crashed at {point}");
}

#[test]
fn crash_between_flush_and_commit_resumes_from_the_last_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = blocks_dir(tmp.path());
    let clean = tmp.path().join("clean");
    ingest(&clean, &blocks, &[]);
    let d = tmp.path().join("idx");
    ingest_crashing_at(&d, &blocks, "commit-before-meta");
    assert_eq!(crate::common::status(&d).blocks, 0, "nothing was committed");
    ingest(&d, &blocks, &[]);
    assert_eq!(digest(&d), digest(&clean));
}

#[test]
fn crash_in_the_middle_of_a_reorg_unwind_is_repaired() {
    for point in ["unwind-after-meta", "unwind-after-heads"] {
        let tmp = tempfile::tempdir().unwrap();
        // btcd's test chain 0-1-2-3-4, then the branch 3A-4A-5A from block 2, which has more
        // work: the second ingest unwinds 3 and 4 and crashes in the middle of it.
        let b = crate::common::btcd_chain(tmp.path());
        let d = tmp.path().join("idx");
        ingest(&d, &b, &[]);
        crate::common::add_btcd_branch(&b, ["3A", "4A", "5A"]);
        ingest_crashing_at(&d, &b, point);
        let r = ingest(&d, &b, &[]);
        assert_eq!(r["height"], 5, "{point}");
        let fresh = tmp.path().join("fresh");
        ingest(&fresh, &b, &[]);
        assert_eq!(digest(&d), digest(&fresh), "{point}");
    }
}
