//! Plain CSV tags: a header line `address,label,category,source`, then one tag a line.
//!
//! `category` may be empty; when given it must be a concept id of the GraphSense taxonomy.
//! The file names no currency, so a tag's currency follows the chain its address parses as
//! (`BTC` for Bitcoin's chains, `LTC` for Litecoin's, `ETH` for `0x` addresses, `TRX` for
//! TRON, `UNKNOWN` otherwise). Tags carry no confidence.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::address;
use crate::error::TagError;
use crate::tag::{Entry, RefusedTag, Sink, Tag};
use crate::tagpack::concept_hint;
use crate::taxonomy::Taxonomy;

/// The header every CSV tag file starts with.
pub const CSV_HEADER: [&str; 4] = ["address", "label", "category", "source"];

/// Reads a CSV tag file, handing each tag to `sink` as it is read; returns the import id.
/// A UTF-8 byte-order mark before the header is skipped (the `csv` reader does that).
pub(crate) fn parse(path: &Path, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let source_id = format!("csv:{name}");
    let taxonomy = Taxonomy::graphsense();
    let invalid = |line: u64, message: String| TagError::Invalid { path: path.to_owned(), line, message };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(::csv::Trim::All)
        .from_reader(BufReader::new(File::open(path).map_err(|e| TagError::io(path, e))?));
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
        let chain = match address::checked_chain(path, line, addr, None)? {
            Ok(chain) => chain,
            Err(reason) => {
                sink(Entry::Refused(RefusedTag { line, address: addr.to_owned(), reason }), line)?;
                continue;
            }
        };
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
        let currency = currency_of(chain).to_owned();
        let tag = Tag {
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
        };
        sink(Entry::Tag(tag), line)?;
    }
    if !header_seen {
        return Err(invalid(1, format!("the file is empty; expected the header {}", CSV_HEADER.join(","))));
    }
    Ok(source_id)
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

    fn parse_str(text: &str) -> Result<(String, Vec<Tag>), TagError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my tags.csv");
        std::fs::write(&path, text).unwrap();
        let mut tags = Vec::new();
        let source = parse(&path, "my tags.csv", &mut |e, _| {
            if let Entry::Tag(t) = e {
                tags.push(t);
            }
            Ok(())
        })
        .map_err(|e| match e {
            // The test names the file without its temporary folder.
            TagError::Invalid { line, message, .. } => TagError::Invalid { path: "my tags.csv".into(), line, message },
            TagError::Syntax { line, message, .. } => TagError::Syntax { path: "my tags.csv".into(), line, message },
            e => e,
        })?;
        Ok((source, tags))
    }

    #[test]
    fn reads_tags_and_guesses_currency() {
        let (source, tags) = parse_str(
            "\u{feff}address,label,category,source\n\
             1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,Genesis,,https://example.org\n\
             \"LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd\",\"Shop, Inc.\",shop,case 12\n",
        )
        .unwrap();
        assert_eq!(source, "csv:my tags.csv");
        assert_eq!((tags[0].currency.as_str(), tags[0].category.as_deref()), ("BTC", None));
        assert_eq!((tags[1].currency.as_str(), tags[1].label.as_str()), ("LTC", "Shop, Inc."));
        assert_eq!(tags[1].category.as_deref(), Some("shop"));
    }

    #[test]
    fn an_address_of_no_known_chain_is_left_out_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let a = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
        std::fs::write(&path, format!("address,label,category,source\n{a},x,,s\n12345,y,,s\n")).unwrap();
        let mut entries = Vec::new();
        parse(&path, "t.csv", &mut |e, line| {
            entries.push((line, e));
            Ok(())
        })
        .unwrap();
        assert!(matches!(&entries[0], (2, Entry::Tag(t)) if t.address == a));
        let (3, Entry::Refused(r)) = &entries[1] else { panic!("{entries:?}") };
        assert_eq!((r.line, r.address.as_str()), (3, "12345"));
        assert!(r.reason.contains("no address of a chain Sleuth knows"), "{}", r.reason);
    }

    #[test]
    fn bad_lines_are_named() {
        let head = "address,label,category,source\n";
        let a = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
        let cases = [
            (format!("{head}{a},x,,s\n{a},y,exchanges,s\n"), 3, "did you mean exchange?"),
            (format!("{head}{a},x,,s\n{a},y,s\n"), 3, "3 fields where the header has 4"),
            (format!("{head}{a},,,s\n"), 2, "label is empty"),
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
