//! Bad input: a one-line error naming the file and offset or the value, a non-zero exit and
//! an index left as it was.

use sleuth_testkit::shared_data;

use crate::common::{digest, ingest, sleuth, BIN};

fn dir_with(tmp: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let b = tmp.join(name);
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(b.join("blk00000.dat"), bytes).unwrap();
    b
}

#[test]
fn bad_block_files_are_named_and_leave_the_index_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(shared_data("blocks/blk00000_heights0-4521.dat")).unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &dir_with(tmp.path(), "good", &good[..59_024]), &[]); // heights 0..255
    let before = digest(&d);

    // Wrong magic at a record in the middle.
    let mut bad = good.clone();
    bad[59_024..59_028].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let b = dir_with(tmp.path(), "badmagic", &bad);
    let (_, err) = sleuth(&d, ["ingest", "-q", "--blocks-dir", b.to_str().unwrap()]).run_fail();
    assert!(err.contains("bad magic deadbeef at byte 59024") && err.contains("blk00000.dat"), "{err}");

    // A corrupt block: one byte of block 1000's coinbase output script flipped.
    let csv = std::fs::read_to_string(shared_data("blocks/blk00000_heights0-4521.index.csv")).unwrap();
    let row = csv.lines().find(|l| l.starts_with("1000,")).unwrap();
    let offset: usize = row.rsplit(',').next().unwrap().parse().unwrap();
    let mut bad = good.clone();
    bad[offset + 8 + 80 + 1 + 100] ^= 0x55;
    let b = dir_with(tmp.path(), "corrupt", &bad);
    let (_, err) = sleuth(&d, ["ingest", "-q", "--blocks-dir", b.to_str().unwrap()]).run_fail();
    assert!(err.contains("blk00000.dat") && err.contains("is corrupt"), "{err}");

    // A truncated file that is not the newest one.
    let b = dir_with(tmp.path(), "trunc", &good[..1_000_000]);
    std::fs::write(b.join("blk00001.dat"), &good[..293]).unwrap();
    let (_, err) = sleuth(&d, ["ingest", "-q", "--blocks-dir", b.to_str().unwrap()]).run_fail();
    assert!(err.contains("truncated") && err.contains("blk00000.dat"), "{err}");

    // Litecoin files into a Bitcoin index.
    let ltc = std::fs::read(shared_data("blocks/litecoin/litecoin_mainnet_framed.dat")).unwrap();
    let b = dir_with(tmp.path(), "ltc", &ltc);
    let (_, err) = sleuth(&d, ["ingest", "-q", "--blocks-dir", b.to_str().unwrap()]).run_fail();
    assert!(err.contains("bitcoin") && err.contains("litecoin"), "{err}");

    assert_eq!(digest(&d), before, "failed ingests changed the index");

    // A Litecoin index cannot be opened as Bitcoin either way round.
    let (_, err) =
        sleuth(&tmp.path().join("l"), ["ingest", "-q", "--chain", "bitcoin", "--blocks-dir", b.to_str().unwrap()])
            .run_fail();
    assert!(err.contains("litecoin"), "{err}");
}

