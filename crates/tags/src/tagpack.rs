//! GraphSense TagPacks: a YAML header whose fields are defaults for every tag, and a `tags:`
//! list whose entries may override them.
//!
//! The rules follow graphsense-tagpack-tool (`tagpack.py`, `conf/tagpack_schema.yaml`):
//! - a `header:` mapping, if present, is merged into the top level;
//! - fields outside the schema are errors, in the header and in tags;
//! - a tag's `network` defaults to its own `currency`, else to the header's `network`, else
//!   to the header's `currency` (the tool's backward-compatible default, since published packs
//!   predate `network`);
//! - a pack without a header `confidence` where some tag has none gets the taxonomy's lowest
//!   level (`unknown`), as the tool does;
//! - `label`, `source`, `currency`, `network` and `confidence` are then mandatory per tag;
//! - `category`, `abuse` and `concepts` must be concept ids, `confidence` a confidence id.
//!
//! Sleuth tags addresses, so a tag without `address` (a `tx_hash` tag) is an error here.

use std::collections::BTreeMap;
use std::path::Path;

use crate::address;
use crate::error::TagError;
use crate::tag::{checked_currency, Entry, RefusedTag, Sink, Tag};
use crate::taxonomy::Taxonomy;
use crate::yaml::{self, Node, View};

/// Header-only fields of the schema.
const HEADER_FIELDS: [&str; 6] = ["title", "creator", "description", "owner", "is_public", "tags"];
/// Tag fields of the schema; each may also stand in the header as a default.
const TAG_FIELDS: [&str; 15] = [
    "label",
    "source",
    "currency",
    "network",
    "context",
    "confidence",
    "is_cluster_definer",
    "lastmod",
    "category",
    "abuse",
    "address",
    "tx_hash",
    "actor",
    "concepts",
    "tag_type",
];
/// Fields every tag must have once the header's defaults are applied.
const MANDATORY: [&str; 5] = ["label", "source", "currency", "network", "confidence"];

/// A field's value as the schema types it.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

/// A value and the line it is on.
#[derive(Debug, Clone)]
struct Field {
    value: Value,
    line: u64,
}

type Fields = BTreeMap<&'static str, Field>;

/// Largest TagPack read. A pack is loaded whole, with a span per node (about 50 times its
/// size in memory); the largest published packs are a few megabytes.
pub const MAX_TAGPACK_BYTES: u64 = 64 << 20;

/// Reads a TagPack, handing each tag to `sink` once the whole pack has been checked, or says
/// which line breaks which rule; returns the import id.
pub(crate) fn parse(path: &Path, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    let size = std::fs::metadata(path).map_err(|e| TagError::io(path, e))?.len();
    if size > MAX_TAGPACK_BYTES {
        return Err(TagError::WrongFile {
            path: path.to_owned(),
            message: format!(
                "{size} bytes; Sleuth reads TagPacks of up to {} MiB: split the pack into several files",
                MAX_TAGPACK_BYTES >> 20
            ),
        });
    }
    let text = crate::store::utf8(path, std::fs::read(path).map_err(|e| TagError::io(path, e))?)?;
    parse_text(path, &text, file, sink)
}

