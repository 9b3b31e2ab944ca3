//! What the CLI's `status`, `block`, `tx` and `address` show for an EVM index, and the
//! server's answers: serializable, amounts as decimal strings in base units (wei, or the
//! token's smallest unit).

use alloy::primitives::{Address, B256};
use serde::Serialize;

use crate::amount::BaseUnits;
use crate::chain::EvmChain;
use crate::error::EvmError;
use crate::model::{AssetId, TransferKind};
use crate::store::{Counts, EvmReader, TransferRec, TxRec, NONE};

/// `status`.
#[derive(Debug, Serialize)]
pub struct EvmStatusView {
    /// The chain's name.
    pub chain: EvmChain,
    /// Its EIP-155 id.
    pub chain_id: u64,
    /// The indexed tip's height.
    pub height: Option<u64>,
    /// Its hash.
    pub tip_hash: Option<String>,
    /// Transactions indexed.
    pub transactions: u64,
    /// Everything counted.
    pub counts: Counts,
    /// The trace dialect the index was built with.
    pub traces: Option<String>,
}

/// One asset's balance.
#[derive(Debug, Serialize)]
pub struct TokenBalanceView {
    /// The token contract.
    pub token: String,
    /// Its symbol, where it answers.
    pub symbol: Option<String>,
    /// Its decimals, where it answers.
    pub decimals: Option<u8>,
    /// In base units, as the token's events add up.
    pub balance: BaseUnits,
}

/// One transfer, as `tx` and `address` list them.
#[derive(Debug, Serialize)]
pub struct TransferView {
    /// Its number in the index.
    pub n: u64,
    /// How it moved.
    pub kind: TransferKind,
    /// `ETH` or the token's address.
    pub asset: String,
    /// The token's symbol.
    pub symbol: Option<String>,
    /// Payer (zero when minted).
    pub from: String,
    /// Payee (zero when burnt).
    pub to: String,
    /// In the asset's base unit.
    pub amount_base: BaseUnits,
    /// Reverted: it moved nothing.
    pub reverted: bool,
    /// Its transaction.
    pub tx: Option<String>,
    /// Its block.
    pub block: u64,
}

/// `address`.
#[derive(Debug, Serialize)]
pub struct EvmAddressView {
    /// The address, checksummed (EIP-55).
    pub address: String,
    /// Externally owned or contract.
    pub kind: &'static str,
    /// ETH held at the indexed tip.
    pub balance_wei: BaseUnits,
    /// Tokens held.
    pub tokens: Vec<TokenBalanceView>,
    /// Transactions it took part in (sent, called, or moved value in).
    pub tx_count: u64,
    /// Transactions it sent.
    pub sent_tx_count: u64,
    /// The block it first appears in.
    pub first_block: u64,
    /// The transaction that created it (contracts).
    pub created_by: Option<String>,
    /// The transaction in which it self-destructed.
    pub destroyed_by: Option<String>,
    /// Its first transfers, oldest first.
    pub transfers: Vec<TransferView>,
}

/// A transaction in a block's list.
#[derive(Debug, Serialize)]
pub struct TxSummaryView {
    /// Its hash.
    pub hash: String,
    /// Sender.
    pub from: String,
    /// Called account (`None`: a creation).
    pub to: Option<String>,
    /// Value in wei.
    pub value_wei: BaseUnits,
    /// Whether it succeeded.
    pub success: bool,
}

/// `block`.
#[derive(Debug, Serialize)]
pub struct EvmBlockView {
    /// Height.
    pub number: u64,
    /// Hash.
    pub hash: String,
    /// Parent's hash.
    pub parent_hash: String,
    /// Seconds since 1970.
    pub timestamp: u64,
    /// Fee recipient.
    pub miner: String,
    /// Base fee per gas in wei.
    pub base_fee_wei: Option<String>,
    /// Gas used.
    pub gas_used: u64,
    /// Its transactions.
    pub transactions: Vec<TxSummaryView>,
    /// Transfers of value in it, fees included.
    pub transfer_count: u32,
}

/// `tx`.
#[derive(Debug, Serialize)]
pub struct EvmTxView {
    /// Hash.
    pub hash: String,
    /// Block height.
    pub block: u64,
    /// Position in the block.
    pub index: u32,
    /// EIP-2718 type.
    pub tx_type: u8,
    /// Sender.
    pub from: String,
    /// Called account.
    pub to: Option<String>,
    /// The contract it created.
    pub created: Option<String>,
    /// Value in wei.
    pub value_wei: BaseUnits,
    /// The sender's nonce.
    pub nonce: u64,
    /// Receipt status.
    pub success: bool,
    /// Gas used.
    pub gas_used: u64,
    /// Wei per gas.
    pub effective_gas_price_wei: String,
    /// Everything the sender paid.
    pub fee_wei: BaseUnits,
    /// Its movements of value: fees, calls in order, token events.
    pub transfers: Vec<TransferView>,
}

/// Most transfers `address` lists.
pub const ADDRESS_TRANSFERS_SHOWN: usize = 100;

impl EvmReader {
    /// `status`.
    pub fn status_view(&self) -> Result<EvmStatusView, EvmError> {
        let chain_id = self.meta("chain_id")?.as_deref().and_then(crate::store::read_u64).unwrap_or(0);
        let tip = self.tip()?;
        let counts = self.counts()?;
        Ok(EvmStatusView {
            chain: EvmChain::from_id(chain_id),
            chain_id,
            height: tip.as_ref().map(|(h, _)| *h),
            tip_hash: tip.map(|(_, b)| b.hash.to_string()),
            transactions: counts.transactions,
            counts,
            traces: self.meta("trace_dialect")?.map(|v| String::from_utf8_lossy(&v).into_owned()),
        })
    }

