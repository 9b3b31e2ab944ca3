//! Tests of the TagPack reader on real packs and on hostile YAML.

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
    assert_eq!((a.chain.as_str(), a.category.as_deref(), a.is_cluster_definer), ("bitcoin", Some("exchange"), false));
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
        (PACK.replace("  label: Other", "  colour: red"), 12, "tag 2: field \"colour\" is not in the TagPack schema"),
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
fn a_header_after_the_tags_is_still_every_tags_default() {
    // The pack is read twice (header, then tags) so that tags stream: the order of the
    // top-level keys must not matter.
    let (tags, header) = PACK.split_at(PACK.find("tags:").unwrap());
    let p = parse_str(&format!("{header}{tags}")).unwrap();
    let q = parse_str(PACK).unwrap();
    assert_eq!(p.source, q.source);
    assert_eq!(p.tags, q.tags);
    assert_eq!(p.tags[0].label, "L");
}

#[test]
fn one_document_and_unique_keys() {
    let err = parse_str(&format!("{PACK}---\ntitle: U\n")).unwrap_err();
    assert!(err.to_string().contains("a second YAML document starts here"), "{err}");
    let err = parse_str(&PACK.replace("creator: C\n", "creator: C\ntitle: again\n")).unwrap_err();
    assert!(matches!(err, TagError::Syntax { line: 3, .. }) && err.to_string().contains("given twice"), "{err}");
    let err = parse_str("").unwrap_err();
    assert!(err.to_string().contains("the file is empty"), "{err}");
    let err = parse_str("- a\n- b\n").unwrap_err();
    assert!(err.to_string().contains("a TagPack is a YAML mapping"), "{err}");
    let err = parse_str("title: T\ncreator: C\ntags: 7\n").unwrap_err();
    assert!(err.to_string().contains("tags: must be a list"), "{err}");
}

#[test]
fn yaml_syntax_errors_name_the_line() {
    let err = parse_str("title: T\ncreator: C\ntags:\n- address: [1\n").unwrap_err();
    assert!(matches!(err, TagError::Syntax { line, .. } if line >= 4), "{err}");
}
