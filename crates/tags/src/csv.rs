//! Plain CSV tags: a header line `address,label,category,source`, then one tag a line.
//!
//! `category` may be empty; when given it must be a concept id of the GraphSense taxonomy.
//! The file names no currency, so a tag's currency follows the chain its address parses as
//! (`BTC` for Bitcoin's chains, `LTC` for Litecoin's, `ETH` for `0x` addresses, `TRX` for
//! TRON, `UNKNOWN` otherwise). Tags carry no confidence.

use std::path::Path;

use crate::address;
use crate::error::TagError;
use crate::ofac::check_address;
use crate::tag::{Parsed, Tag};
use crate::tagpack::concept_hint;
use crate::taxonomy::Taxonomy;

/// The header every CSV tag file starts with.
pub const CSV_HEADER: [&str; 4] = ["address", "label", "category", "source"];

/// Reads a CSV tag file.
pub(crate) fn parse(path: &Path, text: &str, file: &str) -> Result<Parsed, TagError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let source_id = format!("csv:{name}");
    let taxonomy = Taxonomy::graphsense();
    let invalid = |line: u64, message: String| TagError::Invalid { path: path.to_owned(), line, message };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(::csv::Trim::All)
        .from_reader(text.strip_prefix('\u{feff}').unwrap_or(text).as_bytes());
    let mut tags = Vec::new();
    let mut header_seen = false;
    for record in reader.records() {
        let record = record.map_err(|e| TagError::Syntax {
            path: path.to_owned(),
            line: e.position().map_or(1, |p| p.line()),
            message: match e.kind() {
                ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    format!("{len} fields where the header has {expected_len}; quote fields that contain commas and close every quote")
                }
                _ => e.to_string(),
            },
        })?;
        let line = record.position().map_or(1, |p| p.line());
        if !header_seen {
            header_seen = true;
            if record.iter().ne(CSV_HEADER) {
                let found = record.iter().collect::<Vec<_>>().join(",");
                return Err(invalid(line, format!("header is {found:?}; expected {}", CSV_HEADER.join(","))));
            }
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let (addr, label, category, source) = (field(0), field(1), field(2), field(3));
        check_address(path, line, addr)?;
        for (name, value) in [("label", label), ("source", source)] {
            if value.is_empty() {
                return Err(invalid(
                    line,
                    format!("{name} is empty; every tag needs an address, a label and a source"),
                ));
            }
        }
        if !category.is_empty() && !taxonomy.is_concept(category) {
            return Err(invalid(line, format!("unknown category {category:?}; {}", concept_hint(category, taxonomy))));
        }
        let chain = address::chain_of(addr);
        let currency = currency_of(chain).to_owned();
        tags.push(Tag {
            address: addr.to_owned(),
            network: currency.clone(),
            currency,
            chain: chain.to_owned(),
            label: label.to_owned(),
            category: (!category.is_empty()).then(|| category.to_owned()),
            actor: None,
            abuse: None,
            confidence: None,
            confidence_level: None,
            source: source.to_owned(),
            import: source_id.clone(),
            file: file.to_owned(),
            is_cluster_definer: false,
        });
    }
    if !header_seen {
        return Err(invalid(1, format!("the file is empty; expected the header {}", CSV_HEADER.join(","))));
    }
    Ok(Parsed { source: source_id, tags })
}

fn currency_of(chain: &str) -> &'static str {
    match chain {
        "bitcoin" | "testnet" | "regtest" => "BTC",
        "litecoin" | "litecoin-testnet" | "litecoin-regtest" => "LTC",
        address::EVM => "ETH",
        address::TRON => "TRX",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Parsed, TagError> {
        parse(Path::new("my tags.csv"), text, "my tags.csv")
    }

    #[test]
    fn reads_tags_and_guesses_currency() {
        let p = parse_str(
            "address,label,category,source\n\
             1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,Genesis,,https://example.org\n\
             \"LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd\",\"Shop, Inc.\",shop,case 12\n",
        )
        .unwrap();
        assert_eq!(p.source, "csv:my tags.csv");
        assert_eq!((p.tags[0].currency.as_str(), p.tags[0].category.as_deref()), ("BTC", None));
        assert_eq!((p.tags[1].currency.as_str(), p.tags[1].label.as_str()), ("LTC", "Shop, Inc."));
        assert_eq!(p.tags[1].category.as_deref(), Some("shop"));
    }

    #[test]
    fn bad_lines_are_named() {
        let head = "address,label,category,source\n";
        let cases = [
            (format!("{head}1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,x,,s\n1B,y,exchanges,s\n"), 3, "did you mean exchange?"),
            (format!("{head}1A,x,,s\n1B,y,s\n"), 3, "3 fields where the header has 4"),
            (format!("{head}1A,,,s\n"), 2, "label is empty"),
            (format!("{head}1A 1B,x,,s\n"), 2, "is not an address"),
            ("address;label\n".to_owned(), 1, "expected address,label,category,source"),
        ];
        for (text, line, message) in cases {
            let err = parse_str(&text).unwrap_err();
            assert_eq!(err.line(), Some(line), "{err}");
            assert!(err.to_string().contains(message), "{err}");
            assert!(err.to_string().starts_with(&format!("my tags.csv:{line}: ")), "{err}");
        }
    }
}
