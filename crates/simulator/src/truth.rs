//! The ground truth, as CSV files in `OUT/truth/`, written as the simulation goes.
//!
//! Every file starts with a header line naming its columns. Amounts are satoshis, entity
//! references are the numeric ids of `entities.csv` unless the column says `name` (names are
//! unique and contain no comma), transaction ids are hex as block explorers show them, and
//! addresses are strings of the simulated chain. An empty field means "none".
//!
//! | file | columns | one line per |
//! |---|---|---|
//! | `entities.csv` | [`ENTITIES`] | entity: user, exchange, merchant, payment processor, mining pool, gambling site, CoinJoin coordinator, OTC desk, thief |
//! | `addresses.csv` | [`ADDRESSES`] | address, at its first use |
//! | `heists.csv` | [`HEISTS`] | theft: the drain transaction, victim and thief names, satoshis stolen |
//! | `deposits.csv` | [`DEPOSITS`] | output paying an exchange's or OTC desk's customer deposit address; `exchange` is the service's name, `from_entity` the id of the spender |
//! | `transactions.csv` | [`TRANSACTIONS`] | transaction: its purpose, spending entity (empty for multi-party CoinJoins), fee, the change output's index and the theft it launders (drain txid) |
//! | `taint.csv` | [`TAINT`] | output that a transaction spending stolen coins pays to someone other than the thief; `direct` is 1 when all inputs were the thief's |
//! | `coinjoins.csv` | [`COINJOINS`] | CoinJoin: style, participants, equal outputs and their denomination |
//! | `balances.csv` | [`BALANCES`] | entity: satoshis received and spent over the whole chain, and what is left |
//! | `utxos.csv` | [`UTXOS`] | output still unspent at the tip, with its address and owner: the per-address balances |

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bitcoin::Txid;
use sleuth_chain::{AddressKey, Chain};

use crate::SimError;

/// Header of `entities.csv`.
pub const ENTITIES: &str = "entity_id,name,kind";
/// Header of `addresses.csv`.
pub const ADDRESSES: &str = "address,entity_id";
/// Header of `heists.csv`.
pub const HEISTS: &str = "txid,victim,thief,amount";
/// Header of `deposits.csv`.
pub const DEPOSITS: &str = "txid,vout,address,exchange,amount,from_entity";
/// Header of `transactions.csv`.
pub const TRANSACTIONS: &str = "txid,height,kind,spender,fee,change_vout,heist";
/// Header of `taint.csv`.
pub const TAINT: &str = "txid,vout,address,heist,to_entity,amount,direct";
/// Header of `coinjoins.csv`.
pub const COINJOINS: &str = "txid,style,participants,inputs,outputs,equal_outputs,denomination";
/// Header of `balances.csv`.
pub const BALANCES: &str = "entity_id,received,spent,balance";

/// Header of `utxos.csv`.
pub const UTXOS: &str = "txid,vout,address,entity_id,amount";

/// Every truth file with its header, in the order above.
pub const FILES: [(&str, &str); 9] = [
    ("entities.csv", ENTITIES),
    ("addresses.csv", ADDRESSES),
    ("heists.csv", HEISTS),
    ("deposits.csv", DEPOSITS),
    ("transactions.csv", TRANSACTIONS),
    ("taint.csv", TAINT),
    ("coinjoins.csv", COINJOINS),
    ("balances.csv", BALANCES),
    ("utxos.csv", UTXOS),
];

