//! What to simulate ([`SimConfig`]) and the sizes of the economy derived from it ([`Scale`]).

use std::path::PathBuf;

use sleuth_chain::Chain;

/// What to simulate and where to write it.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Output folder: block files go to `out/blocks`, ground truth to `out/truth`.
    pub out: PathBuf,
    /// Number of transactions to write besides the coinbases.
    pub transactions: u64,
    /// Seed of the random generator; the same seed gives the same bytes.
    pub seed: u64,
    /// The chain whose magic, genesis block and address prefixes the files use.
    pub chain: Chain,
    /// Write the whole ground truth; when false only `truth/entities.csv` and
    /// `truth/heists.csv` are written (the other files keep their header line), for benchmarks at a scale where the truth would
    /// take half as much disk as the blocks.
    pub truth: bool,
}

/// Blocks a coinbase output waits before it may be spent (consensus).
pub(crate) const COINBASE_MATURITY: u32 = 100;

/// Blocks per simulated day at one block per ten minutes.
pub(crate) const BLOCKS_PER_DAY: u32 = 144;

/// Sizes of the economy, all derived from the transaction count so that a small test chain
/// and a ten-million-transaction benchmark have the same shape.
#[derive(Debug, Clone)]
pub(crate) struct Scale {
    /// Mean economy transactions per block.
    pub tx_per_block: f64,
    /// Blocks holding only a coinbase before the economy starts, so that the first coinbases
    /// mature.
    pub bootstrap_blocks: u32,
    /// Expected height of the last block.
    pub expected_blocks: u32,
    /// Users (people with wallets).
    pub users: u32,
    /// Merchants.
    pub merchants: u32,
    /// Largest number of outputs of a batch payout (exchange withdrawals, pool payouts).
    pub batch: u32,
    /// Largest number of participants of a Wasabi-like round.
    pub wasabi_participants: u32,
    /// Thefts.
    pub heists: u32,
    /// Laundering transactions aimed at per theft.
    pub laundering_txs: u32,
}

impl Scale {
    /// The scale of a run of `transactions` economy transactions.
    pub fn new(transactions: u64) -> Scale {
        let n = transactions as f64;
        // About 1,000 transactions a block for a million: a week of blocks; small test chains
        // still get hundreds of blocks so that laundering spreads over days.
        let tx_per_block = (n / 1000.0).clamp(10.0, 3000.0);
        let bootstrap_blocks = COINBASE_MATURITY;
        let expected_blocks = bootstrap_blocks + (n / tx_per_block).ceil() as u32;
        let users = (transactions / 20).clamp(200, 500_000) as u32;
        let merchants = (users / 100).clamp(5, 5_000);
        let batch = ((tx_per_block / 8.0) as u32).clamp(3, 250);
        let wasabi_participants = ((tx_per_block / 4.0) as u32).clamp(8, 150);
        let heists = (3 + transactions / 1_000_000).min(8) as u32;
        let laundering_txs = (transactions / 400).clamp(30, 8_000) as u32;
        Scale {
            tx_per_block,
            bootstrap_blocks,
            expected_blocks,
            users,
            merchants,
            batch,
            wasabi_participants,
            heists,
            laundering_txs,
        }
    }

    /// Number of blocks of the economy after the bootstrap.
    pub fn economy_blocks(&self) -> u32 {
        self.expected_blocks - self.bootstrap_blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_grows_with_the_transaction_count() {
        let small = Scale::new(5_000);
        let big = Scale::new(10_000_000);
        assert!(small.expected_blocks > 300, "small chains still span days");
        assert!(big.tx_per_block > small.tx_per_block);
        assert!(big.users > small.users);
        assert!(big.heists >= small.heists && small.heists >= 3);
    }
}
