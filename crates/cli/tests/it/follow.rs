//! Queries from other processes while `ingest --commit-every 1` writes: `status` and
//! `address` never go backwards, and every answer is exactly what an index built from scratch
//! at the same height says.

use std::process::{Command, Stdio};

use serde_json::Value;
use sleuth_index::{AddrId, Snapshot, Status};

use crate::common::{ingest, simulate, sleuth, BIN};

/// Stdout of `sleuth --data-dir d args…` if it succeeds.
fn stdout_if_ok(d: &std::path::Path, args: &[&str]) -> Option<String> {
    let out = Command::new(BIN).arg("--data-dir").arg(d).args(args).output().unwrap();
    out.status.success().then(|| String::from_utf8(out.stdout).unwrap())
}

#[test]
fn queries_during_an_ingest_that_commits_every_block_never_go_backwards() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let summary = simulate(&sim, &["--transactions", "20000", "--seed", "9"]);
    let blocks = sim.join("blocks");
    // The busiest address of the chain: many outputs, paid and spent along the way.
    let full = tmp.path().join("full");
    ingest(&full, &blocks, &[]);
    let busiest = {
        let snap = Snapshot::open(&full).unwrap();
        let v = snap.view();
        (0..v.address_count())
            .map(|a| AddrId::new(a as u32))
            .max_by_key(|&a| v.address_outputs(a).count())
            .map(|a| v.address_of(a))
            .unwrap()
    };

    let d = tmp.path().join("idx");
    let mut child = Command::new(BIN)
        .args(["--data-dir", d.to_str().unwrap(), "-q", "ingest", "--commit-every", "1"])
        .args(["--blocks-dir", blocks.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut statuses: Vec<Status> = Vec::new();
    let mut answers: Vec<Value> = Vec::new();
    while child.try_wait().unwrap().is_none() {
        // Before the first commit there is no index, and the address is not paid yet.
        if let Some(st) = stdout_if_ok(&d, &["status", "--json"]) {
            statuses.push(serde_json::from_str(&st).unwrap());
        }
        if let Some(a) = stdout_if_ok(&d, &["address", &busiest, "--json"]) {
            answers.push(serde_json::from_str(&a).unwrap());
        }
    }
    assert!(child.wait().unwrap().success());
    let total = summary["blocks"].as_u64().unwrap();
    eprintln!("{} status and {} address answers during the ingest of {total} blocks", statuses.len(), answers.len());
    assert!(statuses.len() >= 10 && answers.len() >= 10, "the queries ran during the ingest");

    for w in statuses.windows(2) {
        assert!(w[1].blocks >= w[0].blocks, "height went back: {:?} then {:?}", w[0].height, w[1].height);
        assert!(w[1].transactions >= w[0].transactions && w[1].addresses >= w[0].addresses);
    }
    let num = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    for w in answers.windows(2) {
        assert!(num(&w[1], "tip_height") >= num(&w[0], "tip_height"), "address answers went back");
        assert!(num(&w[1], "tx_count") >= num(&w[0], "tx_count"), "fewer transactions than at a commit seen");
        assert!(num(&w[1], "received_sat") >= num(&w[0], "received_sat"));
    }
    let heights: std::collections::BTreeSet<u64> = answers.iter().map(|a| num(a, "tip_height")).collect();
    assert!(heights.len() >= 5, "answers at several commits: {heights:?}");

    // Each answer is the address as of its tip: the same as from an index built to that height.
    let step = (heights.len() / 6).max(1);
    for &h in heights.iter().step_by(step) {
        let scratch = tmp.path().join(format!("at{h}"));
        ingest(&scratch, &blocks, &["--until-height", &h.to_string()]);
        let want: Value = sleuth(&scratch, ["address", &busiest, "--json"]).run_json();
        for got in answers.iter().filter(|a| num(a, "tip_height") == h) {
            assert_eq!(*got, want, "address {busiest} at height {h}");
        }
    }
}
