//! `sleuth serve`: every endpoint answers what the CLI's `--json` answers from the same data
//! dir; bad and hostile input gets a JSON error with a stable code; tokens, rate limits and
//! the loopback rule hold; a new tag import reaches the answers without a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sleuth_testkit::Sleuth;

use crate::common::{rows, sleuth, BIN};

/// A running `sleuth serve`, stopped when dropped.
pub(crate) struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn serve(d: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(d)
        .args(["-q", "serve", "--listen", "127.0.0.1:0", "--refresh", "0.2"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 request; returns the status and the body. Written out by hand so that the
/// test also sends what no client library would (a body larger than the limit, bad JSON).
fn http(s: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", s.addr);
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    if !body.is_empty() {
        req += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    }
    req += "\r\n";
    c.write_all(req.as_bytes()).unwrap();
    let _ = c.write_all(body);
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text.split(' ').nth(1).unwrap_or_else(|| panic!("no answer: {text}")).parse().unwrap();
    let start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, mut payload) = (text[..start].to_ascii_lowercase(), raw[start..].to_vec());
    if head.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    (status, payload)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

pub(crate) fn get(s: &Server, path: &str) -> (u16, Value) {
    let (code, b) = http(s, "GET", path, &[], b"");
    (code, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// A GET answered with text (`/metrics`).
pub(crate) fn http_text(s: &Server, path: &str) -> (u16, String) {
    let (code, b) = http(s, "GET", path, &[], b"");
    (code, String::from_utf8_lossy(&b).into_owned())
}

pub(crate) fn post(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (code, b) = http(s, "POST", path, &[], body.to_string().as_bytes());
    (code, serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&b))))
}

fn cli(d: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    sleuth(d, all).run_json()
}

/// `v` without the fields that hold a time measured per call.
fn timeless(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("micros");
        o.remove("seconds");
    }
    v
}

#[test]
fn every_endpoint_answers_as_the_cli_and_bad_input_gets_a_coded_error() {
    let tmp = tempfile::tempdir().unwrap();
    let keep = tmp.path().join("demo");
    Sleuth::new(BIN, ["-q", "demo", "--transactions", "30000", "--seed", "21", "--keep", keep.to_str().unwrap()]).run();
    let d = keep.join("index");
    let s = serve(&d, &[]);
    let heists = std::fs::read_to_string(keep.join("sim/truth/heists.csv")).unwrap();
    let heist = rows(&heists)[0]["txid"].to_owned();

    assert_eq!(get(&s, "/api/v1/status"), (200, cli(&d, &["status"])));
    assert_eq!(get(&s, "/api/v1/blocks/0"), (200, cli(&d, &["block", "0"])));
    let drain = cli(&d, &["tx", &heist]);
    assert_eq!(get(&s, &format!("/api/v1/txs/{heist}")), (200, drain.clone()));
    let (a, b) = (drain["outputs"][0]["address"].as_str().unwrap(), drain["outputs"][1]["address"].as_str().unwrap());
    assert_eq!(get(&s, &format!("/api/v1/blocks/{}", drain["block_hash"].as_str().unwrap())).0, 200);
    assert_eq!(get(&s, &format!("/api/v1/addresses/{a}")), (200, cli(&d, &["address", a])));
    assert_eq!(get(&s, &format!("/api/v1/addresses/{a}/cluster")), (200, cli(&d, &["cluster", a])));
    assert_eq!(get(&s, &format!("/api/v1/why/{a}/{b}")), (200, cli(&d, &["cluster", "why", a, b])));
    let (code, t) = post(&s, "/api/v1/trace", &json!({"from": [heist], "policy": "all", "min_sat": 1}));
    let want = cli(&d, &["trace", "--from", &heist, "--policy", "all", "--min-sat", "1", "--max-endpoints", "1000"]);
    assert_eq!((code, timeless(t)), (200, timeless(want)));
    let (code, r) = post(&s, "/api/v1/screen", &json!({"subject": a}));
    assert_eq!((code, timeless(r)), (200, timeless(cli(&d, &["screen", a]))));
    let (code, batch) = post(&s, "/api/v1/screen/batch", &json!({"subjects": [a, b, "not-an-address"], "hops": 2}));
    assert_eq!(code, 200);
    let results = batch["results"].as_array().unwrap();
    assert_eq!(timeless(results[1]["report"].clone()), timeless(cli(&d, &["screen", b, "--hops", "2"])));
    assert_eq!(results[2]["error"]["code"], "bad_request", "{batch}");
    assert_eq!(get(&s, "/api/v1/incidents"), (200, cli(&d, &["incident", "list"])));
    let first = cli(&d, &["incident", "list"])["incidents"][0]["name"].as_str().unwrap().to_owned();
    assert_eq!(get(&s, "/api/v1/incidents/1").0, 200);
    let (code, rep) = post(&s, "/api/v1/reports", &json!({"incident": first}));
    let want = cli(&d, &["report", &first, "--format", "json"]);
    assert_eq!(code, 200);
    assert_eq!(rep["by_policy"], want["by_policy"]);
    assert_eq!(rep["stolen_sat"], want["stolen_sat"]);

    // The OpenAPI document names every route the server has.
    let (code, doc) = get(&s, "/api/v1/openapi.json");
    assert_eq!(code, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/status",
        "/api/v1/txs/{txid}",
        "/api/v1/trace",
        "/api/v1/screen",
        "/api/v1/screen/batch",
        "/api/v1/reports",
        "/metrics",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} in the OpenAPI document");
    }

    // Bad and hostile input: a JSON error with a stable code, and the server keeps serving.
    let zero = "00".repeat(32);
    let code_of = |r: (u16, Value)| (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_owned());
    assert_eq!(code_of(get(&s, &format!("/api/v1/txs/{zero}"))), (404, "not_found".into()));
    assert_eq!(code_of(get(&s, "/api/v1/txs/xyz")), (400, "bad_request".into()));
    assert_eq!(code_of(get(&s, "/api/v1/addresses/1111")), (400, "bad_request".into()));
    assert_eq!(code_of(get(&s, "/api/v1/incidents/nope")), (404, "not_found".into()));
    assert_eq!(code_of(get(&s, "/api/v1/nope")), (404, "not_found".into()));
    let (code, b) = http(&s, "POST", "/api/v1/screen", &[], b"{\"subject\": ");
    assert_eq!(
        (code, serde_json::from_slice::<Value>(&b).unwrap()["error"]["code"].clone()),
        (400, json!("bad_request"))
    );
    let huge = format!("{{\"subjects\": [\"{}\"]}}", "a".repeat(2 << 20));
    let (code, b) = http(&s, "POST", "/api/v1/screen/batch", &[], huge.as_bytes());
    assert_eq!(
        (code, serde_json::from_slice::<Value>(&b).unwrap()["error"]["code"].clone()),
        (413, json!("payload_too_large"))
    );
    let many: Vec<String> = (0..1_001).map(|_| a.to_owned()).collect();
    assert_eq!(code_of(post(&s, "/api/v1/screen/batch", &json!({ "subjects": many }))), (400, "bad_request".into()));
    assert_eq!(code_of(post(&s, "/api/v1/screen", &json!({"subject": a, "hops": 11}))), (400, "bad_request".into()));
    assert_eq!(code_of(post(&s, "/api/v1/screen", &json!({"subject": a, "extra": 1}))), (400, "bad_request".into()));
    assert_eq!(code_of(post(&s, "/api/v1/trace", &json!({"from": [], "policy": "all"}))), (400, "bad_request".into()));
    assert_eq!(
        code_of(post(&s, "/api/v1/trace", &json!({"from": [heist], "policy": "magic"}))),
        (400, "bad_request".into())
    );
    assert_eq!(get(&s, "/api/v1/status").0, 200, "still serving");
    let (code, m) = http(&s, "GET", "/metrics", &[], b"");
    let m = String::from_utf8(m).unwrap();
    assert_eq!(code, 200);
    assert!(m.contains("sleuth_requests_total{route=\"/api/v1/screen\",status=\"400\"}"), "{m}");
    assert!(m.contains(&format!("sleuth_tip_height {}", cli(&d, &["status"])["height"])), "{m}");

    // A tag imported now reaches the answers without a restart.
    let tags = tmp.path().join("late.csv");
    std::fs::write(&tags, format!("address,label,category,source\n{a},Late Label,exchange,test\n")).unwrap();
    sleuth(&d, ["-q", "tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();
    let started = Instant::now();
    loop {
        let (_, v) = get(&s, &format!("/api/v1/addresses/{a}"));
        if v.to_string().contains("Late Label") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the new tag never reached the server: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tokens_rate_limits_and_the_loopback_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let keep = tmp.path().join("demo");
    Sleuth::new(BIN, ["-q", "demo", "--transactions", "3000", "--seed", "5", "--keep", keep.to_str().unwrap()]).run();
    let d = keep.join("index");
    let tokens = tmp.path().join("tokens.txt");
    std::fs::write(&tokens, "# the compliance desk\nc0mpliance-desk-token-0001\n").unwrap();
    let s = serve(&d, &["--token-file", tokens.to_str().unwrap(), "--rate", "2"]);
    let with = |t: &str| vec![("Authorization", format!("Bearer {t}"))];
    let call = |h: Vec<(&str, String)>| {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, b) = http(&s, "GET", "/api/v1/status", &h, b"");
        (code, serde_json::from_slice::<Value>(&b).unwrap())
    };
    let (code, v) = call(vec![]);
    assert_eq!((code, v["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (code, v) = call(with("c0mpliance-desk-token-0002"));
    assert_eq!((code, v["error"]["code"].as_str()), (401, Some("unauthorized")));
    // A burst of twice the rate, then 429 until the bucket refills.
    let codes: Vec<u16> = (0..6).map(|_| call(with("c0mpliance-desk-token-0001")).0).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 4, "{codes:?}");
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(call(with("c0mpliance-desk-token-0001")).0, 200, "the bucket refilled");
    drop(s);

    // Anything but loopback needs tokens: refused at the start.
    let (code, err) = sleuth(&d, ["serve", "--listen", "0.0.0.0:0"]).run_fail();
    assert_eq!(code, 1);
    assert!(err.contains("without tokens") && err.contains("--token-file"), "{err}");
    // A token file with a short token is refused, naming the line and not the token.
    std::fs::write(&tokens, "tiny\n").unwrap();
    let (_, err) = sleuth(&d, ["serve", "--token-file", tokens.to_str().unwrap()]).run_fail();
    assert!(err.contains("line 1") && !err.contains("tiny"), "{err}");
}

/// Polls `path` until `done` holds for its JSON answer; returns how long it took.
pub(crate) fn until(s: &Server, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let (_, v) = get(s, path);
        if done(&v) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{what}: still {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `litecoind -regtest` with 105 blocks mined to a wallet address, and a temporary folder
/// whose `idx` holds its index.
pub(crate) fn mined_node() -> (sleuth_testkit::RegtestNode, String, tempfile::TempDir) {
    let node = sleuth_testkit::RegtestNode::start();
    node.create_wallet("w");
    let addr = node.new_address("w", "bech32");
    node.mine(105, &addr);
    let tmp = tempfile::tempdir().unwrap();
    crate::common::ingest(&tmp.path().join("idx"), &node.blocks_dir(), &[]);
    (node, addr, tmp)
}

/// `serve --follow-blocks-dir` on a real `litecoind -regtest`: blocks the node mines while the
/// server runs are answered within seconds, with the clustering extended, and a reorg the
/// node makes (`invalidateblock`, a longer branch) is followed.
#[test]
fn the_server_follows_a_real_nodes_blocks_and_reorgs() {
    let (node, addr, tmp) = mined_node();
    let d = tmp.path().join("idx");
    sleuth(&d, ["-q", "cluster", "build"]).run();
    let s = serve(&d, &["--follow-blocks-dir", node.blocks_dir().to_str().unwrap()]);
    let tip = |v: &Value| v["tip_hash"].as_str().map(str::to_owned);
    let best = || node.rpc("getbestblockhash", json!([])).as_str().unwrap().to_owned();
    assert_eq!(tip(&get(&s, "/api/v1/status").1), Some(best()));

    let mut took = Vec::new();
    for _ in 0..3 {
        let to = node.new_address("w", "p2sh-segwit");
        let txid = node.wallet_rpc("w", "sendtoaddress", json!([to, "1.5"])).as_str().unwrap().to_owned();
        node.mine(1, &addr);
        let want = best();
        took.push(until(&s, "/api/v1/status", "the new block", |v| tip(v) == Some(want.clone())));
        let (code, t) = get(&s, &format!("/api/v1/txs/{txid}"));
        assert_eq!(code, 200, "{t}");
        // The tip is served first, then again with the clustering extended to it.
        until(&s, "/api/v1/status", "the clustering at the tip", |v| {
            v["clustering"]["state"] == "current" && v["clustering"]["upto_tx"] == v["transactions"]
        });
    }
    eprintln!("block to API: {took:?}");

    // A reorg: the tip replaced by a longer branch without its transaction.
    let old_tip = best();
    node.rpc("invalidateblock", json!([old_tip]));
    for _ in 0..2 {
        node.rpc("generateblock", json!([addr, []]));
    }
    let want = best();
    assert_ne!(want, old_tip);
    until(&s, "/api/v1/status", "the reorg", |v| tip(v) == Some(want.clone()));
    let (code, _) = get(&s, &format!("/api/v1/blocks/{old_tip}"));
    assert_eq!(code, 404, "the replaced block is gone");
    let (_, st) = get(&s, "/api/v1/status");
    assert_eq!(st["clustering"]["state"], "current", "{st}");
}

/// A server that reads the files (no --follow-blocks-dir) lets go of its snapshot when an
/// ingest in another process must unwind a reorg, answers 503 `busy` meanwhile, and serves
/// the new tip after: the ingest does not wait for the server to stop.
#[test]
fn a_reorg_by_another_process_does_not_wait_for_the_server() {
    let (node, _, tmp) = mined_node();
    let d = tmp.path().join("idx");
    let s = serve(&d, &[]);
    let tip = |v: &Value| v["tip_hash"].as_str().map(str::to_owned);
    let old_tip = node.rpc("getbestblockhash", json!([])).as_str().unwrap().to_owned();
    assert_eq!(tip(&get(&s, "/api/v1/status").1), Some(old_tip.clone()));
    node.rpc("invalidateblock", json!([old_tip]));
    // Another coinbase address: the same block again would be the invalidated one.
    let other = node.new_address("w", "legacy");
    for _ in 0..2 {
        node.rpc("generateblock", json!([other, []]));
    }
    let want = node.rpc("getbestblockhash", json!([])).as_str().unwrap().to_owned();
    let mut ingest = Command::new(BIN)
        .arg("--data-dir")
        .arg(&d)
        .args(["-q", "ingest", "--blocks-dir", node.blocks_dir().to_str().unwrap()])
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(st) = ingest.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = ingest.kill();
            panic!("the ingest still waits for the server's snapshot after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    eprintln!("reorg ingest beside a server: {:?}", started.elapsed());
    until(&s, "/api/v1/status", "the new branch", |v| tip(v) == Some(want.clone()));
}