#[test]
fn unknown_values_get_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(shared_data("blocks/blk00000_heights0-4521.dat")).unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &dir_with(tmp.path(), "good", &good), &[]);
    let missing = "0000000000000000000000000000000000000000000000000000000000000001";
    let key = sleuth_chain::script::AddressKey::witness(0, &[7; 20]).unwrap();
    let ltc = sleuth_chain::address::encode(&key, sleuth_chain::Chain::Litecoin);
    for (args, needle) in [
        (vec!["tx", missing], missing),
        (vec!["tx", "xyz"], "not a txid"),
        (vec!["address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"], "no transactions"),
        (vec!["address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"], "not a valid address"),
        (vec!["address", ltc.as_str()], "not a bitcoin address"),
        (vec!["block", "9999"], "no block at height 9999"),
    ] {
        let (code, err) = sleuth(&d, &args).run_fail();
        assert_eq!(code, 1, "{args:?}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    // No index at all.
    let (_, err) = sleuth_testkit::Sleuth::new(BIN, ["status"]).data_dir(&tmp.path().join("none")).run_fail();
    assert!(err.contains("no index here"), "{err}");
}

#[test]
fn an_index_of_an_earlier_format_gets_the_rebuild_error() {
    // Format 4 had one file per hash table (`txid.idx`), format 5 split them into segments,
    // format 6 moved the spenders out of `outputs.col` into `spent_by.col`, format 7 added
    // `input_spent.col`.
    let tmp = tempfile::tempdir().unwrap();
    for version in [4, 5, 6] {
        let d = tmp.path().join(format!("v{version}"));
        std::fs::create_dir_all(&d).unwrap();
        let meta = format!(
            r#"{{"version": {version}, "chain": "regtest", "blocks": 1, "transactions": 1, "inputs": 1,
            "outputs": 1, "addresses": 1, "dirty": false}}"#
        );
        std::fs::write(d.join("meta.json"), meta).unwrap();
        for args in [vec!["status"], vec!["ingest", "-q", "--blocks-dir", d.to_str().unwrap()]] {
            let (_, err) = sleuth(&d, &args).run_fail();
            assert!(
                err.contains(&format!("index format version {version}"))
                    && err.contains("delete the data dir and ingest again"),
                "{args:?}: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        }
    }
}

/// A clustering saved by an older Sleuth (its format is behind this one's) after an upgrade:
/// the index still answers, `status` says the clustering must be built again, the commands
/// that need it fail with that advice, and a build replaces it.
#[test]
fn a_clustering_of_an_earlier_format_leaves_the_index_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    crate::common::simulate(&sim, &["--transactions", "2000", "--seed", "5"]);
    let d = tmp.path().join("idx");
    ingest(&d, &sim.join("blocks"), &[]);
    sleuth(&d, ["-q", "cluster", "build"]).run();
    let address = crate::common::cluster_export(&d).into_keys().min().unwrap();
    let meta_path = d.join("cluster").join("meta.json");
    let mut meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let format = meta["version"].as_u64().unwrap();
    meta["version"] = serde_json::json!(format - 1);
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();

    let status: serde_json::Value = sleuth(&d, ["status", "--json"]).run_json();
    assert_eq!(
        status["clustering"],
        serde_json::json!({"state": "other_format", "found": format - 1, "expected": format})
    );
    assert!(status["transactions"].as_u64().unwrap() >= 2000, "{status}");
    let human = sleuth(&d, ["status"]).run();
    assert!(human.contains(&format!("saved in format {}", format - 1)) && human.contains("cluster build"), "{human}");
    let a = crate::common::address(&d, &address);
    assert!(a.output_count > 0, "the index answers");
    let (_, err) = sleuth(&d, ["cluster", &address]).run_fail();
    assert!(
        err.contains(&format!("made by clustering format {}", format - 1)) && err.contains("cluster build"),
        "{err}"
    );

    let rebuilt: serde_json::Value = sleuth(&d, ["-q", "cluster", "build", "--json"]).run_json();
    assert_eq!(rebuilt["incremental"], false, "{rebuilt}");
    let status: serde_json::Value = sleuth(&d, ["status", "--json"]).run_json();
    assert_eq!(status["clustering"]["state"], "current", "{status}");

    // A cluster id is its root address's id: the id of an address that is another cluster's
    // member names no cluster, and the error says which cluster it is in.
    let export = crate::common::cluster_export(&d);
    let roots: std::collections::HashSet<u64> = export.values().copied().collect();
    let addresses = status["addresses"].as_u64().unwrap();
    assert_eq!(export.len() as u64, addresses, "the export lists every address");
    let member = (0..addresses).find(|id| !roots.contains(id)).expect("a cluster of two or more");
    let (_, err) = sleuth(&d, ["trace", "--from", &format!("cluster:{member}")]).run_fail();
    let root: u64 = err
        .split("is a member of cluster:")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("names the cluster: {err}"));
    assert!(roots.contains(&root) && root != member, "{err}");
    let (_, err) = sleuth(&d, ["trace", "--from", &format!("cluster:{}", addresses + 5)]).run_fail();
    assert!(err.contains(&format!("the clustering holds {addresses} addresses")), "{err}");
}

