//! Tornado-style mixers: recognised from their behaviour (a contract taking deposits of one
//! fixed denomination and paying that same amount out by internal calls), or from their
//! tags. Value entering one is dark: a withdrawal cannot be tied to a deposit on chain. The
//! trace lists the candidate withdrawals with the evidence that links each to the deposit,
//! at a stated level, and never merges them.

use alloy::primitives::{Address, U256};
use serde::Serialize;

use crate::amount::BaseUnits;
use crate::error::EvmError;
use crate::model::{AssetId, TransferKind};
use crate::store::{EvmReader, TransferRec};

/// Transfers of a contract read at most to judge its behaviour.
const BEHAVIOUR_SCAN: usize = 10_000;
/// Candidate withdrawals listed per deposit at most.
const MAX_CANDIDATES: usize = 20;

/// How strongly a candidate withdrawal is tied to a deposit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceLevel {
    /// Only the denomination and the order in time.
    Weak,
    /// The recipient dealt with the depositor before.
    Medium,
    /// The depositor paid the withdrawal's gas, or withdrew to itself.
    Strong,
}

/// A withdrawal that may be the deposit coming back out.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The withdrawal's transaction.
    pub tx: String,
    /// Who it paid.
    pub to: String,
    /// How much.
    pub amount_base: BaseUnits,
    /// Its block.
    pub height: u64,
    /// What ties it to the deposit.
    pub evidence: Vec<String>,
    /// How strongly.
    pub level: EvidenceLevel,
}

/// Tainted value that entered a mixer.
#[derive(Clone, Debug, Serialize)]
pub struct MixerDeposit {
    /// The mixer.
    pub mixer: String,
    /// Why it is taken for one (its tag, or its behaviour).
    pub recognised_by: String,
    /// The deposit's transaction.
    pub tx: String,
    /// Who deposited.
    pub depositor: String,
    /// How much.
    pub amount_base: BaseUnits,
    /// Its block.
    pub height: u64,
    /// Withdrawals of the same amount after it, strongest evidence first.
    pub candidates: Vec<Candidate>,
}

/// `Some(description)` when `a` is a contract whose ETH deposits are all one amount (at
/// least two of them) and whose payouts, by internal calls, are all that amount.
pub fn behaviour(r: &EvmReader, a: &Address) -> Result<Option<String>, EvmError> {
    if !r.account(a)?.is_some_and(|x| x.contract) {
        return Ok(None);
    }
    let (mut deposits, mut payouts) = (0u64, 0u64);
    let mut denomination: Option<U256> = None;
    for n in r.account_transfer_nums(a, None, BEHAVIOUR_SCAN)? {
        let t = r.transfer(n)?;
        if t.asset != AssetId::ETH || !t.effective() || matches!(t.kind, TransferKind::FeeBurn | TransferKind::FeeTip) {
            continue;
        }
        if *denomination.get_or_insert(t.amount) != t.amount {
            return Ok(None);
        }
        if t.to == *a && t.kind == TransferKind::Value {
            deposits += 1;
        } else if t.from == *a && t.kind == TransferKind::Internal {
            payouts += 1;
        } else {
            return Ok(None);
        }
    }
    Ok((deposits >= 2 && payouts >= 1).then(|| {
        format!("behaviour: {deposits} deposits and {payouts} payouts, all of {} wei", denomination.unwrap_or_default())
    }))
}

/// The deposit `t` (transfer `n`) into a mixer (taken for one because `recognised_by`),
/// with its candidate withdrawals.
pub fn deposit(r: &EvmReader, t: &TransferRec, n: u64, recognised_by: String) -> Result<MixerDeposit, EvmError> {
    let mixer = t.to;
    let depositor = t.from;
    let deposit_tx = match t.tx_num() {
        Some(num) => r.tx(num.0)?,
        None => None,
    };
    let mut candidates = Vec::new();
    for m in r.account_transfer_nums(&mixer, Some(n), BEHAVIOUR_SCAN)? {
        let w = r.transfer(m)?;
        if w.from != mixer
            || w.asset != t.asset
            || !w.effective()
            || w.amount != t.amount
            || w.kind != TransferKind::Internal
        {
            continue;
        }
        let Some(wtx) = w.tx_num().map(|x| r.tx(x.0)).transpose()?.flatten() else { continue };
        let mut evidence = vec![
            format!("same denomination ({} wei)", w.amount),
            format!("{} blocks after the deposit", w.block - t.block),
        ];
        let mut level = EvidenceLevel::Weak;
        if wtx.from == depositor || w.to == depositor {
            evidence.push(if w.to == depositor {
                "withdrawn to the depositor itself".into()
            } else {
                "the depositor paid the withdrawal's gas".into()
            });
            level = EvidenceLevel::Strong;
        } else if dealt_before(r, &w.to, &depositor, m)? {
            evidence.push("the recipient dealt with the depositor before".into());
            level = EvidenceLevel::Medium;
        }
        candidates.push(Candidate {
            tx: wtx.hash.to_string(),
            to: w.to.to_string(),
            amount_base: BaseUnits(w.amount),
            height: w.block,
            evidence,
            level,
        });
    }
    candidates.sort_by(|a, b| b.level.cmp(&a.level).then(a.height.cmp(&b.height)));
    candidates.truncate(MAX_CANDIDATES);
    Ok(MixerDeposit {
        mixer: mixer.to_string(),
        recognised_by,
        tx: deposit_tx.map_or_else(|| "-".into(), |x| x.hash.to_string()),
        depositor: depositor.to_string(),
        amount_base: BaseUnits(t.amount),
        height: t.block,
        candidates,
    })
}

/// Whether `a` paid or was paid by `b` before transfer `n`.
fn dealt_before(r: &EvmReader, a: &Address, b: &Address, n: u64) -> Result<bool, EvmError> {
    for m in r.account_transfer_nums(a, None, BEHAVIOUR_SCAN)? {
        if m >= n {
            break;
        }
        let t = r.transfer(m)?;
        if (t.from == *a && t.to == *b) || (t.from == *b && t.to == *a) {
            return Ok(true);
        }
    }
    Ok(false)
}
