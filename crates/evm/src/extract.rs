//! From what an execution client returns for a block — the block with its transactions,
//! the receipts, and call traces in either dialect — to the movements of value the index
//! records. Pure: no RPC here, so every rule is tested on hand-made answers.
//!
//! Two trace dialects, one result: Parity's `trace_block` (reth, Erigon, Nethermind, Anvil;
//! it also lists pre-merge block and uncle rewards) and Geth's `debug_traceBlockByNumber`
//! with the `callTracer` (Geth, and every client above). A frame that reverted, and every
//! frame under it, moved nothing: its transfers are kept, marked reverted.

use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, U256};
use alloy::rpc::types::trace::geth::CallFrame;
use alloy::rpc::types::trace::parity::{Action, CallType, LocalizedTransactionTrace, TraceOutput};
use alloy::rpc::types::{Block, BlockTransactions, TransactionReceipt};

use crate::error::EvmError;
use crate::model::{BlockData, BlockRec, Transfer, TransferKind, TxData, TxRec};

mod erc20 {
    alloy::sol! {
        /// ERC-20's `Transfer` (ERC-721's has the same signature with a third indexed topic,
        /// which this declaration does not decode, so NFTs are left out).
        event Transfer(address indexed from, address indexed to, uint256 value);
    }
}

/// A block's call traces, in the dialect the node speaks.
#[derive(Debug)]
pub enum BlockTraces {
    /// Parity's `trace_block`: a flat list, each trace with its transaction and position.
    Parity(Vec<LocalizedTransactionTrace>),
    /// Geth's `debug_traceBlockByNumber` with the call tracer: one call tree per transaction.
    Geth(Vec<CallFrame>),
}

/// Decodes a block fetched with full transactions, its receipts and its traces.
pub fn decode_block(
    block: &Block,
    receipts: &[TransactionReceipt],
    traces: &BlockTraces,
) -> Result<BlockData, EvmError> {
    let number = block.header.inner.number;
    let bad = |what: String| EvmError::BadBlock { number, what };
    let BlockTransactions::Full(txs) = &block.transactions else {
        return Err(bad("the node returned the block without its transactions".into()));
    };
    if receipts.len() != txs.len() {
        return Err(bad(format!("{} transactions but {} receipts", txs.len(), receipts.len())));
    }
    let base_fee = block.header.inner.base_fee_per_gas.map(u128::from);
    let miner = block.header.inner.beneficiary;

    let mut frames: Vec<Vec<Transfer>> = vec![Vec::new(); txs.len()];
    let mut created: Vec<Vec<Address>> = vec![Vec::new(); txs.len()];
    let mut destroyed: Vec<Vec<Address>> = vec![Vec::new(); txs.len()];
    let mut block_transfers = Vec::new();
    match traces {
        BlockTraces::Parity(list) => {
            // Traces come depth first; a frame reverted when it or any ancestor has an error.
            let mut failed: Vec<(u64, Vec<usize>)> = Vec::new();
            for t in list {
                let Some(pos) = t.transaction_position else {
                    if let Action::Reward(r) = &t.trace.action {
                        block_transfers.push(minted(TransferKind::Reward, r.author, r.value));
                    }
                    continue;
                };
                let i = pos as usize;
                if i >= txs.len() {
                    return Err(bad(format!("a trace names transaction {pos} of {}", txs.len())));
                }
                let addr = &t.trace.trace_address;
                if t.trace.error.is_some() {
                    failed.push((pos, addr.clone()));
                }
                let reverted = failed.iter().any(|(p, f)| *p == pos && addr.starts_with(f));
                let top = addr.is_empty();
                match &t.trace.action {
                    Action::Call(c) => {
                        if c.call_type == CallType::Call && !c.value.is_zero() {
                            let kind = if top { TransferKind::Value } else { TransferKind::Internal };
                            frames[i].push(eth(kind, c.from, c.to, c.value, reverted));
                        }
                    }
                    Action::Create(c) => {
                        let address = match &t.trace.result {
                            Some(TraceOutput::Create(o)) => Some(o.address),
                            _ => None,
                        };
                        if let (Some(a), false) = (address, reverted) {
                            created[i].push(a);
                        }
                        if !c.value.is_zero() {
                            let to = address.unwrap_or(Address::ZERO);
                            frames[i].push(eth(TransferKind::Create, c.from, to, c.value, reverted));
                        }
                    }
                    Action::Selfdestruct(s) => {
                        if !reverted {
                            destroyed[i].push(s.address);
                        }
                        if !s.balance.is_zero() {
                            frames[i].push(eth(
                                TransferKind::Selfdestruct,
                                s.address,
                                s.refund_address,
                                s.balance,
                                reverted,
                            ));
                        }
                    }
                    Action::Reward(r) => block_transfers.push(minted(TransferKind::Reward, r.author, r.value)),
                }
            }
        }
        BlockTraces::Geth(roots) => {
            if roots.len() != txs.len() {
                return Err(bad(format!("{} transactions but {} call traces", txs.len(), roots.len())));
            }
            for (i, root) in roots.iter().enumerate() {
                walk_geth(root, true, false, &mut frames[i], &mut created[i], &mut destroyed[i]);
            }
        }
    }

    let mut out = Vec::with_capacity(txs.len());
    for (i, (tx, receipt)) in txs.iter().zip(receipts).enumerate() {
        let hash = tx.tx_hash();
        if receipt.transaction_hash != hash {
            return Err(bad(format!("receipt {i} is for {} but transaction {i} is {hash}", receipt.transaction_hash)));
        }
        let from = tx.from();
        let success = receipt.status();
        let gas_used = receipt.gas_used;
        let egp = receipt.effective_gas_price;
        let gas_fee = U256::from(gas_used) * U256::from(egp);
        let blob_fee = U256::from(receipt.blob_gas_used.unwrap_or(0)) * U256::from(receipt.blob_gas_price.unwrap_or(0));
        let burnt = U256::from(gas_used) * U256::from(base_fee.unwrap_or(0)) + blob_fee;
        let fee = gas_fee + blob_fee;
        let tip = fee.checked_sub(burnt).ok_or_else(|| {
            bad(format!("transaction {hash} paid {egp} wei per gas, below the base fee {}", base_fee.unwrap_or(0)))
        })?;
        let mut transfers = Vec::new();
        if !burnt.is_zero() {
            transfers.push(eth(TransferKind::FeeBurn, from, Address::ZERO, burnt, false));
        }
        if !tip.is_zero() {
            transfers.push(eth(TransferKind::FeeTip, from, miner, tip, false));
        }
        // A failed transaction's frames all carry its error; mark them so even if a node
        // reports the revert only in the receipt.
        transfers.extend(std::mem::take(&mut frames[i]).into_iter().map(|mut t| {
            t.reverted |= !success;
            t
        }));
        for log in receipt.inner.logs() {
            if let Ok(ev) = log.log_decode::<erc20::Transfer>() {
                let d = ev.inner.data;
                transfers.push(Transfer {
                    kind: TransferKind::Token,
                    token: Some(log.address()),
                    from: d.from,
                    to: d.to,
                    amount: d.value,
                    reverted: false,
                });
            }
        }
        let created_tx = std::mem::take(&mut created[i]);
        out.push(TxData {
            rec: TxRec {
                hash,
                block: number,
                index: i as u32,
                tx_type: tx.inner.tx_type() as u8,
                from,
                to: tx.to(),
                created: receipt.contract_address.or_else(|| {
                    if tx.to().is_none() {
                        created_tx.first().copied()
                    } else {
                        None
                    }
                }),
                value: tx.value(),
                nonce: tx.nonce(),
                success,
                gas_used,
                effective_gas_price: egp,
                fee,
                first_transfer: 0,
                transfer_count: 0,
            },
            transfers,
            contracts_created: if success { created_tx } else { Vec::new() },
            contracts_destroyed: if success { std::mem::take(&mut destroyed[i]) } else { Vec::new() },
        });
    }
    if let Some(ws) = &block.withdrawals {
        for w in ws.iter() {
            // Withdrawals are counted in gwei.
            let wei = U256::from(w.amount) * U256::from(1_000_000_000u64);
            block_transfers.push(minted(TransferKind::Withdrawal, w.address, wei));
        }
    }
    Ok(BlockData {
        number,
        rec: BlockRec {
            hash: block.header.hash,
            parent_hash: block.header.inner.parent_hash,
            timestamp: block.header.inner.timestamp,
            miner,
            base_fee,
            gas_used: block.header.inner.gas_used,
            first_tx: 0,
            tx_count: 0,
            first_transfer: 0,
            transfer_count: 0,
        },
        block_transfers,
        txs: out,
    })
}

