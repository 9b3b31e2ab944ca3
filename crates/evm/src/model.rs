//! What the account index records: blocks, transactions and every movement of value, each
//! movement a [`Transfer`] of one asset from one account to another. ETH moved by a
//! transaction's value, by internal calls, by contract creation and self-destruction, paid as
//! fees (burnt, or tipped to the block's fee recipient), minted at genesis, as block rewards
//! or as beacon-chain withdrawals; tokens moved by ERC-20 `Transfer` events.

use alloy::primitives::{Address, U256};
use serde::Serialize;

pub use crate::store::{BlockRec, TxRec};

/// A transaction's number in the index: its position in chain order from genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EvmTxNum(pub u64);

/// A transfer's number in the index: its position in chain order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TransferNum(pub u64);

/// An asset's number in the index: 0 is ETH (the chain's own coin), 1… are tokens in the
/// order they were first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AssetId(pub u32);

impl AssetId {
    /// The chain's own coin.
    pub const ETH: AssetId = AssetId(0);
}

/// How value moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum TransferKind {
    /// In the genesis allocation: credited, from no one.
    Genesis = 0,
    /// A transaction's own value, to the account it calls.
    Value = 1,
    /// A CALL with value made by a contract during a transaction (an "internal transaction").
    Internal = 2,
    /// The value given to a contract at creation (a create transaction, CREATE or CREATE2).
    Create = 3,
    /// A SELFDESTRUCT paying out a contract's balance.
    Selfdestruct = 4,
    /// The base fee (and blob fee) burnt by the sender (EIP-1559): debited, to no one.
    FeeBurn = 5,
    /// The fee paid to the block's fee recipient (all of it before EIP-1559, the priority tip after).
    FeeTip = 6,
    /// A block or uncle reward (before the merge): credited, from no one.
    Reward = 7,
    /// A withdrawal from the beacon chain (after Shanghai): credited, from no one.
    Withdrawal = 8,
    /// An ERC-20 `Transfer` event.
    Token = 9,
    /// The balance a SELFDESTRUCT to the contract itself destroys: before Cancun always, and
    /// after it (EIP-6780) when the contract was created in the same transaction. Debited,
    /// to no one.
    SelfdestructBurn = 10,
}

impl TransferKind {
    /// From its stored byte.
    pub fn from_u8(b: u8) -> Option<TransferKind> {
        use TransferKind::*;
        Some(match b {
            0 => Genesis,
            1 => Value,
            2 => Internal,
            3 => Create,
            4 => Selfdestruct,
            5 => FeeBurn,
            6 => FeeTip,
            7 => Reward,
            8 => Withdrawal,
            9 => Token,
            10 => SelfdestructBurn,
            _ => return None,
        })
    }

    /// Whether the sender's balance goes down (minted value has no sender).
    pub fn debits(self) -> bool {
        !matches!(self, TransferKind::Genesis | TransferKind::Reward | TransferKind::Withdrawal)
    }

    /// Whether the recipient's balance goes up (a burn has no recipient).
    pub fn credits(self) -> bool {
        !matches!(self, TransferKind::FeeBurn | TransferKind::SelfdestructBurn)
    }

    /// Whether taking part makes a transaction one of the account's own (fees go to every
    /// block's fee recipient, which is not a party to the transaction).
    pub fn involves(self) -> bool {
        !matches!(self, TransferKind::FeeBurn | TransferKind::FeeTip)
    }
}

/// One movement of one asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// How it moved.
    pub kind: TransferKind,
    /// The token contract, or `None` for ETH.
    pub token: Option<Address>,
    /// The payer (zero for minted value).
    pub from: Address,
    /// The payee (zero for burnt value).
    pub to: Address,
    /// In the asset's base unit.
    pub amount: U256,
    /// The call frame (or a whole transaction) reverted: indexed, but it moved nothing.
    pub reverted: bool,
}

impl Transfer {
    /// Whether it changed balances.
    pub fn effective(&self) -> bool {
        !self.reverted && !self.amount.is_zero()
    }
}

/// A transaction as fetched and decoded, before it is numbered.
#[derive(Clone, Debug)]
pub struct TxData {
    /// Its row, but for the numbers of its transfers, which the store gives when it adds
    /// the block (`first_transfer` and `transfer_count` are 0 until then).
    pub rec: TxRec,
    /// Its movements, fees first, then value in call order, then token events in log order.
    pub transfers: Vec<Transfer>,
    /// Contracts created during it (by any frame that did not revert).
    pub contracts_created: Vec<Address>,
    /// Contracts that self-destructed during it.
    pub contracts_destroyed: Vec<Address>,
}

/// A block as fetched and decoded.
#[derive(Clone, Debug)]
pub struct BlockData {
    /// Its height.
    pub number: u64,
    /// Its row, but for the numbers of its transactions and transfers, which the store gives
    /// when it adds the block (0 until then).
    pub rec: BlockRec,
    /// Value credited by the block itself: genesis allocation, rewards, withdrawals.
    pub block_transfers: Vec<Transfer>,
    /// Its transactions in order.
    pub txs: Vec<TxData>,
}
