//! Amounts in an asset's base unit (wei for ETH, a token's smallest unit): 256 bits wide,
//! since wei and token supplies do not fit in 64, and written as decimal strings in JSON,
//! since no JSON reader keeps 256-bit numbers exact.

use std::fmt;

use alloy::primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An integer amount in an asset's base unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaseUnits(pub U256);

impl BaseUnits {
    /// Zero.
    pub const ZERO: BaseUnits = BaseUnits(U256::ZERO);

    /// An amount from a 64-bit integer.
    pub fn from_u64(v: u64) -> BaseUnits {
        BaseUnits(U256::from(v))
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for BaseUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for BaseUnits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BaseUnits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<U256>().map(BaseUnits).map_err(|e| serde::de::Error::custom(format!("amount {s:?}: {e}")))
    }
}

/// `amount` in units of 10^-`decimals`, as a decimal with its trailing zeros cut
/// ("1.5" for 1500000 at 6 decimals): for people, never for arithmetic.
pub fn format_units(amount: U256, decimals: u8) -> String {
    let digits = amount.to_string();
    let d = decimals as usize;
    if d == 0 {
        return digits;
    }
    let padded = if digits.len() <= d { format!("{}{digits}", "0".repeat(d + 1 - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_decimal_string_beyond_64_bits() {
        let wei = BaseUnits(U256::from(10u64).pow(U256::from(24u64)) + U256::from(7u64));
        let json = serde_json::to_string(&wei).unwrap();
        assert_eq!(json, "\"1000000000000000000000007\"");
        assert_eq!(serde_json::from_str::<BaseUnits>(&json).unwrap(), wei);
        assert!(serde_json::from_str::<BaseUnits>("\"12x\"").is_err());
    }

    #[test]
    fn units_for_people() {
        assert_eq!(format_units(U256::from(1_500_000u64), 6), "1.5");
        assert_eq!(format_units(U256::from(5u64), 18), "0.000000000000000005");
        assert_eq!(format_units(U256::from(10u64).pow(U256::from(18u64)), 18), "1");
        assert_eq!(format_units(U256::from(42u64), 0), "42");
    }
}
