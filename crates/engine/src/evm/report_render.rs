//! An EVM report as one self-contained HTML page (the Bitcoin report's head: no scripts, no
//! fetches) and as CSV. Both are drawn from the report's JSON traces, the figures
//! `report verify` checks, so what a reader sees is what verifies.

use std::fmt::Write as _;

use serde_json::Value;
use sleuth_evm::amount::{format_units, BaseUnits};

use super::{EvmAsset, EvmReport};
use crate::report_render::{csv_field, esc, group_digits, page_head};

/// The policies of a trace, in column order.
fn policies(trace: &Value) -> Vec<String> {
    trace["policies"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
}

/// A per-policy figure: `{policy: value}` when several policies ran, the bare value for one.
fn of<'a>(v: &'a Value, policy: &str) -> &'a Value {
    match v {
        Value::Object(m) if m.contains_key(policy) => &m[policy],
        other => other,
    }
}

/// A base-unit amount as written in the JSON.
fn base(v: &Value) -> String {
    v.as_str().unwrap_or("0").to_owned()
}

/// A base-unit amount for people: in the asset's units with its symbol ("12.5 ETH").
fn units(v: &Value, asset: &EvmAsset) -> String {
    let amount: BaseUnits = serde_json::from_value(v.clone()).unwrap_or_default();
    let shown = match asset.decimals {
        Some(d) => group_digits(&format_units(amount.0, d)),
        None => format!("{} base units", group_digits(&amount.to_string())),
    };
    format!("{shown} {}", asset.symbol.as_deref().unwrap_or(""))
}

fn path(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(|t| format!("<code>{}</code>", esc(t))).collect::<Vec<_>>())
        .unwrap_or_default()
        .join(" → ")
}

/// The buckets of a trace's reconciliation, as the ledger rows name them.
const BUCKETS: [(&str, &str); 5] = [
    ("to_services_base", "reached services (freezable)"),
    ("unspent_base", "still in accounts it reached (seizable)"),
    ("mixers_base", "entered mixers (dark)"),
    ("fees_base", "paid as gas (burnt or tipped)"),
    ("limited_base", "beyond the hop limit"),
];

/// One asset's section: its ledger per policy, its endpoints, its mixer deposits.
fn asset_section(asset: &EvmAsset, trace: &Value) -> String {
    let ps = policies(trace);
    let heads: String = ps.iter().map(|p| format!("<th>{}</th>", esc(p))).collect();
    let cell = |v: &Value| format!("<td class=\"n\">{}</td>", esc(&units(v, asset)));
    let mut ledger = String::new();
    for (key, name) in BUCKETS {
        let cells: String = ps.iter().map(|p| cell(&of(&trace["reconciliation"], p)[key])).collect();
        let _ = write!(ledger, "<tr><th>{name}</th>{cells}</tr>");
    }
    let traced: String = ps.iter().map(|p| cell(of(&trace["traced_base"], p))).collect();
    let _ = write!(ledger, "<tr><th>traced in all</th>{traced}</tr>");
    let mut endpoints = String::new();
    for e in trace["endpoints"].as_array().into_iter().flatten() {
        let cells: String = ps.iter().map(|p| cell(of(&e["amount_base"], p))).collect();
        let who = e["entity"].as_str().or(e["category"].as_str()).unwrap_or("–");
        let sweeps =
            e["sweeps_to"].as_str().map(|h| format!("<br>sweeps to <code>{}</code>", esc(h))).unwrap_or_default();
        let _ = write!(
            endpoints,
            "<tr><td><code>{}</code>{sweeps}</td><td>{}</td><td>{}</td>{cells}<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"path\">{}</td></tr>",
            esc(e["address"].as_str().unwrap_or("")),
            esc(who),
            esc(e["stop_reason"].as_str().unwrap_or("")),
            e["height"],
            e["hops"],
            path(&e["path_txids"]),
        );
    }
    let mut mixers = String::new();
    for d in trace["mixer_deposits"].as_array().into_iter().flatten() {
        let candidates: String = d["candidates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "<li>{} <code>{}</code> → <code>{}</code>: {}</li>",
                    esc(c["level"].as_str().unwrap_or("")),
                    esc(c["tx"].as_str().unwrap_or("")),
                    esc(c["to"].as_str().unwrap_or("")),
                    esc(&c["evidence"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
                        .unwrap_or_default())
                )
            })
            .collect();
        let _ = write!(
            mixers,
            "<li>{} into <code>{}</code> ({}) in <code>{}</code>; candidate withdrawals, never merged:<ul>{candidates}</ul></li>",
            esc(&units(&d["amount_base"], asset)),
            esc(d["mixer"].as_str().unwrap_or("")),
            esc(d["recognised_by"].as_str().unwrap_or("")),
            esc(d["tx"].as_str().unwrap_or("")),
        );
    }
    if mixers.is_empty() {
        mixers = "<li>none</li>".into();
    }
    format!(
        r#"<h2>{name}</h2>
<p>From {sources} source transfer(s) of the drains; {reached} accounts reached.</p>
<h3>Conservation ledger (per policy)</h3>
<table><tr><th></th>{heads}</tr>{ledger}</table>
<p class="note">Each column adds up to what the drains moved, to the base unit, except poison, which taints every payment out of a tainted account in full and so reaches more.</p>
<h3>Where it ended</h3>
<table><tr><th>account</th><th>entity</th><th>stop</th>{heads}<th>first arrival (block)</th><th>hops</th><th>path</th></tr>{endpoints}</table>
<h3>Mixer deposits (dark)</h3>
<ul>{mixers}</ul>
"#,
        name = esc(&format!(
            "{} ({})",
            asset.symbol.as_deref().unwrap_or("token"),
            if asset.asset == "ETH" { "ether" } else { asset.asset.as_str() }
        )),
        sources = trace["sources"].as_array().map_or(0, Vec::len),
        reached = trace["accounts_reached"],
    )
}

