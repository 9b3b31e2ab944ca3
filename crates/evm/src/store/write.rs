//! Adding blocks to the account index and unwinding them, in one write transaction.
//!
//! Both directions compute a block's [`Effects`] from the same rows — balance changes per
//! account and asset, and what each account's counters gain — so that unwinding a block takes
//! back exactly what adding it gave.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::primitives::{Address, U256};
use redb::{ReadableTable, WriteTransaction};

use super::records::{AccountRec, BlockRec, CreditRow, TokenRec, TransferRec, TxRec, NONE};
use super::*;
use crate::model::{AssetId, BlockData};

/// A token's metadata as its contract answered (`symbol()`, `decimals()`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenMeta {
    /// Its symbol.
    pub symbol: Option<String>,
    /// Its decimals.
    pub decimals: Option<u8>,
}

/// One commit: blocks unwound from the tip as `unwind_to` says, then `blocks` added on top,
/// then `meta` written.
#[derive(Default)]
pub struct Batch<'a> {
    /// `Some(Some(h))`: unwind every block above height `h`; `Some(None)`: every block.
    pub unwind_to: Option<Option<u64>>,
    /// Blocks to add, in height order, each the child of the one before.
    pub blocks: &'a [BlockData],
    /// Metadata of tokens first seen in `blocks`.
    pub tokens: Option<&'a HashMap<Address, TokenMeta>>,
    /// Meta entries to set.
    pub meta: Vec<(&'static str, Vec<u8>)>,
}

/// What a block changes.
#[derive(Default)]
struct Effects {
    /// Per (account, asset): (credited, debited).
    balances: BTreeMap<([u8; 20], u32), (U256, U256)>,
    /// Per account: what its counters gain.
    accounts: BTreeMap<Address, AccountGain>,
}

#[derive(Default)]
struct AccountGain {
    sent: u64,
    txs: u64,
    created_tx: Option<u64>,
    destroyed_tx: Option<u64>,
}

/// One transaction's rows.
struct TxRows {
    num: u64,
    rec: TxRec,
    transfers: Vec<TransferRec>,
    created: Vec<Address>,
    destroyed: Vec<Address>,
}

impl Effects {
    fn of(miner: Address, block_transfers: &[TransferRec], txs: &[TxRows]) -> Effects {
        let mut fx = Effects::default();
        fx.accounts.entry(miner).or_default();
        for t in block_transfers {
            fx.transfer(t);
        }
        for tx in txs {
            let mut involved = BTreeSet::new();
            involved.insert(tx.rec.from);
            involved.extend(tx.rec.to);
            involved.extend(tx.created.iter().copied());
            for t in &tx.transfers {
                fx.transfer(t);
                if t.kind.involves() {
                    involved.extend([t.from, t.to].into_iter().filter(|a| !a.is_zero()));
                }
            }
            fx.accounts.entry(tx.rec.from).or_default().sent += 1;
            for a in involved {
                fx.accounts.entry(a).or_default().txs += 1;
            }
            for a in &tx.created {
                fx.accounts.entry(*a).or_default().created_tx = Some(tx.num);
            }
            for a in &tx.destroyed {
                fx.accounts.entry(*a).or_default().destroyed_tx = Some(tx.num);
            }
        }
        fx
    }

    fn transfer(&mut self, t: &TransferRec) {
        if t.kind.debits() && !t.from.is_zero() {
            self.accounts.entry(t.from).or_default();
        }
        if t.kind.credits() && !t.to.is_zero() {
            self.accounts.entry(t.to).or_default();
        }
        if !t.effective() {
            return;
        }
        if t.kind.debits() {
            let e = self.balances.entry((t.from.into_array(), t.asset.0)).or_default();
            e.1 += t.amount;
        }
        if t.kind.credits() {
            let e = self.balances.entry((t.to.into_array(), t.asset.0)).or_default();
            e.0 += t.amount;
        }
    }
}

impl EvmStore {
    /// Commits `batch` whole, or nothing of it.
    pub fn commit(&mut self, batch: Batch<'_>) -> Result<(), EvmError> {
        let path: &Path = &self.path;
        let txn = self.writer()?;
        if let Some(keep) = batch.unwind_to {
            while let Some((h, _)) = tip_in(&txn, path)? {
                if keep.is_some_and(|k| h <= k) {
                    break;
                }
                unwind_block(&txn, path, h)?;
            }
        }
        for b in batch.blocks {
            add_block(&txn, path, b, batch.tokens)?;
        }
        {
            let mut meta = txn.open_table(META).at(path)?;
            for (k, v) in &batch.meta {
                meta.insert(*k, v.as_slice()).at(path)?;
            }
        }
        txn.commit().at(path)
    }
}

