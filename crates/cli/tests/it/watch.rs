//! Watches on a real `litecoind -regtest`: a theft output watched while `sleuth serve` follows
//! the node over its RPC; the thief pays an exchange's tagged deposit address, and within a
//! block the alert is in the log, in the API and at the webhook (after a failed first POST,
//! retried); another block, a node restart and a server restart raise nothing twice; a reorg
//! that removes the payment retracts it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::sleuth;
use crate::serve::{get, mined_node, serve, until};

/// A webhook receiver on loopback: answers its first request 500, then 200, and keeps every
/// body it was sent with the status it answered.
/// What a receiver was sent: the status it answered, the body, the `Idempotency-Key`.
pub(crate) type Received = Arc<Mutex<Vec<(u16, Value, String)>>>;

pub(crate) fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/sleuth", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let (mut len, mut key, mut line) = (0usize, String::new(), String::new());
            let _ = reader.read_line(&mut line);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if let Some(v) = lower.strip_prefix("idempotency-key:") {
                    key = v.trim().to_owned();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let mut all = seen.lock().unwrap();
            let status = if all.is_empty() { 500 } else { 200 };
            all.push((status, serde_json::from_slice(&body).unwrap(), key));
            drop(all);
            let _ = write!(conn, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[test]
fn a_watched_theft_alerts_within_a_block_retracts_on_reorg_and_never_twice() {
    let (node, miner, tmp) = mined_node();
    let d = tmp.path().join("idx");
    node.create_wallet("thief");
    node.create_wallet("exchange");
    // The theft: ten coins to a fresh address of the thief.
    let loot = node.new_address("thief", "bech32");
    let theft = node.wallet_rpc("w", "sendtoaddress", json!([loot, 10.0])).as_str().unwrap().to_owned();
    node.mine(1, &miner);
    let details = node.wallet_rpc("thief", "gettransaction", json!([theft]));
    let vout = details["details"][0]["vout"].as_u64().unwrap();
    // The exchange's deposit address, tagged.
    let deposit = node.new_address("exchange", "p2sh-segwit");
    let tags = tmp.path().join("exchange.csv");
    std::fs::write(&tags, format!("address,label,category,source\n{deposit},Exchange A,exchange,test\n")).unwrap();
    crate::common::ingest(&d, &node.blocks_dir(), &[]);
    sleuth(&d, ["-q", "tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();
    sleuth(&d, ["-q", "cluster", "build"]).run();

    let (hook, got) = receiver();
    let from = format!("{theft}:{vout}");
    let added: Value =
        sleuth(&d, ["--json", "watch", "add", "--from", &from, "--label", "Exchange A heist", "--webhook", &hook])
            .run_json();
    assert_eq!(added["watches"][0]["id"], 1);
    // Nothing has moved yet.
    let checked: Value = sleuth(&d, ["--json", "watch", "check"]).run_json();
    assert_eq!(checked["alerts"], json!([]), "{checked}");

    let (url, cookie) = (node.rpc_url(), node.cookie_file());
    let follow = ["--rpc-url", url.as_str(), "--rpc-cookie", cookie.to_str().unwrap()];
    let s = serve(&d, &follow);
    // The thief pays the exchange everything it stole, the fee taken from the payment.
    let pay =
        node.wallet_rpc("thief", "sendtoaddress", json!([deposit, 10.0, "", "", true])).as_str().unwrap().to_owned();
    let mined = Instant::now();
    let block = node.mine(1, &miner).remove(0);
    let took = until(&s, "/api/v1/alerts", "the alert", |v| v["alerts"].as_array().is_some_and(|a| !a.is_empty()));
    eprintln!("block to alert: {:?} (polled from the mine call: {:?})", took, mined.elapsed());
    let (_, alerts) = get(&s, "/api/v1/alerts");
    let alerts = alerts["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    // What the node says arrived at the exchange, in satoshis.
    let received = node.wallet_rpc("exchange", "gettransaction", json!([pay]))["amount"].as_f64().unwrap();
    let received_sat = (received * 1e8).round() as u64;
    assert_eq!(
        (a["kind"].as_str(), a["txid"].as_str(), a["address"].as_str(), a["category"].as_str()),
        (Some("service"), Some(pay.as_str()), Some(deposit.as_str()), Some("exchange"))
    );
    assert_eq!(a["amount_sat"], received_sat, "{a}");
    assert_eq!(a["policy"], "haircut");
    assert_eq!(a["height"], node.rpc("getblock", json!([block]))["height"]);
    assert_eq!(a["path_txids"], json!([theft, pay]), "from the theft to the payment");
    // The CLI reads the same log.
    let cli: Value = sleuth(&d, ["--json", "alerts"]).run_json();
    assert_eq!(cli["alerts"], json!(alerts));

    // The webhook: refused once, then sent again and taken, with the alert's number as key.
    let webhook_took = Instant::now();
    while got.lock().unwrap().iter().filter(|(st, ..)| *st == 200).count() < 1 {
        assert!(webhook_took.elapsed() < Duration::from_secs(30), "the webhook never took the alert");
        std::thread::sleep(Duration::from_millis(50));
    }
    {
        let got = got.lock().unwrap();
        assert_eq!(got[0].0, 500);
        assert_eq!((&got[0].1, &got[1].1), (a, a), "the same alert, retried");
        assert_eq!(got[1].2, a["seq"].to_string());
    }
    let (_, metrics) = crate::serve::http_text(&s, "/metrics");
    assert!(
        metrics.contains("sleuth_alerts_total 1") && metrics.contains("sleuth_webhook_failures_total 1"),
        "{metrics}"
    );

    // Another block, a node restart (a new cookie) and a server restart, while the payment
    // stands: each takes a new snapshot and checks the watches again, and nothing is raised
    // or sent twice.
    let tip = |v: &Value| v["tip_hash"].as_str().map(str::to_owned);
    let next = node.mine(1, &miner).remove(0);
    until(&s, "/api/v1/status", "the next block", |v| tip(v) == Some(next.clone()));
    let mut node = node;
    node.stop();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(get(&s, "/api/v1/status").0, 200, "serving while the node is away");
    node.restart();
    let after_restart = node.mine(1, &miner).remove(0);
    until(&s, "/api/v1/status", "a block after the node's restart", |v| tip(v) == Some(after_restart.clone()));
    drop(s);
    let s = serve(&d, &follow);
    std::thread::sleep(Duration::from_secs(2));
    let (_, again) = get(&s, "/api/v1/alerts");
    assert_eq!(again["alerts"], json!(alerts), "no alert twice");
    assert_eq!(got.lock().unwrap().len(), 2, "nothing is sent again after a restart");

    // A reorg: the payment's block (and the one above it) replaced by a longer branch
    // without it.
    node.rpc("invalidateblock", json!([block]));
    for _ in 0..3 {
        node.rpc("generateblock", json!([miner, []]));
    }
    until(&s, "/api/v1/alerts", "the retraction", |v| v["alerts"].as_array().is_some_and(|a| a.len() == 2));
    let (_, after) = get(&s, "/api/v1/alerts");
    let r = &after["alerts"][1];
    assert_eq!(
        (r["kind"].as_str(), r["retracts"].as_u64(), r["txid"].as_str()),
        (Some("retracted"), a["seq"].as_u64(), Some(pay.as_str()))
    );
    let webhook_took = Instant::now();
    while !got.lock().unwrap().iter().any(|(st, body, _)| *st == 200 && body["kind"] == "retracted") {
        assert!(webhook_took.elapsed() < Duration::from_secs(30), "the webhook never took the retraction");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Once retracted, the retraction is not raised again either.
    let checked: Value = sleuth(&d, ["--json", "watch", "check"]).run_json();
    assert_eq!(checked["alerts"], json!([]), "{checked}");
}

/// Bad watches are refused with what is wrong, and nothing is written.
#[test]
fn bad_watches_are_refused() {
    let (_node, _, tmp) = mined_node();
    let d = tmp.path().join("idx");
    let zero = "00".repeat(32);
    for (args, says) in [
        (vec!["--from", zero.as_str(), "--label", "x"], "is not in the index"),
        (vec!["--from", "incident:none", "--label", "x"], "no incident"),
        (vec!["--from", "notanaddress", "--label", "x"], "notanaddress"),
        (vec!["--from", zero.as_str(), "--label", "x", "--webhook", "https://x/"], "relay through an http endpoint"),
        (vec!["--from", zero.as_str(), "--label", " "], "needs a --label"),
    ] {
        let mut all = vec!["watch", "add"];
        all.extend(args.iter().copied());
        let (code, err) = sleuth(&d, all).run_fail();
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let listed: Value = sleuth(&d, ["--json", "watch", "list"]).run_json();
    assert_eq!(listed["watches"], json!([]));
}
