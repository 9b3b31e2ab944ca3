//! The tag model: one attribution of one address, the formats tags come in, and what an
//! import reports.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::TagError;

/// One attribution of one address by one source.
///
/// Every tag keeps where it came from (`source`, `import`, `file`) so that a finding can be
/// traced back to the list that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The address exactly as the source wrote it.
    pub address: String,
    /// The currency the source lists the address under, upper-case (`BTC`, `ETH`, `USDT`, …).
    /// OFAC's `XBT` is stored as `BTC`, the name every other source uses.
    pub currency: String,
    /// The network the currency lives on (GraphSense's `network`; the currency where the
    /// source does not say), upper-case.
    pub network: String,
    /// The chain the address string parses as, whatever the source says: a
    /// [`sleuth_chain::Chain`] name (`bitcoin`, `litecoin`, `testnet`, …), `evm` for `0x`
    /// addresses, `tron`, or `unknown`. See [`crate::address::chain_of`].
    pub chain: String,
    /// What the address is, e.g. `Lazarus group` or the sanctioned party's name.
    pub label: String,
    /// The kind of entity, a concept id of the GraphSense taxonomy (`exchange`, `user`, …).
    pub category: Option<String>,
    /// The actor id (GraphSense actor pack ids such as `lazarusgroup`).
    pub actor: Option<String>,
    /// The abuse, a concept id of the GraphSense taxonomy (`sanction`, `ransomware`, …).
    pub abuse: Option<String>,
    /// The confidence id of the GraphSense taxonomy (`authority_data`, `forensic`, …).
    pub confidence: Option<String>,
    /// The confidence's level from 0 to 100 (`authority_data` is 60, `forensic` 50).
    pub confidence_level: Option<u8>,
    /// The source the tag cites: a URL or a reference.
    pub source: String,
    /// The id of the import this tag belongs to (see [`crate::TagStore::import`]); importing
    /// the same source again replaces every tag with this id.
    pub import: String,
    /// The file the tag was imported from, as the path was given.
    pub file: String,
    /// Whether the tag describes the whole cluster of the address, not just the address.
    pub is_cluster_definer: bool,
}

sleuth_chain::named_enum! {
    serde:
    /// A tag file format [`crate::TagStore::import`] reads. Its name is what `FromStr` takes,
    /// errors print and serde writes; `ALL` lists the formats in the order the help text does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum TagFormat {
        /// A GraphSense TagPack (YAML).
        TagPack => "tagpack",
        /// One of OFAC's per-asset lists, `sanctioned_addresses_<ASSET>.txt` (or `.json`).
        Ofac => "ofac",
        /// OFAC's SDN list in the advanced XML schema, `sdn_advanced.xml`.
        OfacSdn => "ofac-sdn",
        /// CSV with the header `address,label,category,source`.
        Csv => "csv",
    }
}

impl FromStr for TagFormat {
    type Err = TagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TagFormat::from_name(s).ok_or_else(|| TagError::UnknownFormat(s.to_owned()))
    }
}

/// What one import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The import id (the TagPack's creator and title, or the format and file name).
    pub source: String,
    /// The format read.
    pub format: TagFormat,
    /// The file read, as the path was given.
    pub file: String,
    /// Tags imported.
    pub tags: usize,
    /// Distinct addresses among them (bech32 and `0x` addresses compared case-insensitively).
    pub addresses: usize,
    /// Whether an earlier import of the same source was replaced.
    pub replaced: bool,
    /// Tags per currency.
    pub by_currency: BTreeMap<String, usize>,
    /// Tags per chain the address parses as (`tron` under `BTC` flags a mislisted address).
    pub by_chain: BTreeMap<String, usize>,
    /// Entries left out because their address fails its chain's check.
    pub refused: usize,
    /// The first [`crate::MAX_REFUSED_LISTED`] of them, with their lines.
    pub refused_tags: Vec<RefusedTag>,
}

/// What a parser read from one entry of a file. One lives at a time, so the size difference
/// between the variants costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Entry {
    /// A tag to import.
    Tag(Tag),
    /// A well-formed entry whose address fails its chain's check: left out, and reported.
    Refused(RefusedTag),
}

/// Where a parser puts each entry it reads, in file order, with the 1-based line it starts
/// on: the store writes tags out as they come, so an import holds one entry at a time.
pub(crate) type Sink<'s> = dyn FnMut(Entry, u64) -> Result<(), TagError> + 's;

/// A tag an import left out because its address is no address of the chain it is filed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedTag {
    /// 1-based line of the entry in the imported file.
    pub line: u64,
    /// The address as the file gives it.
    pub address: String,
    /// Why it was left out.
    pub reason: String,
}

/// The currency name Sleuth stores: upper-case, with OFAC's ISO-4217-style `XBT` as `BTC`.
pub fn normalize_currency(currency: &str) -> String {
    let upper = currency.trim().to_ascii_uppercase();
    if upper == "XBT" {
        "BTC".to_owned()
    } else {
        upper
    }
}

/// Checks a currency or network as a source wrote it and returns it as stored (see
/// [`normalize_currency`]): a ticker of 2 to 12 letters, digits, `.`, `_` or `-`, starting
/// with a letter (`BTC`, `USDT`, `USDC.E`). Anything else (`12345`, a sentence, an empty
/// string) is refused, naming the line.
///
/// # Errors
/// [`TagError::Invalid`] naming `path` and `line`.
pub(crate) fn checked_currency(path: &Path, line: u64, field: &str, value: &str) -> Result<String, TagError> {
    let c = normalize_currency(value);
    let shaped = (2..=12).contains(&c.len())
        && c.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if shaped {
        return Ok(c);
    }
    Err(TagError::Invalid {
        path: path.to_owned(),
        line,
        message: format!(
            "{field} {value:?} is not a currency ticker; write the asset's ticker (BTC, LTC, ETH, USDT, …): 2 to 12 \
             letters or digits, starting with a letter"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in TagFormat::ALL {
            assert_eq!(f.name().parse::<TagFormat>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.name()));
        }
        let err = "yaml".parse::<TagFormat>().unwrap_err();
        assert_eq!(err.to_string(), "unknown tag format \"yaml\"; expected one of tagpack, ofac, ofac-sdn, csv");
    }

    #[test]
    fn xbt_is_btc() {
        assert_eq!(normalize_currency("XBT"), "BTC");
        assert_eq!(normalize_currency("eth"), "ETH");
    }
}
