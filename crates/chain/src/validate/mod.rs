//! Validating what a node validated before it wrote a block: every header's proof of work
//! and target (difficulty retargeting by the chain's own parameters), a chain that links up
//! to genesis, the most proven work, and each block's coinbase, amounts and BIP34 height.
//! The rules that need the spent outputs (double spends, fees) are the index's, which has
//! them at hand.
//!
//! - [`rules`]: [`Rules`], each chain's consensus parameters;
//! - [`target`]: 256-bit targets and compact bits, as Core computes them;
//! - [`headers`]: [`validate_headers`], proof of work, retargeting and the best chain;
//! - [`block`]: [`check_block`], the rules of one decoded block.

pub mod block;
mod error;
pub mod headers;
pub mod rules;
pub mod target;

pub use block::{bip34_height, check_block};
pub use error::{Rule, ValidationError};
pub use headers::{validate_headers, ValidChain};
pub use rules::{PowHash, RuleSet, Rules};
