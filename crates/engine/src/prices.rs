//! Daily USD prices (`date,close`), for the value of a theft on its day and of each flow on
//! the day it arrived. A day the table does not have is an error naming it: no price is made
//! up by interpolation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bitcoin::hashes::{sha256, Hash};
use sleuth_chain::Sat;

use crate::incidents::Day;
use crate::EngineError;

/// A daily price table.
#[derive(Debug, Clone)]
pub struct PriceTable {
    path: PathBuf,
    sha256: String,
    /// Close in micro-dollars per coin, by day.
    close: BTreeMap<Day, u64>,
}

impl PriceTable {
    /// Reads a `date,close` CSV.
    ///
    /// # Errors
    /// [`EngineError::Prices`] naming the file and line of a bad row, or a day repeated.
    pub fn load(path: &Path) -> Result<PriceTable, EngineError> {
        let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let bad = |line: usize, what: String| EngineError::Prices(format!("{}:{line}: {what}", path.display()));
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, h)) if h.trim() == "date,close" => {}
            _ => return Err(bad(1, "the header must be date,close".into())),
        }
        let mut close = BTreeMap::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let (d, c) = line.split_once(',').ok_or_else(|| bad(n + 1, "expected date,close".into()))?;
            let day: Day = d.trim().parse().map_err(|e| bad(n + 1, e))?;
            let micro = parse_micro(c.trim()).ok_or_else(|| bad(n + 1, format!("{c:?} is not a price")))?;
            if close.insert(day.clone(), micro).is_some() {
                return Err(bad(n + 1, format!("{day} appears twice")));
            }
        }
        if close.is_empty() {
            return Err(bad(1, "no prices".into()));
        }
        let sha256 = sha256::Hash::hash(&bytes).to_string();
        Ok(PriceTable { path: path.to_owned(), sha256, close })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SHA-256 of the file, for the report's provenance.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The USD value of `amount` (base units, 10⁸ a coin) at `day`'s close, in cents.
    ///
    /// # Errors
    /// [`EngineError::Prices`] if the table has no close for that day.
    pub fn usd_cents(&self, amount: Sat, day: &Day) -> Result<u64, EngineError> {
        self.usd_cents_of(u128::from(amount.get()), 8, day)
    }

    /// The USD value of `amount` base units of a coin of `decimals` digits (8 for bitcoin,
    /// 18 for ether) at `day`'s close, in cents, rounded half up.
    ///
    /// # Errors
    /// [`EngineError::Prices`] if the table has no close for that day, or the product does
    /// not fit in 128 bits (more than 10¹¹ ether at $10⁶).
    pub fn usd_cents_of(&self, amount: u128, decimals: u32, day: &Day) -> Result<u64, EngineError> {
        let micro = self.close.get(day).ok_or_else(|| {
            let (first, last) =
                (self.close.keys().next().expect("not empty"), self.close.keys().last().expect("not empty"));
            EngineError::Prices(format!(
                "{}: no close for {day} (the table runs from {first} to {last}{}); add the day or use another table",
                self.path.display(),
                if day > first && day < last { ", with this day missing" } else { "" }
            ))
        })?;
        // units × µ$/coin / 10^decimals units/coin = µ$; / 10⁴ = cents (rounded half up).
        let micro_usd = amount
            .checked_mul(u128::from(*micro))
            .ok_or_else(|| EngineError::Prices(format!("{amount} base units at {day}: too large to price")))?
            / 10u128.pow(decimals);
        Ok(((micro_usd + 5_000) / 10_000) as u64)
    }
}

/// `"112017.21"` as micro-dollars.
fn parse_micro(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut f = frac.to_owned();
    f.truncate(6);
    while f.len() < 6 {
        f.push('0');
    }
    Some(int.parse::<u64>().ok()? * 1_000_000 + f.parse::<u64>().ok()?)
}

/// Cents as dollars for people and JSON (`1234567` → `12345.67`).
pub fn dollars(cents: u64) -> f64 {
    cents as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_exact_to_the_cent_and_missing_days_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::write(&p, "date,close\n2024-01-01,42000.50\n2024-01-03,43000\n").unwrap();
        let t = PriceTable::load(&p).unwrap();
        let day = |s: &str| s.parse::<Day>().unwrap();
        assert_eq!(t.usd_cents(Sat::new(100_000_000), &day("2024-01-01")).unwrap(), 4_200_050);
        assert_eq!(t.usd_cents(Sat::new(1), &day("2024-01-03")).unwrap(), 0);
        let err = t.usd_cents(Sat::new(1), &day("2024-01-02")).unwrap_err().to_string();
        assert!(err.contains("no close for 2024-01-02") && err.contains("missing"), "{err}");
        std::fs::write(&p, "date,close\n2024-01-01,abc\n").unwrap();
        assert!(PriceTable::load(&p).unwrap_err().to_string().contains(":2:"));
    }
}
