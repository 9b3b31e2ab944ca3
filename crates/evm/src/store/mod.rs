//! The account index on disk: one redb database (`evm.redb`) in the data dir.
//!
//! redb gives what the UTXO index builds by hand: a write transaction per batch of blocks
//! that a reader sees whole or not at all (MVCC), a file that reopens at its last commit
//! after `kill -9`, and a reorg unwound inside the same transaction that adds the new branch.
//! Tables, keyed for the lookups the views and the tracer make:
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | chain id, genesis hash, trace dialect, format |
//! | `blocks` | height | [`BlockRec`] |
//! | `block_by_hash` | hash | height |
//! | `txs` | tx number | [`TxRec`] |
//! | `tx_by_hash` | hash | tx number |
//! | `transfers` | transfer number | [`TransferRec`] |
//! | `account_transfers` | (address, transfer number) | — |
//! | `credits` | (payee, transfer number) | [`CreditRow`]: payer, amount, asset, transaction — every effective credit, so that a backward walk reads an account's credits in one range, without the transfers |
//! | `contract_events` | (tx number, created 0 / destroyed 1, address) | — |
//! | `accounts` | address | [`AccountRec`] |
//! | `balances` | (address, asset) | 256-bit balance |
//! | `tokens` / `token_by_address` | asset id / address | [`TokenRec`] / asset id |

mod codec;
mod read;
pub mod records;
mod write;

use std::path::{Path, PathBuf};

use redb::{Builder, ConcurrencyMode, Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};

pub use read::{Counts, EvmReader};
pub use records::{AccountRec, BlockRec, CreditRow, TokenRec, TransferRec, TxRec, NONE};
pub use write::{Batch, TokenMeta};

use crate::error::EvmError;

/// The store's file name inside a data dir.
pub const FILE_NAME: &str = "evm.redb";

/// Bumped whenever a table or record layout changes; an older index must be rebuilt.
pub const FORMAT_VERSION: u64 = 2;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
pub(crate) const BLOCK_BY_HASH: TableDefinition<[u8; 32], u64> = TableDefinition::new("block_by_hash");
pub(crate) const TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("txs");
pub(crate) const TX_BY_HASH: TableDefinition<[u8; 32], u64> = TableDefinition::new("tx_by_hash");
pub(crate) const TRANSFERS: TableDefinition<u64, &[u8]> = TableDefinition::new("transfers");
pub(crate) const ACCOUNT_TRANSFERS: TableDefinition<([u8; 20], u64), ()> = TableDefinition::new("account_transfers");
pub(crate) const CREDITS: TableDefinition<([u8; 20], u64), [u8; 64]> = TableDefinition::new("credits");
pub(crate) const CONTRACT_EVENTS: TableDefinition<(u64, u8, [u8; 20]), ()> = TableDefinition::new("contract_events");
pub(crate) const ACCOUNTS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("accounts");
pub(crate) const BALANCES: TableDefinition<([u8; 20], u32), [u8; 32]> = TableDefinition::new("balances");
pub(crate) const TOKENS: TableDefinition<u32, &[u8]> = TableDefinition::new("tokens");
pub(crate) const TOKEN_BY_ADDRESS: TableDefinition<[u8; 20], u32> = TableDefinition::new("token_by_address");

/// A contract event's kind byte in `contract_events`.
pub(crate) const CREATED: u8 = 0;
pub(crate) const DESTROYED: u8 = 1;

/// What chain an index holds, fixed by its first ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainIdentity {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The hash of block 0.
    pub genesis_hash: alloy::primitives::B256,
}

/// The account index of one EVM chain, opened for writing (one ingest at a time) or for
/// reading (any number of processes, each following the writer's commits).
pub struct EvmStore {
    db: Db,
    path: PathBuf,
}

enum Db {
    Write(Database),
    Read(ReadOnlyDatabase),
}

/// One writer process, any number of readers beside it: `sleuth status` while an ingest runs.
fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    b
}

/// Whether `data_dir` holds an account index.
pub fn is_evm_data_dir(data_dir: &Path) -> bool {
    data_dir.join(FILE_NAME).is_file()
}

