//! A report as one self-contained HTML file (inline styles, an SVG flow diagram, no scripts,
//! no network: a Content-Security-Policy forbids every fetch) and as CSV.

use std::fmt::Write as _;

use sleuth_analysis::trace::Policy;
use sleuth_chain::Sat;

use crate::report::{PolicyResult, Report, ServiceFlow};

/// `s` with HTML's special characters escaped.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A decimal string with its integer digits in groups of three (`1234567.5` as
/// `1,234,567.5`): amounts of any width, 256-bit ones too.
pub(crate) fn group_digits(digits: &str) -> String {
    let (s, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The page's head and style, shared by the Bitcoin and the EVM reports: a
/// Content-Security-Policy that forbids every fetch, inline styles only.
pub(crate) fn page_head(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Sleuth evidence report: {title}</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}}
h1{{font-size:22px}} h2{{font-size:17px;margin-top:2em;border-bottom:1px solid #ccc}}
table{{border-collapse:collapse;margin:.5em 0}} td,th{{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}} code{{font-size:11px}} td.path{{max-width:420px;word-break:break-all}}
.note{{color:#555}}
</style></head><body>
"#,
        title = esc(title)
    )
}

fn usd(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("${x:.2}"))
}

/// The policy whose figures the diagram draws: haircut (proportional, conserving).
const DRAWN: Policy = Policy::Haircut;

/// The flow diagram: the stolen amount on the left, its destinations on the right, bands as
/// wide as the value (haircut).
fn flow_svg(r: &Report) -> String {
    let Some(res) = r.by_policy.get(&DRAWN) else { return String::new() };
    let total = r.stolen_sat.get().max(1) as f64;
    let mut dests: Vec<(String, u64)> =
        res.services.iter().take(12).map(|f| (f.entity.clone(), f.amount_sat.get())).collect();
    let listed: u64 = dests.iter().map(|d| d.1).sum();
    let other_services = res.ledger.to_services_sat.get().saturating_sub(listed);
    if other_services > 0 {
        dests.push(("other services".into(), other_services));
    }
    for (name, v) in [
        ("still unspent (seizable)", res.ledger.unspent_sat.get()),
        ("entered mixers", res.ledger.mixers_sat.get()),
        ("paid as fees", res.ledger.fees_sat.get()),
        ("beyond the trace limits", res.ledger.limited_sat.get()),
    ] {
        if v > 0 {
            dests.push((name.into(), v));
        }
    }
    let (w, h, gap) = (900.0, 40.0 + 28.0 * dests.len() as f64 + 300.0, 6.0);
    let usable = h - 40.0 - gap * dests.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"flow of the stolen value ({DRAWN})\">"
    );
    let src_h = usable.max(1.0);
    let _ = write!(svg, "<rect x=\"10\" y=\"20\" width=\"24\" height=\"{src_h:.1}\" fill=\"#b22\"/>");
    let _ = write!(svg, "<text x=\"40\" y=\"16\" font-size=\"13\">stolen {} sat</text>", thousands(r.stolen_sat.get()));
    let (mut y_src, mut y_dst) = (20.0, 20.0);
    for (name, v) in &dests {
        let band = (*v as f64 / total * usable).max(1.0);
        let color = if name.contains("unspent") {
            "#d98"
        } else if name.contains("mixer") {
            "#777"
        } else if name.contains("fees") || name.contains("limits") {
            "#bbb"
        } else {
            "#37a"
        };
        let _ = write!(
            svg,
            "<path d=\"M34,{a:.1} C400,{a:.1} 400,{b:.1} 640,{b:.1} L640,{c:.1} C400,{c:.1} 400,{d:.1} 34,{d:.1} Z\" fill=\"{color}\" fill-opacity=\"0.45\"/>",
            a = y_src,
            b = y_dst,
            c = y_dst + band,
            d = y_src + band
        );
        let _ = write!(svg, "<rect x=\"640\" y=\"{y_dst:.1}\" width=\"12\" height=\"{band:.1}\" fill=\"{color}\"/>");
        let _ = write!(
            svg,
            "<text x=\"658\" y=\"{:.1}\" font-size=\"12\">{} — {} sat</text>",
            y_dst + band / 2.0 + 4.0,
            esc(name),
            thousands(*v)
        );
        y_src += band;
        y_dst += band + gap;
    }
    svg.push_str("</svg>");
    svg
}

fn ledger_rows(r: &Report) -> String {
    let row = |name: &str, f: &dyn Fn(&PolicyResult) -> String| {
        let cells: String = r
            .policies
            .iter()
            .map(|p| format!("<td class=\"n\">{}</td>", r.by_policy.get(p).map_or(String::new(), f)))
            .collect();
        format!("<tr><th>{name}</th>{cells}</tr>")
    };
    let sat = |s: Sat| thousands(s.get());
    [
        row("reached services (freezable)", &|x| sat(x.ledger.to_services_sat)),
        row("still unspent (seizable)", &|x| sat(x.ledger.unspent_sat)),
        row("entered mixers (dark)", &|x| sat(x.ledger.mixers_sat)),
        row("paid as fees", &|x| sat(x.ledger.fees_sat)),
        row("beyond the trace limits", &|x| sat(x.ledger.limited_sat)),
        row("traced in all", &|x| sat(x.traced_sat)),
        row("reached services, USD on arrival", &|x| usd(x.to_services_usd)),
    ]
    .concat()
}

fn service_rows(r: &Report) -> String {
    // Rows: every entity any policy lists; columns: the amount per policy.
    let mut names: Vec<(String, String)> = Vec::new();
    for res in r.by_policy.values() {
        for f in &res.services {
            if !names.iter().any(|(e, _)| *e == f.entity) {
                names.push((f.entity.clone(), f.category.clone()));
            }
        }
    }
    let find =
        |p: &Policy, e: &str| -> Option<&ServiceFlow> { r.by_policy.get(p)?.services.iter().find(|f| f.entity == e) };
    let mut out = String::new();
    for (entity, category) in &names {
        let first = r.policies.iter().filter_map(|p| find(p, entity)).min_by_key(|f| f.first_height);
        let cells: String = r
            .policies
            .iter()
            .map(|p| {
                format!(
                    "<td class=\"n\">{}</td>",
                    find(p, entity).map_or("0".into(), |f| thousands(f.amount_sat.get()))
                )
            })
            .collect();
        let path = first.map_or(String::new(), |f| {
            f.path_txids.iter().map(|t| format!("<code>{}</code>", esc(t))).collect::<Vec<_>>().join(" → ")
        });
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td>{cells}<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"path\">{path}</td></tr>",
            esc(entity),
            esc(category),
            first.map_or(String::new(), |f| f.first_height.to_string()),
            first.map_or(String::new(), |f| f.hops.to_string()),
        );
    }
    out
}