/// Value to one account from no one (genesis, rewards, withdrawals).
pub fn minted(kind: TransferKind, to: Address, amount: U256) -> Transfer {
    Transfer { kind, token: None, from: Address::ZERO, to, amount, reverted: false }
}

fn eth(kind: TransferKind, from: Address, to: Address, amount: U256, reverted: bool) -> Transfer {
    Transfer { kind, token: None, from, to, amount, reverted }
}

/// Geth's call tree, depth first, as Parity orders its flat list.
fn walk_geth(
    f: &CallFrame,
    top: bool,
    parent_reverted: bool,
    out: &mut Vec<Transfer>,
    created: &mut Vec<Address>,
    destroyed: &mut Vec<Address>,
) {
    let reverted = parent_reverted || f.error.is_some();
    let value = f.value.unwrap_or_default();
    match f.typ.as_str() {
        "CALL" if !value.is_zero() => {
            let kind = if top { TransferKind::Value } else { TransferKind::Internal };
            out.push(eth(kind, f.from, f.to.unwrap_or(Address::ZERO), value, reverted));
        }
        "CREATE" | "CREATE2" => {
            if let (Some(a), false) = (f.to, reverted) {
                created.push(a);
            }
            if !value.is_zero() {
                out.push(eth(TransferKind::Create, f.from, f.to.unwrap_or(Address::ZERO), value, reverted));
            }
        }
        "SELFDESTRUCT" => {
            if !reverted {
                destroyed.push(f.from);
            }
            if !value.is_zero() {
                out.push(eth(TransferKind::Selfdestruct, f.from, f.to.unwrap_or(Address::ZERO), value, reverted));
            }
        }
        _ => {}
    }
    for c in &f.calls {
        walk_geth(c, false, reverted, out, created, destroyed);
    }
}