/// One line of a truth file, with the data it is formatted from. Lines are formatted and
/// written on the writer thread (see `sink`), so they carry owned data.
#[derive(Debug, Clone)]
pub(crate) enum Line {
    /// `entities.csv`; the name is also remembered for `deposits.csv`.
    Entity { id: u32, name: String, kind: &'static str },
    /// `addresses.csv`.
    Address { key: AddressKey, entity: u32 },
    /// `heists.csv`.
    Heist { txid: Txid, victim: String, thief: String, amount: u64 },
    /// `deposits.csv`.
    Deposit { txid: Txid, vout: u32, key: AddressKey, exchange: u32, amount: u64, from: u32 },
    /// `transactions.csv`.
    Transaction {
        txid: Txid,
        height: u32,
        kind: &'static str,
        spender: Option<u32>,
        fee: u64,
        change_vout: Option<u32>,
        heist: Option<Txid>,
    },
    /// `taint.csv`.
    Taint { txid: Txid, vout: u32, key: AddressKey, heist: Txid, to: u32, amount: u64, direct: bool },
    /// `coinjoins.csv`.
    Coinjoin {
        txid: Txid,
        style: &'static str,
        participants: u32,
        inputs: u32,
        outputs: u32,
        equal: u32,
        denomination: u64,
    },
    /// `balances.csv`.
    Balance { entity: u32, received: u64, spent: u64 },
    /// `utxos.csv`.
    Utxo { txid: Txid, vout: u32, key: AddressKey, entity: u32, amount: u64 },
}

/// A CSV file being written.
struct Csv {
    path: PathBuf,
    w: BufWriter<File>,
}

/// The open truth files.
pub(crate) struct TruthFiles {
    chain: Chain,
    files: Vec<Csv>,
    names: Vec<String>,
}

const ENT: usize = 0;
const ADDR: usize = 1;
const HEIST: usize = 2;
const DEP: usize = 3;
const TX: usize = 4;
const TAINTED: usize = 5;
const CJ: usize = 6;
const BAL: usize = 7;
const UTXO: usize = 8;

impl TruthFiles {
    /// Creates `dir` and the files with their headers.
    pub fn create(dir: &Path, chain: Chain) -> Result<TruthFiles, SimError> {
        std::fs::create_dir_all(dir).map_err(|source| SimError::Io { path: dir.to_owned(), source })?;
        let mut files = Vec::new();
        for (name, header) in FILES {
            let path = dir.join(name);
            let f = File::create(&path).map_err(|source| SimError::Io { path: path.clone(), source })?;
            let mut w = BufWriter::with_capacity(1 << 18, f);
            writeln!(w, "{header}").map_err(|source| SimError::Io { path: path.clone(), source })?;
            files.push(Csv { path, w });
        }
        Ok(TruthFiles { chain, files, names: Vec::new() })
    }

    /// Formats and writes one line.
    pub fn write(&mut self, line: &Line) -> Result<(), SimError> {
        let enc = |key: &AddressKey| sleuth_chain::address::encode(key, self.chain);
        let (file, r) = match line {
            Line::Entity { id, name, kind } => {
                if *kind != "user" {
                    self.names.resize(*id as usize + 1, String::new());
                    self.names[*id as usize] = name.clone();
                }
                (ENT, writeln!(self.files[ENT].w, "{id},{name},{kind}"))
            }
            Line::Address { key, entity } => (ADDR, writeln!(self.files[ADDR].w, "{},{entity}", enc(key))),
            Line::Heist { txid, victim, thief, amount } => {
                (HEIST, writeln!(self.files[HEIST].w, "{txid},{victim},{thief},{amount}"))
            }
            Line::Deposit { txid, vout, key, exchange, amount, from } => {
                let a = enc(key);
                let name = &self.names[*exchange as usize];
                (DEP, writeln!(self.files[DEP].w, "{txid},{vout},{a},{name},{amount},{from}"))
            }
            Line::Transaction { txid, height, kind, spender, fee, change_vout, heist } => {
                let (spender, change, heist) = (Opt(*spender), Opt(*change_vout), Opt(heist.as_ref()));
                (TX, writeln!(self.files[TX].w, "{txid},{height},{kind},{spender},{fee},{change},{heist}"))
            }
            Line::Taint { txid, vout, key, heist, to, amount, direct } => {
                let (a, d) = (enc(key), *direct as u8);
                (TAINTED, writeln!(self.files[TAINTED].w, "{txid},{vout},{a},{heist},{to},{amount},{d}"))
            }
            Line::Coinjoin { txid, style, participants, inputs, outputs, equal, denomination } => (
                CJ,
                writeln!(self.files[CJ].w, "{txid},{style},{participants},{inputs},{outputs},{equal},{denomination}"),
            ),
            Line::Balance { entity, received, spent } => {
                let balance = received - spent;
                (BAL, writeln!(self.files[BAL].w, "{entity},{received},{spent},{balance}"))
            }
            Line::Utxo { txid, vout, key, entity, amount } => {
                (UTXO, writeln!(self.files[UTXO].w, "{txid},{vout},{},{entity},{amount}", enc(key)))
            }
        };
        r.map_err(|source| SimError::Io { path: self.files[file].path.clone(), source })
    }

    /// Flushes every file.
    pub fn finish(mut self) -> Result<(), SimError> {
        for f in &mut self.files {
            f.w.flush().map_err(|source| SimError::Io { path: f.path.clone(), source })?;
        }
        Ok(())
    }
}

/// An optional field: the value, or nothing.
struct Opt<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for Opt<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => Ok(()),
        }
    }
}
