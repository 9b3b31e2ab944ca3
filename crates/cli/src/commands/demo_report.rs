//! The second half of `sleuth demo`: the simulated exchanges and OTC desks tagged from the
//! truth, every heist recorded as an incident, traced under every policy into an evidence
//! report, and a summary per heist with the simulation's truth beside each figure.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context as _;
use sleuth_analysis::trace::Policy;
use sleuth_engine::incidents::{Day, NewIncident, Stolen};
use sleuth_engine::report::{Report, ReportParams, Scope};
use sleuth_engine::Engine;
use sleuth_simulator::{HeistSummary, SimConfig};
use sleuth_tags::TagFormat;

use crate::output::say;

/// The policies the summary shows (the report has all five).
const SHOWN: [Policy; 3] = [Policy::Haircut, Policy::Fifo, Policy::Poison];

/// Tags, incidents, the report and the summary; `root` is the demo's folder.
pub(crate) fn run(engine: &Engine, cfg: &SimConfig, heists: &[HeistSummary], root: &Path) -> anyhow::Result<()> {
    let truth_dir = cfg.out.join("truth");
    let read = |f: &str| {
        let p = truth_dir.join(f);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    let (entities, addresses, taint) = (read("entities.csv")?, read("addresses.csv")?, read("taint.csv")?);
    // entity id → (name, kind)
    let entity: HashMap<&str, (&str, &str)> = entities
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(3, ',').collect();
            (f.len() == 3).then(|| (f[0], (f[1], f[2])))
        })
        .collect();
    let service = |id: &str| entity.get(id).is_some_and(|(_, kind)| matches!(*kind, "exchange" | "otc"));
    let name = |id: &str| entity.get(id).map_or("?", |(n, _)| n);

    let mut csv = String::from("address,label,category,source\n");
    let mut owner: HashMap<&str, &str> = HashMap::new();
    let mut tagged = 0u64;
    for l in addresses.lines().skip(1) {
        let Some((a, id)) = l.split_once(',') else { continue };
        owner.insert(a, id);
        if service(id) {
            csv += &format!("{a},{},exchange,simulation truth\n", name(id));
            tagged += 1;
        }
    }
    let tags = root.join("services.csv");
    std::fs::write(&tags, csv).with_context(|| format!("writing {}", tags.display()))?;
    say!("\n8. tagging the simulated exchanges and OTC desks: {tagged} addresses from the truth ({})", tags.display());
    engine.import_tags(&tags, TagFormat::Csv)?;

    // Each heist: the drain's outputs to the thief, dated by the drain's block.
    let snap = engine.snapshot()?;
    let mut new = Vec::new();
    for h in heists {
        let drain = snap.tx(&h.txid)?;
        let outputs: Vec<Stolen> = drain
            .outputs
            .iter()
            .filter(|o| o.address.as_deref().and_then(|a| owner.get(a)).map(|id| name(id)) == Some(h.thief.as_str()))
            .map(|o| Stolen { txid: h.txid, vout: Some(o.n) })
            .collect();
        if !outputs.is_empty() {
            new.push(NewIncident {
                name: format!("{} drain", h.victim),
                victim: h.victim.clone(),
                actor: Some(h.thief.clone()),
                date: Day::of_unix(drain.block_time as u64),
                source: Some("sleuth demo: the simulation's heists.csv".into()),
                outputs,
            });
        }
    }
    let added = engine.add_incidents(new, None)?;
    say!("\n9. {} heists recorded as incidents (`sleuth incident list`)", added.len());

    let snap = engine.snapshot()?;
    let params = ReportParams { scope: Scope::All, prices: None, max_hops: 50, min_sat: 1_000 };
    let all = snap.report(&params)?;
    let (html, json) = (root.join("report.html"), root.join("report.json"));
    std::fs::write(&html, sleuth_engine::report_render::html(&all))
        .with_context(|| format!("writing {}", html.display()))?;
    std::fs::write(&json, serde_json::to_string_pretty(&all)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    say!("\n10. evidence report of the {} incidents, traced under all five policies:", all.incidents.len());
    say!("    {}", html.display());
    say!("    {} (`sleuth --data-dir {} report verify` it)", json.display(), engine.dir().root().display());

    // Truth: what each thief paid straight into each service (taint.csv, direct rows).
    let mut truth: HashMap<&str, BTreeMap<&str, u64>> = HashMap::new();
    let mut lines = taint.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).with_context(|| format!("taint.csv has no {n} column"));
    let (c_heist, c_to, c_amount, c_direct) = (col("heist")?, col("to_entity")?, col("amount")?, col("direct")?);
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f.len() == header.len() && f[c_direct] == "1" && service(f[c_to]) {
            *truth.entry(f[c_heist]).or_default().entry(name(f[c_to])).or_default() += f[c_amount].parse::<u64>()?;
        }
    }
    say!("\n11. per heist: where the stolen coins are, under three of the policies, and the truth (sat):");
    for inc in &added {
        let r = snap.report(&ReportParams { scope: Scope::Incident(inc.id.to_string()), ..params.clone() })?;
        let txid = inc.outputs.first().map(|s| s.txid.to_string()).unwrap_or_default();
        let want = truth.get(txid.as_str()).cloned().unwrap_or_default();
        summarize(&r, &inc.name, inc.actor.as_deref().unwrap_or("?"), &want)?;
    }
    Ok(())
}

/// One heist's lines of the summary.
fn summarize(r: &Report, name: &str, actor: &str, truth: &BTreeMap<&str, u64>) -> std::io::Result<()> {
    say!("\n  {name} by {actor}: {} stolen", r.stolen_sat);
    say!(
        "    {:<9} {:>16} {:>16} {:>16} {:>12} {:>14}",
        "policy",
        "at exchanges",
        "in mixers",
        "unspent",
        "fees",
        "beyond limits"
    );
    for p in SHOWN {
        if let Some(x) = r.by_policy.get(&p) {
            let l = &x.ledger;
            say!(
                "    {:<9} {:>16} {:>16} {:>16} {:>12} {:>14}",
                p.name(),
                l.to_services_sat.get(),
                l.mixers_sat.get(),
                l.unspent_sat.get(),
                l.fees_sat.get(),
                l.limited_sat.get()
            );
        }
    }
    say!("    {:<9} {:>16}   (paid by the thief straight to exchanges)", "truth", truth.values().sum::<u64>());
    let at = |p: Policy, e: &str| {
        r.by_policy.get(&p).and_then(|x| x.services.iter().find(|s| s.entity == e)).map_or(0, |s| s.amount_sat.get())
    };
    let mut by_truth: Vec<(&&str, &u64)> = truth.iter().collect();
    by_truth.sort_by(|a, b| b.1.cmp(a.1));
    for (e, want) in by_truth.into_iter().take(4) {
        say!("    {e:<18} haircut {:>14}  fifo {:>14}  truth {want:>14}", at(Policy::Haircut, e), at(Policy::Fifo, e));
    }
    Ok(())
}
