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
    // Cancun brought EIP-4844's blob gas and EIP-6780's SELFDESTRUCT together: a block with
    // `excess_blob_gas` is past it.
    let cancun = block.header.inner.excess_blob_gas.is_some();

    let mut frames: Vec<TxFrames> = vec![TxFrames { cancun, ..TxFrames::default() }; txs.len()];
    let mut block_transfers = Vec::new();
    match traces {
        BlockTraces::Parity(list) => {
            // Traces come depth first, grouped by transaction; a frame reverted when it or
            // any ancestor (a prefix of its trace address) has an error.
            let mut failed: Vec<Vec<usize>> = Vec::new();
            let mut current = None;
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
                if current != Some(pos) {
                    failed.clear();
                    current = Some(pos);
                }
                let addr = &t.trace.trace_address;
                if t.trace.error.is_some() {
                    failed.push(addr.clone());
                }
                let reverted = failed.iter().any(|f| addr.starts_with(f));
                let top = addr.is_empty();
                let f = &mut frames[i];
                match &t.trace.action {
                    Action::Call(c) if c.call_type == CallType::Call => {
                        f.frame(Frame::Call, top, c.from, Some(c.to), c.value, reverted)
                    }
                    Action::Call(_) => {}
                    Action::Create(c) => {
                        let address = match &t.trace.result {
                            Some(TraceOutput::Create(o)) => Some(o.address),
                            _ => None,
                        };
                        f.frame(Frame::Create, top, c.from, address, c.value, reverted);
                    }
                    Action::Selfdestruct(d) => {
                        f.frame(Frame::Selfdestruct, top, d.address, Some(d.refund_address), d.balance, reverted)
                    }
                    Action::Reward(r) => block_transfers.push(minted(TransferKind::Reward, r.author, r.value)),
                }
            }
        }
        BlockTraces::Geth(roots) => {
            if roots.len() != txs.len() {
                return Err(bad(format!("{} transactions but {} call traces", txs.len(), roots.len())));
            }
            for (root, f) in roots.iter().zip(frames.iter_mut()) {
                walk_geth(root, true, false, f);
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
        let TxFrames { transfers: moved, created: created_tx, destroyed, .. } = std::mem::take(&mut frames[i]);
        transfers.extend(moved.into_iter().map(|mut t| {
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
            contracts_destroyed: if success { destroyed } else { Vec::new() },
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

/// A call frame's kind, in either dialect.
enum Frame {
    /// A CALL (DELEGATECALL, STATICCALL and CALLCODE move no value and are not frames here).
    Call,
    /// CREATE or CREATE2 (or a create transaction).
    Create,
    /// SELFDESTRUCT.
    Selfdestruct,
}

/// What one transaction's call frames moved and made.
#[derive(Clone, Default)]
struct TxFrames {
    transfers: Vec<Transfer>,
    created: Vec<Address>,
    destroyed: Vec<Address>,
    /// The block is past Cancun (EIP-6780).
    cancun: bool,
}

impl TxFrames {
    /// The rules of value in a frame, the same for both dialects: a CALL pays `to`, a create
    /// endows the new contract (`to`, when the node names it), a SELFDESTRUCT pays `from`'s
    /// balance to `to`, except that one naming the contract itself burns the balance where
    /// the contract goes away with it: before Cancun always, after it (EIP-6780) only when
    /// the contract was created in the same transaction; otherwise the payment to itself
    /// leaves the balance. A reverted frame is recorded and marked; it creates and destroys
    /// nothing.
    fn frame(&mut self, kind: Frame, top: bool, from: Address, to: Option<Address>, value: U256, reverted: bool) {
        let kind = match kind {
            Frame::Call if top => TransferKind::Value,
            Frame::Call => TransferKind::Internal,
            Frame::Create => {
                if let (Some(a), false) = (to, reverted) {
                    self.created.push(a);
                }
                TransferKind::Create
            }
            Frame::Selfdestruct => {
                let goes_away = !self.cancun || self.created.contains(&from);
                if !reverted && goes_away {
                    self.destroyed.push(from);
                }
                if to == Some(from) && goes_away {
                    TransferKind::SelfdestructBurn
                } else {
                    TransferKind::Selfdestruct
                }
            }
        };
        // A burn, as the base fee's, has no recipient.
        let to = if kind == TransferKind::SelfdestructBurn { None } else { to };
        if !value.is_zero() {
            self.transfers.push(eth(kind, from, to.unwrap_or(Address::ZERO), value, reverted));
        }
    }
}

/// Geth's call tree, depth first, as Parity orders its flat list.
fn walk_geth(f: &CallFrame, top: bool, parent_reverted: bool, out: &mut TxFrames) {
    let reverted = parent_reverted || f.error.is_some();
    let value = f.value.unwrap_or_default();
    match f.typ.as_str() {
        "CALL" => out.frame(Frame::Call, top, f.from, f.to, value, reverted),
        "CREATE" | "CREATE2" => out.frame(Frame::Create, top, f.from, f.to, value, reverted),
        "SELFDESTRUCT" => out.frame(Frame::Selfdestruct, top, f.from, f.to, value, reverted),
        _ => {}
    }
    for c in &f.calls {
        walk_geth(c, false, reverted, out);
    }
}
