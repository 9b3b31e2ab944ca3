//! The GraphSense taxonomies tags are checked against: concepts (categories and abuses) and
//! confidence levels.
//!
//! The files are copied from graphsense/graphsense-tagpack-tool at commit
//! `a14a1597359297e5111236aa76b93a7e03110dd3` (`src/tagpack/db/`, MIT, see
//! `taxonomy/LICENSE.graphsense-tagpack-tool`) and compiled in, so that a store opened
//! anywhere validates the same way. A test checks them against the shared reference copy.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::yaml::{self, View};

/// `concepts.yaml`, the concepts taxonomy v0.1.0.
pub const CONCEPTS_YAML: &str = include_str!("../taxonomy/concepts.yaml");
/// `confidence.csv`, `id,label,description,level`.
pub const CONFIDENCE_CSV: &str = include_str!("../taxonomy/confidence.csv");

/// One confidence level of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confidence {
    /// The id tags use, e.g. `authority_data`.
    pub id: String,
    /// The human label, e.g. `Authority data`.
    pub label: String,
    /// 0 to 100; `authority_data` is 60.
    pub level: u8,
}

/// The concept ids and confidence levels tags may use.
#[derive(Debug)]
pub struct Taxonomy {
    concepts: BTreeSet<String>,
    confidences: Vec<Confidence>,
}

impl Taxonomy {
    /// The compiled-in GraphSense taxonomy.
    pub fn graphsense() -> &'static Taxonomy {
        static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
        TAXONOMY.get_or_init(|| Taxonomy {
            concepts: parse_concepts(CONCEPTS_YAML).expect("the compiled-in concepts.yaml parses"),
            confidences: parse_confidences(CONFIDENCE_CSV).expect("the compiled-in confidence.csv parses"),
        })
    }

    /// Whether `id` is a concept (valid as a category, an abuse or in `concepts`).
    pub fn is_concept(&self, id: &str) -> bool {
        self.concepts.contains(id)
    }

    /// Every concept id, sorted.
    pub fn concepts(&self) -> impl Iterator<Item = &str> {
        self.concepts.iter().map(String::as_str)
    }

    /// The confidence level with this id.
    pub fn confidence(&self, id: &str) -> Option<&Confidence> {
        self.confidences.iter().find(|c| c.id == id)
    }

    /// Every confidence level, in the file's order (highest first).
    pub fn confidences(&self) -> &[Confidence] {
        &self.confidences
    }

    /// The lowest level (`unknown`, 5), which GraphSense's tool gives a TagPack that sets no
    /// confidence; on a tie, the last in the file, as the tool picks.
    pub fn lowest_confidence(&self) -> &Confidence {
        let min = self.confidences.iter().map(|c| c.level).min().expect("the taxonomy has confidence levels");
        self.confidences.iter().rev().find(|c| c.level == min).expect("the minimum exists")
    }

    /// The ids of a taxonomy list joined for an error message.
    pub(crate) fn concept_list(&self) -> String {
        self.concepts().collect::<Vec<_>>().join(", ")
    }

    /// The confidence ids joined for an error message.
    pub(crate) fn confidence_list(&self) -> String {
        self.confidences.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// The top-level keys of `concepts.yaml` but `scheme`, and each entry's `id`. They differ
/// once: key `defi_derivatives` has id `defi_derivative`; both are accepted.
fn parse_concepts(text: &str) -> Result<BTreeSet<String>, String> {
    let docs = yaml::load(text).map_err(|e| e.to_string())?;
    let View::Map(entries) = yaml::view(docs.first().ok_or("empty")?) else { return Err("not a mapping".into()) };
    let mut concepts = BTreeSet::new();
    for (key, value) in entries {
        let key = yaml::key_text(key).ok_or("complex key")?;
        if key == "scheme" {
            continue;
        }
        let View::Map(fields) = yaml::view(value) else { return Err(format!("{key} is not a mapping")) };
        let id = fields.iter().find(|(k, _)| yaml::key_text(k) == Some("id")).map(|(_, v)| yaml::view(v));
        let Some(View::Text { text: id, .. }) = id else { return Err(format!("{key} has no id")) };
        concepts.insert(key.to_owned());
        concepts.insert(id.to_owned());
    }
    Ok(concepts)
}

fn parse_confidences(text: &str) -> Result<Vec<Confidence>, String> {
    let mut reader = ::csv::ReaderBuilder::new().trim(::csv::Trim::All).from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let level = record.get(3).and_then(|l| l.parse().ok()).ok_or("bad level")?;
        let (id, label) = (record.get(0).ok_or("no id")?, record.get(1).ok_or("no label")?);
        out.push(Confidence { id: id.to_owned(), label: label.to_owned(), level });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_taxonomy_loads() {
        let t = Taxonomy::graphsense();
        // 86 concepts, one of which is known by its key and by its differing id.
        assert_eq!(t.concepts().count(), 87);
        assert!(t.is_concept("defi_derivatives") && t.is_concept("defi_derivative"));
        for id in ["exchange", "user", "sanction", "ransomware", "service_hack", "mixing_service", "unknown"] {
            assert!(t.is_concept(id), "{id}");
        }
        assert!(!t.is_concept("scheme"));
        assert_eq!(t.confidences().len(), 14);
        assert_eq!(t.confidence("authority_data").unwrap().level, 60);
        assert_eq!(t.confidence("forensic").unwrap().level, 50);
        assert_eq!(t.lowest_confidence().id, "unknown");
        assert_eq!(t.lowest_confidence().level, 5);
    }
}
