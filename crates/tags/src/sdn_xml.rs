//! OFAC's SDN list in the advanced XML schema (`sdn_advanced.xml`): each `Digital Currency
//! Address - <ASSET>` feature of a sanctioned party, with the party's name.
//!
//! The parts read, by local name (the namespace is not checked, so both the current
//! `…/PublicationPreview/exports/ADVANCED_XML` and the older UN namespace work):
//! - `ReferenceValueSets/FeatureTypeValues/FeatureType[@ID]`: feature type → text; the
//!   digital-currency ones read `Digital Currency Address - XBT` and so on;
//! - `ReferenceValueSets/NamePartTypeValues/NamePartType[@ID]`: `Last Name`, `First Name`, …;
//! - `DistinctParties/DistinctParty[@FixedRef]/Profile`:
//!   - `Identity/Alias[@Primary]/DocumentedName/DocumentedNamePart/NamePartValue[@NamePartGroupID]`
//!     for the name (the primary alias, else the first), and
//!     `Identity/NamePartGroups/…/NamePartGroup[@ID][@NamePartTypeID]` for what each part is;
//!   - `Feature[@FeatureTypeID]/FeatureVersion/VersionDetail` text for the address.
//!
//! Individuals' names are written as OFAC's flat list writes them, `LAST, First Middle`; other
//! names are their parts joined by spaces. The file streams through the parser (the full list
//! is about 100 MB); only the parties that hold an address are kept, and an error's line is
//! found by reading the file again up to the error's byte offset. A file that ends before its
//! root element closes is cut short, and is an error: it imports nothing.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::address::checked_chain;
use crate::error::TagError;
use crate::ofac::sanction_tag;
use crate::tag::{normalize_currency, Entry, RefusedTag, Sink};

/// The prefix of the feature types that hold addresses.
const FEATURE_PREFIX: &str = "Digital Currency Address - ";

/// One sanctioned address of the SDN list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdnAddress {
    /// The address as OFAC wrote it.
    pub address: String,
    /// OFAC's asset code from the feature type, e.g. `XBT`, `ETH`, `USDT`.
    pub asset: String,
    /// The sanctioned party's primary name, e.g. `LAZARUS GROUP` or `KHORASHADIZADEH, Ali`.
    pub name: String,
    /// The party's `FixedRef`, OFAC's stable entry number.
    pub fixed_ref: String,
    /// The chain the address parses as (see [`crate::address::chain_of`]).
    pub chain: &'static str,
    /// 1-based line of the address in the file.
    pub line: u64,
}

/// Reads every digital-currency address of an advanced-schema SDN file.
///
/// # Errors
/// [`TagError::Io`] if the file cannot be read, [`TagError::Syntax`] with the line for XML
/// that is not well-formed, [`TagError::WrongFile`] for XML of another schema and
/// [`TagError::Invalid`] for an address feature that holds no address.
pub fn read_sdn(path: &Path) -> Result<Vec<SdnAddress>, TagError> {
    let reader = BufReader::new(File::open(path).map_err(|e| TagError::io(path, e))?);
    addresses(path, reader, &|offset| line_in_file(path, offset))
}

/// Reads the file into tags (label = party name, abuse `sanction`, confidence
/// `authority_data`), handing them to `sink` once the whole file has been read and checked;
/// returns the import id.
pub(crate) fn parse(path: &Path, file: &str, sink: &mut Sink<'_>) -> Result<String, TagError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let source = format!("ofac-sdn:{name}");
    for a in read_sdn(path)? {
        let entry = match checked_chain(path, a.line, &a.address, Some(&normalize_currency(&a.asset)))? {
            Ok(chain) => Entry::Tag(sanction_tag(&a.address, chain, &a.asset, &a.name, &source, file)),
            Err(reason) => Entry::Refused(RefusedTag { line: a.line, address: a.address, reason }),
        };
        sink(entry, a.line)?;
    }
    Ok(source)
}

