//! [`Rules`]: the consensus parameters a chain's blocks are validated by, as Bitcoin Core's
//! and Litecoin Core's `chainparams.cpp` set them, and the rules `sleuth simulate` writes by.

use serde::{Deserialize, Serialize};

use super::target::U256;
use crate::params::Chain;

/// Satoshis in one coin.
const COIN: u64 = 100_000_000;

crate::named_enum! {
    serde:
    /// Which rule set a chain's files were validated by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum RuleSet {
        /// The chain's own consensus rules, as its node applies them.
        Consensus => "consensus",
        /// The rules of a chain written by `sleuth simulate` (its `truth/` folder beside the
        /// blocks folder): double-SHA256 proof of work against the regtest target on every
        /// block, no retargeting and a constant 50-coin subsidy. Every block rule is the same.
        Simulated => "simulated",
    }
}

/// How a block's proof-of-work hash is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowHash {
    /// Double SHA-256 of the header: the block hash (Bitcoin).
    Sha256d,
    /// scrypt(N=1024, r=1, p=1) of the header (Litecoin).
    Scrypt,
}

/// The consensus parameters of one chain that validation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The chain.
    pub chain: Chain,
    /// Which rule set these are.
    pub set: RuleSet,
    /// The proof-of-work hash.
    pub pow_hash: PowHash,
    /// The easiest target allowed (`powLimit`).
    pub pow_limit: U256,
    /// Seconds a retarget period should last (`nPowTargetTimespan`).
    pub timespan: i64,
    /// Seconds between blocks (`nPowTargetSpacing`).
    pub spacing: i64,
    /// Testnets: a block more than twice the spacing after its parent may use the limit.
    pub allow_min_difficulty: bool,
    /// Regtest: the target never changes.
    pub no_retargeting: bool,
    /// Litecoin's retarget looks back a whole interval (Core looks back one block less).
    pub litecoin_retarget: bool,
    /// Testnet4 (BIP94): a retarget starts from the first block of the period.
    pub bip94: bool,
    /// Blocks between subsidy halvings; `None` for a constant subsidy.
    pub halving_interval: Option<u32>,
    /// The first subsidy.
    pub initial_subsidy: u64,
    /// The largest amount there can be (`MAX_MONEY`).
    pub max_money: u64,
    /// Height from which the coinbase must start with the block's height (BIP34).
    pub bip34_height: u32,
    /// Every block after genesis has these bits (simulated chains: regtest's target after
    /// the real genesis block of the chain they are written for).
    pub fixed_bits: Option<u32>,
}

impl Rules {
    /// The consensus rules of `chain`.
    pub fn consensus(chain: Chain) -> Rules {
        const BTC_LIMIT: &str = "00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        const LTC_LIMIT: &str = "00000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        const REG_LIMIT: &str = "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        const SIGNET_LIMIT: &str = "00000377ae000000000000000000000000000000000000000000000000000000";
        let btc = Rules {
            chain,
            set: RuleSet::Consensus,
            pow_hash: PowHash::Sha256d,
            pow_limit: U256::from_hex(BTC_LIMIT),
            timespan: 14 * 24 * 3600,
            spacing: 600,
            allow_min_difficulty: false,
            no_retargeting: false,
            litecoin_retarget: false,
            bip94: false,
            halving_interval: Some(210_000),
            initial_subsidy: 50 * COIN,
            max_money: 21_000_000 * COIN,
            bip34_height: 227_931,
            fixed_bits: None,
        };
        let ltc = Rules {
            pow_hash: PowHash::Scrypt,
            pow_limit: U256::from_hex(LTC_LIMIT),
            timespan: 3 * 24 * 3600 + 12 * 3600,
            spacing: 150,
            litecoin_retarget: true,
            halving_interval: Some(840_000),
            max_money: 84_000_000 * COIN,
            bip34_height: 710_000,
            ..btc
        };
        let regtest = |base: Rules, bip34_height| Rules {
            pow_limit: U256::from_hex(REG_LIMIT),
            allow_min_difficulty: true,
            no_retargeting: true,
            halving_interval: Some(150),
            bip34_height,
            ..base
        };
        match chain {
            Chain::Bitcoin => btc,
            Chain::Testnet => Rules { allow_min_difficulty: true, bip34_height: 21_111, ..btc },
            Chain::Testnet4 => Rules { allow_min_difficulty: true, bip94: true, bip34_height: 1, ..btc },
            Chain::Signet => Rules { pow_limit: U256::from_hex(SIGNET_LIMIT), bip34_height: 1, ..btc },
            Chain::Regtest => regtest(btc, 1),
            Chain::Litecoin => ltc,
            Chain::LitecoinTestnet => Rules { allow_min_difficulty: true, bip34_height: 76, ..ltc },
            Chain::LitecoinRegtest => regtest(ltc, 500),
        }
    }

