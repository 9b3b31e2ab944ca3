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
use saphyr_parser::{Event, Input};

use crate::yaml::{self, Events, Node, View, YamlError};

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

/// Reads a TagPack, handing each tag to `sink` as it is read, or says which line breaks
/// which rule; returns the import id. The file is read twice through a buffer, never whole:
/// once for the header (which may stand after the tags, and whose defaults every tag takes)
/// and whether every tag sets a confidence, then for the tags, one at a time. Memory follows
/// the largest tag, not the file.
pub(crate) fn parse(path: &Path, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    let open = || {
        let f = std::fs::File::open(path).map_err(|e| TagError::io(path, e))?;
        Ok::<_, TagError>(Events::from_reader(f))
    };
    parse_events(path, file, sink, open()?, open()?)
}

/// [`parse`] of a pack already in memory.
#[cfg(test)]
fn parse_text(path: &Path, text: &str, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    parse_events(path, file, sink, Events::from_str(text), Events::from_str(text))
}

/// [`parse`] over two readings of the same pack.
fn parse_events<'i, T: Input>(
    path: &Path,
    file: &str,
    sink: &mut Sink<'_>,
    first: Events<'i, T>,
    second: Events<'i, T>,
) -> Result<String, TagError> {
    let taxonomy = Taxonomy::graphsense();
    let invalid = |line: u64, message: String| TagError::Invalid { path: path.to_owned(), line, message };

    // First reading: the top-level fields, and whether every tag sets its confidence.
    let mut top: Vec<(Node, Node)> = Vec::new();
    let mut every_tag_confident = true;
    let shape = walk(
        path,
        first,
        &mut |key, value| {
            top.push((key, value));
            Ok(())
        },
        &mut |_, item| {
            let confident = match yaml::view(&item) {
                yaml::View::Map(fields) => fields.iter().any(|(k, _)| yaml::key_text(k) == Some("confidence")),
                _ => true,
            };
            every_tag_confident &= confident;
            Ok(())
        },
    )?;

    // The tool lets a `header:` mapping stand for top-level fields.
    let mut entries: Vec<(&Node, &Node)> = Vec::new();
    for (key, value) in &top {
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

    let root = shape.root_line;
    let title = text_of(&header, "title").ok_or_else(|| invalid(root, missing_header("title")))?;
    let creator = text_of(&header, "creator").ok_or_else(|| invalid(root, missing_header("creator")))?;
    match (shape.tags_list, tags_node.map(yaml::view)) {
        (true, _) | (false, Some(View::Null)) => {}
        (false, Some(_)) => {
            let line = tags_node.map_or(root, yaml::line);
            return Err(invalid(line, "tags: must be a list of tags (`- address: …`)".into()));
        }
        (false, None) => return Err(invalid(root, missing_header("tags"))),
    }
    let source_id = format!("tagpack:{creator}/{title}");
    // The default confidence depends on whether all tags set one.
    let default_confidence = if header.contains_key("confidence") || every_tag_confident {
        None
    } else {
        Some(taxonomy.lowest_confidence().id.clone())
    };
    let pack = Pack { path, file, taxonomy, header: &header, default_confidence, source_id: &source_id };

    // Second reading: the tags, each checked and handed on as it is read.
    walk(path, second, &mut |_, _| Ok(()), &mut |i, item| match pack.tag(i, &item)? {
        Some((line, entry)) => sink(entry, line),
        None => Ok(()),
    })?;
    Ok(source_id)
}

/// What a reading of a pack found besides its entries.
struct Shape {
    /// Line of the top-level mapping.
    root_line: u64,
    /// Whether `tags:` held a list (whose items went to `item`, not to `entry`).
    tags_list: bool,
}

/// Reads a pack's one document: each top-level `key: value` goes to `entry`, except the items
/// of a `tags:` list, each of which goes to `item` with its number (from 1) as it is read.
fn walk<'i, T: Input>(
    path: &Path,
    mut events: Events<'i, T>,
    entry: &mut dyn FnMut(Node, Node) -> Result<(), TagError>,
    item: &mut dyn FnMut(usize, Node) -> Result<(), TagError>,
) -> Result<Shape, TagError> {
    let syntax = |e: YamlError| TagError::Syntax { path: path.to_owned(), line: e.line, message: e.message };
    let invalid = |line: u64, message: &str| TagError::Invalid { path: path.to_owned(), line, message: message.into() };
    const NOT_A_PACK: &str = "a TagPack is a YAML mapping with title, creator and tags";
    let next = |events: &mut Events<'i, T>| loop {
        match events.next_event().map_err(syntax)? {
            Some((Event::StreamStart | Event::DocumentStart(_), _)) => {}
            Some(found) => return Ok::<_, TagError>(found),
            None => return Ok((Event::StreamEnd, 1)),
        }
    };
    let (first, root_line) = next(&mut events)?;
    match first {
        Event::MappingStart(..) => {}
        Event::StreamEnd => {
            return Err(invalid(1, "the file is empty; a TagPack is a YAML mapping with title, creator and tags"))
        }
        other => {
            let node = events.node(other, root_line, 0).map_err(syntax)?;
            return Err(invalid(yaml::line(&node), NOT_A_PACK));
        }
    }
    let mut keys: Vec<String> = Vec::new();
    let mut tags_list = false;
    loop {
        let (event, line) = events.next_event().map_err(syntax)?.unwrap_or((Event::MappingEnd, 1));
        if matches!(event, Event::MappingEnd) {
            break;
        }
        let key = events.node(event, line, 1).map_err(syntax)?;
        let name = yaml::key_text(&key).unwrap_or("").to_owned();
        if keys.contains(&name) {
            return Err(syntax(YamlError { line: yaml::line(&key), message: format!("key {name:?} is given twice") }));
        }
        keys.push(name);
        let (event, at) = events.next_event().map_err(syntax)?.unwrap_or((Event::MappingEnd, line));
        if yaml::key_text(&key) == Some("tags") && matches!(event, Event::SequenceStart(..)) {
            tags_list = true;
            let mut n = 0;
            loop {
                let (event, at) = events.next_event().map_err(syntax)?.unwrap_or((Event::SequenceEnd, at));
                if matches!(event, Event::SequenceEnd) {
                    break;
                }
                n += 1;
                item(n, events.node(event, at, 2).map_err(syntax)?)?;
            }
        } else {
            let value = events.node(event, at, 1).map_err(syntax)?;
            entry(key, value)?;
        }
    }
    loop {
        match events.next_event().map_err(syntax)? {
            None | Some((Event::StreamEnd, _)) => break,
            Some((
                Event::DocumentStart(_) | Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..),
                line,
            )) => return Err(invalid(line, "a second YAML document starts here; a TagPack is one document")),
            Some(_) => {}
        }
    }
    Ok(Shape { root_line, tags_list })
}

