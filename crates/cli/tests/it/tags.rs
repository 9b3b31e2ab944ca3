//! Tags: the real OFAC lists and TagPacks, idempotent imports, and a tag lighting up a cluster.

use std::collections::HashMap;

use serde_json::Value;
use sleuth_testkit::shared_data;

use crate::common::{cluster_export, ingest, simulate, sleuth};

#[test]
fn ofac_lists_and_tagpacks_import_idempotently_and_mark_their_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    let xbt = shared_data("sanctions/sanctioned_addresses_XBT.txt");
    let listed: Vec<String> = std::fs::read_to_string(&xbt).unwrap().lines().map(str::to_owned).collect();
    let first: Value = sleuth(&d, ["tags", "import", xbt.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(first["tags"], listed.len());
    let again: Value = sleuth(&d, ["tags", "import", xbt.to_str().unwrap(), "--format", "ofac", "--json"]).run_json();
    assert_eq!((again["tags"].clone(), again["replaced"].clone()), (first["tags"].clone(), Value::Bool(true)));
    let lazarus = shared_data("tagpacks/packs/lazarus.yaml");
    sleuth(&d, ["tags", "import", lazarus.to_str().unwrap()]).run();

    // Every listed address carries exactly one OFAC tag after two imports.
    for a in listed.iter().take(50) {
        let t: Value = sleuth(&d, ["tags", "show", a, "--json"]).run_json();
        let ofac =
            t["tags"].as_array().unwrap().iter().filter(|t| t["import"].as_str().unwrap().contains("ofac")).count();
        assert_eq!(ofac, 1, "{a}: {t}");
    }
    // A Lazarus address from the attribution table has both the OFAC and the TagPack tag.
    let attributed = std::fs::read_to_string(shared_data("attribution/attributed_addresses.csv")).unwrap();
    let row = attributed.lines().find(|l| l.contains("lazarus.yaml") && l.contains(",BTC,")).unwrap();
    let addr = row.split(',').next().unwrap();
    let t: Value = sleuth(&d, ["tags", "show", addr, "--json"]).run_json();
    let tags = t["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t["actor"] == "lazarusgroup"), "{t}");
    assert!(
        tags.iter()
            .any(|t| t["label"].as_str().unwrap().contains("OFAC") || t["import"].as_str().unwrap().contains("ofac")),
        "{t}"
    );

    // A broken file imports nothing and names its line.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "address,label,category,source\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,Satoshi,user,me\nnot,enough\n",
    )
    .unwrap();
    let (_, err) = sleuth(&d, ["tags", "import", bad.to_str().unwrap()]).run_fail();
    assert!(err.contains("bad.csv:3:"), "names the file and line: {err}");
    let t: Value = sleuth(&d, ["tags", "show", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "--json"]).run_json();
    assert!(t["tags"].as_array().unwrap().is_empty());
}

#[test]
fn a_tagpack_on_one_exchange_address_labels_its_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate(&sim, &["--transactions", "20000", "--seed", "3"]);
    let d = tmp.path().join("idx");
    ingest(&d, &sim.join("blocks"), &[]);
    sleuth(&d, ["-q", "cluster", "build"]).run();
    let clusters = cluster_export(&d);
    // The largest cluster of an exchange, by the truth.
    let read = |f: &str| std::fs::read_to_string(sim.join("truth").join(f)).unwrap();
    let entities = read("entities.csv");
    let exchange = entities.lines().find(|l| l.ends_with(",exchange")).unwrap().split(',').next().unwrap().to_owned();
    let addresses = read("addresses.csv");
    let mut members: HashMap<u64, Vec<&str>> = HashMap::new();
    for (a, e) in addresses.lines().skip(1).filter_map(|l| l.split_once(',')) {
        if e == exchange {
            if let Some(c) = clusters.get(a) {
                members.entry(*c).or_default().push(a);
            }
        }
    }
    let group = members.values().max_by_key(|m| m.len()).unwrap();
    assert!(group.len() >= 2, "the exchange has a multi-address cluster");
    let pack = tmp.path().join("exchange.yaml");
    std::fs::write(
        &pack,
        format!(
            "title: Test exchange\ncreator: sleuth tests\nlastmod: 2026-11-25\ncategory: exchange\nconfidence: ownership\nlabel: Exchange Zeta\nsource: https://example.org/zeta\ncurrency: BTC\nnetwork: BTC\ntags:\n- address: {}\n",
            group[0]
        ),
    )
    .unwrap();
    sleuth(&d, ["tags", "import", pack.to_str().unwrap()]).run();
    let other = group[group.len() - 1];
    let view: Value = sleuth(&d, ["cluster", other, "--json"]).run_json();
    assert_eq!(view["label"], "Exchange Zeta", "{view}");
    let addr: Value = sleuth(&d, ["address", other, "--json"]).run_json();
    assert!(addr["cluster_tags"].as_array().unwrap().iter().any(|t| t["label"] == "Exchange Zeta"), "{addr}");
    assert_eq!(addr["cluster_id"].as_u64(), Some(clusters[other]));
}

/// An investigator given a copy of a data dir they cannot write (another user's, or a
/// read-only mount) still queries it: nothing is opened for writing or created. As root the
/// queries run as `nobody` through `runuser`, since root may write anything; otherwise the
/// folder's own missing write bits do the same.
#[test]
fn a_read_only_data_dir_answers_queries_for_another_user() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sim = tmp.path().join("sim");
    simulate(&sim, &["--transactions", "3000", "--seed", "5"]);
    let d = tmp.path().join("idx");
    ingest(&d, &sim.join("blocks"), &[]);
    sleuth(&d, ["-q", "cluster", "build"]).run();
    let lazarus = shared_data("tagpacks/packs/lazarus.yaml");
    sleuth(&d, ["-q", "tags", "import", lazarus.to_str().unwrap()]).run();
    let export = cluster_export(&d);
    let address = export.keys().min().unwrap().clone();
    let tagged = "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak";
    // What the owner sees, to compare with.
    let owner: Vec<String> =
        [vec!["status", "--json"], vec!["address", &address, "--json"], vec!["tags", "show", tagged, "--json"]]
            .iter()
            .map(|args| sleuth(&d, args).run())
            .collect();

    // The binary too must be reachable for the other user: copy it beside the data.
    let bin = tmp.path().join("sleuth");
    std::fs::copy(crate::common::BIN, &bin).unwrap();
    let status = std::process::Command::new("chmod").args(["-R", "a-w,a+rX"]).arg(tmp.path()).status().unwrap();
    assert!(status.success());
    let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let command = || {
        let mut c = if root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        c.arg("--data-dir").arg(&d);
        c
    };
    let run = |args: &[&str]| {
        let out = command().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let other: Vec<String> =
        [vec!["status", "--json"], vec!["address", &address, "--json"], vec!["tags", "show", tagged, "--json"]]
            .iter()
            .map(|args| run(args))
            .collect();
    assert_eq!(other, owner);
    assert!(other[2].contains("lazarusgroup"), "{}", other[2]);
    for args in [vec!["screen", address.as_str(), "--json"], vec!["cluster", address.as_str(), "--json"]] {
        assert!(run(&args).starts_with('{'), "{args:?}");
    }
    // Writing is refused with the cause, once.
    let out = command().args(["tags", "import", lazarus.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches("Permission denied").count(), 1, "{err}");
    std::process::Command::new("chmod").args(["-R", "u+w"]).arg(tmp.path()).status().unwrap();
}
