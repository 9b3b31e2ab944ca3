//! `sleuth demo`, the README's first command: it tells the whole story (simulate, ingest,
//! cluster, tag the exchanges, record the heists as incidents, trace them, write the
//! evidence report) and its figures stand against the simulation's truth, computed here.

use std::collections::HashMap;

use serde_json::Value;
use sleuth_testkit::Sleuth;

use crate::common::{rows, sleuth, BIN};

#[test]
fn the_demo_tells_the_whole_story_and_its_report_reverifies() {
    let tmp = tempfile::tempdir().unwrap();
    let keep = tmp.path().join("demo");
    let out =
        Sleuth::new(BIN, ["demo", "--transactions", "30000", "--seed", "21", "--keep", keep.to_str().unwrap()]).run();
    for step in 1..=11 {
        assert!(out.contains(&format!("{step}. ")), "step {step} missing from the demo's output:\n{out}");
    }
    let truth = |f: &str| std::fs::read_to_string(keep.join("sim/truth").join(f)).unwrap();
    let (entities, heists, taint) = (truth("entities.csv"), truth("heists.csv"), truth("taint.csv"));
    let kind: HashMap<&str, &str> = rows(&entities).iter().map(|e| (e["entity_id"], e["kind"])).collect();
    let heists = rows(&heists);
    assert!(!heists.is_empty());

    let report: Value = serde_json::from_str(&std::fs::read_to_string(keep.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["incidents"].as_array().unwrap().len(), heists.len(), "every heist is an incident");
    let stolen: u64 = heists.iter().map(|h| h["amount"].parse::<u64>().unwrap()).sum();
    assert_eq!(report["stolen_sat"].as_u64(), Some(stolen), "the incidents are the thieves' outputs of the drains");
    for p in ["haircut", "fifo", "lifo", "tiho"] {
        let l = &report["by_policy"][p]["ledger"];
        let sum: u64 = ["to_services_sat", "unspent_sat", "mixers_sat", "fees_sat", "limited_sat"]
            .iter()
            .map(|k| l[k].as_u64().unwrap())
            .sum();
        assert_eq!(sum, stolen, "{p}: the ledger adds up to the stolen amount");
        assert!(l["to_services_sat"].as_u64().unwrap() * 2 > stolen, "{p}: most of the loot reached exchanges");
    }
    let html = std::fs::read_to_string(keep.join("report.html")).unwrap();
    for i in report["incidents"].as_array().unwrap() {
        assert!(html.contains(i["name"].as_str().unwrap()), "the HTML report names {}", i["name"]);
    }

    // The truth the summary prints: what each thief paid straight into exchanges and OTC desks.
    let mut want: Vec<u64> = heists
        .iter()
        .map(|h| {
            rows(&taint)
                .iter()
                .filter(|t| {
                    t["heist"] == h["txid"] && t["direct"] == "1" && matches!(kind[t["to_entity"]], "exchange" | "otc")
                })
                .map(|t| t["amount"].parse::<u64>().unwrap())
                .sum()
        })
        .collect();
    let mut printed: Vec<u64> = out
        .lines()
        .filter(|l| l.contains("(paid by the thief straight to exchanges)"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    want.sort_unstable();
    printed.sort_unstable();
    assert_eq!(printed, want, "the summary's truth per heist");

    let v: Value =
        sleuth(&keep.join("index"), ["report", "verify", keep.join("report.json").to_str().unwrap(), "--json"])
            .run_json();
    assert_eq!(v["matches"], true, "the demo's report re-verifies: {v}");
}
