//! Incidents and evidence reports: on the simulator's truth (every heist an incident, the
//! exchanges and OTC desks tagged), the ledger adds up to the stolen amount under every
//! conserving policy and the amounts per exchange match the truth; USD values come from the
//! price table; the HTML renders in a real headless Chromium with no network and no console
//! errors; `report verify` passes untouched and names the input that changed (a tag source
//! imported again; a reorg on a real `litecoind -regtest` that takes the thief's deposit out of
//! the chain); bad input is a one-line error and leaves the ledger as it was.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use sleuth_testkit::shared_data;

use crate::common::{ingest, rows, simulate, sleuth};

/// A simulated chain ingested, clustered, with every exchange and OTC address tagged and every
/// heist recorded as an incident; returns (data dir, sim dir).
fn prepared(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let sim = tmp.join("sim");
    simulate(&sim, &["--transactions", "30000", "--seed", "21"]);
    let d = tmp.join("idx");
    ingest(&d, &sim.join("blocks"), &[]);
    sleuth(&d, ["-q", "cluster", "build", "--json"]).run();
    let truth = |f: &str| std::fs::read_to_string(sim.join("truth").join(f)).unwrap();
    let (entities, addresses, heists) = (truth("entities.csv"), truth("addresses.csv"), truth("heists.csv"));
    let entities = rows(&entities);
    let kind: HashMap<&str, &str> = entities.iter().map(|e| (e["entity_id"], e["kind"])).collect();
    let name: HashMap<&str, &str> = entities.iter().map(|e| (e["entity_id"], e["name"])).collect();
    let addresses = rows(&addresses);
    let mut csv = String::from("address,label,category,source\n");
    for r in &addresses {
        if matches!(kind[r["entity_id"]], "exchange" | "otc") {
            csv += &format!("{},{},exchange,truth\n", r["address"], name[r["entity_id"]]);
        }
    }
    std::fs::write(tmp.join("services.csv"), csv).unwrap();
    sleuth(&d, ["-q", "tags", "import", tmp.join("services.csv").to_str().unwrap(), "--format", "csv"]).run();
    // Incidents: the thief's outputs of every drain, dated by the drain's block.
    let owner: HashMap<&str, &str> = addresses.iter().map(|r| (r["address"], r["entity_id"])).collect();
    let mut inc = String::from("name,txid,vout,victim,actor,date,source\n");
    for h in rows(&heists) {
        let drain: Value = sleuth(&d, ["tx", h["txid"], "--json"]).run_json();
        let day = day_of(drain["block_time"].as_u64().unwrap());
        for o in drain["outputs"].as_array().unwrap() {
            if o["address"].as_str().and_then(|a| owner.get(a)).map(|e| name[e]) == Some(h["thief"]) {
                inc += &format!(
                    "{} drain,{},{},{},{},{day},simulation\n",
                    h["victim"], h["txid"], o["n"], h["victim"], h["thief"]
                );
            }
        }
    }
    std::fs::write(tmp.join("incidents.csv"), inc).unwrap();
    sleuth(&d, ["-q", "incident", "import", tmp.join("incidents.csv").to_str().unwrap()]).run();
    (d, sim)
}

