//! Integration tests for sleuth-tags against the real TagPacks, OFAC lists and attributions in
//! `../shared/data` (every count asserted comes from its README), plus the hand-written SDN XML
//! excerpt in `tests/fixtures`.

mod attribution;
mod common;
mod csv_files;
mod mutants;
mod ofac_lists;
mod sdn;
mod store;
mod tagpacks;