/// [`parse`] of a pack already read.
fn parse_text(path: &Path, text: &str, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    let taxonomy = Taxonomy::graphsense();
    let invalid = |line: u64, message: String| TagError::Invalid { path: path.to_owned(), line, message };
    yaml::check_depth(text).map_err(|(line, message)| TagError::Syntax { path: path.to_owned(), line, message })?;
    let docs = yaml::load(text).map_err(|e| TagError::Syntax {
        path: path.to_owned(),
        line: e.marker().line() as u64,
        message: e.to_string(),
    })?;
    let root = match docs.as_slice() {
        [root] => root,
        [] => {
            return Err(invalid(
                1,
                "the file is empty; a TagPack is a YAML mapping with title, creator and tags".into(),
            ))
        }
        [_, second, ..] => {
            return Err(invalid(
                yaml::line(second),
                "a second YAML document starts here; a TagPack is one document".into(),
            ))
        }
    };
    let View::Map(top) = yaml::view(root) else {
        return Err(invalid(yaml::line(root), "a TagPack is a YAML mapping with title, creator and tags".into()));
    };

    // The tool lets a `header:` mapping stand for top-level fields.
    let mut entries: Vec<(&Node<'_>, &Node<'_>)> = Vec::new();
    for (key, value) in top {
        if yaml::key_text(key) != Some("header") {
            entries.push((key, value));
            continue;
        }
        let View::Map(inner) = yaml::view(value) else {
            return Err(invalid(yaml::line(value), "header: must be a mapping of header fields".into()));
        };
        for (k, v) in inner {
            entries.retain(|(old, _)| yaml::key_text(old) != yaml::key_text(k));
            entries.push((k, v));
        }
    }
    let tags_node = entries.iter().find(|(k, _)| yaml::key_text(k) == Some("tags")).map(|(_, v)| *v);
    let non_tags: Vec<_> = entries.iter().copied().filter(|(k, _)| yaml::key_text(k) != Some("tags")).collect();
    let header = read_fields(&non_tags, true, "header", &invalid)?;
    check_taxonomies(&header, "header", taxonomy, &invalid)?;

    let title = text_of(&header, "title").ok_or_else(|| invalid(yaml::line(root), missing_header("title")))?;
    let creator = text_of(&header, "creator").ok_or_else(|| invalid(yaml::line(root), missing_header("creator")))?;
    let Some(tags_node) = tags_node else { return Err(invalid(yaml::line(root), missing_header("tags"))) };
    let items = match yaml::view(tags_node) {
        View::Seq(items) => items,
        View::Null => &[][..],
        _ => return Err(invalid(yaml::line(tags_node), "tags: must be a list of tags (`- address: …`)".into())),
    };
    let source_id = format!("tagpack:{creator}/{title}");

    // Parse every tag first: the default confidence depends on whether all of them set one.
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let whom = format!("tag {}", i + 1);
        let View::Map(fields) = yaml::view(item) else {
            return Err(invalid(
                yaml::line(item),
                format!("{whom}: expected a mapping of tag fields (`- address: …`)"),
            ));
        };
        let fields = read_fields(&fields, false, &whom, &invalid)?;
        check_taxonomies(&fields, &whom, taxonomy, &invalid)?;
        parsed.push((whom, yaml::line(item), fields));
    }
    let default_confidence =
        if header.contains_key("confidence") || parsed.iter().all(|(_, _, f)| f.contains_key("confidence")) {
            None
        } else {
            Some(taxonomy.lowest_confidence().id.clone())
        };

    let mut tags = Vec::with_capacity(parsed.len());
    for (whom, line, fields) in &parsed {
        let field_line = |name: &str| fields.get(name).or(header.get(name)).map_or(*line, |f| f.line);
        let get = |name: &str| text_of(fields, name).or_else(|| text_of(&header, name));
        let network = text_of(fields, "network")
            .or_else(|| text_of(fields, "currency"))
            .or_else(|| text_of(&header, "network"))
            .or_else(|| text_of(&header, "currency"));
        let confidence = get("confidence").or(default_confidence.as_deref());
        for name in MANDATORY {
            let present = match name {
                "network" => network.is_some(),
                "confidence" => confidence.is_some(),
                _ => get(name).is_some(),
            };
            if !present {
                return Err(invalid(
                    *line,
                    format!("{whom}: mandatory field {name} is missing; set it on the tag or in the header"),
                ));
            }
        }
        let Some(address) = get("address").map(str::trim) else {
            let what =
                if get("tx_hash").is_some() { "a tx_hash tag; Sleuth imports address tags only" } else { "no address" };
            return Err(invalid(*line, format!("{whom}: {what}; give the tag an address")));
        };
        let whose = |e: TagError| match e {
            TagError::Invalid { path, line, message } => {
                TagError::Invalid { path, line, message: format!("{whom}: {message}") }
            }
            e => e,
        };
        let currency =
            checked_currency(path, field_line("currency"), "currency", get("currency").expect("checked above"))
                .map_err(whose)?;
        let network =
            checked_currency(path, field_line("network"), "network", network.expect("checked above")).map_err(whose)?;
        let chain = match address::checked_chain(path, field_line("address"), address, Some(&network)).map_err(whose)? {
            Ok(chain) => chain,
            Err(reason) => {
                let line = field_line("address");
                let reason = format!("{whom}: {reason}");
                tags.push((line, Entry::Refused(RefusedTag { line, address: address.to_owned(), reason })));
                continue;
            }
        };
        let confidence = confidence.expect("checked above").to_owned();
        let level = taxonomy.confidence(&confidence).map(|c| c.level);
        let is_cluster_definer = match fields.get("is_cluster_definer").or(header.get("is_cluster_definer")) {
            Some(Field { value: Value::Bool(b), .. }) => *b,
            _ => false,
        };
        tags.push((
            *line,
            Entry::Tag(Tag {
                address: address.to_owned(),
                currency,
                network,
                chain: chain.to_owned(),
                label: get("label").expect("checked above").to_owned(),
                category: get("category").map(str::to_owned),
                actor: get("actor").map(str::to_owned),
                abuse: get("abuse").map(str::to_owned),
                confidence: Some(confidence),
                confidence_level: level,
                source: get("source").expect("checked above").to_owned(),
                import: source_id.clone(),
                file: file.to_owned(),
                is_cluster_definer,
            }),
        ));
    }
    for (line, entry) in tags {
        sink(entry, line)?;
    }
    Ok(source_id)
}