/// A pack's header and what every tag of it shares.
struct Pack<'p> {
    path: &'p Path,
    file: &'p str,
    taxonomy: &'p Taxonomy,
    header: &'p Fields,
    default_confidence: Option<String>,
    source_id: &'p str,
}

impl Pack<'_> {
    /// Tag number `i` of the pack, checked: the tag with its line, or one refused for its
    /// address; an error for a rule it breaks.
    fn tag(&self, i: usize, item: &Node) -> Result<Option<(u64, Entry)>, TagError> {
        let (path, header, taxonomy) = (self.path, self.header, self.taxonomy);
        let invalid = |line: u64, message: String| TagError::Invalid { path: path.to_owned(), line, message };
        let whom = format!("tag {i}");
        let line = yaml::line(item);
        let View::Map(fields) = yaml::view(item) else {
            return Err(invalid(line, format!("{whom}: expected a mapping of tag fields (`- address: …`)")));
        };
        let fields = read_fields(&fields, false, &whom, &invalid)?;
        check_taxonomies(&fields, &whom, taxonomy, &invalid)?;
        let fields = &fields;
        let field_line = |name: &str| fields.get(name).or(header.get(name)).map_or(line, |f| f.line);
        let get = |name: &str| text_of(fields, name).or_else(|| text_of(header, name));
        let network = text_of(fields, "network")
            .or_else(|| text_of(fields, "currency"))
            .or_else(|| text_of(header, "network"))
            .or_else(|| text_of(header, "currency"));
        let confidence = get("confidence").or(self.default_confidence.as_deref());
        for name in MANDATORY {
            let present = match name {
                "network" => network.is_some(),
                "confidence" => confidence.is_some(),
                _ => get(name).is_some(),
            };
            if !present {
                return Err(invalid(
                    line,
                    format!("{whom}: mandatory field {name} is missing; set it on the tag or in the header"),
                ));
            }
        }
        let Some(address) = get("address").map(str::trim) else {
            let what =
                if get("tx_hash").is_some() { "a tx_hash tag; Sleuth imports address tags only" } else { "no address" };
            return Err(invalid(line, format!("{whom}: {what}; give the tag an address")));
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
                return Ok(Some((line, Entry::Refused(RefusedTag { line, address: address.to_owned(), reason }))));
            }
        };
        let confidence = confidence.expect("checked above").to_owned();
        let level = taxonomy.confidence(&confidence).map(|c| c.level);
        let is_cluster_definer = match fields.get("is_cluster_definer").or(header.get("is_cluster_definer")) {
            Some(Field { value: Value::Bool(b), .. }) => *b,
            _ => false,
        };
        Ok(Some((
            line,
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
                import: self.source_id.to_owned(),
                file: self.file.to_owned(),
                is_cluster_definer,
            }),
        )))
    }
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
    entries: &[(&Node, &Node)],
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
mod tests;
