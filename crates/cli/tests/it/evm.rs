//! The CLI on an EVM chain: `ingest --rpc-url` from a real Anvil node, then `status`,
//! `block`, `tx` and `address` with the JSON fields the issue names, checked against the
//! node's own answers; bad input named; `kill -9` mid-ingest resumes consistent.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sleuth_testkit::anvil::Anvil;

use crate::common::{sleuth, BIN};

pub(crate) const ETH: u128 = 1_000_000_000_000_000_000;

fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

pub(crate) fn ingest(d: &Path, node: &Anvil) -> Value {
    sleuth(d, ["ingest", "--json", "-q", "--rpc-url", &node.url(), "--chain", "anvil"]).run_json()
}

/// Every indexed account's `balance_wei` against `eth_getBalance`.
fn assert_balances_match(d: &Path, node: &Anvil, accounts: &[String]) {
    for a in accounts {
        let view: Value = sleuth(d, ["address", a, "--json"]).run_json();
        let node_wei = hex_u128(&node.rpc("eth_getBalance", json!([a, "latest"])));
        assert_eq!(view["balance_wei"], node_wei.to_string(), "balance of {a}");
    }
}

#[test]
fn status_block_tx_and_address_answer_as_the_node_does() {
    let node = Anvil::start();
    let acc = node.accounts();
    let paid = node.send(&acc[0], Some(&acc[1]), 7 * ETH, "0x");
    node.send(&acc[1], Some(&acc[2]), 2 * ETH, "0x");
    let d = tempfile::tempdir().unwrap();
    let report = ingest(d.path(), &node);
    assert_eq!(report["chain"], "anvil");
    assert_eq!(report["added_blocks"], 3);

    let status: Value = sleuth(d.path(), ["status", "--json"]).run_json();
    let tip = node.rpc("eth_getBlockByNumber", json!(["latest", false]));
    assert_eq!(status["chain"], "anvil");
    assert_eq!(status["height"], 2);
    assert_eq!(status["tip_hash"], tip["hash"]);
    assert_eq!(status["transactions"], 2);

    let hash = paid["transactionHash"].as_str().unwrap();
    let tx: Value = sleuth(d.path(), ["tx", hash, "--json"]).run_json();
    let node_tx = node.rpc("eth_getTransactionByHash", json!([hash]));
    assert_eq!(tx["hash"], hash);
    assert_eq!(tx["value_wei"], (7 * ETH).to_string());
    assert_eq!(tx["from"].as_str().unwrap().to_lowercase(), node_tx["from"]);
    let fee = hex_u128(&paid["gasUsed"]) * hex_u128(&paid["effectiveGasPrice"]);
    assert_eq!(tx["fee_wei"], fee.to_string());

    let block: Value = sleuth(d.path(), ["block", "1", "--json"]).run_json();
    assert_eq!(block["hash"], paid["blockHash"]);
    assert_eq!(block["transactions"][0]["hash"], hash);
    let by_hash: Value = sleuth(d.path(), ["block", paid["blockHash"].as_str().unwrap(), "--json"]).run_json();
    assert_eq!(by_hash["number"], 1);

    let addr: Value = sleuth(d.path(), ["address", &acc[1], "--json"]).run_json();
    assert_eq!(addr["address"].as_str().unwrap().to_lowercase(), acc[1]);
    assert_eq!(addr["tx_count"], 2);
    assert_eq!(addr["tokens"], json!([]));
    assert_balances_match(d.path(), &node, &acc);

    // Bad input is named.
    let err = sleuth(d.path(), ["address", "0x1234"]).run_fail().1;
    assert!(err.contains("\"0x1234\" is not an EVM address"), "{err}");
    let err = sleuth(d.path(), ["tx", "0xzz"]).run_fail().1;
    assert!(err.contains("is not a hash"), "{err}");
    let unknown = format!("0x{}", "ab".repeat(32));
    let err = sleuth(d.path(), ["tx", &unknown]).run_fail().1;
    assert!(err.contains("is not in the index"), "{err}");
    let err = sleuth(d.path(), ["ingest", "--rpc-url", &node.url(), "--chain", "ethereum"]).run_fail().1;
    assert!(err.contains("--chain ethereum (chain id 1)") && err.contains("31337"), "{err}");
}