fn missing_header(name: &str) -> String {
    format!("header: mandatory field {name} is missing; a TagPack needs title, creator and tags")
}

fn text_of<'f>(fields: &'f Fields, name: &str) -> Option<&'f str> {
    match fields.get(name) {
        Some(Field { value: Value::Text(t), .. }) => Some(t),
        _ => None,
    }
}

/// Reads a mapping's fields, typed by the schema; `header` allows header-only fields too.
fn read_fields(
    entries: &[(&Node<'_>, &Node<'_>)],
    header: bool,
    whom: &str,
    invalid: &dyn Fn(u64, String) -> TagError,
) -> Result<Fields, TagError> {
    let mut fields = Fields::new();
    for (key, value) in entries {
        let line = yaml::line(value);
        let name = yaml::key_text(key).unwrap_or("");
        let allowed = TAG_FIELDS.iter().chain(if header { &HEADER_FIELDS[..] } else { &[] });
        let Some(&name) = allowed.into_iter().find(|f| **f == name) else {
            let kind = if header { "header" } else { "tag" };
            return Err(invalid(
                yaml::line(key),
                format!(
                    "{whom}: field {name:?} is not in the TagPack schema; {kind} fields are {}",
                    field_list(header)
                ),
            ));
        };
        let value = match (name, yaml::view(value)) {
            (_, View::Null) => {
                return Err(invalid(line, format!("{whom}: field {name} is empty; give it a value or remove it")))
            }
            ("is_cluster_definer" | "is_public", View::Text { text, plain: true }) => {
                match text.to_ascii_lowercase().as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => return Err(invalid(line, format!("{whom}: {name} must be true or false, not {text:?}"))),
                }
            }
            ("is_cluster_definer" | "is_public", _) => {
                return Err(invalid(line, format!("{whom}: {name} must be true or false (unquoted)")))
            }
            ("concepts", View::Seq(items)) => {
                let mut list = Vec::new();
                for item in items {
                    match yaml::view(item) {
                        View::Text { text, .. } => list.push(text.trim().to_owned()),
                        _ => return Err(invalid(yaml::line(item), format!("{whom}: concepts must be a list of ids"))),
                    }
                }
                Value::List(list)
            }
            ("concepts", _) => return Err(invalid(line, format!("{whom}: concepts must be a list of ids"))),
            (_, View::Text { text, .. }) => Value::Text(text.trim().to_owned()),
            (_, _) => return Err(invalid(line, format!("{whom}: field {name} must be text, not a list or mapping"))),
        };
        fields.insert(name, Field { value, line });
    }
    Ok(fields)
}

