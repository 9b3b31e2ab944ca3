//! Analyses over Sleuth's index. Today: [`cluster`], grouping addresses into the entities
//! that control them (multi-input and change heuristics, CoinJoin-aware), with every merge
//! kept as evidence; and [`trace`], following tainted value forward and backward under five
//! policies side by side.

pub mod cluster;
pub mod trace;
