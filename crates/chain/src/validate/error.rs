//! [`ValidationError`]: a header or block that a node would not have accepted, named by file,
//! byte offset, hash and rule.

use std::path::PathBuf;

crate::named_enum! {
    /// A consensus rule that validation applies; its name is what errors print.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Rule {
        /// The header's hash meets its own target, and the target is a valid one.
        ProofOfWork => "proof-of-work",
        /// The target is the one the chain's retargeting rules give.
        Difficulty => "difficulty",
        /// Every block's parent is in the files, back to genesis.
        LinkedChain => "linked-chain",
        /// The first transaction, and only it, is a coinbase with a script of 2 to 100 bytes.
        Coinbase => "coinbase",
        /// Every value and every transaction's total is within the chain's money supply.
        MoneyRange => "money-range",
        /// The coinbase starts with the block's height (BIP34).
        Bip34 => "bip34",
        /// The header's time is after the median of the 11 blocks before it, and no more than
        /// two hours ahead of this machine's clock (Core's `time-too-old`, `time-too-new`).
        Timestamp => "timestamp",
    }
}

/// Headers or blocks that fail validation, or files that cannot form a chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A header fails its proof of work.
    #[error("{}: block at byte {offset} (hash {hash}) breaks rule {rule}: {detail}; the file is damaged or forged (a node never writes such a block)", path.display(), rule = Rule::ProofOfWork)]
    ProofOfWork {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The block's hash.
        hash: String,
        /// What is wrong.
        detail: String,
    },
    /// A header's target is not the one the chain's rules give.
    #[error("{}: block {height} at byte {offset} (hash {hash}) breaks rule {rule}: bits {found:#010x}, the chain's rules give {expected:#010x}; the file is damaged or forged", path.display(), rule = Rule::Difficulty)]
    Difficulty {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The block's hash.
        hash: String,
        /// Its height.
        height: u32,
        /// The bits in the header.
        found: u32,
        /// The bits the rules give.
        expected: u32,
    },
    /// A block whose parent is nowhere in the files.
    #[error("{}: block at byte {offset} (hash {hash}) breaks rule {rule}: its parent {parent} is nowhere in the block files ({orphans} blocks do not link up to genesis); the chain from genesis ends at height {tip_height} in {} at byte {tip_offset}; a record is missing or damaged", path.display(), tip_path.display(), rule = Rule::LinkedChain)]
    Orphan {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The block's hash.
        hash: String,
        /// The parent it names.
        parent: String,
        /// How many records do not reach genesis.
        orphans: u64,
        /// Height of the most-work block that does.
        tip_height: u32,
        /// Its file.
        tip_path: PathBuf,
        /// Its record's byte offset.
        tip_offset: u64,
    },
    /// The genesis block is not in the files.
    #[error("{}: the genesis block {genesis} is not in the block files; point --blocks-dir at a node's complete blocks folder", path.display())]
    NoGenesis {
        /// The folder.
        path: PathBuf,
        /// The chain's genesis hash.
        genesis: String,
    },
    /// The oldest files were deleted by a pruning node.
    #[error("{}: this folder starts at {} (block {first_hash}{}); the older files were deleted, as a pruned node does: Sleuth needs an unpruned node's blocks folder (restart the node with -prune=0 and let it download the chain again)", path.display(), first_file.display(), height.map(|h| format!(", height {h}")).unwrap_or_default())]
    Pruned {
        /// The folder.
        path: PathBuf,
        /// Its lowest-numbered block file.
        first_file: PathBuf,
        /// The first block in it.
        first_hash: String,
        /// That block's height, when its coinbase states it (BIP34).
        height: Option<u32>,
    },
    /// A block breaks a rule that needs no other block.
    #[error("{}: block {height} at byte {offset} (hash {hash}) breaks rule {rule}: {detail}; the block files are damaged or forged", path.display())]
    Block {
        /// The block file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The block's hash.
        hash: String,
        /// Its height.
        height: u32,
        /// The rule.
        rule: Rule,
        /// What is wrong.
        detail: String,
    },
}