/// YYYY-MM-DD of a Unix time, computed here independently of the engine.
fn day_of(secs: u64) -> String {
    let out = std::process::Command::new("date").args(["-u", "-d", &format!("@{secs}"), "+%F"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The close of `day` in the shared price table, in micro-dollars.
fn close(day: &str) -> u128 {
    let table = std::fs::read_to_string(shared_data("prices/btc_usd_daily.csv")).unwrap();
    let line = table.lines().find(|l| l.starts_with(day)).unwrap_or_else(|| panic!("no price for {day}"));
    let c = line.split(',').nth(1).unwrap();
    let (i, f) = c.split_once('.').unwrap_or((c, ""));
    i.parse::<u128>().unwrap() * 1_000_000 + format!("{f:0<6}")[..6].parse::<u128>().unwrap()
}

#[test]
fn reports_reconcile_to_the_truth_and_the_prices_render_offline_and_reverify() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, sim) = prepared(tmp.path());
    let prices = shared_data("prices/btc_usd_daily.csv");
    let list: Value = sleuth(&d, ["incident", "list", "--json"]).run_json();
    let incidents = list["incidents"].as_array().unwrap();
    assert!(!incidents.is_empty());
    let taint = std::fs::read_to_string(sim.join("truth/taint.csv")).unwrap();
    let taint = rows(&taint);
    let entities = std::fs::read_to_string(sim.join("truth/entities.csv")).unwrap();
    let entities = rows(&entities);
    let name: HashMap<&str, &str> = entities.iter().map(|e| (e["entity_id"], e["name"])).collect();
    let service: HashMap<&str, bool> =
        entities.iter().map(|e| (e["entity_id"], matches!(e["kind"], "exchange" | "otc"))).collect();
    let json_path = tmp.path().join("r.json");
    for inc in incidents {
        let n = inc["name"].as_str().unwrap();
        sleuth(
            &d,
            [
                "-q",
                "report",
                n,
                "--prices",
                prices.to_str().unwrap(),
                "--min-sat",
                "1",
                "-o",
                json_path.to_str().unwrap(),
            ],
        )
        .run();
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        let stolen = r["stolen_sat"].as_u64().unwrap();
        // The incident as a trace's start: its stolen outputs, no more, no less.
        let t: Value =
            sleuth(&d, ["trace", "--from", &format!("incident:{n}"), "--policy", "haircut", "--json"]).run_json();
        assert_eq!(t["source_sat"].as_u64(), Some(stolen), "{n}: trace --from incident");
        // The ledger adds up to the stolen amount to the satoshi under every conserving policy.
        for (p, res) in r["by_policy"].as_object().unwrap() {
            let l = &res["ledger"];
            let sum: u64 = ["to_services_sat", "unspent_sat", "mixers_sat", "fees_sat", "limited_sat"]
                .iter()
                .map(|k| l[k].as_u64().unwrap())
                .sum();
            if p == "poison" {
                assert!(sum >= stolen);
            } else {
                assert_eq!(sum, stolen, "{n} {p}: {l}");
            }
        }
        // USD of the theft: the stolen satoshis at the close of its day, to the cent.
        let day = r["incidents"][0]["date"].as_str().unwrap();
        let cents = (stolen as u128 * close(day) / 100_000_000 + 5_000) / 10_000;
        assert_eq!(r["stolen_usd"].as_f64().unwrap(), cents as f64 / 100.0, "{n} on {day}");
        // Per exchange, haircut and FIFO against the truth's deposits of the heist.
        let txid = r["incidents"][0]["txids"][0].as_str().unwrap();
        let mut want: HashMap<&str, u64> = HashMap::new();
        for t in taint.iter().filter(|t| t["heist"] == txid && t["direct"] == "1" && service[t["to_entity"]]) {
            *want.entry(name[t["to_entity"]]).or_default() += t["amount"].parse::<u64>().unwrap();
        }
        let want_total: u64 = want.values().sum();
        for p in ["haircut", "fifo"] {
            let services = r["by_policy"][p]["services"].as_array().unwrap();
            let got =
                |e: &str| services.iter().find(|s| s["entity"] == e).map_or(0, |s| s["amount_sat"].as_u64().unwrap());
            let err: u64 = want.iter().map(|(e, &w)| got(e).abs_diff(w)).sum();
            eprintln!("{n} {p}: per-exchange error {:.1} % of {want_total}", 100.0 * err as f64 / want_total as f64);
            assert!(err * 2 <= want_total, "{n} {p}: per-exchange error {err} of {want_total}");
            for s in services {
                assert!(s["usd"].as_f64().unwrap() >= 0.0 && !s["path_txids"].as_array().unwrap().is_empty());
                assert_eq!(s["path_txids"][0], txid, "every path starts at the theft");
            }
        }
        let pr = &r["proceeds_usd"];
        assert!(pr["low"]["usd"].as_f64().unwrap() <= pr["high"]["usd"].as_f64().unwrap());
        assert_ne!(pr["low"]["policy"], "poison");
    }

    // Untouched: every figure re-verifies.
    let v: Value = sleuth(&d, ["report", "verify", json_path.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(v["matches"], true, "{v}");
    assert!(v["figures"].as_u64().unwrap() > 20);

    // The HTML in a real headless browser: no network, no console errors, the figures there.
    let html = tmp.path().join("r.html");
    let last = incidents.last().unwrap()["name"].as_str().unwrap();
    sleuth(
        &d,
        [
            "-q",
            "report",
            last,
            "--format",
            "html",
            "--prices",
            prices.to_str().unwrap(),
            "--min-sat",
            "1",
            "-o",
            html.to_str().unwrap(),
        ],
    )
    .run();
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let (dom, log) = chromium_dump(&html);
    assert!(
        !log.contains("Refused to") && !log.contains("Uncaught") && !log.contains("net::ERR"),
        "console or network: {log}"
    );
    let thousands = |n: u64| {
        let s = n.to_string();
        s.chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && (s.len() - i).is_multiple_of(3)).then_some(',').into_iter().chain([c]))
            .collect::<String>()
    };
    assert!(dom.contains(&thousands(r["stolen_sat"].as_u64().unwrap())), "the stolen amount");
    for s in r["by_policy"]["haircut"]["services"].as_array().unwrap() {
        assert!(dom.contains(s["entity"].as_str().unwrap()), "{} in the page", s["entity"]);
        assert!(dom.contains(&thousands(s["amount_sat"].as_u64().unwrap())), "{} amount", s["entity"]);
        assert!(dom.contains(s["path_txids"][0].as_str().unwrap()));
    }
    assert!(dom.contains("<svg"), "the flow diagram");

    // A tag source imported again with another label: verify fails and names it.
    let services = std::fs::read_to_string(tmp.path().join("services.csv")).unwrap();
    let first_exchange = rows(&services)[0]["label"].to_owned();
    std::fs::write(tmp.path().join("services.csv"), services.replace(&first_exchange, "Renamed Exchange")).unwrap();
    sleuth(&d, ["-q", "tags", "import", tmp.path().join("services.csv").to_str().unwrap(), "--format", "csv"]).run();
    let (code, err) = sleuth(&d, ["report", "verify", json_path.to_str().unwrap()]).run_fail();
    assert_eq!(code, 1);
    assert!(err.contains("figures differ"), "{err}");
    let v: Value =
        serde_json::from_str(&sleuth_stdout(&d, &["report", "verify", json_path.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(v["matches"], false);
    assert!(
        v["changed_inputs"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("services.csv")),
        "{v}"
    );
}

/// A drain and a deposit at an exchange on a real node, reported; then the node reorganises
/// onto a branch without the deposit (it stays in the mempool): after the next ingest,
/// `report verify` fails, names the reorg and shows the figures that moved.
#[test]
fn report_verify_names_a_reorg_on_a_real_node() {
    use serde_json::json;
    let node = sleuth_testkit::RegtestNode::start();
    for w in ["miner", "exa", "thief", "exb"] {
        node.create_wallet(w);
    }
    let miner = node.new_address("miner", "bech32");
    node.mine(110, &miner);
    let hot = node.new_address("exa", "bech32");
    node.wallet_rpc("miner", "sendtoaddress", json!([hot, "20.0"]));
    node.mine(1, &miner);
    let loot = node.new_address("thief", "bech32");
    let drain = node.wallet_rpc("exa", "sendtoaddress", json!([loot, "10.0"])).as_str().unwrap().to_owned();
    node.mine(1, &miner);
    let deposit_to = node.new_address("exb", "bech32");
    let deposit = node.wallet_rpc("thief", "sendtoaddress", json!([deposit_to, "6.0"])).as_str().unwrap().to_owned();
    let deposit_block = node.mine(1, &miner)[0].clone();

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &node.blocks_dir(), &[]);
    sleuth(&d, ["-q", "cluster", "build"]).run();
    let tags = tmp.path().join("exchange.csv");
    std::fs::write(&tags, format!("address,label,category,source\n{deposit_to},Exchange B,exchange,test\n")).unwrap();
    sleuth(&d, ["-q", "tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();
    let tx: Value = sleuth(&d, ["tx", &drain, "--json"]).run_json();
    let vout = tx["outputs"].as_array().unwrap().iter().find(|o| o["address"] == loot.as_str()).unwrap()["n"].clone();
    let day = day_of(tx["block_time"].as_u64().unwrap());
    let from = format!("{drain}:{vout}");
    let add =
        ["incident", "add", "--name", "Exchange A drain", "--txid", &from, "--victim", "Exchange A", "--date", &day];
    sleuth(&d, add).run();
    let json_path = tmp.path().join("report.json");
    sleuth(&d, ["-q", "report", "Exchange A drain", "--format", "json", "-o", json_path.to_str().unwrap()]).run();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let reached = |r: &Value| r["by_policy"]["haircut"]["ledger"]["to_services_sat"].as_u64().unwrap();
    assert_eq!(reached(&report), 600_000_000, "the deposit the node mined reached Exchange B");
    let v: Value = sleuth(&d, ["report", "verify", json_path.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(v["matches"], true, "untouched: {v}");

    // The reorg: the deposit's block replaced by two empty ones (the deposit stays unmined).
    node.rpc("invalidateblock", json!([deposit_block]));
    for _ in 0..2 {
        node.rpc("generateblock", json!([miner, []]));
    }
    let mempool = node.rpc("getrawmempool", json!([]));
    assert!(mempool.as_array().unwrap().iter().any(|t| t == deposit.as_str()), "the deposit is back in the mempool");
    ingest(&d, &node.blocks_dir(), &[]);
    let (code, err) = sleuth(&d, ["report", "verify", json_path.to_str().unwrap()]).run_fail();
    assert_eq!(code, 1, "{err}");
    let v: Value =
        serde_json::from_str(&sleuth_stdout(&d, &["report", "verify", json_path.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(v["matches"], false);
    let changed: Vec<&str> = v["changed_inputs"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(changed.iter().any(|c| c.contains("a reorg")), "the reorg is named: {changed:?}");
    let moved = v["differences"].as_array().unwrap();
    assert!(
        moved.iter().any(|x| x["field"] == "by_policy.haircut.ledger.to_services_sat" && x["now"] == 0),
        "the deposit no longer reaches the exchange: {moved:?}"
    );
}

/// Stdout of a command that may fail.
fn sleuth_stdout(d: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(crate::common::BIN).arg("--data-dir").arg(d).args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The DOM of `page` as headless Chromium renders it, and Chromium's log.
pub(crate) fn chromium_dump(page: &Path) -> (String, String) {
    let exe = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is not installed; scripts/test installs it (apt-get install chromium)");
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_incident_input_is_a_one_line_error_and_leaves_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = tmp.path().join("blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    std::fs::copy(shared_data("blocks/blk00000_heights0-4521.dat"), blocks.join("blk00000.dat")).unwrap();
    let d = tmp.path().join("idx");
    ingest(&d, &blocks, &[]);
    // Block 170: the first payment (Satoshi to Hal Finney).
    let t = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
    sleuth(
        &d,
        [
            "-q",
            "incident",
            "add",
            "--name",
            "first",
            "--txid",
            &format!("{t}:0"),
            "--victim",
            "Hal",
            "--date",
            "2009-01-12",
        ],
    )
    .run();
    let ledger = std::fs::read(d.join("incidents/ledger.json")).unwrap();
    let missing = "0000000000000000000000000000000000000000000000000000000000000001";
    for (args, needle) in [
        (vec!["--name", "x", "--txid", missing, "--victim", "v", "--date", "2009-01-12"], "is not in the index"),
        (vec!["--name", "x", "--txid", &format!("{t}:7"), "--victim", "v", "--date", "2009-01-12"], "no output 7"),
        (
            vec!["--name", "first", "--txid", &format!("{t}:1"), "--victim", "v", "--date", "2009-01-12"],
            "already in the ledger",
        ),
        (vec!["--name", "y", "--txid", &format!("{t}:0"), "--victim", "v", "--date", "2009-01-12"], "already stolen"),
    ] {
        let mut all = vec!["incident", "add"];
        all.extend(args.iter().copied());
        let (code, err) = sleuth(&d, &all).run_fail();
        assert_eq!(code, 1, "{all:?}");
        assert!(err.contains(needle) && err.trim_end().lines().count() == 1, "{all:?}: {err}");
        assert_eq!(std::fs::read(d.join("incidents/ledger.json")).unwrap(), ledger, "the ledger is untouched");
    }
    let (_, err) =
        sleuth(&d, ["incident", "add", "--name", "z", "--txid", t, "--victim", "v", "--date", "2009-13-01"]).run_fail();
    assert!(err.contains("not a date"), "{err}");
    // A CSV with one bad row adds nothing.
    let csv = tmp.path().join("inc.csv");
    std::fs::write(
        &csv,
        format!("name,txid,vout,victim,actor,date,source\nok,{t},1,v,,2009-01-12,\nbad,{t},0,v,,someday,\n"),
    )
    .unwrap();
    let (_, err) = sleuth(&d, ["incident", "import", csv.to_str().unwrap()]).run_fail();
    assert!(err.contains("inc.csv:3") && err.contains("not a date"), "{err}");
    assert_eq!(std::fs::read(d.join("incidents/ledger.json")).unwrap(), ledger);
    // A price table without the incident's day: named, and no price made up.
    let gaps = tmp.path().join("gaps.csv");
    std::fs::write(&gaps, "date,close\n2009-01-10,0.01\n2009-01-14,0.02\n").unwrap();
    let (_, err) = sleuth(&d, ["report", "first", "--prices", gaps.to_str().unwrap()]).run_fail();
    assert!(err.contains("no close for 2009-01-12") && err.contains("missing"), "{err}");
}