/// The report as one HTML page.
pub fn html(r: &Report) -> String {
    let title = r.incidents.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ");
    let heads: String = r.policies.iter().map(|p| format!("<th>{p}</th>")).collect();
    let incidents: String = r
        .incidents
        .iter()
        .map(|i| {
            format!(
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&i.name),
                esc(&i.victim),
                esc(i.actor.as_deref().unwrap_or("–")),
                i.date,
                thousands(i.stolen_sat.get()),
                usd(i.stolen_usd),
                i.txids.iter().map(|t| format!("<code>{}</code>", esc(t))).collect::<Vec<_>>().join("<br>")
            )
        })
        .collect();
    let proceeds = r.proceeds_usd.as_ref().map_or("no price table given".into(), |p| {
        format!("between {} ({}) and {} ({})", usd(Some(p.low.usd)), p.low.policy, usd(Some(p.high.usd)), p.high.policy)
    });
    let aggregated: String = r
        .by_policy
        .iter()
        .filter_map(|(p, res)| {
            res.other_services
                .as_ref()
                .map(|o| format!("<li>{p}: {} ({} sat) aggregated</li>", esc(&o.entity), thousands(o.amount_sat.get())))
        })
        .collect();
    let i = &r.inputs;
    let tags: String =
        i.tags.iter().map(|t| format!("<li>{} <code>{}</code></li>", esc(&t.source), t.sha256)).collect();
    format!(
        r#"{head}<h1>Evidence report: {title}</h1>
<p>Stolen: <b>{stolen} sat</b> ({stolen_usd}). Proceeds reaching services, USD on arrival: <b>{proceeds}</b>.
CoinJoins crossed: {cj}.</p>
<h2>Incidents</h2>
<table><tr><th>name</th><th>victim</th><th>actor</th><th>date</th><th>stolen, sat</th><th>USD</th><th>transactions</th></tr>{incidents}</table>
<h2>Where it went ({drawn})</h2>
{svg}
<h2>Conservation ledger (sat, per policy)</h2>
<table><tr><th></th>{heads}</tr>{ledger}</table>
<p class="note">Each column adds up to the stolen amount to the satoshi, except poison, which taints every output of a transaction with any tainted input and so reaches more than was stolen.</p>
<h2>Services reached (freezable)</h2>
<table><tr><th>entity</th><th>category</th>{heads}<th>first arrival (height)</th><th>hops</th><th>path of the first arrival</th></tr>{services}</table>
<ul class="note">{aggregated}</ul>
<h2>Computed from</h2>
<ul class="note"><li>Sleuth {version}, chain {chain}, tip height {tip} (<code>{tip_hash}</code>)</li>
<li>clustering: {clustering}</li><li>trace limits: {hops} hops, {min_sat} sat</li>
<li>prices: {prices}</li><li>tag sources:<ul>{tags}</ul></li></ul>
<p class="note">Re-verify with <code>sleuth report verify</code> on the JSON form of this report.</p>
</body></html>
"#,
        head = page_head(&title),
        title = esc(&title),
        stolen = thousands(r.stolen_sat.get()),
        stolen_usd = usd(r.stolen_usd),
        cj = r.coinjoins_crossed,
        drawn = DRAWN,
        svg = flow_svg(r),
        ledger = ledger_rows(r),
        services = service_rows(r),
        version = esc(&i.sleuth_version),
        chain = esc(&i.chain),
        tip = i.tip_height,
        tip_hash = i.tip_hash,
        clustering = i.clustering.as_ref().map_or("none".into(), |c| format!(
            "{} over {} transactions",
            c.heuristics.join(","),
            c.upto_tx
        )),
        hops = i.params.max_hops,
        min_sat = i.params.min_sat,
        prices = i.prices_sha256.as_deref().map_or("none".into(), |s| format!("sha256 {s}")),
    )
}

/// The report as CSV: one row per policy and destination (ledger buckets and services).
pub fn csv(r: &Report) -> String {
    let mut out = String::from("policy,kind,entity,category,amount_sat,usd,first_height,hops,path_txids\n");
    let field = csv_field;
    for (p, res) in &r.by_policy {
        let l = &res.ledger;
        for (kind, v) in [
            ("to_services", l.to_services_sat),
            ("unspent", l.unspent_sat),
            ("mixers", l.mixers_sat),
            ("fees", l.fees_sat),
            ("limited", l.limited_sat),
        ] {
            let _ = writeln!(out, "{p},ledger,,{kind},{v},,,,");
        }
        for f in res.services.iter().chain(res.other_services.iter()) {
            let _ = writeln!(
                out,
                "{p},service,{},{},{},{},{},{},{}",
                field(&f.entity),
                field(&f.category),
                f.amount_sat,
                f.usd.map(|u| format!("{u:.2}")).unwrap_or_default(),
                f.first_height,
                f.hops,
                f.path_txids.join(" ")
            );
        }
    }
    out
}
