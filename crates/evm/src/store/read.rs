//! Reading the account index: every method reads one committed state, the one the reader
//! was opened on.

use alloy::primitives::{Address, B256, U256};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata};

use super::records::{AccountRec, BlockRec, CreditRow, TokenRec, TransferRec, TxRec};
use super::*;
use crate::model::AssetId;

/// A read snapshot of the account index.
pub struct EvmReader {
    path: PathBuf,
    meta: ReadOnlyTable<&'static str, &'static [u8]>,
    blocks: ReadOnlyTable<u64, &'static [u8]>,
    block_by_hash: ReadOnlyTable<[u8; 32], u64>,
    txs: ReadOnlyTable<u64, &'static [u8]>,
    tx_by_hash: ReadOnlyTable<[u8; 32], u64>,
    transfers: ReadOnlyTable<u64, &'static [u8]>,
    account_transfers: ReadOnlyTable<([u8; 20], u64), ()>,
    credits: ReadOnlyTable<([u8; 20], u64), [u8; 64]>,
    accounts: ReadOnlyTable<[u8; 20], &'static [u8]>,
    balances: ReadOnlyTable<([u8; 20], u32), [u8; 32]>,
    tokens: ReadOnlyTable<u32, &'static [u8]>,
    token_by_address: ReadOnlyTable<[u8; 20], u32>,
}

impl EvmReader {
    pub(crate) fn new(txn: ReadTransaction, path: PathBuf) -> Result<EvmReader, EvmError> {
        let e: &Path = &path;
        Ok(EvmReader {
            meta: txn.open_table(META).at(e)?,
            blocks: txn.open_table(BLOCKS).at(e)?,
            block_by_hash: txn.open_table(BLOCK_BY_HASH).at(e)?,
            txs: txn.open_table(TXS).at(e)?,
            tx_by_hash: txn.open_table(TX_BY_HASH).at(e)?,
            transfers: txn.open_table(TRANSFERS).at(e)?,
            account_transfers: txn.open_table(ACCOUNT_TRANSFERS).at(e)?,
            credits: txn.open_table(CREDITS).at(e)?,
            accounts: txn.open_table(ACCOUNTS).at(e)?,
            balances: txn.open_table(BALANCES).at(e)?,
            tokens: txn.open_table(TOKENS).at(e)?,
            token_by_address: txn.open_table(TOKEN_BY_ADDRESS).at(e)?,
            path,
        })
    }