impl EvmStore {
    /// Opens the index in `data_dir`, creating the folder and an empty index when there is none.
    pub fn open_or_create(data_dir: &Path) -> Result<EvmStore, EvmError> {
        std::fs::create_dir_all(data_dir).map_err(|e| EvmError::Store {
            path: data_dir.to_path_buf(),
            message: format!("cannot create the data dir: {e}"),
        })?;
        let path = data_dir.join(FILE_NAME);
        let db = builder().create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => EvmError::Store {
                path: path.clone(),
                message: "another sleuth is writing this index; wait for it to finish".into(),
            },
            other => EvmError::Store { path: path.clone(), message: other.to_string() },
        })?;
        let store = EvmStore { db: Db::Write(db), path };
        store.init_tables()?;
        Ok(store)
    }

    /// Opens an existing index for reading; `NotFound` names the dir when there is none.
    pub fn open(data_dir: &Path) -> Result<EvmStore, EvmError> {
        let path = data_dir.join(FILE_NAME);
        if !path.is_file() {
            return Err(EvmError::NotFound(format!("{} holds no EVM index ({FILE_NAME})", data_dir.display())));
        }
        let db = builder().open_read_only(&path).at(&path)?;
        let store = EvmStore { db: Db::Read(db), path };
        // Checks the format; an index never written has no tables yet.
        let r = store.reader()?;
        match r.meta("format")?.as_deref().and_then(read_u64) {
            Some(FORMAT_VERSION) => Ok(store),
            other => Err(EvmError::Store {
                path: store.path.clone(),
                message: format!(
                    "index format {} but this sleuth reads format {FORMAT_VERSION}: delete the data dir and ingest again",
                    other.map_or("unreadable".into(), |v| v.to_string())
                ),
            }),
        }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent view of the last commit; later commits do not change it.
    pub fn reader(&self) -> Result<EvmReader, EvmError> {
        let txn = match &self.db {
            Db::Write(d) => d.begin_read(),
            Db::Read(d) => d.begin_read(),
        }
        .at(&self.path)?;
        EvmReader::new(txn, self.path.clone())
    }

    pub(crate) fn writer(&self) -> Result<redb::WriteTransaction, EvmError> {
        match &self.db {
            Db::Write(d) => d.begin_write().at(&self.path),
            Db::Read(_) => Err(EvmError::Store { path: self.path.clone(), message: "opened read-only".into() }),
        }
    }

    fn init_tables(&self) -> Result<(), EvmError> {
        let path: &Path = &self.path;
        let txn = self.writer()?;
        {
            let mut meta = txn.open_table(META).at(path)?;
            let format = meta.get("format").at(path)?.map(|v| read_u64(v.value()));
            match format {
                None => {
                    meta.insert("format", FORMAT_VERSION.to_be_bytes().as_slice()).at(path)?;
                }
                Some(Some(FORMAT_VERSION)) => {}
                Some(other) => {
                    return Err(EvmError::Store {
                        path: self.path.clone(),
                        message: format!(
                            "index format {} but this sleuth reads format {FORMAT_VERSION}: delete the data dir and ingest again",
                            other.map_or("unreadable".into(), |v| v.to_string())
                        ),
                    })
                }
            }
            txn.open_table(BLOCKS).at(path)?;
            txn.open_table(BLOCK_BY_HASH).at(path)?;
            txn.open_table(TXS).at(path)?;
            txn.open_table(TX_BY_HASH).at(path)?;
            txn.open_table(TRANSFERS).at(path)?;
            txn.open_table(ACCOUNT_TRANSFERS).at(path)?;
            txn.open_table(CREDITS).at(path)?;
            txn.open_table(CONTRACT_EVENTS).at(path)?;
            txn.open_table(ACCOUNTS).at(path)?;
            txn.open_table(BALANCES).at(path)?;
            txn.open_table(TOKENS).at(path)?;
            txn.open_table(TOKEN_BY_ADDRESS).at(path)?;
        }
        txn.commit().at(path)
    }
}

pub(crate) fn read_u64(b: &[u8]) -> Option<u64> {
    b.try_into().ok().map(u64::from_be_bytes)
}

/// Any redb error as one that names the store's file.
pub(crate) trait At<T> {
    fn at(self, path: &Path) -> Result<T, EvmError>;
}

impl<T, E: Into<redb::Error>> At<T> for Result<T, E> {
    fn at(self, path: &Path) -> Result<T, EvmError> {
        self.map_err(|e| EvmError::Store { path: path.to_path_buf(), message: e.into().to_string() })
    }
}

/// A record the store cannot decode: the index is damaged.
pub(crate) fn damaged(path: &Path, what: impl std::fmt::Display) -> EvmError {
    EvmError::Store {
        path: path.to_path_buf(),
        message: format!("{what} is unreadable: the index is damaged; delete the data dir and ingest again"),
    }
}
