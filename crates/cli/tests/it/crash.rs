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

/// Blocks committed in `d` (`meta.json`), 0 before the first commit.
fn committed_blocks(d: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(d.join("meta.json")) else { return 0 };
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
    meta["blocks"].as_u64().unwrap()
}

/// Heights 0..=4521.
const ALL_BLOCKS: u64 = 4522;

/// Waits until `child` has committed at least `blocks` blocks (or exited), then `ms` more.
fn wait_for(child: &mut std::process::Child, d: &Path, blocks: u64, ms: u64) {
    while committed_blocks(d) < blocks && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(ms));
}

/// Starts an ingest with small batches, lets it commit `blocks` blocks and work `ms` more
/// (into the next batch), sends it SIGKILL and returns what is committed then, which must
/// be short of the tip: a kill that came after the end would test nothing.
fn kill_9_at(d: &Path, blocks_dir: &Path, blocks: u64, ms: u64, deferred: bool) -> u64 {
    let mut cmd = ingest_command(d, blocks_dir, 50);
    if deferred {
        // The write path of large indexes: the batch's writes wait for its commit, and
        // table segments are frozen at commits (small ones, so that kills land in freezes).
        cmd.args(["--direct-limit", "0", "--segment-ids", "2000"]);
    }
    let mut child = cmd.spawn().unwrap();
    wait_for(&mut child, d, blocks, ms);
    let finished = child.try_wait().unwrap().is_some();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let committed = committed_blocks(d);
    assert!(!finished && committed < ALL_BLOCKS, "the ingest ended before the kill ({committed} blocks)");
    committed
}

#[test]
fn kill_9_at_any_point_then_resume_gives_the_uninterrupted_index() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = blocks_dir(tmp.path());
    let clean = tmp.path().join("clean");
    ingest(&clean, &blocks, &[]);
    let expected = digest(&clean);

    // Small batches make many commits; each kill comes a few milliseconds after a given
    // number of blocks is committed, so kills land before, between and inside commits.
    for (round, (at, ms)) in [(0u64, 5u64), (300, 0), (900, 3), (1800, 1), (2700, 7), (3900, 2)].into_iter().enumerate()
    {
        let d = tmp.path().join(format!("crash{round}"));
        let deferred = round % 2 == 1;
        let first = kill_9_at(&d, &blocks, at, ms, deferred);
        // A second kill while resuming, half-way to the tip, then a full run.
        let second = kill_9_at(&d, &blocks, first + (ALL_BLOCKS - first) / 2, ms, deferred);
        assert!(second >= first, "round {round}: a resumed ingest lost committed blocks");
        let r = ingest(&d, &blocks, &[]);
        assert_eq!(r["height"], 4521, "round {round}");
        assert_eq!(digest(&d), expected, "round {round}: killed at {first} and {second} blocks");
    }
}

#[test]
fn ctrl_c_commits_what_was_ingested_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = blocks_dir(tmp.path());
    let d = tmp.path().join("idx");
    let mut child = Command::new(BIN)
        .args(["--data-dir", d.to_str().unwrap(), "-q", "ingest", "--json", "--batch-txs", "50"])
        .args(["--blocks-dir", blocks.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once a commit exists the handler is installed (it is set before the index is opened).
    wait_for(&mut child, &d, 1000, 0);
    assert!(child.try_wait().unwrap().is_none(), "the ingest ended before Ctrl-C");
    // SIGINT, as Ctrl-C sends it.
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ingest exits 0 after Ctrl-C");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // It stopped short of the tip, and whatever it got to is committed and readable; the
    // next run completes the same index.
    let st = crate::common::status(&d);
    assert_eq!(Some(st.blocks), report["added_blocks"].as_u64());
    assert!(st.blocks >= 1000 && st.blocks < ALL_BLOCKS, "Ctrl-C stopped it at {} blocks", st.blocks);
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
    // A real node's chain 0..=103, then its branch 102'..104', which has more work: the second
    // ingest unwinds 102 and 103 and crashes in the middle of it.
    let chain = crate::common::Branches::mine();
    for point in ["unwind-after-meta", "unwind-after-heads"] {
        let tmp = tempfile::tempdir().unwrap();
        let b = chain.main_folder(tmp.path());
        let d = tmp.path().join("idx");
        ingest(&d, &b, &[]);
        chain.add_branch(&b, [0, 1, 2]);
        ingest_crashing_at(&d, &b, point);
        let r = ingest(&d, &b, &[]);
        assert_eq!(r["height"], 104, "{point}");
        let fresh = tmp.path().join("fresh");
        ingest(&fresh, &b, &[]);
        assert_eq!(digest(&d), digest(&fresh), "{point}");
    }
}
