//! Watches on an EVM data dir, against a real Anvil node that `sleuth serve` follows: a
//! drain watched; the thief moves the loot to a fresh account (a `new-account` alert), which
//! pays an exchange's tagged deposit address (a `service` alert), each in the API and at the
//! webhook (after a failed first POST, retried) within seconds of the block; a reorg made on
//! the node removes the payment and retracts its alert; a server restart raises nothing twice.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sleuth_testkit::anvil::Anvil;

use crate::common::sleuth;
use crate::evm::{ingest, ETH};
use crate::serve::{get, post, serve, until};
use crate::watch::{receiver, Received};

/// Waits until the webhook has taken (answered 200) alert `seq`; returns the body.
fn taken(got: &Received, seq: u64) -> Value {
    let started = Instant::now();
    loop {
        if let Some((_, body, _)) = got.lock().unwrap().iter().find(|(s, b, _)| *s == 200 && b["seq"] == seq) {
            return body.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the webhook never took alert {seq}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alerts_of(v: &Value) -> Vec<Value> {
    v["alerts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_watched_drain_alerts_at_the_webhook_within_a_block_retracts_on_reorg_and_never_twice() {
    let node = Anvil::start();
    let acc = node.accounts();
    let thief = "0x00000000000000000000000000000000000e0e01";
    let mule = "0x00000000000000000000000000000000000e0e02";
    let deposit = "0x00000000000000000000000000000000000e0e03";
    for who in [thief, mule] {
        node.rpc("anvil_impersonateAccount", json!([who]));
    }
    let drain = node.send(&acc[0], Some(thief), 50 * ETH, "0x");
    let drain = drain["transactionHash"].as_str().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("eth");
    ingest(&d, &node);
    let tags = tmp.path().join("exchanges.csv");
    std::fs::write(&tags, format!("address,label,category,source\n{deposit},Exchange B,exchange,test\n")).unwrap();
    sleuth(&d, ["tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();

    // Bad watches are refused with what was wrong.
    let nowhere = format!("0x{}", "00".repeat(32));
    for (args, want) in [
        (vec!["--from", nowhere.as_str(), "--label", "x"], "not in the index"),
        (vec!["--from", drain.as_str(), "--label", " "], "needs a --label"),
        (vec!["--from", drain.as_str(), "--label", "x", "--policy", "tiho"], "tiho has no account form"),
        (vec!["--from", drain.as_str(), "--label", "x", "--webhook", "https://x/"], "relay through an http endpoint"),
    ] {
        let mut all = vec!["watch", "add"];
        all.extend(args);
        let (_, err) = sleuth(&d, all).run_fail();
        assert!(err.contains(want), "{want}: {err}");
    }

    let (hook, got) = receiver();
    let w: Value =
        sleuth(&d, ["--json", "watch", "add", "--from", &drain, "--label", "Exchange A heist", "--webhook", &hook])
            .run_json();
    assert_eq!(w["watches"][0]["id"], 1);
    assert_eq!(w["watches"][0]["added_at_height"], 1);
    let server = serve(&d, &["--rpc-url", &node.url()]);
    let (code, listed) = get(&server, "/api/v1/watches");
    assert_eq!((code, &listed["watches"][0]["label"]), (200, &json!("Exchange A heist")));
    // The loot still sits where the drain put it: no alert.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(alerts_of(&get(&server, "/api/v1/alerts").1), Vec::<Value>::new());

    // The thief moves 30 to a fresh account.
    let hop = node.send(thief, Some(mule), 30 * ETH, "0x");
    let hop = hop["transactionHash"].as_str().unwrap().to_string();
    until(&server, "/api/v1/alerts", "the fresh account's alert", |v| alerts_of(v).len() == 1);
    let first = &alerts_of(&get(&server, "/api/v1/alerts").1)[0];
    assert_eq!((&first["kind"], &first["txid"], &first["seq"]), (&json!("new-account"), &json!(hop), &json!(1)));
    assert!(first["address"].as_str().unwrap().eq_ignore_ascii_case(mule));
    assert_eq!(first["amount_base"], (30 * ETH).to_string(), "the thief held only stolen ETH");
    taken(&got, 1);

    // The fresh account pays the exchange's deposit address: a service alert within seconds.
    let before_payment = node.rpc("evm_snapshot", json!([]));
    let paid = node.send(mule, Some(deposit), 20 * ETH, "0x");
    let mined = Instant::now();
    let paid = paid["transactionHash"].as_str().unwrap().to_string();
    let body = taken(&got, 2);
    let latency = mined.elapsed();
    eprintln!("block to webhook: {latency:?}");
    assert!(latency < Duration::from_secs(10), "block to webhook took {latency:?}");
    assert_eq!(
        (&body["kind"], &body["entity"], &body["txid"]),
        (&json!("service"), &json!("Exchange B"), &json!(paid))
    );
    assert_eq!(body["amount_base"], (20 * ETH).to_string());
    assert_eq!(body["path_txids"], json!([drain, hop, paid]));
    assert_eq!(body["asset"], "ETH");
    let keys: Vec<String> = got.lock().unwrap().iter().map(|(_, _, k)| k.clone()).collect();
    assert_eq!(keys[0], "1", "the alert's number is the Idempotency-Key");
    assert_eq!(got.lock().unwrap()[0].0, 500, "the first POST was refused and sent again");
    let (_, metrics) = crate::serve::http_text(&server, "/metrics");
    assert!(metrics.contains("sleuth_alerts_total 2"), "{metrics}");

    // A reorg on the node: the payment's block is replaced by a longer branch without it.
    assert_eq!(node.rpc("evm_revert", json!([before_payment])), true);
    node.mine(3);
    let retraction = taken(&got, 3);
    assert_eq!((&retraction["kind"], &retraction["retracts"]), (&json!("retracted"), &json!(2)));
    assert_eq!(retraction["txid"], paid);
    let (_, at_tip) = get(&server, "/api/v1/status");
    assert_eq!(at_tip["height"], node.height());
    drop(server);

    // A restart: nothing raised twice, and the CLI reads the same log.
    let server = serve(&d, &["--rpc-url", &node.url()]);
    let extra = node.send(&acc[3], Some(&acc[4]), ETH, "0x");
    until(&server, "/api/v1/status", "the next block", |v| v["height"] == node.height());
    std::thread::sleep(Duration::from_millis(800));
    let (_, after) = get(&server, "/api/v1/alerts");
    assert_eq!(alerts_of(&after).len(), 3, "{after}");
    let (code, since) = get(
        &server,
        &format!(
            "/api/v1/alerts?since={}",
            extra["blockNumber"].as_str().map_or(0, |h| u64::from_str_radix(h.trim_start_matches("0x"), 16).unwrap())
        ),
    );
    assert_eq!((code, alerts_of(&since).len()), (200, 0), "{since}");
    // Bad input over the API: a stable code.
    let (code, e) = post(&server, "/api/v1/watches", &json!({ "from": drain, "label": "x", "policy": "tiho" }));
    assert_eq!((code, e["error"]["code"].as_str()), (400, Some("bad_request")));
    let (code, e) = post(&server, "/api/v1/watches", &json!({ "form": drain, "label": "x" }));
    assert_eq!((code, e["error"]["code"].as_str()), (400, Some("bad_request")));
    let (code, doc) = get(&server, "/api/v1/openapi.json");
    assert!(code == 200 && doc["paths"]["/api/v1/watches"].is_object() && doc["paths"]["/api/v1/alerts"].is_object());
    drop(server);
    let cli: Value = sleuth(&d, ["alerts", "--json"]).run_json();
    assert_eq!(alerts_of(&cli).len(), 3);
    let check: Value = sleuth(&d, ["--json", "watch", "check"]).run_json();
    assert_eq!(alerts_of(&check), Vec::<Value>::new(), "never twice");
    let table = sleuth(&d, ["alerts"]).run();
    assert!(table.contains("retracts #2") && table.contains("Exchange B"), "{table}");
}
