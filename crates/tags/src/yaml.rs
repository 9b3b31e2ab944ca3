//! A thin view over saphyr's span-carrying YAML nodes, so that every value keeps its line.
//!
//! Scalars are loaded unparsed (`early_parse(false)`) and read as the source wrote them: an
//! unquoted `0x098B…` address or a label such as `2014` stays the text it is, where the YAML
//! 1.2 core schema would have turned it into a number.

use std::collections::HashMap;

use saphyr::{MarkedYaml, ScalarStyle, ScanError, YamlData, YamlLoader};
use saphyr_parser::{Event, Parser};

/// Deepest nesting of sequences and mappings a tag file may have. A TagPack needs three
/// levels (the pack, its tags, a tag's fields) and four with a `concepts` list; the loader
/// recurses once per level, and 20,000 levels overflowed its stack.
pub(crate) const MAX_DEPTH: usize = 32;

/// One node with its 1-based line.
pub(crate) type Node<'a> = MarkedYaml<'a>;

/// What a node holds, with tags (`!!str`) looked through.
pub(crate) enum View<'n, 'a> {
    /// `~`, `null` or nothing at all.
    Null,
    /// A scalar as written; `plain` when unquoted.
    Text { text: &'n str, plain: bool },
    /// A sequence.
    Seq(&'n [Node<'a>]),
    /// A mapping, in document order.
    Map(Vec<(&'n Node<'a>, &'n Node<'a>)>),
    /// Anything else (an unresolved alias, a value the loader rejected).
    Other,
}

/// Loads every document of `text`.
///
/// # Errors
/// The scanner's error, whose marker gives the line.
pub(crate) fn load(text: &str) -> Result<Vec<Node<'_>>, ScanError> {
    let mut parser = Parser::new_from_str(text);
    let mut loader = YamlLoader::<Node<'_>>::default();
    loader.early_parse(false);
    parser.load(&mut loader, true)?;
    if let Some(e) = loader.error() {
        return Err(e.clone());
    }
    Ok(loader.into_documents())
}

/// Walks the parser's events (no tree is built, so nothing recurses) and refuses a document
/// nested deeper than [`MAX_DEPTH`], or whose aliases would make the loader copy far more
/// nodes than the file holds (each alias is a copy of its anchor's nodes; "billion laughs").
///
/// # Errors
/// The 1-based line and what is wrong; a syntax error is left for [`load`] to report.
pub(crate) fn check_depth(text: &str) -> Result<(), (u64, String)> {
    let mut depth = 0usize;
    let mut nodes = 0u64;
    let mut copied = 0u64;
    // Open containers with their anchor and the node count when they opened.
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut anchor_sizes: HashMap<usize, u64> = HashMap::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { return Ok(()) };
        let line = span.start.line() as u64;
        match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err((
                        line,
                        format!("lists or mappings nested deeper than {MAX_DEPTH} levels; a TagPack needs 4"),
                    ));
                }
                nodes += 1;
                open.push((anchor, nodes));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                if let Some((anchor, start)) = open.pop() {
                    if anchor != 0 {
                        anchor_sizes.insert(anchor, nodes - start + 1);
                    }
                }
            }
            Event::Scalar(_, _, anchor, _) => {
                nodes += 1;
                if anchor != 0 {
                    anchor_sizes.insert(anchor, 1);
                }
            }
            Event::Alias(anchor) => {
                let size = anchor_sizes.get(&anchor).copied().unwrap_or(1);
                nodes += size;
                copied += size;
                if copied > 100_000 + 4 * (nodes - copied) {
                    return Err((
                        line,
                        "aliases that would copy more nodes than the file holds many times over".into(),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The 1-based line where `node` starts.
pub(crate) fn line(node: &Node<'_>) -> u64 {
    node.span.start.line() as u64
}

/// What `node` holds.
pub(crate) fn view<'n, 'a>(node: &'n Node<'a>) -> View<'n, 'a> {
    match &node.data {
        YamlData::Representation(text, style, _) => {
            let plain = *style == ScalarStyle::Plain;
            if plain && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                View::Null
            } else {
                View::Text { text: text.as_ref(), plain }
            }
        }
        YamlData::Value(saphyr::Scalar::Null) => View::Null,
        YamlData::Value(saphyr::Scalar::String(text)) => View::Text { text: text.as_ref(), plain: false },
        YamlData::Sequence(items) => View::Seq(items),
        YamlData::Mapping(map) => View::Map(map.iter().collect()),
        YamlData::Tagged(_, inner) => view(inner),
        _ => View::Other,
    }
}

/// The text of a scalar key, or `None` for a complex or null key.
pub(crate) fn key_text<'n>(node: &'n Node<'_>) -> Option<&'n str> {
    match view(node) {
        View::Text { text, .. } => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scalars_as_written_with_lines() {
        let docs = load("a: 0x098B716B8Aaf21512996dC57EB0615e2383E2f96\nb: '2014'\nc:\nd: [x]\n").unwrap();
        let View::Map(entries) = view(&docs[0]) else { panic!("mapping expected") };
        let got: Vec<_> = entries.iter().map(|(k, v)| (key_text(k).unwrap(), line(v))).collect();
        assert_eq!(got, [("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        assert!(matches!(
            view(entries[0].1),
            View::Text { text: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", plain: true }
        ));
        assert!(matches!(view(entries[1].1), View::Text { text: "2014", plain: false }));
        assert!(matches!(view(entries[2].1), View::Null));
        assert!(matches!(view(entries[3].1), View::Seq(s) if s.len() == 1));
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let err = load("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.marker().line() >= 2, "{err}");
        assert!(load("a: 1\na: 2\n").is_err(), "duplicate keys are an error");
    }
}