#[test]
fn kill_9_during_an_ingest_resumes_with_a_consistent_index_while_readers_read() {
    let node = Anvil::start();
    let acc = node.accounts();
    // The genesis allocation is read while the node still keeps block 0's state (Anvil
    // keeps the states of its last few thousand blocks only).
    let d = tempfile::tempdir().unwrap();
    ingest(d.path(), &node);
    // Payments spread over a chain long enough that the kill lands mid-ingest.
    // (Anvil's anvil_mine slows as its chain grows: 3,000 blocks keep it to seconds.)
    for i in 0..6 {
        node.send(&acc[i], Some(&acc[i + 1]), (i as u128 + 1) * ETH, "0x");
        node.mine(500);
    }
    let tip = node.height();
    let mut child = Command::new(BIN)
        .args(["--data-dir", d.path().to_str().unwrap(), "-q", "ingest", "--rpc-url", &node.url(), "--chain", "anvil"])
        // A commit every 5 blocks: many commits for the kill to fall between.
        .args(["--commit-every", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A reader beside the writer sees whole commits only.
    let started = Instant::now();
    let mut seen = 0;
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(60) {
        if let Some(s) = sleuth(d.path(), ["status", "--json"]).try_run_json::<Value>() {
            seen = s["height"].as_u64().unwrap_or(0);
            if seen > 1 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let was_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(was_running && seen > 1 && seen < tip, "the kill must land mid-ingest (committed {seen} of {tip})");

    let report = ingest(d.path(), &node);
    assert_eq!(report["height"], tip);
    assert!(report["added_blocks"].as_u64().unwrap() < tip + 1, "the second run resumed: {report}");
    let status: Value = sleuth(d.path(), ["status", "--json"]).run_json();
    assert_eq!(status["transactions"], 6);
    assert_eq!(status["counts"]["blocks"], tip + 1);
    assert_balances_match(d.path(), &node, &acc);
}

#[test]
fn trace_from_a_drain_stops_at_an_exchange_and_screening_names_the_drain() {
    let node = Anvil::start();
    let acc = node.accounts();
    let exchange_a = &acc[0];
    // The exchange's deposit account and a user's: fresh, so their balance is what they were paid.
    let deposit = &"0x00000000000000000000000000000000000b0b03".to_string();
    // A fresh thief and mule (impersonated on the node): they hold only stolen ETH.
    let thief = "0x00000000000000000000000000000000000b0b01";
    let mule = "0x00000000000000000000000000000000000b0b02";
    for who in [thief, mule] {
        node.rpc("anvil_impersonateAccount", json!([who]));
    }
    let drain = node.send(exchange_a, Some(thief), 50 * ETH, "0x");
    node.send(thief, Some(mule), 30 * ETH, "0x");
    let paid = node.send(mule, Some(deposit), 20 * ETH, "0x");
    let d = tempfile::tempdir().unwrap();
    ingest(d.path(), &node);
    // A clean user pays the exchange too.
    let clean = node.send(&acc[5], Some(deposit), 4 * ETH, "0x");
    assert_eq!(clean["status"], "0x1");
    let user_deposit = "0x00000000000000000000000000000000000b0b04";
    node.send(&acc[5], Some(user_deposit), ETH, "0x");
    // A second deposit account of the exchange, untagged, sweeps into its tagged hot wallet.
    let swept = "0x00000000000000000000000000000000000b0b05";
    let hot_wallet = &acc[7];
    node.rpc("anvil_impersonateAccount", json!([swept]));
    let mule_pays_swept = node.send(mule, Some(swept), 5 * ETH, "0x");
    assert_eq!(mule_pays_swept["status"], "0x1");
    // The sweep empties it but for the gas.
    node.send(swept, Some(hot_wallet), 5 * ETH - ETH / 100, "0x");
    ingest(d.path(), &node);
    let csv = d.path().join("exchanges.csv");
    std::fs::write(
        &csv,
        format!(
            "address,label,category,source\n{deposit},Exchange B,exchange,test\n{hot_wallet},Exchange B,exchange,test\n{},Sanctioned Co,sanction,test\n",
            acc[8]
        ),
    )
    .unwrap();
    sleuth(d.path(), ["tags", "import", csv.to_str().unwrap(), "--format", "csv"]).run();

    let drain_hash = drain["transactionHash"].as_str().unwrap();
    let report: Value = sleuth(d.path(), ["trace", "--from", drain_hash, "--json"]).run_json();
    assert_eq!(report["asset"], "ETH");
    assert_eq!(report["source_base"], (50 * ETH).to_string());
    assert_eq!(report["traced_base"]["haircut"], (50 * ETH).to_string(), "per policy, as the Bitcoin trace");
    assert_eq!(report["policies"], json!(["poison", "haircut", "fifo", "lifo"]));
    let ep = report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"].as_str().unwrap().eq_ignore_ascii_case(deposit))
        .unwrap_or_else(|| panic!("no endpoint at the deposit: {report}"));
    assert_eq!(ep["entity"], "Exchange B");
    assert_eq!(ep["stop_reason"], "service");
    for p in ["poison", "haircut", "fifo", "lifo"] {
        assert_eq!(ep["amount_base"][p], (20 * ETH).to_string(), "{p}");
    }
    assert_eq!(
        ep["path_txids"],
        json!([
            drain_hash,
            node.rpc("eth_getBlockByNumber", json!(["0x2", false]))["transactions"][0],
            paid["transactionHash"]
        ])
    );
    let sw = report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"].as_str().unwrap().eq_ignore_ascii_case(swept))
        .unwrap_or_else(|| panic!("no endpoint at the swept deposit: {report}"));
    assert_eq!(sw["stop_reason"], "service");
    assert_eq!(sw["entity"], "Exchange B", "the deposit address inherits the hot wallet's service");
    assert!(sw["sweeps_to"].as_str().unwrap().eq_ignore_ascii_case(hot_wallet));
    assert_eq!(sw["amount_base"]["haircut"], (5 * ETH).to_string());
    let by_cat = report["by_category"].as_array().unwrap().iter().find(|c| c["category"] == "exchange").unwrap();
    assert_eq!(by_cat["amount_base"]["fifo"], (25 * ETH).to_string());
    for (_, r) in report["reconciliation"].as_object().unwrap() {
        assert_eq!(r["to_services_base"], (25 * ETH).to_string());
        let parts: u128 = ["to_services_base", "unspent_base", "fees_base", "mixers_base", "limited_base"]
            .iter()
            .map(|k| r[k].as_str().unwrap().parse::<u128>().unwrap())
            .sum();
        assert_eq!(parts, 50 * ETH, "{r}");
    }
    let table = sleuth(d.path(), ["trace", "--from", drain_hash]).run();
    assert!(table.contains("Exchange B") && table.contains("reconciliation"), "{table}");
    let err = sleuth(d.path(), ["trace", "--from", drain_hash, "--policy", "tiho"]).run_fail().1;
    assert!(err.contains("tiho has no account form"), "{err}");

    // The drain recorded as an incident: screening the deposit names it. 20 of the
    // deposit's 24 ETH came out of the drain, by way of the thief and the mule.
    let added: Value = sleuth(
        d.path(),
        [
            "incident",
            "add",
            "--name",
            "Exchange A heist",
            "--txid",
            drain_hash,
            "--victim",
            "Exchange A",
            "--date",
            "2026-12-01",
            "--json",
        ],
    )
    .run_json();
    assert_eq!(added["incidents"][0]["txs"][0], drain_hash);
    let err = sleuth(
        d.path(),
        ["incident", "add", "--name", "again", "--txid", drain_hash, "--victim", "X", "--date", "2026-12-01"],
    )
    .run_fail()
    .1;
    assert!(err.contains("already in incident \"Exchange A heist\""), "{err}");
    let shown: Value = sleuth(d.path(), ["incident", "show", "1", "--json"]).run_json();
    assert_eq!(shown["incidents"][0]["name"], "Exchange A heist");
    let listed: Value = sleuth(d.path(), ["incident", "list", "--json"]).run_json();
    assert_eq!(listed["incidents"].as_array().unwrap().len(), 1);
    let screen: Value = sleuth(d.path(), ["screen", deposit, "--json"]).run_json();
    assert_eq!(screen["screened_base"], (24 * ETH).to_string());
    let reason = &screen["reasons"][0];
    assert_eq!(reason["category"], "theft");
    assert_eq!(reason["entity"], "Exchange A heist");
    assert!(reason["address"].as_str().unwrap().eq_ignore_ascii_case(exchange_a), "the victim: {reason}");
    assert_eq!(reason["kind"], "indirect");
    assert_eq!(reason["hops"], 3);
    assert!((reason["share"].as_f64().unwrap() - 20.0 / 24.0).abs() < 1e-9, "{reason}");
    assert_eq!(reason["amount_base"], (20 * ETH).to_string(), "exact, to the wei");
    assert_eq!(screen["indirect"][0]["amount_base"], (20 * ETH).to_string());
    let path = reason["path_txids"].as_array().unwrap();
    assert_eq!(path.len(), 3, "{reason}");
    assert_eq!(path[0], drain_hash, "the reason starts at the drain");
    assert_eq!(path[2], paid["transactionHash"]);
    assert!(matches!(screen["level"].as_str().unwrap(), "severe" | "high"), "{screen}");
    // The incident's evidence report, pinned to this tip: it still verifies after the
    // chain moves on, and a changed figure is caught.
    let report_file = d.path().join("heist.json");
    sleuth(d.path(), ["report", "Exchange A heist", "-o", report_file.to_str().unwrap()]).run();
    let rep: Value = serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(rep["format"], "sleuth-evm-report/2");
    assert_eq!(rep["traces"][0]["source_base"], (50 * ETH).to_string());
    let v: Value = sleuth(d.path(), ["report", "verify", report_file.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(v["matches"], true, "{v}");
    assert!(v["figures"].as_u64().unwrap() > 20);
    node.send(mule, Some(&acc[9]), ETH, "0x");
    ingest(d.path(), &node);
    let v: Value = sleuth(d.path(), ["report", "verify", report_file.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(v["matches"], true, "a later block does not change a pinned report: {v}");
    let tampered =
        std::fs::read_to_string(&report_file).unwrap().replacen(&(20 * ETH).to_string(), &(21 * ETH).to_string(), 1);
    std::fs::write(&report_file, tampered).unwrap();
    let (_, err) = sleuth(d.path(), ["report", "verify", report_file.to_str().unwrap()]).run_fail();
    assert!(err.contains("figures differ"), "{err}");

    // The same sources as a backward trace.
    let back: Value =
        sleuth(d.path(), ["trace", "--from", deposit, "--direction", "backward", "--max-hops", "3", "--json"])
            .run_json();
    assert_eq!(back["direction"], "backward");
    assert_eq!(back["received_base"], (24 * ETH).to_string());
    assert_eq!(back["sources"][0]["entity"], "Exchange A heist");
    assert_eq!(back["sources"][0]["path_txids"][0], drain_hash);
    assert_eq!(back["sources"][0]["amount_base"], (20 * ETH).to_string());
    // The clean user's deposit: nothing.
    let clean: Value = sleuth(d.path(), ["screen", user_deposit, "--json"]).run_json();
    assert_eq!(clean["score"], 0, "{clean}");
    assert_eq!(clean["level"], "none");
    // The thief received straight from the drain.
    let thief_screen: Value = sleuth(d.path(), ["screen", thief, "--json"]).run_json();
    assert_eq!(thief_screen["reasons"][0]["kind"], "received-from");
    assert_eq!(thief_screen["score"], 90);
    // A sanctioned account's own tag scores in full.
    let own: Value = sleuth(d.path(), ["screen", &acc[8], "--json"]).run_json();
    assert_eq!(own["reasons"][0]["kind"], "own");
    assert_eq!(own["score"], 100);
}

#[test]
fn serve_answers_as_the_cli_does_and_follows_the_node() {
    use crate::serve::{get, post, serve};
    let node = Anvil::start();
    let acc = node.accounts();
    let paid = node.send(&acc[0], Some(&acc[1]), 3 * ETH, "0x");
    let d = tempfile::tempdir().unwrap();
    ingest(d.path(), &node);
    let server = serve(d.path(), &["--rpc-url", &node.url()]);

    // The same answers as the CLI's --json, from the same data dir.
    let (code, status) = get(&server, "/api/v1/status");
    assert_eq!(code, 200);
    let cli_status: Value = sleuth(d.path(), ["status", "--json"]).run_json();
    assert_eq!(status, cli_status);
    let (code, a) = get(&server, &format!("/api/v1/addresses/{}", acc[1]));
    assert_eq!(code, 200);
    assert_eq!(a, sleuth(d.path(), ["address", &acc[1], "--json"]).run_json::<Value>());
    let hash = paid["transactionHash"].as_str().unwrap();
    let (code, t) = get(&server, &format!("/api/v1/txs/{hash}"));
    assert_eq!(code, 200);
    assert_eq!(t, sleuth(d.path(), ["tx", hash, "--json"]).run_json::<Value>());
    let (code, b) = get(&server, "/api/v1/blocks/1");
    assert_eq!((code, &b["hash"]), (200, &paid["blockHash"]));
    let (code, tr) = post(&server, "/api/v1/trace", &json!({ "from": hash }));
    assert_eq!(code, 200);
    assert_eq!(tr, sleuth(d.path(), ["trace", "--from", hash, "--json"]).run_json::<Value>());
    let (code, sc) = post(&server, "/api/v1/screen", &json!({ "address": acc[1] }));
    assert_eq!(code, 200);
    assert_eq!(sc["level"], "none");
    let (code, batch) = post(
        &server,
        "/api/v1/screen/batch",
        &json!({ "addresses": [acc[1], "0x00000000000000000000000000000000000000ee"] }),
    );
    assert_eq!(code, 200);
    assert_eq!(batch["results"][0]["level"], "none");
    assert_eq!(batch["results"][1]["error"]["code"], "not_found");

    // Bad input: a stable code, never a crash.
    let (code, e) = get(&server, "/api/v1/addresses/0x12");
    assert_eq!((code, e["error"]["code"].as_str()), (400, Some("bad_request")));
    let (code, e) = get(&server, &format!("/api/v1/txs/0x{}", "00".repeat(32)));
    assert_eq!((code, e["error"]["code"].as_str()), (404, Some("not_found")));
    let (code, _) = post(&server, "/api/v1/trace", &json!({ "from": hash, "policy": "tiho" }));
    assert_eq!(code, 400);
    let (code, _) = post(&server, "/api/v1/screen", &json!({ "address": acc[1], "hops": 99 }));
    assert_eq!(code, 400);
    let (code, _) = post(&server, "/api/v1/trace", &json!({ "form": hash }));
    assert_eq!(code, 400, "unknown fields are refused");
    let (code, doc) = get(&server, "/api/v1/openapi.json");
    assert_eq!(code, 200);
    assert!(doc["paths"]["/api/v1/screen"].is_object() && doc["paths"]["/api/v1/trace"].is_object());

    // The node's next block is served within seconds.
    let next = node.send(&acc[1], Some(&acc[2]), ETH, "0x");
    let started = Instant::now();
    loop {
        let (_, s) = get(&server, "/api/v1/status");
        if s["height"] == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the new block was not followed: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, t) = get(&server, &format!("/api/v1/txs/{}", next["transactionHash"].as_str().unwrap()));
    assert_eq!(code, 200, "{t}");
    drop(server);

    // Anything but loopback needs tokens.
    let (_, err) = sleuth(d.path(), ["serve", "--listen", "0.0.0.0:0"]).run_fail();
    assert!(err.contains("without tokens"), "{err}");
}

#[test]
fn real_tag_lists_label_evm_accounts_for_tracing_and_screening() {
    use sleuth_testkit::shared_data;
    let node = Anvil::start();
    let acc = node.accounts();
    let d = tempfile::tempdir().unwrap();
    // A payment into a Tornado Cash pool address of the GraphSense TagPack (on this node it is
    // a plain address; the tag is what says what it is).
    let tornado = "0x8589427373D6D84E98730D7795D8f6f8731FDA16";
    let into_tornado = node.send(&acc[0], Some(tornado), ETH, "0x");
    ingest(d.path(), &node);
    for (file, format) in [
        ("tagpacks/packs/tornado_cash.yaml", "tagpack"),
        ("tagpacks/packs/ronin_bridge.yaml", "tagpack"),
        ("sanctions/sanctioned_addresses_ETH.txt", "ofac"),
        ("sanctions/sanctioned_addresses_USDT.txt", "ofac"),
        ("sanctions/sanctioned_addresses_USDC.txt", "ofac"),
    ] {
        let path = shared_data(file);
        sleuth(d.path(), ["tags", "import", path.to_str().unwrap(), "--format", format]).run();
    }
    // The trace stops at the mixer, named by its tag.
    let hash = into_tornado["transactionHash"].as_str().unwrap();
    let report: Value = sleuth(d.path(), ["trace", "--from", hash, "--json"]).run_json();
    let ep = &report["endpoints"][0];
    assert!(ep["address"].as_str().unwrap().eq_ignore_ascii_case(tornado), "{report}");
    assert_eq!(ep["stop_reason"], "mixer");
    assert_eq!(ep["entity"], "tornado.cash");
    assert_eq!(report["reconciliation"]["haircut"]["mixers_base"], ETH.to_string());
    // One policy: bare values, as the Bitcoin trace gives them.
    let one: Value = sleuth(d.path(), ["trace", "--from", hash, "--policy", "fifo", "--json"]).run_json();
    assert_eq!(one["endpoints"][0]["amount_base"], ETH.to_string());
    assert_eq!(one["reconciliation"]["mixers_base"], ETH.to_string());
    // `address` shows the tag; screening scores it as a mixer.
    let a: Value = sleuth(d.path(), ["address", tornado, "--json"]).run_json();
    let labels: Vec<&str> = a["tags"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"tornado.cash") && labels.contains(&"OFAC sanctioned address"), "{labels:?}");
    assert_eq!(a["balance_wei"], ETH.to_string());
    // Screening weighs each of its own tags: sanctioned (100) above mixer (60).
    let s: Value = sleuth(d.path(), ["screen", tornado, "--json"]).run_json();
    let own: Vec<&str> = s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "own")
        .map(|r| r["category"].as_str().unwrap())
        .collect();
    assert_eq!(own, vec!["sanctioned", "mixer"], "{s}");
    assert_eq!(s["score"], 100);
    // A sanctioned address from OFAC's ETH list that this chain never touched is still
    // screened on its tag alone; an untagged stranger is not found.
    let sanctioned = std::fs::read_to_string(shared_data("sanctions/sanctioned_addresses_ETH.txt")).unwrap();
    let sanctioned = sanctioned.lines().next().unwrap().trim();
    let s: Value = sleuth(d.path(), ["screen", sanctioned, "--json"]).run_json();
    assert_eq!((s["score"].as_u64(), s["level"].as_str()), (Some(100), Some("severe")), "{s}");
    assert_eq!(s["reasons"][0]["category"], "sanctioned");
    let err = sleuth(d.path(), ["screen", "0x00000000000000000000000000000000000000ee"]).run_fail().1;
    assert!(err.contains("has no tags"), "{err}");
}
