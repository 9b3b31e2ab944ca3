//! Which EVM chain an index holds: named by its EIP-155 chain id, which the node reports
//! (`eth_chainId`) and the index keeps, so that one data dir never mixes two chains.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// An EVM chain Sleuth knows by name; any other chain id is accepted as `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum EvmChain {
    /// Ethereum mainnet (chain id 1).
    Ethereum,
    /// The Sepolia test network (11155111).
    Sepolia,
    /// The Holesky test network (17000).
    Holesky,
    /// A local Anvil or Hardhat node (31337).
    Anvil,
    /// Any other chain, by its id.
    Other(u64),
}

impl EvmChain {
    /// The chain for an EIP-155 chain id.
    pub fn from_id(id: u64) -> EvmChain {
        match id {
            1 => EvmChain::Ethereum,
            11155111 => EvmChain::Sepolia,
            17000 => EvmChain::Holesky,
            31337 => EvmChain::Anvil,
            other => EvmChain::Other(other),
        }
    }

    /// Its EIP-155 chain id.
    pub fn id(self) -> u64 {
        match self {
            EvmChain::Ethereum => 1,
            EvmChain::Sepolia => 11155111,
            EvmChain::Holesky => 17000,
            EvmChain::Anvil => 31337,
            EvmChain::Other(id) => id,
        }
    }

    /// Whether the node is a development node whose funded accounts (`eth_accounts`) are the
    /// whole genesis allocation, as Anvil's and Hardhat's are.
    pub fn is_dev(self) -> bool {
        matches!(self, EvmChain::Anvil | EvmChain::Other(1337))
    }
}

impl fmt::Display for EvmChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvmChain::Ethereum => f.write_str("ethereum"),
            EvmChain::Sepolia => f.write_str("sepolia"),
            EvmChain::Holesky => f.write_str("holesky"),
            EvmChain::Anvil => f.write_str("anvil"),
            EvmChain::Other(id) => write!(f, "evm-{id}"),
        }
    }
}

impl From<EvmChain> for String {
    fn from(c: EvmChain) -> String {
        c.to_string()
    }
}

impl FromStr for EvmChain {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ethereum" | "mainnet" | "eth" => Ok(EvmChain::Ethereum),
            "sepolia" => Ok(EvmChain::Sepolia),
            "holesky" => Ok(EvmChain::Holesky),
            "anvil" | "hardhat" => Ok(EvmChain::Anvil),
            other => match other.strip_prefix("evm-").map(str::parse::<u64>) {
                Some(Ok(id)) => Ok(EvmChain::from_id(id)),
                _ => Err(format!("unknown EVM chain {s:?}: use ethereum, sepolia, holesky, anvil or evm-<chain id>")),
            },
        }
    }
}

/// Whether `s` names an EVM chain (so `--chain` picks the account-model index).
pub fn is_evm_chain_name(s: &str) -> bool {
    s.parse::<EvmChain>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for c in [EvmChain::Ethereum, EvmChain::Sepolia, EvmChain::Holesky, EvmChain::Anvil, EvmChain::Other(10)] {
            assert_eq!(c.to_string().parse::<EvmChain>().unwrap(), c);
            assert_eq!(EvmChain::from_id(c.id()), c);
        }
        assert!("litecoin".parse::<EvmChain>().is_err());
        assert!(!is_evm_chain_name("bitcoin"));
    }
}