#[test]
fn a_forged_header_is_one_line_naming_file_offset_hash_and_rule() {
    // Issue 14: the nonce of height 3000 (byte 696,017) zeroed.
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = std::fs::read(shared_data("blocks/blk00000_heights0-4521.dat")).unwrap();
    bad[696_017] = 0;
    let b = dir_with(tmp.path(), "forged", &bad);
    let (code, err) = sleuth(&tmp.path().join("idx"), ["ingest", "-q", "--blocks-dir", b.to_str().unwrap()]).run_fail();
    assert_eq!(code, 1);
    assert!(err.starts_with("error: ") && err.trim_end().lines().count() == 1, "{err}");
    assert!(err.contains("blk00000.dat: block at byte 695933 (hash ") && err.contains("rule proof-of-work"), "{err}");
}

/// Runs `cmd` as `cmd | head -c1` would: reads one byte of its output, closes the pipe, and
/// waits for it to end.
fn read_one_byte_and_close(mut cmd: std::process::Command) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    stdout.read_exact(&mut one).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

/// A reader that stops reading (`| head -c1`) ends the command quietly with exit 0, whether
/// the command prints one result or streams rows.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    crate::common::simulate(&sim, &["--transactions", "20000", "--seed", "4"]);
    let d = tmp.path().join("idx");
    crate::common::ingest(&d, &sim.join("blocks"), &[]);
    crate::common::sleuth(&d, ["-q", "cluster", "build"]).run();
    let heists = std::fs::read_to_string(sim.join("truth/heists.csv")).unwrap();
    let heist = heists.lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
    for args in [vec!["--json", "trace", "--from", &heist, "--min-sat", "1"], vec!["cluster", "export", "--csv"]] {
        // More than a pipe holds, so that the writer meets the closed end.
        let whole = crate::common::sleuth(&d, &args).run();
        assert!(whole.len() > 1 << 17, "{args:?}: {} bytes", whole.len());
        let mut cmd = Command::new(crate::common::BIN);
        cmd.arg("--data-dir").arg(&d).args(&args);
        let out = read_one_byte_and_close(cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("error"), "{args:?}: {err}");
    }
}

