//! Where block 0's value comes from: a genesis allocation is state, not a transaction, so
//! no trace shows it. Read from the chain's `genesis.json` (Geth's format: an `alloc` map of
//! address to `balance`, hex or decimal), or, on a development node, from its funded
//! accounts (`eth_accounts`, balances at block 0).

use std::path::Path;

use alloy::primitives::{Address, U256};

use crate::error::EvmError;

/// Reads the `alloc` of a Geth-style genesis file.
pub fn read_genesis_file(path: &Path) -> Result<Vec<(Address, U256)>, EvmError> {
    let bad = |message: String| EvmError::Genesis { path: path.to_path_buf(), message };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let alloc = json
        .get("alloc")
        .and_then(|a| a.as_object())
        .ok_or_else(|| bad("no \"alloc\" object: expected a genesis.json as Geth reads it".into()))?;
    let mut out = Vec::with_capacity(alloc.len());
    for (addr, acct) in alloc {
        let a = if addr.starts_with("0x") { addr.clone() } else { format!("0x{addr}") };
        let address: Address = a.parse().map_err(|_| bad(format!("{addr:?} in alloc is not an address")))?;
        let balance = match acct.get("balance") {
            None => U256::ZERO,
            Some(serde_json::Value::String(s)) => {
                parse_quantity(s).ok_or_else(|| bad(format!("balance {s:?} of {addr} is not a number")))?
            }
            Some(other) => return Err(bad(format!("balance of {addr} is {other}, not a string"))),
        };
        if !balance.is_zero() {
            out.push((address, balance));
        }
    }
    out.sort();
    Ok(out)
}

fn parse_quantity(s: &str) -> Option<U256> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => U256::from_str_radix(hex, 16).ok(),
        None => U256::from_str_radix(s, 10).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hex_and_decimal_balances() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("genesis.json");
        std::fs::write(
            &p,
            r#"{"config":{},"alloc":{"0x00000000000000000000000000000000000000aa":{"balance":"0x10"},
               "00000000000000000000000000000000000000bb":{"balance":"1000000000000000000000"},
               "0x00000000000000000000000000000000000000cc":{"code":"0x00"}}}"#,
        )
        .unwrap();
        let alloc = read_genesis_file(&p).unwrap();
        assert_eq!(alloc.len(), 2);
        assert_eq!(alloc[0].1, U256::from(16u64));
        assert_eq!(alloc[1].1, U256::from(10u64).pow(U256::from(21u64)));
        std::fs::write(&p, r#"{"alloc":{"0xzz":{"balance":"1"}}}"#).unwrap();
        let err = read_genesis_file(&p).unwrap_err().to_string();
        assert!(err.contains("genesis.json") && err.contains("not an address"), "{err}");
    }
}
