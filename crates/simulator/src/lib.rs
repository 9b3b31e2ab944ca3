//! The heist simulator: writes the block files of a synthetic but realistic economy, with
//! thefts and their laundering, and the ground truth of who owns what as CSV files.
//!
//! [`simulate`] writes `OUT/blocks/blk*.dat` exactly as a node lays them out (network magic,
//! length prefix, 128 MiB files, the chain's real genesis block first, valid merkle roots and
//! witness commitments, headers ground to the regtest target) and `OUT/truth/*.csv`
//! ([`truth`] lists the files and their columns). The same seed always gives the same bytes.
//!
//! The economy is driven block by block: users with HD-wallet-like habits pay each other,
//! merchants and payment processors; exchanges take deposits, sweep them, batch withdrawals
//! and move coins to and from cold storage; mining pools pay their miners; gambling sites
//! take bets; OTC desks buy and sell; CoinJoin coordinators run Wasabi-, Whirlpool- and
//! JoinMarket-like rounds. Thieves drain exchange hot wallets and launder the loot through
//! splits, peel chains, CoinJoins and consolidations into deposits at other exchanges and OTC
//! desks. `docs/simulator.md` describes each pattern and the public reports that motivate it.
//!
//! Layout: `config` (sizes), `address` and `wallet` (keys, coins, coin selection), `entity`
//! (owners and wallet software), `txbuild` (a wallet's decision into a transaction),
//! `actors/*` and `heist` (who does what), `economy` (the block loop), `blockwriter` (coinbase,
//! header grinding, `blk*.dat` framing), `truth` and `sink` (CSV lines, the writer thread).
//!
//! Nothing verifies scripts here: signatures are random bytes of realistic sizes, but each
//! address has one public key, so reused addresses look reused.

mod actors;
mod address;
mod blockwriter;
mod config;
mod economy;
mod entity;
mod genesis;
mod heist;
mod sink;
pub mod truth;
mod txbuild;
mod txkind;
mod wallet;

use std::path::PathBuf;

use serde::Serialize;

pub use config::SimConfig;
pub use genesis::genesis_block;

/// What a simulation wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SimSummary {
    /// Blocks written, the genesis block included.
    pub blocks: u64,
    /// Transactions written, coinbases and the genesis coinbase included.
    pub transactions: u64,
    /// Transaction inputs written (a coinbase's null input included).
    pub inputs: u64,
    /// Transaction outputs written.
    pub outputs: u64,
    /// Bytes of block files written, record headers included.
    pub bytes: u64,
    /// The thefts: one hot-wallet drain transaction each.
    pub heists: Vec<HeistSummary>,
    /// Number of `blk*.dat` files.
    pub block_files: u32,
    /// Height of the last block.
    pub tip_height: u64,
    /// Hash of the last block.
    #[serde(serialize_with = "as_string")]
    pub tip_hash: bitcoin::BlockHash,
    /// Entities (users, services, thieves) in `truth/entities.csv`.
    pub entities: u64,
    /// Distinct addresses in `truth/addresses.csv`.
    pub addresses: u64,
    /// CoinJoin transactions (all styles).
    pub coinjoins: u64,
    /// Deposits to exchanges and OTC desks in `truth/deposits.csv`.
    pub deposits: u64,
    /// Fees paid by all transactions, in satoshis.
    pub fees: u64,
}

/// One theft: the transaction that drained a hot wallet into the thief's addresses.
#[derive(Debug, Clone, Serialize)]
pub struct HeistSummary {
    /// The drain transaction.
    #[serde(serialize_with = "as_string")]
    pub txid: bitcoin::Txid,
    /// Name of the robbed exchange, as in `truth/entities.csv`.
    pub victim: String,
    /// Name of the thief, as in `truth/entities.csv`.
    pub thief: String,
    /// Satoshis the drain paid to the thief.
    pub amount: u64,
}

/// Serializes a hash as the hex string block explorers show.
fn as_string<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why a simulation could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A file or folder could not be created or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The output folder already holds block files, which a reader would mix with the new ones.
    #[error("{}: already holds blk*.dat files; delete the folder or pass another --out", path.display())]
    OutputNotEmpty {
        /// The `blocks` folder.
        path: PathBuf,
    },
}

/// Simulates `cfg.transactions` economy transactions on `cfg.chain` and writes the block files
/// and the ground truth below `cfg.out`.
///
/// `progress` is called after each block with the number of economy transactions written so
/// far, which ends at `cfg.transactions` (coinbases are not counted, as in `cfg.transactions`;
/// [`SimSummary::transactions`] counts them). Memory stays bounded: a block is written as soon as it is full,
/// and only unspent outputs are kept, 56 bytes each.
///
/// # Errors
/// [`SimError::OutputNotEmpty`] if `cfg.out/blocks` already holds block files,
/// [`SimError::Io`] if a file cannot be written.
pub fn simulate(cfg: &SimConfig, progress: &mut dyn FnMut(u64)) -> Result<SimSummary, SimError> {
    economy::run(cfg, blockwriter::MAX_BLOCKFILE_SIZE, progress)
}