/// The report as one HTML page.
pub fn evm_report_html(r: &EvmReport) -> String {
    let title = r.incidents.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ");
    let incidents: String = r
        .incidents
        .iter()
        .map(|i| {
            format!(
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.name),
                esc(&i.victim),
                esc(i.actor.as_deref().unwrap_or("–")),
                i.date,
                i.txs.iter().map(|t| format!("<code>{}</code>", esc(t))).collect::<Vec<_>>().join("<br>")
            )
        })
        .collect();
    let sections: String = r.assets.iter().zip(&r.traces).map(|(a, t)| asset_section(a, t)).collect();
    let usd = match &r.usd {
        None => "<p class=\"note\">No price table given: amounts only.</p>".to_owned(),
        Some(u) => {
            let per: String = u
                .to_services_usd
                .iter()
                .map(|(p, v)| format!("<tr><th>{}</th><td class=\"n\">${v:.2}</td></tr>", esc(p)))
                .collect();
            format!(
                "<p>Ether stolen, at the close of each incident's day: <b>${:.2}</b>.</p>\n<table><tr><th>policy</th><th>ether reaching services, USD on arrival</th></tr>{per}</table>\n<p class=\"note\">Price table sha256 <code>{}</code>; tokens are not valued.</p>",
                u.stolen_usd,
                esc(&u.prices_sha256)
            )
        }
    };
    format!(
        r#"{head}<h1>Evidence report: {title}</h1>
<h2>Incidents</h2>
<table><tr><th>name</th><th>victim</th><th>actor</th><th>date</th><th>drain transactions</th></tr>{incidents}</table>
<h2>In dollars</h2>
{usd}
{sections}
<h2>Computed from</h2>
<ul class="note"><li>Sleuth {version}, chain {chain} (id {chain_id}), tip block {tip} (<code>{tip_hash}</code>)</li>
<li>trace limit: {hops} hops; every asset apart</li></ul>
<p class="note">Re-verify with <code>sleuth report verify</code> on the JSON form of this report.</p>
</body></html>
"#,
        head = page_head(&title),
        title = esc(&title),
        version = esc(&r.sleuth_version),
        chain = esc(&r.chain),
        chain_id = r.chain_id,
        tip = r.tip_height,
        tip_hash = esc(&r.tip_hash),
        hops = r.max_hops,
    )
}

/// The report as CSV: per asset and policy, one row per ledger bucket and one per endpoint;
/// amounts in base units, exact.
pub fn evm_report_csv(r: &EvmReport) -> String {
    let mut out =
        String::from("asset,policy,kind,address,entity,category,stop_reason,amount_base,first_block,hops,path_txids\n");
    for (asset, trace) in r.assets.iter().zip(&r.traces) {
        for p in policies(trace) {
            for (key, _) in BUCKETS {
                let bucket = key.trim_end_matches("_base");
                let amount = base(&of(&trace["reconciliation"], &p)[key]);
                let _ = writeln!(out, "{},{p},ledger,,,,{bucket},{amount},,,", asset.asset);
            }
            for e in trace["endpoints"].as_array().into_iter().flatten() {
                let text = |k: &str| csv_field(e[k].as_str().unwrap_or(""));
                let txids = e["path_txids"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{},{p},endpoint,{},{},{},{},{},{},{},{txids}",
                    asset.asset,
                    text("address"),
                    text("entity"),
                    text("category"),
                    text("stop_reason"),
                    base(of(&e["amount_base"], &p)),
                    e["height"],
                    e["hops"],
                );
            }
        }
    }
    out
}
