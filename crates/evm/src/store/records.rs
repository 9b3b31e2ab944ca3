//! The store's rows: one record per block, transaction, transfer, account and token.

use alloy::primitives::{Address, B256, U256};

use super::codec::{Get, Put};
use crate::model::{AssetId, EvmTxNum, TransferKind};

/// No transaction (a block-level transfer) or no such event.
pub const NONE: u64 = u64::MAX;

/// A block's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRec {
    /// Its hash.
    pub hash: B256,
    /// Its parent's hash.
    pub parent_hash: B256,
    /// Seconds since 1970.
    pub timestamp: u64,
    /// The fee recipient.
    pub miner: Address,
    /// The base fee per gas, where EIP-1559 applies.
    pub base_fee: Option<u128>,
    /// Gas used.
    pub gas_used: u64,
    /// Its first transaction's number.
    pub first_tx: u64,
    /// How many transactions.
    pub tx_count: u32,
    /// Its first transfer's number (block-level transfers come first).
    pub first_transfer: u64,
    /// How many transfers, block-level and of its transactions.
    pub transfer_count: u32,
}

impl BlockRec {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.b256(&self.hash).b256(&self.parent_hash).u64(self.timestamp).addr(&self.miner);
        p.u8(self.base_fee.is_some() as u8).u128(self.base_fee.unwrap_or(0)).u64(self.gas_used);
        p.u64(self.first_tx).u32(self.tx_count).u64(self.first_transfer).u32(self.transfer_count);
        p.0
    }

    pub(crate) fn decode(b: &[u8]) -> Option<BlockRec> {
        let mut g = Get(b);
        Some(BlockRec {
            hash: g.b256()?,
            parent_hash: g.b256()?,
            timestamp: g.u64()?,
            miner: g.addr()?,
            base_fee: {
                let has = g.u8()? != 0;
                let v = g.u128()?;
                has.then_some(v)
            },
            gas_used: g.u64()?,
            first_tx: g.u64()?,
            tx_count: g.u32()?,
            first_transfer: g.u64()?,
            transfer_count: g.u32()?,
        })
    }
}

/// A transaction's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRec {
    /// Its hash.
    pub hash: B256,
    /// Its block's height.
    pub block: u64,
    /// Its position in the block.
    pub index: u32,
    /// EIP-2718 type.
    pub tx_type: u8,
    /// The sender.
    pub from: Address,
    /// The account called (`None`: a contract creation).
    pub to: Option<Address>,
    /// The contract it created.
    pub created: Option<Address>,
    /// Its value in wei.
    pub value: U256,
    /// The sender's nonce.
    pub nonce: u64,
    /// Receipt status 1.
    pub success: bool,
    /// Gas used.
    pub gas_used: u64,
    /// Wei per gas paid.
    pub effective_gas_price: u128,
    /// Wei paid in all (gas and blob gas).
    pub fee: U256,
    /// Its first transfer's number.
    pub first_transfer: u64,
    /// How many transfers.
    pub transfer_count: u32,
}

impl TxRec {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.b256(&self.hash).u64(self.block).u32(self.index).u8(self.tx_type).addr(&self.from);
        p.opt_addr(&self.to).opt_addr(&self.created).u256(&self.value).u64(self.nonce);
        p.u8(self.success as u8).u64(self.gas_used).u128(self.effective_gas_price).u256(&self.fee);
        p.u64(self.first_transfer).u32(self.transfer_count);
        p.0
    }

    pub(crate) fn decode(b: &[u8]) -> Option<TxRec> {
        let mut g = Get(b);
        Some(TxRec {
            hash: g.b256()?,
            block: g.u64()?,
            index: g.u32()?,
            tx_type: g.u8()?,
            from: g.addr()?,
            to: g.opt_addr()?,
            created: g.opt_addr()?,
            value: g.u256()?,
            nonce: g.u64()?,
            success: g.u8()? != 0,
            gas_used: g.u64()?,
            effective_gas_price: g.u128()?,
            fee: g.u256()?,
            first_transfer: g.u64()?,
            transfer_count: g.u32()?,
        })
    }
}

/// A transfer's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRec {
    /// How value moved.
    pub kind: TransferKind,
    /// Reverted: recorded, moved nothing.
    pub reverted: bool,
    /// Which asset.
    pub asset: AssetId,
    /// The payer (zero when minted).
    pub from: Address,
    /// The payee (zero when burnt).
    pub to: Address,
    /// In the asset's base unit.
    pub amount: U256,
    /// Its transaction ([`NONE`] for block-level transfers).
    pub tx: u64,
    /// Its block's height.
    pub block: u64,
}