pub(crate) fn tip_in(txn: &WriteTransaction, path: &Path) -> Result<Option<(u64, BlockRec)>, EvmError> {
    let blocks = txn.open_table(BLOCKS).at(path)?;
    let last = blocks.last().at(path)?;
    match last {
        None => Ok(None),
        Some((k, v)) => {
            let h = k.value();
            let rec = BlockRec::decode(v.value()).ok_or_else(|| damaged(path, format!("block {h}")))?;
            Ok(Some((h, rec)))
        }
    }
}

fn add_block(
    txn: &WriteTransaction,
    path: &Path,
    b: &BlockData,
    tokens: Option<&HashMap<Address, TokenMeta>>,
) -> Result<(), EvmError> {
    let tip = tip_in(txn, path)?;
    let (next_tx, next_transfer) = match &tip {
        None => (0, 0),
        Some((_, r)) => (r.first_tx + r.tx_count as u64, r.first_transfer + r.transfer_count as u64),
    };
    let expected = tip.as_ref().map_or(0, |(h, _)| h + 1);
    if b.number != expected {
        return Err(EvmError::BadBlock { number: b.number, what: format!("the index expects block {expected} next") });
    }
    if let Some((_, r)) = &tip {
        if r.hash != b.rec.parent_hash {
            return Err(EvmError::BadBlock {
                number: b.number,
                what: format!("its parent {} is not the indexed tip {}", b.rec.parent_hash, r.hash),
            });
        }
    }

    let mut token_ids = txn.open_table(TOKEN_BY_ADDRESS).at(path)?;
    let mut token_rows = txn.open_table(TOKENS).at(path)?;
    let mut asset_of = |token: Option<Address>| -> Result<AssetId, EvmError> {
        let Some(t) = token else { return Ok(AssetId::ETH) };
        if let Some(id) = token_ids.get(t.into_array()).at(path)? {
            return Ok(AssetId(id.value()));
        }
        let next = token_rows.last().at(path)?.map_or(1, |(k, _)| k.value() + 1);
        let meta = tokens.and_then(|m| m.get(&t)).cloned().unwrap_or_default();
        let rec = TokenRec { address: t, symbol: meta.symbol, decimals: meta.decimals, first_block: b.number };
        token_rows.insert(next, rec.encode().as_slice()).at(path)?;
        token_ids.insert(t.into_array(), next).at(path)?;
        Ok(AssetId(next))
    };

    let mut transfer_num = next_transfer;
    let mut block_transfers = Vec::with_capacity(b.block_transfers.len());
    for t in &b.block_transfers {
        block_transfers.push(TransferRec::of(t, asset_of(t.token)?, NONE, b.number));
    }
    transfer_num += block_transfers.len() as u64;
    let mut rows = Vec::with_capacity(b.txs.len());
    for (i, tx) in b.txs.iter().enumerate() {
        let num = next_tx + i as u64;
        let mut transfers = Vec::with_capacity(tx.transfers.len());
        for t in &tx.transfers {
            transfers.push(TransferRec::of(t, asset_of(t.token)?, num, b.number));
        }
        let rec = TxRec { first_transfer: transfer_num, transfer_count: transfers.len() as u32, ..tx.rec.clone() };
        transfer_num += transfers.len() as u64;
        rows.push(TxRows {
            num,
            rec,
            transfers,
            created: tx.contracts_created.clone(),
            destroyed: tx.contracts_destroyed.clone(),
        });
    }
    drop(token_ids);
    drop(token_rows);

    let block_rec = BlockRec {
        first_tx: next_tx,
        tx_count: b.txs.len() as u32,
        first_transfer: next_transfer,
        transfer_count: (transfer_num - next_transfer) as u32,
        ..b.rec.clone()
    };
    let fx = Effects::of(b.rec.miner, &block_transfers, &rows);
    {
        let mut blocks = txn.open_table(BLOCKS).at(path)?;
        blocks.insert(b.number, block_rec.encode().as_slice()).at(path)?;
        txn.open_table(BLOCK_BY_HASH).at(path)?.insert(b.rec.hash.0, b.number).at(path)?;
        let mut txs = txn.open_table(TXS).at(path)?;
        let mut by_hash = txn.open_table(TX_BY_HASH).at(path)?;
        let mut transfers = txn.open_table(TRANSFERS).at(path)?;
        let mut by_account = txn.open_table(ACCOUNT_TRANSFERS).at(path)?;
        let mut credits = txn.open_table(CREDITS).at(path)?;
        let mut events = txn.open_table(CONTRACT_EVENTS).at(path)?;
        let mut n = next_transfer;
        let mut put_transfer = |t: &TransferRec| -> Result<(), EvmError> {
            transfers.insert(n, t.encode().as_slice()).at(path)?;
            for (side, a) in [(t.kind.debits(), t.from), (t.kind.credits(), t.to)] {
                if side && !a.is_zero() {
                    by_account.insert((a.into_array(), n), ()).at(path)?;
                }
            }
            if t.effective() && t.kind.credits() && !t.to.is_zero() {
                credits.insert((t.to.into_array(), n), CreditRow::of(t).encode()).at(path)?;
            }
            n += 1;
            Ok(())
        };
        for t in &block_transfers {
            put_transfer(t)?;
        }
        for r in &rows {
            txs.insert(r.num, r.rec.encode().as_slice()).at(path)?;
            by_hash.insert(r.rec.hash.0, r.num).at(path)?;
            for t in &r.transfers {
                put_transfer(t)?;
            }
            for a in &r.created {
                events.insert((r.num, CREATED, a.into_array()), ()).at(path)?;
            }
            for a in &r.destroyed {
                events.insert((r.num, DESTROYED, a.into_array()), ()).at(path)?;
            }
        }
    }
    apply_effects(txn, path, b.number, next_tx..next_tx + b.txs.len() as u64, &fx, true)
}