    /// A meta entry.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, EvmError> {
        Ok(self.meta.get(key).at(&self.path)?.map(|v| v.value().to_vec()))
    }

    /// The chain the index holds, once it has its genesis block.
    pub fn identity(&self) -> Result<Option<ChainIdentity>, EvmError> {
        let id = self.meta("chain_id")?.and_then(|v| read_u64(&v));
        let genesis = self.block(0)?;
        Ok(match (id, genesis) {
            (Some(chain_id), Some(g)) => Some(ChainIdentity { chain_id, genesis_hash: g.hash }),
            _ => None,
        })
    }

    /// The highest block.
    pub fn tip(&self) -> Result<Option<(u64, BlockRec)>, EvmError> {
        match self.blocks.last().at(&self.path)? {
            None => Ok(None),
            Some((k, v)) => {
                let h = k.value();
                Ok(Some((h, BlockRec::decode(v.value()).ok_or_else(|| damaged(&self.path, format!("block {h}")))?)))
            }
        }
    }

    /// The block at a height.
    pub fn block(&self, h: u64) -> Result<Option<BlockRec>, EvmError> {
        match self.blocks.get(h).at(&self.path)? {
            None => Ok(None),
            Some(v) => Ok(Some(BlockRec::decode(v.value()).ok_or_else(|| damaged(&self.path, format!("block {h}")))?)),
        }
    }

    /// The height of a block by its hash.
    pub fn height_of(&self, hash: &B256) -> Result<Option<u64>, EvmError> {
        Ok(self.block_by_hash.get(hash.0).at(&self.path)?.map(|v| v.value()))
    }

    /// A transaction by number.
    pub fn tx(&self, num: u64) -> Result<Option<TxRec>, EvmError> {
        match self.txs.get(num).at(&self.path)? {
            None => Ok(None),
            Some(v) => {
                Ok(Some(TxRec::decode(v.value()).ok_or_else(|| damaged(&self.path, format!("transaction {num}")))?))
            }
        }
    }

    /// The hashes of transactions `nums`, in order (those the index no longer holds left out).
    pub fn tx_hashes(&self, nums: &[u64]) -> Result<Vec<String>, EvmError> {
        let mut out = Vec::with_capacity(nums.len());
        for &n in nums {
            if let Some(t) = self.tx(n)? {
                out.push(t.hash.to_string());
            }
        }
        Ok(out)
    }

    /// A transaction's number by its hash.
    pub fn tx_num_of(&self, hash: &B256) -> Result<Option<u64>, EvmError> {
        Ok(self.tx_by_hash.get(hash.0).at(&self.path)?.map(|v| v.value()))
    }

    /// A transfer by number.
    pub fn transfer(&self, n: u64) -> Result<TransferRec, EvmError> {
        let v = self.transfers.get(n).at(&self.path)?.ok_or_else(|| damaged(&self.path, format!("transfer {n}")))?;
        TransferRec::decode(v.value()).ok_or_else(|| damaged(&self.path, format!("transfer {n}")))
    }

    /// Transfers `first..first + count`.
    pub fn transfers(&self, first: u64, count: u64) -> Result<Vec<TransferRec>, EvmError> {
        (first..first + count).map(|n| self.transfer(n)).collect()
    }

    /// An account's row.
    pub fn account(&self, a: &Address) -> Result<Option<AccountRec>, EvmError> {
        match self.accounts.get(a.into_array()).at(&self.path)? {
            None => Ok(None),
            Some(v) => {
                Ok(Some(AccountRec::decode(v.value()).ok_or_else(|| damaged(&self.path, format!("account {a}")))?))
            }
        }
    }

    /// Every account the index knows, in address order.
    pub fn account_addresses(&self) -> Result<Vec<Address>, EvmError> {
        let mut out = Vec::new();
        for r in self.accounts.iter().at(&self.path)? {
            let (k, _) = r.at(&self.path)?;
            out.push(Address::from(k.value()));
        }
        Ok(out)
    }

    /// An account's balance of one asset (tokens: as its events add up, two's complement).
    pub fn balance(&self, a: &Address, asset: AssetId) -> Result<U256, EvmError> {
        Ok(self
            .balances
            .get((a.into_array(), asset.0))
            .at(&self.path)?
            .map_or(U256::ZERO, |v| U256::from_be_bytes(v.value())))
    }

    /// An account's non-zero balances, ETH first.
    pub fn balances(&self, a: &Address) -> Result<Vec<(AssetId, U256)>, EvmError> {
        let k = a.into_array();
        let mut out = Vec::new();
        for r in self.balances.range((k, 0u32)..=(k, u32::MAX)).at(&self.path)? {
            let (key, v) = r.at(&self.path)?;
            out.push((AssetId(key.value().1), U256::from_be_bytes(v.value())));
        }
        Ok(out)
    }

    /// The numbers of an account's transfers, oldest first, from `after` (exclusive) on, at most `limit`.
    pub fn account_transfer_nums(&self, a: &Address, after: Option<u64>, limit: usize) -> Result<Vec<u64>, EvmError> {
        let k = a.into_array();
        let start = after.map_or(0, |n| n.saturating_add(1));
        let mut out = Vec::new();
        for r in self.account_transfers.range((k, start)..=(k, u64::MAX)).at(&self.path)? {
            if out.len() >= limit {
                break;
            }
            out.push(r.at(&self.path)?.0.value().1);
        }
        Ok(out)
    }

    /// An account's balance of `asset` before transfer `n`: its effective transfers up to
    /// there, added up (tokens in two's complement, as the balances table keeps them).
    pub fn balance_before(&self, a: &Address, asset: AssetId, n: u64) -> Result<U256, EvmError> {
        let k = a.into_array();
        let mut b = U256::ZERO;
        for r in self.account_transfers.range((k, 0u64)..(k, n)).at(&self.path)? {
            let m = r.at(&self.path)?.0.value().1;
            let t = self.transfer(m)?;
            if t.asset != asset || !t.effective() {
                continue;
            }
            if t.kind.debits() && t.from == *a {
                b = b.wrapping_sub(t.amount);
            }
            if t.kind.credits() && t.to == *a {
                b = b.wrapping_add(t.amount);
            }
        }
        Ok(b)
    }

    /// An account's effective credits of `asset`, oldest first, at most `limit`, each with
    /// its transfer number: one range read.
    pub fn credits_of(&self, a: &Address, asset: AssetId, limit: usize) -> Result<Vec<(u64, CreditRow)>, EvmError> {
        let k = a.into_array();
        let mut out = Vec::new();
        for r in self.credits.range((k, 0u64)..=(k, u64::MAX)).at(&self.path)? {
            if out.len() >= limit {
                break;
            }
            let (key, v) = r.at(&self.path)?;
            let c = CreditRow::decode(&v.value());
            if c.asset == asset {
                out.push((key.value().1, c));
            }
        }
        Ok(out)
    }

    /// A token's row.
    pub fn token(&self, id: AssetId) -> Result<Option<TokenRec>, EvmError> {
        match self.tokens.get(id.0).at(&self.path)? {
            None => Ok(None),
            Some(v) => {
                Ok(Some(TokenRec::decode(v.value()).ok_or_else(|| damaged(&self.path, format!("token {}", id.0)))?))
            }
        }
    }

    /// A token's asset id by its contract.
    pub fn token_id(&self, a: &Address) -> Result<Option<AssetId>, EvmError> {
        Ok(self.token_by_address.get(a.into_array()).at(&self.path)?.map(|v| AssetId(v.value())))
    }

    /// Counts of blocks, transactions, transfers, accounts and tokens.
    pub fn counts(&self) -> Result<Counts, EvmError> {
        Ok(Counts {
            blocks: self.blocks.len().at(&self.path)?,
            transactions: self.txs.len().at(&self.path)?,
            transfers: self.transfers.len().at(&self.path)?,
            accounts: self.accounts.len().at(&self.path)?,
            tokens: self.tokens.len().at(&self.path)?,
        })
    }
}

/// How much the index holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Blocks.
    pub blocks: u64,
    /// Transactions.
    pub transactions: u64,
    /// Transfers of value (ETH and tokens, fees included).
    pub transfers: u64,
    /// Accounts.
    pub accounts: u64,
    /// Tokens.
    pub tokens: u64,
}
