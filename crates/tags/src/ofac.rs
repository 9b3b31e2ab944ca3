//! OFAC's sanctioned digital-currency addresses, one list per asset:
//! `sanctioned_addresses_<ASSET>.txt` (one address a line) or `.json` (an array of strings),
//! as generated from the SDN list by 0xB10C/ofac-sanctioned-digital-currency-addresses.
//!
//! The asset comes from the file name. Entries are kept whatever chain they parse as: the XBT
//! list holds a TRON address, which is imported under `BTC` with `chain` `tron`.

use std::path::Path;

use crate::address;
use crate::error::TagError;
use crate::tag::{normalize_currency, Parsed, Tag};
use crate::taxonomy::Taxonomy;

/// Where OFAC publishes the SDN list in the advanced XML schema, the origin of every list.
pub const OFAC_SDN_URL: &str =
    "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML";
/// The label of tags from the per-asset lists, which do not name the sanctioned party.
pub const OFAC_LIST_LABEL: &str = "OFAC sanctioned address";
/// The confidence of OFAC's tags: `authority_data`, "from public authorities (e.g. OFAC)".
pub const OFAC_CONFIDENCE: &str = "authority_data";
/// The abuse concept of OFAC's tags.
pub const OFAC_ABUSE: &str = "sanction";

/// Reads one per-asset list.
pub(crate) fn parse(path: &Path, text: &str, file: &str) -> Result<Parsed, TagError> {
    let asset = asset_of(path)?;
    let source = format!("ofac:{asset}");
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let entries = if json { json_entries(path, text)? } else { text_entries(text) };
    let mut tags = Vec::with_capacity(entries.len());
    for (line, address) in &entries {
        check_address(path, *line, address)?;
        tags.push(sanction_tag(address, &asset, OFAC_LIST_LABEL, &source, file));
    }
    Ok(Parsed { source, tags })
}

/// A tag saying OFAC sanctions `address`, listed under `asset`.
pub(crate) fn sanction_tag(address: &str, asset: &str, label: &str, source_id: &str, file: &str) -> Tag {
    let currency = normalize_currency(asset);
    Tag {
        address: address.to_owned(),
        network: currency.clone(),
        currency,
        chain: address::chain_of(address).to_owned(),
        label: label.to_owned(),
        category: None,
        actor: None,
        abuse: Some(OFAC_ABUSE.to_owned()),
        confidence: Some(OFAC_CONFIDENCE.to_owned()),
        confidence_level: Taxonomy::graphsense().confidence(OFAC_CONFIDENCE).map(|c| c.level),
        source: OFAC_SDN_URL.to_owned(),
        import: source_id.to_owned(),
        file: file.to_owned(),
        is_cluster_definer: false,
    }
}

/// An address as lists write them: letters and digits (and the `:` of a cashaddr prefix).
pub(crate) fn check_address(path: &Path, line: u64, address: &str) -> Result<(), TagError> {
    if !address.is_empty() && address.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':') {
        return Ok(());
    }
    Err(TagError::Invalid {
        path: path.to_owned(),
        line,
        message: format!("{address:?} is not an address: expected letters and digits only, one address a line"),
    })
}

/// `XBT` from `…/sanctioned_addresses_XBT.txt`.
fn asset_of(path: &Path) -> Result<String, TagError> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match stem.strip_prefix("sanctioned_addresses_") {
        Some(asset) if !asset.is_empty() && asset.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(asset.to_ascii_uppercase())
        }
        _ => Err(TagError::WrongFile {
            path: path.to_owned(),
            message: "the file name does not name an asset; OFAC lists are named sanctioned_addresses_<ASSET>.txt \
                      (e.g. sanctioned_addresses_XBT.txt); rename the file, or use --format ofac-sdn for sdn_advanced.xml"
                .into(),
        }),
    }
}

/// Non-blank lines, trimmed, with their 1-based numbers.
fn text_entries(text: &str) -> Vec<(u64, String)> {
    text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l.trim().to_owned())).filter(|(_, l)| !l.is_empty()).collect()
}

/// The strings of a JSON array, each with the line it is on.
fn json_entries(path: &Path, text: &str) -> Result<Vec<(u64, String)>, TagError> {
    let list: Vec<String> = serde_json::from_str(text).map_err(|e| TagError::Syntax {
        path: path.to_owned(),
        line: e.line() as u64,
        message: format!("{e} (expected a JSON array of address strings)"),
    })?;
    // Find each string after the previous one to learn its line.
    let mut at = 0;
    Ok(list
        .into_iter()
        .map(|s| {
            if let Some(found) = text[at..].find(&format!("\"{s}\"")) {
                at += found + 1;
            }
            (text[..at].matches('\n').count() as u64 + 1, s)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_comes_from_the_file_name() {
        let p =
            parse(Path::new("x/sanctioned_addresses_XBT.txt"), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n\n", "f").unwrap();
        assert_eq!(p.source, "ofac:XBT");
        assert_eq!(p.tags[0].currency, "BTC");
        assert_eq!(p.tags[0].confidence_level, Some(60));
        let err = parse(Path::new("addresses.txt"), "", "f").unwrap_err();
        assert!(err.to_string().contains("sanctioned_addresses_<ASSET>.txt"), "{err}");
    }

    #[test]
    fn json_lists_and_their_lines() {
        let text = "[\n  \"LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd\",\n  \"bad address\"\n]\n";
        let err = parse(Path::new("sanctioned_addresses_LTC.json"), text, "f").unwrap_err();
        assert_eq!(err.line(), Some(3), "{err}");
        let p = parse(Path::new("sanctioned_addresses_LTC.json"), &text.replace("bad address", "x1"), "f").unwrap();
        assert_eq!(p.tags.len(), 2);
        assert_eq!(p.tags[0].chain, "litecoin");
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse(Path::new("sanctioned_addresses_ETH.txt"), "0xabc\n<html>\n", "f").unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("sanctioned_addresses_ETH.txt:2: \"<html>\" is not an address"), "{err}");
    }
}