    /// Whether block `height` (hash `hash`) is checked for BIP30 (no transaction may have the
    /// txid of an earlier one with unspent outputs), as Core's `ConnectBlock` decides: below
    /// BIP34's activation, and again from height 1,983,702 (`BIP34_IMPLIES_BIP30_LIMIT`, where
    /// a pre-BIP34 coinbase could state a height that comes), except the two mainnet blocks
    /// that repeat earlier coinbases (91,842 and 91,880, whose earlier twins stay unspendable).
    /// From BIP34 on, Core skips the check on chains whose BIP34 block it knows; on those it
    /// does not (regtest, signet, testnet4, simulated chains) BIP34 holds from height 1 here,
    /// where every coinbase states its height, so no txid can repeat and the check would never
    /// fire: it is skipped too.
    pub fn checks_bip30(&self, height: u32, hash: &bitcoin::BlockHash) -> bool {
        const BIP34_IMPLIES_BIP30_LIMIT: u32 = 1_983_702;
        const REPEATS: [(u32, &str); 2] = [
            (91_842, "00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec"),
            (91_880, "00000000000743f190a18c5577a3c2d2a1f610ae9601ac046a38084ccb7cd721"),
        ];
        if self.chain == Chain::Bitcoin && REPEATS.iter().any(|&(h, b)| h == height && hash.to_string() == b) {
            return false;
        }
        height < self.bip34_height || (self.bip34_height > 1 && height >= BIP34_IMPLIES_BIP30_LIMIT)
    }

    /// The rules `sleuth simulate` writes `chain`'s blocks by (see [`RuleSet::Simulated`]).
    pub fn simulated(chain: Chain) -> Rules {
        let c = Rules::consensus(chain);
        Rules {
            set: RuleSet::Simulated,
            pow_hash: PowHash::Sha256d,
            pow_limit: Rules::consensus(Chain::Regtest).pow_limit,
            allow_min_difficulty: false,
            no_retargeting: true,
            bip94: false,
            halving_interval: None,
            bip34_height: 1,
            fixed_bits: Some(0x207f_ffff),
            ..c
        }
    }

    /// The largest subsidy a coinbase at `height` may claim (before fees).
    pub fn subsidy(&self, height: u32) -> u64 {
        match self.halving_interval {
            None => self.initial_subsidy,
            Some(i) => {
                let halvings = height / i;
                if halvings >= 64 {
                    0
                } else {
                    self.initial_subsidy >> halvings
                }
            }
        }
    }

    /// Blocks between retargets.
    pub fn interval(&self) -> u32 {
        (self.timespan / self.spacing) as u32
    }

    /// The compact form of the target limit.
    pub fn pow_limit_bits(&self) -> u32 {
        self.pow_limit.to_compact()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bip30_is_checked_where_core_checks_it() {
        use std::str::FromStr;
        let main = Rules::consensus(Chain::Bitcoin);
        let h = |s: &str| bitcoin::BlockHash::from_str(s).unwrap();
        let other = h("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
        assert!(main.checks_bip30(91_842, &other));
        assert!(!main.checks_bip30(91_842, &h("00000000000a4d0a398161ffc163c503763b1f4360639393e0e4c8e300e0caec")));
        assert!(!main.checks_bip30(91_880, &h("00000000000743f190a18c5577a3c2d2a1f610ae9601ac046a38084ccb7cd721")));
        assert!(main.checks_bip30(227_930, &other) && !main.checks_bip30(227_931, &other));
        assert!(!main.checks_bip30(1_983_701, &other) && main.checks_bip30(1_983_702, &other));
        let ltc_reg = Rules::consensus(Chain::LitecoinRegtest);
        assert!(ltc_reg.checks_bip30(499, &other) && !ltc_reg.checks_bip30(500, &other));
        assert!(!Rules::consensus(Chain::Regtest).checks_bip30(1_983_702, &other));
    }

    #[test]
    fn limits_and_subsidies_are_the_nodes() {
        assert_eq!(Rules::consensus(Chain::Bitcoin).pow_limit_bits(), 0x1d00ffff);
        assert_eq!(Rules::consensus(Chain::Litecoin).pow_limit_bits(), 0x1e0fffff);
        assert_eq!(Rules::consensus(Chain::Regtest).pow_limit_bits(), 0x207fffff);
        assert_eq!(Rules::consensus(Chain::Signet).pow_limit_bits(), 0x1e0377ae);
        assert_eq!(Rules::consensus(Chain::Bitcoin).interval(), 2016);
        assert_eq!(Rules::consensus(Chain::Litecoin).interval(), 2016);
        let btc = Rules::consensus(Chain::Bitcoin);
        assert_eq!(btc.subsidy(209_999), 50 * COIN);
        assert_eq!(btc.subsidy(210_000), 25 * COIN);
        assert_eq!(btc.subsidy(840_000), 312_500_000);
        assert_eq!(btc.subsidy(64 * 210_000), 0);
        assert_eq!(Rules::consensus(Chain::LitecoinRegtest).subsidy(150), 25 * COIN);
        assert_eq!(Rules::simulated(Chain::Regtest).subsidy(1_000_000), 50 * COIN);
    }
}
