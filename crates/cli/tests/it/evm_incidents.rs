//! Incidents on an EVM data dir (a real Anvil node): imported from the Bitcoin side's CSV,
//! all or none, with actors matched against the GraphSense actor pack; every drain of an
//! actor traced at once, each drain tainting the thief when it happened; reports per actor
//! and for all as JSON that verifies, CSV that adds up and HTML that Chromium renders; and
//! an incident watched (`watch add --from incident:NAME`).
//!
//! The node charges no gas (base fee 0, gas price 0), so every figure is exact and worked
//! out by hand below from the published definitions of the policies.

use serde_json::{json, Value};
use sleuth_testkit::anvil::Anvil;
use sleuth_testkit::shared_data;

use crate::common::sleuth;
use crate::evm::{ingest, ETH};

/// Sends `value` wei from `from` to `to` at gas price 0 and returns the receipt once mined.
fn send_free(node: &Anvil, from: &str, to: &str, value: u128) -> Value {
    let tx = json!({ "from": from, "to": to, "value": format!("0x{value:x}"), "gasPrice": "0x0" });
    let hash = node.rpc("eth_sendTransaction", json!([tx]));
    let receipt = node.receipt(hash.as_str().unwrap());
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    receipt
}

fn hash(receipt: &Value) -> String {
    receipt["transactionHash"].as_str().unwrap().to_string()
}

fn endpoint<'a>(trace: &'a Value, address: &str) -> &'a Value {
    trace["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"].as_str().unwrap().eq_ignore_ascii_case(address))
        .unwrap_or_else(|| panic!("no endpoint at {address}: {trace}"))
}

