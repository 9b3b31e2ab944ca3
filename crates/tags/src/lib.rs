//! Attribution tags for Sleuth: who an address belongs to, according to whom.
//!
//! [`TagStore`] imports tag files into a folder of its own (the index data dir's `tags/`)
//! and answers [`TagStore::tags_for`] an address. It reads four formats ([`TagFormat`]):
//! - [`tagpack`]: GraphSense TagPacks (YAML; header defaults, per-tag overrides, validated
//!   against the GraphSense taxonomies in [`taxonomy`]);
//! - [`ofac`]: OFAC's per-asset sanctioned-address lists (`sanctioned_addresses_XBT.txt`, …);
//! - [`sdn_xml`]: OFAC's SDN list in the advanced XML schema, with each party's name;
//! - [`csv`]: `address,label,category,source` lines.
//!
//! Every [`Tag`] keeps its source, label, category, actor, confidence, currency and file, and
//! the chain its address actually parses as ([`address::chain_of`]): addresses of other chains
//! are kept, not rejected. An import is checked whole before anything is written and replaces
//! the earlier import of the same source, so importing twice changes nothing. Tags are
//! attached to addresses only; joining them to clusters and flows is the analysis layer's job.

pub mod actors;
pub mod address;
pub mod csv;
mod error;
pub mod ofac;
pub mod sdn_xml;
mod store;
mod tag;
pub mod tagpack;
pub mod taxonomy;
mod yaml;

pub use actors::{Actor, ActorPack};
pub use error::TagError;
pub use store::{TagRef, TagStore, MAX_FIELD_BYTES, MAX_REFUSED_LISTED, STORE_VERSION};
pub use tag::{normalize_currency, ImportReport, RefusedTag, Tag, TagFormat};
