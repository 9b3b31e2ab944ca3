//! A thin view over saphyr's span-carrying YAML nodes, so that every value keeps its line.
//!
//! Scalars are loaded unparsed (`early_parse(false)`) and read as the source wrote them: an
//! unquoted `0x098B…` address or a label such as `2014` stays the text it is, where the YAML
//! 1.2 core schema would have turned it into a number.

use saphyr::{MarkedYaml, ScalarStyle, ScanError, YamlData, YamlLoader};
use saphyr_parser::Parser;

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