fn unwind_block(txn: &WriteTransaction, path: &Path, h: u64) -> Result<(), EvmError> {
    let (block, rows, block_transfers) = {
        let blocks = txn.open_table(BLOCKS).at(path)?;
        let raw = blocks.get(h).at(path)?.ok_or_else(|| damaged(path, format!("block {h}")))?;
        let block = BlockRec::decode(raw.value()).ok_or_else(|| damaged(path, format!("block {h}")))?;
        let txs = txn.open_table(TXS).at(path)?;
        let transfers = txn.open_table(TRANSFERS).at(path)?;
        let events = txn.open_table(CONTRACT_EVENTS).at(path)?;
        let read_transfers = |from: u64, count: u64| -> Result<Vec<TransferRec>, EvmError> {
            let mut out = Vec::with_capacity(count as usize);
            for n in from..from + count {
                let raw = transfers.get(n).at(path)?.ok_or_else(|| damaged(path, format!("transfer {n}")))?;
                out.push(TransferRec::decode(raw.value()).ok_or_else(|| damaged(path, format!("transfer {n}")))?);
            }
            Ok(out)
        };
        let mut rows = Vec::with_capacity(block.tx_count as usize);
        for num in block.first_tx..block.first_tx + block.tx_count as u64 {
            let raw = txs.get(num).at(path)?.ok_or_else(|| damaged(path, format!("transaction {num}")))?;
            let rec = TxRec::decode(raw.value()).ok_or_else(|| damaged(path, format!("transaction {num}")))?;
            let transfers = read_transfers(rec.first_transfer, rec.transfer_count as u64)?;
            let (mut created, mut destroyed) = (Vec::new(), Vec::new());
            for ev in events.range((num, 0u8, [0u8; 20])..=(num, u8::MAX, [0xffu8; 20])).at(path)? {
                let (k, _) = ev.at(path)?;
                let (_, kind, a) = k.value();
                if kind == CREATED {
                    created.push(Address::from(a))
                } else {
                    destroyed.push(Address::from(a))
                }
            }
            rows.push(TxRows { num, rec, transfers, created, destroyed });
        }
        let in_txs: u64 = rows.iter().map(|r| r.transfers.len() as u64).sum();
        let block_level = (block.transfer_count as u64)
            .checked_sub(in_txs)
            .ok_or_else(|| damaged(path, format!("block {h}'s transfer count")))?;
        let block_transfers = read_transfers(block.first_transfer, block_level)?;
        (block, rows, block_transfers)
    };
    let fx = Effects::of(block.miner, &block_transfers, &rows);
    apply_effects(txn, path, h, block.first_tx..block.first_tx + block.tx_count as u64, &fx, false)?;
    let mut transfers = txn.open_table(TRANSFERS).at(path)?;
    let mut by_account = txn.open_table(ACCOUNT_TRANSFERS).at(path)?;
    let mut credits = txn.open_table(CREDITS).at(path)?;
    let all = block_transfers.iter().chain(rows.iter().flat_map(|r| r.transfers.iter()));
    for (i, t) in all.enumerate() {
        let n = block.first_transfer + i as u64;
        transfers.remove(n).at(path)?;
        for a in [t.from, t.to] {
            by_account.remove((a.into_array(), n)).at(path)?;
        }
        credits.remove((t.to.into_array(), n)).at(path)?;
    }
    let mut txs = txn.open_table(TXS).at(path)?;
    let mut by_hash = txn.open_table(TX_BY_HASH).at(path)?;
    let mut events = txn.open_table(CONTRACT_EVENTS).at(path)?;
    for r in &rows {
        txs.remove(r.num).at(path)?;
        by_hash.remove(r.rec.hash.0).at(path)?;
        for a in &r.created {
            events.remove((r.num, CREATED, a.into_array())).at(path)?;
        }
        for a in &r.destroyed {
            events.remove((r.num, DESTROYED, a.into_array())).at(path)?;
        }
    }
    txn.open_table(BLOCKS).at(path)?.remove(h).at(path)?;
    txn.open_table(BLOCK_BY_HASH).at(path)?.remove(block.hash.0).at(path)?;
    Ok(())
}

