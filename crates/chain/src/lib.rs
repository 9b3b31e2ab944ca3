//! The chain layer of Sleuth: everything that understands bytes a node wrote.
//!
//! - [`amount`]: [`Sat`], amounts in the base unit;
//! - [`params`]: the chains (magic, genesis, address prefixes);
//! - [`blockfile`]: reading `blk*.dat` folders, XOR de-obfuscation, best-chain selection;
//! - [`decode`]: zero-copy block and transaction decoding (legacy, SegWit, Taproot, MWEB-aware);
//! - [`script`] and [`address`]: output classification and address strings;
//! - [`validate`]: proof of work, retargeting and block rules, as a node checks them.
//!
//! Nothing here knows about the index; data flows out of this crate only.

pub mod address;
pub mod amount;
pub mod blockfile;
pub mod decode;
mod names;
pub mod params;
pub mod script;
mod shown;
pub mod validate;

pub use amount::Sat;
pub use params::Chain;
pub use script::{AddressKey, ScriptKind};
pub use shown::shown;
