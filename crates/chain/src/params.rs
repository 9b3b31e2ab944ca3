//! The chains Sleuth knows: network magic, genesis block and address prefixes.

use std::str::FromStr;

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use serde::{Deserialize, Serialize};

crate::named_enum! {
    serde:
    /// A chain whose block files Sleuth can read. Its name is what `--chain` takes and what
    /// the index records; `ALL` lists the chains in the order `--chain` documents them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Chain {
        /// Bitcoin mainnet.
        Bitcoin => "bitcoin",
        /// Bitcoin testnet3.
        Testnet => "testnet",
        /// Bitcoin testnet4 (BIP94).
        Testnet4 => "testnet4",
        /// Bitcoin's default signet.
        Signet => "signet",
        /// Bitcoin regtest.
        Regtest => "regtest",
        /// Litecoin mainnet.
        Litecoin => "litecoin",
        /// Litecoin testnet4.
        LitecoinTestnet => "litecoin-testnet",
        /// Litecoin regtest.
        LitecoinRegtest => "litecoin-regtest",
    }
}

/// Base58 and bech32 prefixes of a chain's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPrefixes {
    /// Version byte of base58 pay-to-pubkey-hash addresses.
    pub p2pkh: u8,
    /// Version byte of base58 pay-to-script-hash addresses (the one wallets show today).
    pub p2sh: u8,
    /// Human-readable part of segwit addresses.
    pub hrp: &'static str,
}

impl Chain {
    /// The four bytes that open every record of this chain's `blk*.dat` files.
    pub fn magic(self) -> [u8; 4] {
        match self {
            Chain::Bitcoin => [0xf9, 0xbe, 0xb4, 0xd9],
            Chain::Testnet => [0x0b, 0x11, 0x09, 0x07],
            Chain::Testnet4 => [0x1c, 0x16, 0x3f, 0x28],
            Chain::Signet => [0x0a, 0x03, 0xcf, 0x40],
            Chain::Regtest | Chain::LitecoinRegtest => [0xfa, 0xbf, 0xb5, 0xda],
            Chain::Litecoin => [0xfb, 0xc0, 0xb6, 0xdb],
            Chain::LitecoinTestnet => [0xfd, 0xd2, 0xc8, 0xf1],
        }
    }

    /// Hash of the chain's genesis block, which tells chains that share a magic apart.
    pub fn genesis_hash(self) -> BlockHash {
        let hex = match self {
            Chain::Bitcoin => "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            Chain::Testnet => "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
            Chain::Testnet4 => "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
            Chain::Signet => "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
            Chain::Regtest => "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            Chain::Litecoin => "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
            Chain::LitecoinTestnet => "4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0",
            Chain::LitecoinRegtest => "530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9",
        };
        BlockHash::from_str(hex).expect("genesis hashes above are valid hex")
    }

    /// Address prefixes of this chain.
    pub fn prefixes(self) -> AddressPrefixes {
        match self {
            Chain::Bitcoin => AddressPrefixes { p2pkh: 0x00, p2sh: 0x05, hrp: "bc" },
            Chain::Testnet | Chain::Testnet4 | Chain::Signet => AddressPrefixes { p2pkh: 0x6f, p2sh: 0xc4, hrp: "tb" },
            Chain::Regtest => AddressPrefixes { p2pkh: 0x6f, p2sh: 0xc4, hrp: "bcrt" },
            Chain::Litecoin => AddressPrefixes { p2pkh: 0x30, p2sh: 0x32, hrp: "ltc" },
            Chain::LitecoinTestnet => AddressPrefixes { p2pkh: 0x6f, p2sh: 0x3a, hrp: "tltc" },
            Chain::LitecoinRegtest => AddressPrefixes { p2pkh: 0x6f, p2sh: 0x3a, hrp: "rltc" },
        }
    }

    /// Base58 P2SH version bytes that addresses of this chain may still carry: Litecoin
    /// moved its P2SH prefix from `3` to `M` (and `2` to `Q`) but still accepts the old one.
    pub fn legacy_p2sh_versions(self) -> &'static [u8] {
        match self {
            Chain::Litecoin => &[0x05],
            Chain::LitecoinTestnet | Chain::LitecoinRegtest => &[0xc4],
            _ => &[],
        }
    }

    /// Whether this is one of Litecoin's chains (MWEB extension blocks may follow the transactions).
    pub fn is_litecoin(self) -> bool {
        matches!(self, Chain::Litecoin | Chain::LitecoinTestnet | Chain::LitecoinRegtest)
    }

    /// The folder where this chain's node keeps its block files, below the user's home.
    pub fn default_blocks_dir(self) -> &'static str {
        match self {
            Chain::Bitcoin => ".bitcoin/blocks",
            Chain::Testnet => ".bitcoin/testnet3/blocks",
            Chain::Testnet4 => ".bitcoin/testnet4/blocks",
            Chain::Signet => ".bitcoin/signet/blocks",
            Chain::Regtest => ".bitcoin/regtest/blocks",
            Chain::Litecoin => ".litecoin/blocks",
            Chain::LitecoinTestnet => ".litecoin/testnet4/blocks",
            Chain::LitecoinRegtest => ".litecoin/regtest/blocks",
        }
    }

    /// Chains whose block files open with `magic`.
    pub fn with_magic(magic: [u8; 4]) -> impl Iterator<Item = Chain> {
        Chain::ALL.into_iter().filter(move |c| c.magic() == magic)
    }

    /// The chain whose genesis block has this hash.
    pub fn with_genesis(hash: &BlockHash) -> Option<Chain> {
        Chain::ALL.into_iter().find(|c| c.genesis_hash() == *hash)
    }
}

/// A `--chain` value that names no known chain.
#[derive(Debug, thiserror::Error)]
#[error("unknown chain {0:?}; expected one of {expected}", expected = Chain::NAME_LIST)]
pub struct UnknownChain(pub String);

impl FromStr for Chain {
    type Err = UnknownChain;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chain::from_name(s).ok_or_else(|| UnknownChain(s.to_owned()))
    }
}

/// The all-zero hash a genesis block names as its parent.
pub fn null_block_hash() -> BlockHash {
    BlockHash::all_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_genesis_matches_rust_bitcoin() {
        for (chain, net) in [
            (Chain::Bitcoin, bitcoin::Network::Bitcoin),
            (Chain::Testnet, bitcoin::Network::Testnet),
            (Chain::Signet, bitcoin::Network::Signet),
            (Chain::Regtest, bitcoin::Network::Regtest),
        ] {
            assert_eq!(chain.genesis_hash(), bitcoin::constants::genesis_block(net).block_hash());
            assert_eq!(chain.magic(), net.magic().to_bytes());
        }
    }

    #[test]
    fn names_round_trip() {
        for c in Chain::ALL {
            assert_eq!(c.name().parse::<Chain>().unwrap(), c);
        }
        let err = "dogecoin".parse::<Chain>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown chain \"dogecoin\"; expected one of bitcoin, testnet, testnet4, signet, regtest, litecoin, \
             litecoin-testnet, litecoin-regtest"
        );
    }

    #[test]
    fn serde_names_are_the_names() {
        for c in Chain::ALL {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Chain>(&format!("\"{c}\"")).unwrap(), c);
        }
    }
}