impl TransferRec {
    /// The row of a decoded transfer of `asset`, in transaction `tx` ([`NONE`]: block-level).
    pub fn of(t: &crate::model::Transfer, asset: AssetId, tx: u64, block: u64) -> TransferRec {
        TransferRec { kind: t.kind, reverted: t.reverted, asset, from: t.from, to: t.to, amount: t.amount, tx, block }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.u8(self.kind as u8).u8(self.reverted as u8).u32(self.asset.0).addr(&self.from).addr(&self.to);
        p.u256(&self.amount).u64(self.tx).u64(self.block);
        p.0
    }

    pub(crate) fn decode(b: &[u8]) -> Option<TransferRec> {
        let mut g = Get(b);
        Some(TransferRec {
            kind: TransferKind::from_u8(g.u8()?)?,
            reverted: g.u8()? != 0,
            asset: AssetId(g.u32()?),
            from: g.addr()?,
            to: g.addr()?,
            amount: g.u256()?,
            tx: g.u64()?,
            block: g.u64()?,
        })
    }

    /// Its transaction, if it has one.
    pub fn tx_num(&self) -> Option<EvmTxNum> {
        (self.tx != NONE).then_some(EvmTxNum(self.tx))
    }

    /// Whether it changed balances.
    pub fn effective(&self) -> bool {
        !self.reverted && !self.amount.is_zero()
    }
}

/// An account's row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRec {
    /// Code was deployed at it.
    pub contract: bool,
    /// The block it was first seen in.
    pub first_block: u64,
    /// The transaction that created it, or [`NONE`].
    pub created_tx: u64,
    /// The transaction in which it self-destructed, or [`NONE`].
    pub destroyed_tx: u64,
    /// Transactions it sent.
    pub sent: u64,
    /// Transactions it took part in: sent, was called by, or moved value in.
    pub tx_count: u64,
}

impl AccountRec {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.u8(self.contract as u8).u64(self.first_block).u64(self.created_tx).u64(self.destroyed_tx);
        p.u64(self.sent).u64(self.tx_count);
        p.0
    }

    pub(crate) fn decode(b: &[u8]) -> Option<AccountRec> {
        let mut g = Get(b);
        Some(AccountRec {
            contract: g.u8()? != 0,
            first_block: g.u64()?,
            created_tx: g.u64()?,
            destroyed_tx: g.u64()?,
            sent: g.u64()?,
            tx_count: g.u64()?,
        })
    }
}

/// A token's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRec {
    /// The token contract.
    pub address: Address,
    /// `symbol()`, where the contract answers it.
    pub symbol: Option<String>,
    /// `decimals()`, where the contract answers it.
    pub decimals: Option<u8>,
    /// The block it first moved in.
    pub first_block: u64,
}

impl TokenRec {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut p = Put::default();
        p.addr(&self.address).u8(self.decimals.is_some() as u8).u8(self.decimals.unwrap_or(0));
        p.u8(self.symbol.is_some() as u8).bytes(self.symbol.as_deref().unwrap_or("").as_bytes());
        p.u64(self.first_block);
        p.0
    }

    pub(crate) fn decode(b: &[u8]) -> Option<TokenRec> {
        let mut g = Get(b);
        let address = g.addr()?;
        let has_dec = g.u8()? != 0;
        let dec = g.u8()?;
        let has_sym = g.u8()? != 0;
        let sym = String::from_utf8(g.bytes()?.to_vec()).ok()?;
        Some(TokenRec {
            address,
            decimals: has_dec.then_some(dec),
            symbol: has_sym.then_some(sym),
            first_block: g.u64()?,
        })
    }
}

/// An effective credit, as the `credits` table keeps it beside its payee and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditRow {
    /// The payer (zero when minted).
    pub from: Address,
    /// In the asset's base unit.
    pub amount: U256,
    /// Its transaction ([`NONE`]: minted by the block: genesis, reward, withdrawal).
    pub tx: u64,
    /// Which asset.
    pub asset: AssetId,
}

impl CreditRow {
    /// The credit of a transfer.
    pub fn of(t: &TransferRec) -> CreditRow {
        CreditRow { from: t.from, amount: t.amount, tx: t.tx, asset: t.asset }
    }

    pub(crate) fn encode(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..20].copy_from_slice(self.from.as_slice());
        b[20..52].copy_from_slice(&self.amount.to_be_bytes::<32>());
        b[52..60].copy_from_slice(&self.tx.to_be_bytes());
        b[60..].copy_from_slice(&self.asset.0.to_be_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8; 64]) -> CreditRow {
        CreditRow {
            from: Address::from_slice(&b[..20]),
            amount: U256::from_be_slice(&b[20..52]),
            tx: u64::from_be_bytes(b[52..60].try_into().expect("8 bytes")),
            asset: AssetId(u32::from_be_bytes(b[60..].try_into().expect("4 bytes"))),
        }
    }

    /// Whether someone paid it (not minted by the block).
    pub fn has_payer(&self) -> bool {
        self.tx != NONE
    }
}