/// Adds (`forward`) or takes back a block's effects on balances and accounts.
fn apply_effects(
    txn: &WriteTransaction,
    path: &Path,
    height: u64,
    tx_range: std::ops::Range<u64>,
    fx: &Effects,
    forward: bool,
) -> Result<(), EvmError> {
    let mut balances = txn.open_table(BALANCES).at(path)?;
    for (&(addr, asset), &(credited, debited)) in &fx.balances {
        let old = balances.get((addr, asset)).at(path)?.map_or(U256::ZERO, |v| U256::from_be_bytes(v.value()));
        let (plus, minus) = if forward { (credited, debited) } else { (debited, credited) };
        let new = if asset == AssetId::ETH.0 {
            // ETH is conserved: a balance below zero means value came from somewhere the
            // index did not see (a genesis allocation not given, a trace the node left out).
            (old + plus).checked_sub(minus).ok_or_else(|| EvmError::Overdraft {
                block: height,
                account: Address::from(addr).to_string(),
                amount: (minus - old - plus).to_string(),
                hint: "the index lacks where it came from: for a chain with a genesis allocation pass \
                       --genesis FILE (its genesis.json), and use a node that traces internal calls"
                    .into(),
            })?
        } else {
            // A token's events are whatever its contract emits, and the zero address mints:
            // two's-complement arithmetic keeps every change exactly reversible.
            old.wrapping_add(plus).wrapping_sub(minus)
        };
        if new.is_zero() {
            balances.remove((addr, asset)).at(path)?;
        } else {
            balances.insert((addr, asset), new.to_be_bytes::<32>()).at(path)?;
        }
    }
    let mut accounts = txn.open_table(ACCOUNTS).at(path)?;
    for (addr, gain) in &fx.accounts {
        let key = addr.into_array();
        let old = match accounts.get(key).at(path)? {
            Some(v) => Some(AccountRec::decode(v.value()).ok_or_else(|| damaged(path, format!("account {addr}")))?),
            None => None,
        };
        if forward {
            let mut rec = old.unwrap_or(AccountRec {
                first_block: height,
                created_tx: NONE,
                destroyed_tx: NONE,
                ..AccountRec::default()
            });
            rec.sent += gain.sent;
            rec.tx_count += gain.txs;
            if let Some(t) = gain.created_tx {
                rec.contract = true;
                rec.created_tx = t;
            }
            if let Some(t) = gain.destroyed_tx {
                rec.destroyed_tx = t;
            }
            accounts.insert(key, rec.encode().as_slice()).at(path)?;
        } else {
            let mut rec = old.ok_or_else(|| damaged(path, format!("account {addr} (missing)")))?;
            if rec.first_block == height {
                accounts.remove(key).at(path)?;
                continue;
            }
            rec.sent = rec.sent.saturating_sub(gain.sent);
            rec.tx_count = rec.tx_count.saturating_sub(gain.txs);
            if tx_range.contains(&rec.created_tx) {
                rec.contract = false;
                rec.created_tx = NONE;
            }
            if tx_range.contains(&rec.destroyed_tx) {
                rec.destroyed_tx = NONE;
            }
            accounts.insert(key, rec.encode().as_slice()).at(path)?;
        }
    }
    Ok(())
}
