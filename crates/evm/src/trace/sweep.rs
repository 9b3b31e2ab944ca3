//! Exchange deposit addresses: an exchange gives each customer an account of their own and
//! sweeps what arrives into its hot wallet. Only the hot wallet is usually tagged; an
//! account whose every payment out went to one tagged service, and which was emptied by
//! those payments (of each asset it paid out, at least 99 % of what it received: a sweep
//! forwards all but the gas), inherits
//! that service, so a trace stops at the deposit, where the exchange can freeze it. The
//! emptying is what tells a deposit address from a mule or a peel chain's last link that
//! paid one exchange and kept a little (precision first: a small deposit whose sweep gas
//! exceeds 1 % is missed, not mistaken) (Victor 2020, "Address clustering heuristics for Ethereum", takes deposits to
//! be forwarded in full the same way).

use std::collections::HashMap;

use alloy::primitives::{Address, U256};

use super::{AccountLabel, LabelClass, Labels};
use crate::error::EvmError;
use crate::model::TransferKind;
use crate::store::EvmReader;

/// Transfers of an account read at most to judge whether it is a deposit address.
const SWEEP_SCAN: usize = 1_000;

/// The service `a` sweeps to, with its label, when every payment out of `a` (of any asset,
/// fees aside; at least one) went to that one service and emptied `a` (99 %, see above).
pub fn sweeps_to(r: &EvmReader, a: &Address, labels: &dyn Labels) -> Result<Option<(AccountLabel, Address)>, EvmError> {
    let mut target: Option<Address> = None;
    // Per asset: (received, paid out).
    let mut flows: HashMap<u32, (U256, U256)> = HashMap::new();
    for n in r.account_transfer_nums(a, None, SWEEP_SCAN)? {
        let t = r.transfer(n)?;
        if !t.effective() || matches!(t.kind, TransferKind::FeeBurn | TransferKind::FeeTip) {
            continue;
        }
        if t.to == *a && t.kind.credits() {
            flows.entry(t.asset.0).or_default().0 += t.amount;
        }
        if t.from != *a {
            continue;
        }
        flows.entry(t.asset.0).or_default().1 += t.amount;
        match target {
            None => target = Some(t.to),
            Some(x) if x == t.to => {}
            Some(_) => return Ok(None),
        }
    }
    let Some(hot) = target else { return Ok(None) };
    let emptied = flows
        .values()
        .all(|&(received, paid)| paid.is_zero() || paid * U256::from(100u64) >= received * U256::from(99u64));
    if !emptied {
        return Ok(None);
    }
    Ok(labels.label(&hot).filter(|l| l.class == LabelClass::Service).map(|l| (l, hot)))
}