/// The 1-based line of byte `offset` of the file at `path`, read again for an error's sake.
fn line_in_file(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else { return 0 };
    let mut reader = BufReader::new(file).take(offset);
    let mut buf = [0u8; 64 * 1024];
    let mut newlines = 0;
    while let Ok(n @ 1..) = reader.read(&mut buf) {
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    newlines + 1
}

/// What text the reader is collecting, and for what.
enum Capture {
    None,
    FeatureType { id: String, offset: u64 },
    NamePartType { id: String },
    NamePartValue { group: Option<String> },
    VersionDetail { offset: u64 },
}

/// A name's parts as (NamePartGroupID, text), in document order.
type NameParts = Vec<(Option<String>, String)>;

#[derive(Default)]
struct Party {
    fixed_ref: String,
    /// (primary, parts as (NamePartGroupID, text)) per alias, first DocumentedName only.
    aliases: Vec<(bool, NameParts)>,
    /// NamePartGroup ID → NamePartTypeID.
    groups: HashMap<String, String>,
    /// (FeatureTypeID, address, byte offset).
    details: Vec<(String, String, u64)>,
}

#[derive(Default)]
struct State {
    feature_types: HashMap<String, (String, u64)>,
    name_part_types: HashMap<String, String>,
    party: Option<Party>,
    /// The alias being read: whether primary, and its first DocumentedName once read.
    alias: Option<(bool, Option<NameParts>)>,
    doc_name: Option<NameParts>,
    feature: Option<String>,
    parties: Vec<Party>,
}

fn addresses(path: &Path, source: impl BufRead, line_at: &dyn Fn(u64) -> u64) -> Result<Vec<SdnAddress>, TagError> {
    let mut reader = Reader::from_reader(source);
    let mut buf = Vec::new();
    let mut state = State::default();
    let mut capture = Capture::None;
    let mut text = String::new();
    let mut depth = 0usize;
    loop {
        let offset = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| TagError::Syntax {
            path: path.to_owned(),
            line: line_at(reader.error_position()),
            message: format!("{e} (not well-formed XML)"),
        })?;
        let syntax = |e: &dyn std::fmt::Display| TagError::Syntax {
            path: path.to_owned(),
            line: line_at(offset),
            message: e.to_string(),
        };
        match event {
            Event::Start(e) | Event::Empty(e) if depth == 0 && e.local_name().as_ref() != b"Sanctions" => {
                let found = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                return Err(wrong_file(path, &format!("the root element is <{found}>, not <Sanctions>")));
            }
            Event::Start(e) => {
                depth += 1;
                start(&e, offset, &mut state, &mut capture, &mut text);
            }
            Event::Empty(e) => {
                start(&e, offset, &mut state, &mut capture, &mut text);
                end(e.local_name().as_ref(), &mut state, &mut capture, &text);
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                end(e.local_name().as_ref(), &mut state, &mut capture, &text);
            }
            Event::Text(t) if !matches!(capture, Capture::None) => {
                text.push_str(&t.xml10_content().map_err(|e| syntax(&e))?)
            }
            Event::CData(t) if !matches!(capture, Capture::None) => text.push_str(&t.decode().map_err(|e| syntax(&e))?),
            Event::GeneralRef(r) if !matches!(capture, Capture::None) => {
                let name = r.decode().map_err(|e| syntax(&e))?;
                match r.resolve_char_ref().map_err(|e| syntax(&e))? {
                    Some(ch) => text.push(ch),
                    None => match resolve_predefined_entity(&name) {
                        Some(s) => text.push_str(s),
                        None => return Err(syntax(&format!("unknown entity &{name};"))),
                    },
                }
            }
            Event::Eof if depth > 0 => {
                return Err(TagError::Syntax {
                    path: path.to_owned(),
                    line: line_at(offset),
                    message: format!(
                        "the file ends with {depth} element(s) still open, so it is cut short; download it again"
                    ),
                })
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if state.feature_types.is_empty() {
        return Err(wrong_file(path, "no ReferenceValueSets/FeatureTypeValues found"));
    }

    let mut out = Vec::new();
    for party in &state.parties {
        let name = party_name(party, &state.name_part_types);
        for (type_id, address, offset) in &party.details {
            let Some((feature, type_offset)) = state.feature_types.get(type_id) else { continue };
            let Some(asset) = feature.strip_prefix(FEATURE_PREFIX).map(str::trim) else { continue };
            if asset.is_empty() || !asset.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(TagError::Invalid {
                    path: path.to_owned(),
                    line: line_at(*type_offset),
                    message: format!("feature type {type_id} reads {feature:?}, which names no asset"),
                });
            }
            let line = line_at(*offset);
            // Only a malformed address fails the read; one of no known chain is the import's
            // to leave out.
            let _ = checked_chain(path, line, address, None)?;
            let chain = crate::address::chain_of(address);
            out.push(SdnAddress {
                address: address.clone(),
                asset: asset.to_ascii_uppercase(),
                name: name.clone(),
                fixed_ref: party.fixed_ref.clone(),
                chain,
                line,
            });
        }
    }
    Ok(out)
}

fn wrong_file(path: &Path, why: &str) -> TagError {
    TagError::WrongFile {
        path: path.to_owned(),
        message: format!(
            "{why}; --format ofac-sdn reads OFAC's SDN list in the advanced XML schema (sdn_advanced.xml)"
        ),
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let a = e.try_get_attribute(name).ok().flatten()?;
    Some(String::from_utf8_lossy(&a.value).into_owned())
}

fn start(e: &BytesStart<'_>, offset: u64, s: &mut State, capture: &mut Capture, text: &mut String) {
    text.clear();
    match e.local_name().as_ref() {
        b"FeatureType" => {
            if let Some(id) = attr(e, "ID") {
                *capture = Capture::FeatureType { id, offset };
            }
        }
        b"NamePartType" => {
            if let Some(id) = attr(e, "ID") {
                *capture = Capture::NamePartType { id };
            }
        }
        b"DistinctParty" => {
            s.party = Some(Party { fixed_ref: attr(e, "FixedRef").unwrap_or_default(), ..Party::default() });
        }
        b"Alias" if s.party.is_some() => s.alias = Some((attr(e, "Primary").as_deref() == Some("true"), None)),
        b"DocumentedName" if matches!(s.alias, Some((_, None))) => s.doc_name = Some(Vec::new()),
        b"NamePartValue" if s.doc_name.is_some() => {
            *capture = Capture::NamePartValue { group: attr(e, "NamePartGroupID") }
        }
        b"NamePartGroup" => {
            if let (Some(party), Some(id), Some(ty)) = (s.party.as_mut(), attr(e, "ID"), attr(e, "NamePartTypeID")) {
                party.groups.insert(id, ty);
            }
        }
        b"Feature" if s.party.is_some() => s.feature = attr(e, "FeatureTypeID"),
        b"VersionDetail" if s.feature.is_some() => *capture = Capture::VersionDetail { offset },
        _ => {}
    }
}

fn end(name: &[u8], s: &mut State, capture: &mut Capture, text: &str) {
    let value = text.trim().to_owned();
    match (name, std::mem::replace(capture, Capture::None)) {
        (b"FeatureType", Capture::FeatureType { id, offset }) => {
            s.feature_types.insert(id, (value, offset));
        }
        (b"NamePartType", Capture::NamePartType { id }) => {
            s.name_part_types.insert(id, value);
        }
        (b"NamePartValue", Capture::NamePartValue { group }) => {
            if let Some(parts) = s.doc_name.as_mut() {
                parts.push((group, value));
            }
        }
        (b"VersionDetail", Capture::VersionDetail { offset }) => {
            if let (Some(party), Some(ty)) = (s.party.as_mut(), s.feature.as_ref()) {
                if !value.is_empty() {
                    party.details.push((ty.clone(), value, offset));
                }
            }
        }
        (b"DocumentedName", other) => {
            *capture = other;
            if let (Some(parts), Some((_, name @ None))) = (s.doc_name.take(), s.alias.as_mut()) {
                *name = Some(parts);
            }
        }
        (b"Alias", other) => {
            *capture = other;
            if let (Some((primary, Some(parts))), Some(party)) = (s.alias.take(), s.party.as_mut()) {
                party.aliases.push((primary, parts));
            }
        }
        (b"Feature", other) => {
            *capture = other;
            s.feature = None;
        }
        (b"DistinctParty", other) => {
            *capture = other;
            // Only parties with an address are kept: the list holds thousands without one.
            s.parties.extend(s.party.take().filter(|p| !p.details.is_empty()));
        }
        (_, other) => *capture = other,
    }
}

/// The primary alias's name (else the first alias's), `LAST, First` where a part is typed
/// `Last Name`.
fn party_name(party: &Party, types: &HashMap<String, String>) -> String {
    let alias = party.aliases.iter().find(|(primary, _)| *primary).or(party.aliases.first());
    let Some((_, parts)) = alias else { return format!("SDN entry {}", party.fixed_ref) };
    let is_last = |group: &Option<String>| {
        let ty = group.as_ref().and_then(|g| party.groups.get(g)).and_then(|t| types.get(t));
        ty.is_some_and(|t| t.eq_ignore_ascii_case("Last Name"))
    };
    let last: Vec<&str> = parts.iter().filter(|(g, _)| is_last(g)).map(|(_, t)| t.as_str()).collect();
    let rest: Vec<&str> = parts.iter().filter(|(g, _)| !is_last(g)).map(|(_, t)| t.as_str()).collect();
    match (last.is_empty(), rest.is_empty()) {
        (false, false) => format!("{}, {}", last.join(" "), rest.join(" ")),
        (false, true) => last.join(" "),
        _ => rest.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Sanctions xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">
<ReferenceValueSets><FeatureTypeValues>
<FeatureType ID="344" FeatureTypeGroupID="1">Digital Currency Address - XBT</FeatureType>
<FeatureType ID="8">Birthdate</FeatureType>
</FeatureTypeValues></ReferenceValueSets>
<DistinctParties>
"#;

    fn read_bytes(path: &str, bytes: &[u8]) -> Result<Vec<SdnAddress>, TagError> {
        let line_at = |offset: u64| {
            bytes[..(offset as usize).min(bytes.len())].iter().filter(|&&b| b == b'\n').count() as u64 + 1
        };
        addresses(Path::new(path), bytes, &line_at)
    }

    fn read(body: &str) -> Result<Vec<SdnAddress>, TagError> {
        read_bytes("sdn.xml", format!("{HEAD}{body}</DistinctParties></Sanctions>").as_bytes())
    }

    #[test]
    fn entities_and_unnamed_parties() {
        let got = read(
            r#"<DistinctParty FixedRef="1"><Profile><Identity><Alias Primary="true"><DocumentedName>
<DocumentedNamePart><NamePartValue>A &amp; B&#x20;TRADING</NamePartValue></DocumentedNamePart>
</DocumentedName></Alias></Identity>
<Feature FeatureTypeID="344"><FeatureVersion><VersionDetail DetailTypeID="1432"> 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa </VersionDetail></FeatureVersion></Feature>
<Feature FeatureTypeID="8"><FeatureVersion><VersionDetail>1970</VersionDetail></FeatureVersion></Feature>
</Profile></DistinctParty>
<DistinctParty FixedRef="2"><Profile><Feature FeatureTypeID="344"><FeatureVersion><VersionDetail>1BoatSLRHtKNngkdXEeobR76b53LETtpyT</VersionDetail></FeatureVersion></Feature></Profile></DistinctParty>
"#,
        )
        .unwrap();
        let triples: Vec<_> = got.iter().map(|a| (a.address.as_str(), a.asset.as_str(), a.name.as_str())).collect();
        assert_eq!(
            triples,
            [
                ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "XBT", "A & B TRADING"),
                ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "XBT", "SDN entry 2")
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = read("<DistinctParty FixedRef=\"1\">\n<Profile>\n</DistinctParty>\n").unwrap_err();
        assert!(matches!(err, TagError::Syntax { line: 10, .. }), "{err}");
        let err = read("<DistinctParty><Profile><Feature FeatureTypeID=\"344\"><FeatureVersion>\n<VersionDetail>1A1z P1e</VersionDetail></FeatureVersion></Feature></Profile></DistinctParty>\n").unwrap_err();
        assert!(matches!(err, TagError::Invalid { line: 9, .. }), "{err}");
        let err = read_bytes("x.xml", b"<sdnList><sdnEntry/></sdnList>").unwrap_err();
        assert!(err.to_string().contains("<sdnList>, not <Sanctions>"), "{err}");
        // Cut between two elements, the file is still well-formed so far: only the open root
        // tells that it is cut short.
        let cut = format!("{HEAD}<DistinctParty FixedRef=\"1\"></DistinctParty>\n");
        let err = read_bytes("sdn.xml", cut.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }
}
