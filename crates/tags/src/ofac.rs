//! OFAC's sanctioned digital-currency addresses, one list per asset:
//! `sanctioned_addresses_<ASSET>.txt` (one address a line) or `.json` (an array of strings),
//! as generated from the SDN list by 0xB10C/ofac-sanctioned-digital-currency-addresses.
//!
//! The asset comes from the file name. Entries are kept whatever chain they parse as: the XBT
//! list holds a TRON address, which is imported under `BTC` with `chain` `tron`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::address;
use crate::error::TagError;
use crate::tag::{normalize_currency, Entry, RefusedTag, Sink, Tag};
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

/// Longest line a list may have: far more than any address, so only a damaged or wrong file
/// reaches it, and an import never holds more than this of one line.
const MAX_LINE: u64 = 4096;

/// Reads one per-asset list, handing each address to `sink` as it is read; returns the
/// import id.
pub(crate) fn parse(path: &Path, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    let asset = asset_of(path)?;
    let source = format!("ofac:{asset}");
    let network = normalize_currency(&asset);
    let reader = BufReader::new(File::open(path).map_err(|e| TagError::io(path, e))?);
    let mut push = |line: u64, address: &str| {
        let entry = match address::checked_chain(path, line, address, Some(&network))? {
            Ok(chain) => Entry::Tag(sanction_tag(address, chain, &asset, OFAC_LIST_LABEL, &source, file)),
            Err(reason) => Entry::Refused(RefusedTag { line, address: address.to_owned(), reason }),
        };
        sink(entry, line)
    };
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        json_entries(path, reader, &mut push)?;
    } else {
        text_entries(path, reader, &mut push)?;
    }
    Ok(source)
}

/// A tag saying OFAC sanctions `address`, listed under `asset`.
/// `chain` is what [`address::checked_chain`] found the address to be.
pub(crate) fn sanction_tag(address: &str, chain: &str, asset: &str, label: &str, source_id: &str, file: &str) -> Tag {
    let currency = normalize_currency(asset);
    Tag {
        address: address.to_owned(),
        network: currency.clone(),
        currency,
        chain: chain.to_owned(),
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

/// Each non-blank line, trimmed, with its 1-based number.
fn text_entries(
    path: &Path,
    mut reader: impl BufRead,
    push: &mut dyn FnMut(u64, &str) -> Result<(), TagError>,
) -> Result<(), TagError> {
    let mut buf = Vec::new();
    for line in 1.. {
        buf.clear();
        let n = reader.by_ref().take(MAX_LINE + 1).read_until(b'\n', &mut buf).map_err(|e| TagError::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() as u64 > MAX_LINE {
            return Err(TagError::Invalid {
                path: path.to_owned(),
                line,
                message: format!("the line is longer than {MAX_LINE} bytes; a list holds one address a line"),
            });
        }
        let text = std::str::from_utf8(&buf).map_err(|_| TagError::Syntax {
            path: path.to_owned(),
            line,
            message: "the line is not UTF-8 text".into(),
        })?;
        let text = text.trim();
        if !text.is_empty() {
            push(line, text)?;
        }
    }
    unreachable!("the loop ends at the end of the file")
}

/// Each string of a JSON array, with the line it ends on, read as the array streams by.
fn json_entries(
    path: &Path,
    reader: impl BufRead,
    push: &mut dyn FnMut(u64, &str) -> Result<(), TagError>,
) -> Result<(), TagError> {
    let lines = std::rc::Rc::new(std::cell::Cell::new(1u64));
    let counted = LineCounter { inner: reader, lines: lines.clone() };
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_reader(counted);
    let visitor = EachString { lines: &lines, push, failed: &mut failed };
    let result = serde::Deserializer::deserialize_seq(&mut de, visitor).and_then(|()| de.end());
    if let Some(e) = failed {
        return Err(e);
    }
    result.map_err(|e| TagError::Syntax {
        path: path.to_owned(),
        line: e.line() as u64,
        message: format!("{e} (expected a JSON array of address strings)"),
    })
}

/// A reader that counts the newlines it has handed on, so that a streaming parser's caller
/// knows the line of what was just parsed.
struct LineCounter<R> {
    inner: R,
    lines: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + newlines);
        Ok(n)
    }
}

/// Visits a JSON array of strings, pushing each; a refused entry ends the visit and is kept
/// in `failed`, so that its own message (not serde's) reaches the user.
struct EachString<'v> {
    lines: &'v std::cell::Cell<u64>,
    push: &'v mut dyn FnMut(u64, &str) -> Result<(), TagError>,
    failed: &'v mut Option<TagError>,
}

impl<'de> serde::de::Visitor<'de> for EachString<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of address strings")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(address) = seq.next_element::<String>()? {
            if let Err(e) = (self.push)(self.lines.get(), address.trim()) {
                *self.failed = Some(e);
                return Err(serde::de::Error::custom("entry refused"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` written to a file named `name`, collecting (line, tag).
    fn parse_text(name: &str, text: &str) -> Result<(String, Vec<(u64, Tag)>), TagError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut tags = Vec::new();
        let source = parse(&path, "f", &mut |e, line| {
            match e {
                Entry::Tag(t) => tags.push((line, t)),
                Entry::Refused(r) => return Err(TagError::Invalid { path: path.clone(), line, message: r.reason }),
            }
            Ok(())
        })?;
        Ok((source, tags))
    }

    #[test]
    fn asset_comes_from_the_file_name() {
        let (source, tags) =
            parse_text("sanctioned_addresses_XBT.txt", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n\n").unwrap();
        assert_eq!(source, "ofac:XBT");
        assert_eq!(tags[0].1.currency, "BTC");
        assert_eq!(tags[0].1.confidence_level, Some(60));
        let err = parse_text("addresses.txt", "").unwrap_err();
        assert!(err.to_string().contains("sanctioned_addresses_<ASSET>.txt"), "{err}");
    }

    #[test]
    fn json_lists_and_their_lines() {
        let text = "[\n  \"LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd\",\n  \"bad address\"\n]\n";
        let err = parse_text("sanctioned_addresses_LTC.json", text).unwrap_err();
        assert_eq!(err.line(), Some(3), "{err}");
        assert!(err.to_string().contains("\"bad address\" is not an address"), "{err}");
        let good = text.replace("bad address", "LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd");
        let (_, tags) = parse_text("sanctioned_addresses_LTC.json", &good).unwrap();
        assert_eq!(tags.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(tags[0].1.chain, "litecoin");
        let err =
            parse_text("sanctioned_addresses_LTC.json", "[\"LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd\",\n").unwrap_err();
        assert!(matches!(err, TagError::Syntax { line: 2, .. }), "a cut-off array is an error: {err}");
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse_text("sanctioned_addresses_ETH.txt", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n<html>\n")
            .unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("sanctioned_addresses_ETH.txt:2: \"<html>\" is not an address"), "{err}");
        let err = parse_text("sanctioned_addresses_XBT.txt", "12345\n").unwrap_err();
        assert!(err.to_string().contains(":1: \"12345\" is listed under BTC but is no BTC address"), "{err}");
        // Under a network Sleuth does not check, an address it cannot read is kept.
        let (_, tags) = parse_text(
            "sanctioned_addresses_XMR.txt",
            "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge\n",
        )
        .unwrap();
        assert_eq!(tags[0].1.chain, "unknown");
        let err = parse_text("sanctioned_addresses_XMR.txt", &"4".repeat(10_000)).unwrap_err();
        assert!(err.to_string().contains("longer than 4096 bytes"), "{err}");
    }
}