fn field_list(header: bool) -> String {
    let mut all: Vec<&str> = TAG_FIELDS.to_vec();
    if header {
        all.extend(HEADER_FIELDS);
    }
    all.sort_unstable();
    all.join(", ")
}

/// Checks category, abuse and concepts against the concepts, and confidence against the levels.
fn check_taxonomies(
    fields: &Fields,
    whom: &str,
    taxonomy: &Taxonomy,
    invalid: &dyn Fn(u64, String) -> TagError,
) -> Result<(), TagError> {
    for name in ["category", "abuse", "concepts"] {
        let Some(field) = fields.get(name) else { continue };
        let ids: Vec<&str> = match &field.value {
            Value::Text(t) => vec![t],
            Value::List(l) => l.iter().map(String::as_str).collect(),
            Value::Bool(_) => continue,
        };
        if let Some(bad) = ids.into_iter().find(|id| !taxonomy.is_concept(id)) {
            return Err(invalid(
                field.line,
                format!("{whom}: unknown {name} {bad:?}; {}", concept_hint(bad, taxonomy)),
            ));
        }
    }
    if let Some(Field { value: Value::Text(id), line }) = fields.get("confidence") {
        if taxonomy.confidence(id).is_none() {
            return Err(invalid(
                *line,
                format!("{whom}: unknown confidence {id:?}; use one of {}", taxonomy.confidence_list()),
            ));
        }
    }
    Ok(())
}