#[test]
fn incidents_imported_from_csv_are_traced_together_reported_per_actor_and_watched() {
    let node = Anvil::start_with(&["--block-base-fee-per-gas", "0"]);
    let acc = node.accounts();
    let (exchange_a, exchange_c, clean_user) = (&acc[0], &acc[1], &acc[5]);
    let thief = "0x00000000000000000000000000000000000d0d01";
    let deposit = "0x00000000000000000000000000000000000d0d03";
    node.rpc("anvil_impersonateAccount", json!([thief]));
    // The thief holds 10 clean ETH, is paid the first drain (10), pays the deposit 10, is
    // paid the second drain (20), pays the deposit 20, and keeps 10.
    send_free(&node, clean_user, thief, 10 * ETH);
    let drain_a = hash(&send_free(&node, exchange_a, thief, 10 * ETH));
    let pay_1 = hash(&send_free(&node, thief, deposit, 10 * ETH));
    let drain_c = hash(&send_free(&node, exchange_c, thief, 20 * ETH));
    let pay_2 = hash(&send_free(&node, thief, deposit, 20 * ETH));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("eth");
    ingest(&d, &node);
    let tags = tmp.path().join("exchanges.csv");
    std::fs::write(&tags, format!("address,label,category,source\n{deposit},Exchange B,exchange,test\n")).unwrap();
    sleuth(&d, ["tags", "import", tags.to_str().unwrap(), "--format", "csv"]).run();

    // A CSV with one bad row adds nothing, and the error names the file and line.
    let header = "name,txid,vout,victim,actor,date,source";
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{header}\nExchange A heist,{drain_a},,Exchange A,Lazarus Group,2026-11-30,\nExchange C heist,{drain_c},0,Exchange C,Lazarus Group,2026-12-01,\n"),
    )
    .unwrap();
    let (_, err) = sleuth(&d, ["incident", "import", bad.to_str().unwrap()]).run_fail();
    assert!(err.contains("bad.csv:3") && err.contains("leave vout empty"), "{err}");
    let not_indexed = tmp.path().join("not-indexed.csv");
    let nowhere = format!("0x{}", "ab".repeat(32));
    std::fs::write(
        &not_indexed,
        format!("{header}\nExchange A heist,{drain_a},,Exchange A,,2026-11-30,\nX,{nowhere},,X,,2026-12-01,\n"),
    )
    .unwrap();
    let (_, err) = sleuth(&d, ["incident", "import", not_indexed.to_str().unwrap()]).run_fail();
    assert!(err.contains("not in the index"), "{err}");
    let listed: Value = sleuth(&d, ["incident", "list", "--json"]).run_json();
    assert_eq!(listed["incidents"], json!([]), "all or none");

    let good = tmp.path().join("incidents.csv");
    std::fs::write(
        &good,
        format!("{header}\nExchange A heist,{drain_a},,Exchange A,Lazarus Group,2026-11-30,https://example.org/a\nExchange C heist,{drain_c},,Exchange C,Lazarus Group,2026-12-01,\n"),
    )
    .unwrap();
    let pack = shared_data("tagpacks/actors/graphsense.actorpack.yaml");
    let added: Value =
        sleuth(&d, ["incident", "import", good.to_str().unwrap(), "--actors", pack.to_str().unwrap(), "--json"])
            .run_json();
    let incidents = added["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0]["txs"], json!([drain_a]));
    assert_eq!(incidents[1]["actor_id"], "lazarusgroup", "matched against the GraphSense actor pack");
    assert_eq!(incidents[0]["source"], "https://example.org/a");

    // One incident as a trace's start: the first drain alone. Under haircut the thief's
    // pool is 10 clean + 10 stolen when it pays 10 (5 stolen), then 5 of 10 left, plus 20
    // clean from the second drain (not traced here): 20 × 5/30 of the second payment.
    let one: Value =
        sleuth(&d, ["trace", "--from", "incident:Exchange A heist", "--policy", "haircut", "--json"]).run_json();
    assert_eq!(one["source_base"], (10 * ETH).to_string());
    assert_eq!(one["sources"][0]["tx"], drain_a);
    let only_a = 5 * ETH + 20 * ETH * 5 / 30;
    assert_eq!(endpoint(&one, deposit)["amount_base"], only_a.to_string());
    let (_, err) = sleuth(&d, ["trace", "--from", "incident:nope"]).run_fail();
    assert!(err.contains("no incident named or numbered \"nope\""), "{err}");

    // Every drain of the actor at once, each tainting the thief when it happened.
    let rep_path = tmp.path().join("lazarus.json");
    sleuth(&d, ["report", "--actor", "Lazarus Group", "-o", rep_path.to_str().unwrap()]).run();
    let rep: Value = serde_json::from_str(&std::fs::read_to_string(&rep_path).unwrap()).unwrap();
    assert_eq!(rep["format"], "sleuth-evm-report/2");
    assert_eq!(rep["incidents"].as_array().unwrap().len(), 2);
    assert_eq!(rep["assets"], json!([{ "asset": "ETH", "symbol": "ETH", "decimals": 18 }]));
    let trace = &rep["traces"][0];
    assert_eq!(trace["source_base"], (30 * ETH).to_string());
    let at_deposit = &endpoint(trace, deposit)["amount_base"];
    // FIFO: the first payment spends the 10 clean ETH that came first, the second the rest
    // of the first drain and half the second. LIFO: each payment spends the drain just
    // before it. Haircut: 10 × 10/20, then 20 × 25/30 rounded down to the wei. Poison: both.
    let haircut = 5 * ETH + 20 * ETH * 25 / 30;
    assert_eq!(at_deposit["fifo"], (20 * ETH).to_string());
    assert_eq!(at_deposit["lifo"], (30 * ETH).to_string());
    assert_eq!(at_deposit["haircut"], haircut.to_string());
    assert_eq!(at_deposit["poison"], (30 * ETH).to_string());
    assert_eq!(endpoint(trace, deposit)["path_txids"], json!([drain_a, pay_1]), "the first arrival's path");
    let at_thief = &endpoint(trace, thief)["amount_base"];
    assert_eq!(at_thief["haircut"], (30 * ETH - haircut).to_string());
    assert_eq!(at_thief["fifo"], (10 * ETH).to_string());
    for p in ["haircut", "fifo", "lifo"] {
        let r = &trace["reconciliation"][p];
        let sum: u128 = ["to_services_base", "unspent_base", "fees_base", "mixers_base", "limited_base"]
            .iter()
            .map(|k| r[k].as_str().unwrap().parse::<u128>().unwrap())
            .sum();
        assert_eq!(sum, 30 * ETH, "{p}: {r}");
    }
    let v: Value = sleuth(&d, ["report", "verify", rep_path.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(v["matches"], true, "{v}");
    let (_, err) = sleuth(&d, ["report", "--actor", "Nobody"]).run_fail();
    assert!(err.contains("no incident of actor \"Nobody\""), "{err}");
    // The API gives the same report and incidents, and names what it cannot find.
    {
        use crate::serve::{get, post, serve};
        let server = serve(&d, &[]);
        let (code, api) = post(&server, "/api/v1/reports", &json!({ "actor": "Lazarus Group" }));
        assert_eq!(code, 200, "{api}");
        assert_eq!(api, rep, "the CLI's report, figure by figure");
        let (code, e) = post(&server, "/api/v1/reports", &json!({ "actor": "Nobody" }));
        assert_eq!((code, e["error"]["code"].as_str()), (404, Some("not_found")));
        let (code, e) = post(&server, "/api/v1/reports", &json!({ "actor": "Lazarus Group", "all": true }));
        assert_eq!((code, e["error"]["code"].as_str()), (400, Some("bad_request")));
        let (code, i) = get(&server, "/api/v1/incidents/2");
        assert_eq!((code, &i["name"]), (200, &json!("Exchange C heist")));
        let (code, _) = get(&server, "/api/v1/incidents/9");
        assert_eq!(code, 404);
        let (_, doc) = get(&server, "/api/v1/openapi.json");
        for route in ["/api/v1/reports", "/api/v1/incidents/{incident}", "/api/v1/watches", "/api/v1/alerts"] {
            assert!(doc["paths"][route].is_object(), "{route} in the OpenAPI document");
        }
    }

    // USD: each incident's ether at the close of its day, each arrival at a service at the
    // close of its block's day (every day after the drains costs $3,000 in this table).
    let prices = tmp.path().join("eth_usd.csv");
    let mut table = String::from("date,close\n2026-11-30,2500.00\n2026-12-01,2600.00\n");
    for year in 2026..=2040 {
        for month in 1..=12u32 {
            let days = match month {
                2 if year % 4 == 0 => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            for day in 1..=days {
                if (year, month) > (2026, 12) || (year, month) == (2026, 12) && day >= 2 {
                    table += &format!("{year}-{month:02}-{day:02},3000.00\n");
                }
            }
        }
    }
    std::fs::write(&prices, table).unwrap();
    let priced_path = tmp.path().join("priced.json");
    sleuth(&d, ["report", "--all", "--prices", prices.to_str().unwrap(), "-o", priced_path.to_str().unwrap()]).run();
    let priced: Value = serde_json::from_str(&std::fs::read_to_string(&priced_path).unwrap()).unwrap();
    let usd = &priced["usd"];
    assert_eq!(usd["stolen_usd"], json!(10.0 * 2500.0 + 20.0 * 2600.0));
    // 21.666666666666666666 ETH × $3,000 = $64,999.999999999999998, rounded to the cent.
    assert_eq!(usd["to_services_usd"]["haircut"], json!(65_000.0));
    assert_eq!(usd["to_services_usd"]["fifo"], json!(60_000.0));
    assert_eq!(usd["to_services_usd"]["lifo"], json!(90_000.0));
    let v: Value = sleuth(&d, ["report", "verify", priced_path.to_str().unwrap(), "--json"]).run_json();
    assert_eq!(v["matches"], true, "{v}");
    let shared_prices = shared_data("prices/eth_usd_daily.csv");
    let (_, err) = sleuth(&d, ["report", "--all", "--prices", shared_prices.to_str().unwrap()]).run_fail();
    assert!(err.contains("no close for 2026-11-30"), "a day the table lacks is named, never made up: {err}");

    // CSV: per policy, the ledger rows add up to what the drains moved.
    let csv = sleuth(&d, ["report", "--all", "--format", "csv"]).run();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "asset,policy,kind,address,entity,category,stop_reason,amount_base,first_block,hops,path_txids"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let ledger: u128 =
        rows.iter().filter(|r| r[1] == "haircut" && r[2] == "ledger").map(|r| r[7].parse::<u128>().unwrap()).sum();
    assert_eq!(ledger, 30 * ETH);
    let row = rows
        .iter()
        .find(|r| r[1] == "haircut" && r[2] == "endpoint" && r[3].eq_ignore_ascii_case(deposit))
        .expect("the deposit's row");
    assert_eq!((row[4], row[6], row[7]), ("Exchange B", "service", haircut.to_string().as_str()));
    assert_eq!(row[10], format!("{drain_a} {pay_1}"));

    // HTML: one page Chromium renders without a fetch, with every figure of the JSON.
    let html = tmp.path().join("all.html");
    sleuth(
        &d,
        ["report", "--all", "--prices", prices.to_str().unwrap(), "--format", "html", "-o", html.to_str().unwrap()],
    )
    .run();
    let (dom, log) = crate::report::chromium_dump(&html);
    assert!(!log.contains("Refused to") && !log.contains("net::ERR"), "console or network: {log}");
    for want in ["Exchange A heist", "Exchange C heist", "Exchange B", "Lazarus Group", &drain_c, &pay_1] {
        assert!(dom.contains(want), "{want} in the page");
    }
    // 21.666… ETH under haircut, 20 under FIFO, as people read them.
    assert!(dom.contains("21.666666666666666666 ETH") && dom.contains("20 ETH"), "amounts in ETH");
    assert!(dom.contains("$77000.00") && dom.contains("$65000.00"), "USD values");

    // The incident watched: the deposit it reached is a service alert, raised once.
    let w: Value =
        sleuth(&d, ["--json", "watch", "add", "--from", "incident:Exchange A heist", "--label", "A"]).run_json();
    assert_eq!((&w["watches"][0]["asset"], &w["watches"][0]["policy"]), (&json!("ETH"), &json!("haircut")));
    let alerts: Value = sleuth(&d, ["--json", "watch", "check"]).run_json();
    let alerts = alerts["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["kind"], "service");
    assert_eq!(alerts[0]["entity"], "Exchange B");
    assert_eq!(alerts[0]["amount_base"], only_a.to_string());
    assert_eq!(alerts[0]["txid"], pay_1);
    let again: Value = sleuth(&d, ["--json", "watch", "check"]).run_json();
    assert_eq!(again["alerts"], json!([]), "never twice");
    let _ = pay_2;
}
