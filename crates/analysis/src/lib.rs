//! Analyses over Sleuth's index. Today: [`cluster`], grouping addresses into the entities
//! that control them (multi-input and change heuristics, CoinJoin-aware), with every merge
//! kept as evidence. Tracing comes next.

pub mod cluster;