/// `sleuth demo | head -c1`: the demo prints step by step over seconds, so its later lines
/// meet the closed pipe; it ends quietly. Its log on a pipe carries no colour codes.
#[test]
fn the_demo_into_a_closed_pipe_ends_quietly_and_logs_without_colour() {
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(crate::common::BIN);
    cmd.args(["demo", "--transactions", "5000", "--keep"]).arg(tmp.path().join("demo"));
    let out = read_one_byte_and_close(cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // It stopped at its first write after the close: the report of the last step is not there.
    assert!(!tmp.path().join("demo/report.html").exists(), "the demo ran on after the reader left");

    let d = tmp.path().join("idx");
    let out = Command::new(crate::common::BIN)
        .arg("--data-dir")
        .arg(&d)
        .args(["ingest", "--blocks-dir"])
        .arg(tmp.path().join("demo/sim/blocks"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !log.is_empty(), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log that is no terminal: {log:?}");
}

/// Noise over a file: one byte in twenty replaced, from a fixed seed.
fn damage(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(20) {
            *b = (x >> 32) as u8;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// A damaged index or clustering file is a one-line error that says so, never a panic: ids
/// read from a damaged column point past the index's counts (the readers unwind with
/// `sleuth_index::Damaged`), and the clustering's records are checked where they are read (a
/// cluster lists its own id among its members, two addresses of a cluster are joined by its
/// unions). Each query below panicked (exit 101) before. Opening a snapshot reads none of the
/// clustering files whole, so a damaged record no query reads is not noticed: the clustering
/// files are overwritten whole here (as a file of another index copied in would be), the
/// index's columns only in scattered bytes.
#[test]
fn a_damaged_index_file_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    crate::common::simulate(&sim, &["--transactions", "20000", "--seed", "4"]);
    let clean = tmp.path().join("clean");
    crate::common::ingest(&clean, &sim.join("blocks"), &[]);
    crate::common::sleuth(&clean, ["-q", "cluster", "build"]).run();
    // Two addresses with history in one cluster of several: of the first 20 in clusters of
    // more than three, the one paid most often, so that the scattered damage below reaches
    // its records (a query that reads no damaged id has nothing to notice).
    let export = crate::common::cluster_export(&clean);
    let mut sizes = std::collections::HashMap::new();
    for c in export.values() {
        *sizes.entry(*c).or_insert(0) += 1;
    }
    let mut candidates: Vec<String> = export.iter().filter(|(_, c)| sizes[*c] > 3).map(|(a, _)| a.clone()).collect();
    candidates.sort();
    let paid = |a: &String| crate::common::address(&clean, a).output_count;
    let address =
        candidates.iter().take(20).max_by_key(|a| (paid(a), std::cmp::Reverse((*a).clone()))).unwrap().clone();
    let other = export.iter().filter(|(a, c)| **c == export[&address] && **a != address).map(|(a, _)| a.clone());
    let other = other.min().unwrap();
    let gen =
        std::fs::read_dir(clean.join("cluster")).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir()).unwrap();
    let gen = gen.file_name().unwrap().to_str().unwrap().to_owned();
    let (scattered, whole) = (false, true);
    let cases: Vec<(String, bool, Vec<&str>, &str)> = vec![
        ("outputs.col".into(), scattered, vec!["address", &address], "the index is damaged"),
        ("outputs.col".into(), scattered, vec!["screen", &address], "the index is damaged"),
        ("txs.col".into(), scattered, vec!["screen", &address], "the index is damaged"),
        (format!("cluster/{gen}/members.bin"), whole, vec!["cluster", &address], "members.bin"),
        (format!("cluster/{gen}/roots.bin"), scattered, vec!["cluster", "export"], "roots.bin"),
        (format!("cluster/{gen}/roots.bin"), whole, vec!["address", &address], "roots.bin"),
        (format!("cluster/{gen}/merges.bin"), whole, vec!["cluster", "why", &address, &other], "merges.bin"),
        (
            format!("cluster/{gen}/merges_by_cluster.bin"),
            whole,
            vec!["cluster", "why", &address, &other],
            "merges_by_cluster.bin",
        ),
    ];
    for (file, whole, args, says) in cases {
        let d = tmp.path().join("damaged");
        let _ = std::fs::remove_dir_all(&d);
        let copied = std::process::Command::new("cp").arg("-r").arg(&clean).arg(&d).status().unwrap();
        assert!(copied.success());
        if whole {
            let len = std::fs::metadata(d.join(&file)).unwrap().len() as usize;
            std::fs::write(d.join(&file), vec![0xa5; len]).unwrap();
        } else {
            damage(&d.join(&file));
        }
        let out =
            std::process::Command::new(crate::common::BIN).arg("--data-dir").arg(&d).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file} {args:?}: {err}");
        assert!(err.contains(says) && !err.contains("panicked"), "{file} {args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{file} {args:?}: {err}");
    }
    // A build checks every record before it extends the saved clustering, and rebuilds one
    // it cannot trust.
    let d = tmp.path().join("damaged");
    damage(&d.join(format!("cluster/{gen}/merges.bin")));
    let out = std::process::Command::new(crate::common::BIN)
        .arg("--data-dir")
        .arg(&d)
        .args(["cluster", "build"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("rebuilt from the start") && said.contains("merges.bin"), "{said}");
    assert_eq!(crate::common::cluster_export(&d), export);
}

/// Inputs a hostile or careless caller sends: a 100,000-character txid or address is refused
/// at once in one short line (base58 decoding it used to take seconds, and the error echoed
/// it whole); output to a full disk (`/dev/full`) is a one-line error, not a panic.
#[test]
fn huge_arguments_and_a_full_disk_are_one_short_line() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = tmp.path().join("blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    let mainnet = std::fs::read(sleuth_testkit::shared_data("blocks/blk00000_heights0-4521.dat")).unwrap();
    std::fs::write(blocks.join("blk00000.dat"), &mainnet[..59_024]).unwrap(); // heights 0..255
    let d = tmp.path().join("idx");
    crate::common::ingest(&d, &blocks, &[]);
    let long_hex = "a".repeat(100_000);
    let long_base58 = "1".repeat(100_000);
    for args in [vec!["tx", long_hex.as_str()], vec!["address", &long_base58], vec!["screen", &long_base58]] {
        let out =
            std::process::Command::new(crate::common::BIN).arg("--data-dir").arg(&d).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", args[0]);
        assert!(err.contains("100000 characters") && err.len() < 300, "{}: {err}", args[0]);
    }
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .arg("--data-dir")
        .arg(&d)
        .args(["status"])
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left on device") && !err.contains("panicked"), "{err}");
}
