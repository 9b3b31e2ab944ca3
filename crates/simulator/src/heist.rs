//! Thefts and laundering.

/// A theft and the state of its laundering.
#[derive(Debug, Clone)]
pub(crate) struct Heist {}
