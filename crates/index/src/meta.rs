//! `meta.json`: the committed state of the index, replaced atomically at every commit.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sleuth_chain::Chain;

use crate::error::IndexError;
use crate::hashtable::SegmentMeta;
use crate::schema::{Counts, FORMAT_VERSION};

/// The segments of each hash table (`docs/schema.md`, "Segments"), the last of each the one
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables {
    /// `txid.<seq>.idx`.
    pub txid: Vec<SegmentMeta>,
    /// `blockhash.<seq>.idx`.
    pub blockhash: Vec<SegmentMeta>,
    /// `addr.<seq>.idx`.
    pub addr: Vec<SegmentMeta>,
}

/// The committed state: format, chain and how many records of each column are valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// On-disk format version.
    pub version: u32,
    /// Chain of the indexed blocks.
    pub chain: Chain,
    /// Blocks indexed (the tip's height plus one).
    pub blocks: u64,
    /// Transactions indexed.
    pub transactions: u64,
    /// Inputs indexed.
    pub inputs: u64,
    /// Outputs indexed.
    pub outputs: u64,
    /// Distinct addresses indexed.
    pub addresses: u64,
    /// Set while a batch may have changed committed records in place (address-list heads);
    /// the next open repairs them before anything else.
    pub dirty: bool,
    /// The hash tables' segments.
    pub tables: Tables,
}

impl Meta {
    /// The state of a new, empty index.
    pub fn empty(chain: Chain) -> Meta {
        Meta {
            version: FORMAT_VERSION,
            chain,
            blocks: 0,
            transactions: 0,
            inputs: 0,
            outputs: 0,
            addresses: 0,
            dirty: false,
            tables: Tables {
                txid: SegmentMeta::initial(),
                blockhash: SegmentMeta::initial(),
                addr: SegmentMeta::initial(),
            },
        }
    }

    /// Reads `meta.json` from `dir`; `None` if there is none.
    pub fn load(dir: &Path) -> Result<Option<Meta>, IndexError> {
        let path = dir.join("meta.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(IndexError::io(&path, e)),
        };
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly = serde_json::from_slice(&bytes)
            .map_err(|e| IndexError::Corrupt { path: path.clone(), what: e.to_string() })?;
        if v.version != FORMAT_VERSION {
            return Err(IndexError::Version { path, found: v.version, expected: FORMAT_VERSION });
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| IndexError::Corrupt { path, what: e.to_string() })
    }

    /// Replaces `meta.json` in `dir` atomically (see [`sleuth_durable::write_atomic`]).
    pub fn store(&self, dir: &Path) -> Result<(), IndexError> {
        let path = dir.join("meta.json");
        let bytes = serde_json::to_vec_pretty(self).expect("meta serializes");
        sleuth_durable::write_atomic(&path, &bytes).map_err(|e| IndexError::io(&path, e))
    }

    /// The committed counts.
    pub fn counts(&self) -> Counts {
        Counts {
            blocks: self.blocks,
            txs: self.transactions,
            inputs: self.inputs,
            outputs: self.outputs,
            addrs: self.addresses,
        }
    }

    /// Sets the committed counts.
    pub fn set_counts(&mut self, c: Counts) {
        self.blocks = c.blocks;
        self.transactions = c.txs;
        self.inputs = c.inputs;
        self.outputs = c.outputs;
        self.addresses = c.addrs;
    }
}