    /// `address`.
    pub fn address_view(&self, a: &Address) -> Result<EvmAddressView, EvmError> {
        let acct = self
            .account(a)?
            .ok_or_else(|| EvmError::NotFound(format!("address {a} is not in the index (never paid, never sent)")))?;
        let mut balance_wei = BaseUnits::ZERO;
        let mut tokens = Vec::new();
        for (asset, v) in self.balances(a)? {
            if asset == AssetId::ETH {
                balance_wei = BaseUnits(v);
            } else {
                let t = self.token(asset)?;
                tokens.push(TokenBalanceView {
                    token: t.as_ref().map_or_else(|| format!("#{}", asset.0), |t| t.address.to_string()),
                    symbol: t.as_ref().and_then(|t| t.symbol.clone()),
                    decimals: t.as_ref().and_then(|t| t.decimals),
                    balance: BaseUnits(v),
                });
            }
        }
        let mut transfers = Vec::new();
        for n in self.account_transfer_nums(a, None, ADDRESS_TRANSFERS_SHOWN)? {
            transfers.push(self.transfer_view(n, &self.transfer(n)?)?);
        }
        let tx_hash = |num: u64| -> Result<Option<String>, EvmError> {
            if num == NONE {
                return Ok(None);
            }
            Ok(self.tx(num)?.map(|t| t.hash.to_string()))
        };
        Ok(EvmAddressView {
            address: a.to_checksum(None),
            kind: if acct.contract { "contract" } else { "externally_owned" },
            balance_wei,
            tokens,
            tx_count: acct.tx_count,
            sent_tx_count: acct.sent,
            first_block: acct.first_block,
            created_by: tx_hash(acct.created_tx)?,
            destroyed_by: tx_hash(acct.destroyed_tx)?,
            transfers,
        })
    }

    fn transfer_view(&self, n: u64, t: &TransferRec) -> Result<TransferView, EvmError> {
        let (asset, symbol) = if t.asset == AssetId::ETH {
            ("ETH".to_string(), Some("ETH".to_string()))
        } else {
            let tok = self.token(t.asset)?;
            (
                tok.as_ref().map_or_else(|| format!("#{}", t.asset.0), |x| x.address.to_string()),
                tok.and_then(|x| x.symbol),
            )
        };
        Ok(TransferView {
            n,
            kind: t.kind,
            asset,
            symbol,
            from: t.from.to_string(),
            to: t.to.to_string(),
            amount_base: BaseUnits(t.amount),
            reverted: t.reverted,
            tx: match t.tx_num() {
                Some(num) => self.tx(num.0)?.map(|x| x.hash.to_string()),
                None => None,
            },
            block: t.block,
        })
    }

    /// `block <N>`.
    pub fn block_view(&self, h: u64) -> Result<EvmBlockView, EvmError> {
        let b = self.block(h)?.ok_or_else(|| EvmError::NotFound(format!("block {h} is not in the index")))?;
        let mut transactions = Vec::with_capacity(b.tx_count as usize);
        for num in b.first_tx..b.first_tx + b.tx_count as u64 {
            let t = self.tx(num)?.ok_or_else(|| EvmError::NotFound(format!("transaction {num} of block {h}")))?;
            transactions.push(TxSummaryView {
                hash: t.hash.to_string(),
                from: t.from.to_string(),
                to: t.to.map(|a| a.to_string()),
                value_wei: BaseUnits(t.value),
                success: t.success,
            });
        }
        Ok(EvmBlockView {
            number: h,
            hash: b.hash.to_string(),
            parent_hash: b.parent_hash.to_string(),
            timestamp: b.timestamp,
            miner: b.miner.to_string(),
            base_fee_wei: b.base_fee.map(|f| f.to_string()),
            gas_used: b.gas_used,
            transactions,
            transfer_count: b.transfer_count,
        })
    }

    /// `block <HASH>`.
    pub fn block_view_by_hash(&self, hash: &B256) -> Result<EvmBlockView, EvmError> {
        let h = self.height_of(hash)?.ok_or_else(|| EvmError::NotFound(format!("block {hash} is not in the index")))?;
        self.block_view(h)
    }

    /// `tx <HASH>`.
    pub fn tx_view(&self, hash: &B256) -> Result<EvmTxView, EvmError> {
        let num = self
            .tx_num_of(hash)?
            .ok_or_else(|| EvmError::NotFound(format!("transaction {hash} is not in the index")))?;
        let t: TxRec = self.tx(num)?.ok_or_else(|| EvmError::NotFound(format!("transaction {hash}")))?;
        let mut transfers = Vec::with_capacity(t.transfer_count as usize);
        for n in t.first_transfer..t.first_transfer + t.transfer_count as u64 {
            transfers.push(self.transfer_view(n, &self.transfer(n)?)?);
        }
        Ok(EvmTxView {
            hash: t.hash.to_string(),
            block: t.block,
            index: t.index,
            tx_type: t.tx_type,
            from: t.from.to_string(),
            to: t.to.map(|a| a.to_string()),
            created: t.created.map(|a| a.to_string()),
            value_wei: BaseUnits(t.value),
            nonce: t.nonce,
            success: t.success,
            gas_used: t.gas_used,
            effective_gas_price_wei: t.effective_gas_price.to_string(),
            fee_wei: BaseUnits(t.fee),
            transfers,
        })
    }
}
