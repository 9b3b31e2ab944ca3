//! The records of the index's columns and the dense ids that number them.
//! `docs/schema.md` describes the same layout byte by byte.

use bytemuck::{Pod, Zeroable};

/// Version of the on-disk format; bump on any change to the records or files.
pub const FORMAT_VERSION: u32 = 7;

/// "No such record" in a u64 id field.
pub const NONE64: u64 = u64::MAX;
/// "No such record" in a u32 id field.
pub const NONE32: u32 = u32::MAX;

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($inner);
        impl $name {
            /// The id with this number.
            pub const fn new(n: $inner) -> Self { $name(n) }
            /// Its number.
            pub const fn get(self) -> $inner { self.0 }
            /// Its record's position in its column.
            #[inline]
            pub const fn pos(self) -> u64 { self.0 as u64 }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
    };
}

dense_id!(
    /// Height of a block in the best chain: blocks are numbered by height.
    Height(u32)
);
dense_id!(
    /// Position of a transaction in the chain, counting from the genesis coinbase.
    TxNum(u32)
);
dense_id!(
    /// Position of an input in the chain.
    InputNum(u64)
);
dense_id!(
    /// Position of an output in the chain.
    OutputNum(u64)
);
dense_id!(
    /// Number of an address, in order of first appearance.
    AddrId(u32)
);

/// One block: `blocks.col`, indexed by [`Height`].
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct BlockRec {
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
    /// Header timestamp.
    pub time: u32,
    /// First transaction of the block.
    pub first_tx: u32,
    /// Serialized size in bytes.
    pub size: u32,
    /// Addresses indexed before this block: where a reorg cuts the address column.
    pub first_addr: u32,
}

/// One transaction: `txs.col`, indexed by [`TxNum`].
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct TxRec {
    /// Txid, internal byte order.
    pub txid: [u8; 32],
    /// First input of the transaction.
    pub first_input: u64,
    /// First output of the transaction.
    pub first_output: u64,
}

/// Wallet-fingerprint fields of a transaction: `tx_meta.col`, indexed by [`TxNum`].
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct TxMetaRec {
    /// Lock time.
    pub locktime: u32,
    /// Version, clamped to 0..=255.
    pub version: u8,
    /// [`sleuth_chain::decode::SequenceKind`] as a byte.
    pub sequences: u8,
    /// 1 if serialized with witness data.
    pub segwit: u8,
    /// 1 if inputs and outputs are in BIP69 order.
    pub bip69: u8,
}

/// One output: `outputs.col`, indexed by [`OutputNum`]. Written once, when appended: its
/// spender, the one field that changes later, is a column of its own (`spent_by.col`, a `u64`
/// per output: the input that spends it or [`NONE64`], trusted only if that input is committed
/// and points back), so that the spenders a commit writes into older outputs dirty a file a
/// quarter the size.
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct OutputRec {
    /// Value in satoshis.
    pub value: u64,
    /// The previous output paying the same address ([`NONE64`] for its first): the address
    /// index is a linked list threaded through the outputs, headed in `addr_heads.col`.
    pub prev_same_addr: u64,
    /// Address paid, or [`NONE32`].
    pub addr: u32,
    /// [`sleuth_chain::ScriptKind`] as a byte.
    pub kind: u8,
    /// Padding.
    pub _pad: [u8; 3],
}

/// What an input spends, as the input sees it: `input_spent.col`, indexed by [`InputNum`]. A
/// copy of the spent output's value, address and kind, made at ingest (which reads the spent
/// output anyway, to check the spend and count the fee), so that a pass over the inputs — the
/// clustering's — reads them in order instead of one random output record per input: on a
/// chain whose outputs outgrow memory, that random read is a disk read. As BlockSci's inputs
/// carry their spent output's address and value. A coinbase input holds value 0, address
/// [`NONE32`] and kind [`SPENT_COINBASE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct SpentRec {
    /// Value of the spent output in base units.
    pub value: u64,
    /// Its address, or [`NONE32`].
    pub addr: u32,
    /// Its [`sleuth_chain::ScriptKind`] as a byte, or [`SPENT_COINBASE`].
    pub kind: u8,
    /// Padding.
    pub _pad: [u8; 3],
}

/// [`SpentRec::kind`] of a coinbase input, which spends nothing.
pub const SPENT_COINBASE: u8 = u8::MAX;

impl SpentRec {
    /// The record of a coinbase input.
    pub const COINBASE: SpentRec = SpentRec { value: 0, addr: NONE32, kind: SPENT_COINBASE, _pad: [0; 3] };

    /// The record of an input spending `o`.
    pub fn of(o: &OutputRec) -> SpentRec {
        SpentRec { value: o.value, addr: o.addr, kind: o.kind, _pad: [0; 3] }
    }
}

/// Key bytes of one address: `addr_keys.col`, indexed by [`AddrId`].
pub type AddrKeyRec = [u8; sleuth_chain::script::ADDRESS_KEY_LEN];

/// How many records of each column a committed state holds: the bounds every read of a
/// snapshot is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Blocks (the tip's height plus one).
    pub blocks: u64,
    /// Transactions.
    pub txs: u64,
    /// Inputs.
    pub inputs: u64,
    /// Outputs.
    pub outputs: u64,
    /// Addresses.
    pub addrs: u64,
}