/// "did you mean …" for a near miss, else the whole list.
pub(crate) fn concept_hint(bad: &str, taxonomy: &Taxonomy) -> String {
    let lower = bad.to_ascii_lowercase();
    let near: Vec<&str> = taxonomy
        .concepts()
        .filter(|id| id.len() >= 4 && (lower.contains(id) || id.contains(lower.as_str()) || lower == *id))
        .collect();
    if near.is_empty() {
        format!("use a concept id of the GraphSense taxonomy (concepts.yaml): {}", taxonomy.concept_list())
    } else {
        format!("did you mean {}? (concept ids of the GraphSense taxonomy, concepts.yaml)", near.join(" or "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Parsed {
        source: String,
        tags: Vec<Tag>,
    }

    fn parse_str(text: &str) -> Result<Parsed, TagError> {
        let mut tags = Vec::new();
        let source = parse_text(Path::new("t.yaml"), text, "t.yaml", &mut |e, line| {
            match e {
                Entry::Tag(t) => tags.push(t),
                Entry::Refused(r) => return Err(TagError::Invalid { path: "t.yaml".into(), line, message: r.reason }),
            }
            Ok(())
        })?;
        Ok(Parsed { source, tags })
    }

    const PACK: &str = "\
title: T
creator: C
confidence: forensic
currency: BTC
source: https://example.org
label: L
category: exchange
tags:
- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
- address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f96'
  currency: ETH
  label: Other
  abuse: sanction
  is_cluster_definer: true
";

    #[test]
    fn header_fields_are_defaults_tags_override() {
        let p = parse_str(PACK).unwrap();
        assert_eq!(p.source, "tagpack:C/T");
        let [a, b] = p.tags.as_slice() else { panic!("{:?}", p.tags) };
        assert_eq!((a.currency.as_str(), a.network.as_str(), a.label.as_str()), ("BTC", "BTC", "L"));
        assert_eq!(
            (a.chain.as_str(), a.category.as_deref(), a.is_cluster_definer),
            ("bitcoin", Some("exchange"), false)
        );
        assert_eq!((a.confidence.as_deref(), a.confidence_level), (Some("forensic"), Some(50)));
        assert_eq!((b.currency.as_str(), b.network.as_str(), b.label.as_str()), ("ETH", "ETH", "Other"));
        assert_eq!((b.chain.as_str(), b.abuse.as_deref(), b.is_cluster_definer), ("evm", Some("sanction"), true));
    }

    #[test]
    fn missing_confidence_gets_the_lowest_level() {
        let p = parse_str(&PACK.replace("confidence: forensic\n", "")).unwrap();
        assert_eq!(p.tags[0].confidence.as_deref(), Some("unknown"));
        assert_eq!(p.tags[0].confidence_level, Some(5));
    }

    #[test]
    fn header_mapping_is_merged() {
        let text = "header:\n  title: T\n  creator: C\n  label: L\n  source: S\n  confidence: web_crawl\n  currency: LTC\ntags:\n- address: LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd\n";
        let p = parse_str(text).unwrap();
        assert_eq!(p.tags[0].chain, "litecoin");
        assert_eq!(p.tags[0].currency, "LTC");
    }

    #[test]
    fn rule_breaks_name_the_line_and_tag() {
        let cases = [
            (
                PACK.replace("category: exchange", "category: exchanges"),
                7,
                "header: unknown category \"exchanges\"; did you mean exchange?",
            ),
            (PACK.replace("  abuse: sanction", "  abuse: sanctions"), 13, "tag 2: unknown abuse"),
            (PACK.replace("source: https://example.org\n", ""), 8, "tag 1: mandatory field source is missing"),
            (
                PACK.replace("  label: Other", "  colour: red"),
                12,
                "tag 2: field \"colour\" is not in the TagPack schema",
            ),
            (PACK.replace("is_cluster_definer: true", "is_cluster_definer: 'yes'"), 14, "must be true or false"),
            (PACK.replace("confidence: forensic", "confidence: sure"), 3, "unknown confidence \"sure\""),
            (PACK.replace("- address: 1A1", "- tx_hash: 1A1"), 9, "tag 1: a tx_hash tag"),
            (PACK.replace("title: T\n", ""), 1, "mandatory field title is missing"),
            (PACK.replace("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "12345"), 9, "tag 1: \"12345\" is listed under BTC"),
            (PACK.replace("  currency: ETH", "  currency: 12"), 11, "tag 2: currency \"12\" is not a currency ticker"),
        ];
        for (text, line, message) in cases {
            let err = parse_str(&text).unwrap_err();
            assert_eq!(err.line(), Some(line), "{err}");
            assert!(err.to_string().contains(message), "{err}");
            assert!(err.to_string().starts_with(&format!("t.yaml:{line}: ")), "{err}");
        }
    }

    #[test]
    fn deep_nesting_is_a_clean_error() {
        // 20,000 nested lists overflowed the loader's stack (exit 134) before the depth check.
        let text = format!("title: T\ncreator: C\ntags:\n{}x\n", "- ".repeat(20_000));
        let err = parse_str(&text).unwrap_err();
        assert!(matches!(err, TagError::Syntax { line: 4, .. }), "{err}");
        assert!(err.to_string().contains("nested deeper than"), "{err}");
        let text = format!("title: T\ncreator: C\ntags: {}x{}\n", "[".repeat(5_000), "]".repeat(5_000));
        // Flow style: the scanner has a limit of its own; either way a clean syntax error.
        let err = parse_str(&text).unwrap_err();
        assert!(matches!(err, TagError::Syntax { line: 3, .. }), "{err}");
    }

    #[test]
    fn yaml_syntax_errors_name_the_line() {
        let err = parse_str("title: T\ncreator: C\ntags:\n- address: [1\n").unwrap_err();
        assert!(matches!(err, TagError::Syntax { line, .. } if line >= 4), "{err}");
    }
}
