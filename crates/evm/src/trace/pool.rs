//! An account as a pool of value, and how each policy says which part of a payment out of
//! it is tainted. An account mixes everything it receives, so the UTXO policies take their
//! account forms:
//!
//! - **haircut**: every payment carries the pool's tainted share (Möser, Böhme & Breuker
//!   2014), rounded down to the base unit; what rounding leaves stays in the pool.
//! - **FIFO**: value leaves in the order it came in, the rule of Clayton's case (1816),
//!   made for bank accounts; **LIFO**: the newest value leaves first.
//! - **poison**: once anything tainted arrives, every payment out is tainted in full (the
//!   upper bound; its totals over-reach by design).

use std::collections::VecDeque;

use alloy::primitives::{U256, U512};
use serde::Serialize;

/// A taint policy on accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountPolicy {
    /// Any taint in, everything out.
    Poison,
    /// Pro rata.
    Haircut,
    /// First in, first out.
    Fifo,
    /// Last in, first out.
    Lifo,
}

impl AccountPolicy {
    /// Every policy, in the order reports show them.
    pub const ALL: [AccountPolicy; 4] =
        [AccountPolicy::Poison, AccountPolicy::Haircut, AccountPolicy::Fifo, AccountPolicy::Lifo];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountPolicy::Poison => "poison",
            AccountPolicy::Haircut => "haircut",
            AccountPolicy::Fifo => "fifo",
            AccountPolicy::Lifo => "lifo",
        }
    }

    /// From its name (`tiho` has no account form: one payment has one recipient).
    pub fn parse(s: &str) -> Result<AccountPolicy, String> {
        match s.trim() {
            "poison" => Ok(AccountPolicy::Poison),
            "haircut" => Ok(AccountPolicy::Haircut),
            "fifo" => Ok(AccountPolicy::Fifo),
            "lifo" => Ok(AccountPolicy::Lifo),
            "tiho" => Err("tiho has no account form (a payment out of an account has one recipient): use poison, haircut, fifo or lifo".into()),
            other => Err(format!("unknown policy {other:?}: use poison, haircut, fifo, lifo or all")),
        }
    }
}

/// One account's taint under one policy. The account's balance is kept beside it, shared
/// by every policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pool {
    /// The tainted amount (haircut).
    Share(U256),
    /// Value in arrival order, each piece tainted or clean (FIFO, LIFO).
    Queue(VecDeque<(U256, bool)>),
    /// Whether anything tainted ever arrived (poison).
    Flag(bool),
}

impl Pool {
    /// An account that held `balance` clean before the trace reached it.
    pub fn new(policy: AccountPolicy, balance: U256) -> Pool {
        match policy {
            AccountPolicy::Haircut => Pool::Share(U256::ZERO),
            AccountPolicy::Fifo | AccountPolicy::Lifo => {
                let mut q = VecDeque::new();
                if !balance.is_zero() {
                    q.push_back((balance, false));
                }
                Pool::Queue(q)
            }
            AccountPolicy::Poison => Pool::Flag(false),
        }
    }

    /// Pays `x` out of a pool holding `balance`; returns the tainted part.
    pub fn take(&mut self, policy: AccountPolicy, x: U256, balance: U256) -> U256 {
        match self {
            Pool::Share(t) => {
                let m = if x >= balance {
                    *t
                } else {
                    // x × t / balance without overflow: 512-bit product, rounded down.
                    let p = U512::from(x) * U512::from(*t) / U512::from(balance);
                    U256::from(p)
                };
                *t -= m.min(*t);
                m
            }
            Pool::Queue(q) => {
                let mut left = x;
                let mut tainted = U256::ZERO;
                while !left.is_zero() {
                    let piece = if policy == AccountPolicy::Lifo { q.back_mut() } else { q.front_mut() };
                    let Some((amount, is_tainted)) = piece else { break };
                    let n = (*amount).min(left);
                    if *is_tainted {
                        tainted += n;
                    }
                    *amount -= n;
                    left -= n;
                    if amount.is_zero() {
                        if policy == AccountPolicy::Lifo {
                            q.pop_back();
                        } else {
                            q.pop_front();
                        }
                    }
                }
                tainted
            }
            Pool::Flag(f) => {
                if *f {
                    x
                } else {
                    U256::ZERO
                }
            }
        }
    }

    /// Receives `x`, of which `tainted` is tainted (the tainted part queued first).
    pub fn receive(&mut self, x: U256, tainted: U256) {
        match self {
            Pool::Share(t) => *t += tainted,
            Pool::Queue(q) => {
                let clean = x.saturating_sub(tainted);
                for (amount, is_tainted) in [(tainted, true), (clean, false)] {
                    if amount.is_zero() {
                        continue;
                    }
                    match q.back_mut() {
                        Some((a, t)) if *t == is_tainted => *a += amount,
                        _ => q.push_back((amount, is_tainted)),
                    }
                }
            }
            Pool::Flag(f) => *f |= !tainted.is_zero(),
        }
    }

    /// The tainted value still in the pool, which holds `balance`.
    pub fn tainted(&self, balance: U256) -> U256 {
        match self {
            Pool::Share(t) => *t,
            Pool::Queue(q) => q.iter().filter(|(_, t)| *t).map(|(a, _)| *a).fold(U256::ZERO, |s, a| s + a),
            Pool::Flag(f) => {
                if *f {
                    balance
                } else {
                    U256::ZERO
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    /// Clayton's case: the account's earliest credits are the first drawn out. The 3 stolen
    /// and 7 clean of the haircut example: a payment of 5 carries 1.5, rounded down to 1.
    #[test]
    fn each_policy_on_three_tainted_after_seven_clean() {
        let mut balance = u(7);
        let mut pools: Vec<_> = AccountPolicy::ALL.iter().map(|&p| (p, Pool::new(p, balance))).collect();
        for (_, pool) in &mut pools {
            pool.receive(u(3), u(3));
        }
        balance += u(3);
        let out: Vec<_> = pools.iter_mut().map(|(p, pool)| pool.take(*p, u(5), balance)).collect();
        balance -= u(5);
        // poison: all 5; haircut: floor(5 × 3 / 10) = 1; FIFO: the 7 clean came first, 0;
        // LIFO: the 3 tainted came last, all 3 leave.
        assert_eq!(out, vec![u(5), u(1), u(0), u(3)]);
        let left: Vec<_> = pools.iter().map(|(_, pool)| pool.tainted(balance)).collect();
        assert_eq!(left, vec![u(5), u(2), u(3), u(0)]);
        // Whatever is taken or left adds up to the 3 (all but poison).
        for i in 1..4 {
            assert_eq!(out[i] + left[i], u(3));
        }
        // The whole rest goes out: haircut hands over its remainder exactly.
        let rest: Vec<_> = pools.iter_mut().map(|(p, pool)| pool.take(*p, u(5), balance)).collect();
        assert_eq!(rest, vec![u(5), u(2), u(3), u(0)]);
    }

    #[test]
    fn haircut_is_exact_beyond_128_bits() {
        let big = U256::from(10u64).pow(U256::from(40u64));
        let mut pool = Pool::new(AccountPolicy::Haircut, big);
        pool.receive(big, big);
        let m = pool.take(AccountPolicy::Haircut, big, big + big);
        assert_eq!(m, big / U256::from(2u64));
        assert!(
            "tiho".parse::<String>().is_ok() && AccountPolicy::parse("tiho").unwrap_err().contains("no account form")
        );
    }
}
