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

/// Every truth file with its header, in the order above.
pub const FILES: [(&str, &str); 8] = [
    ("entities.csv", ENTITIES),
    ("addresses.csv", ADDRESSES),
    ("heists.csv", HEISTS),
    ("deposits.csv", DEPOSITS),
    ("transactions.csv", TRANSACTIONS),
    ("taint.csv", TAINT),
    ("coinjoins.csv", COINJOINS),
    ("balances.csv", BALANCES),
];

/// A CSV file being written.
struct Csv {
    path: PathBuf,
    w: BufWriter<File>,
}

/// The writers of `truth/`. Write errors are kept (the first one) rather than returned, so
/// that the economy does not thread them through every transaction; [`Truth::finish`] and
/// [`Truth::check`] report them.
pub(crate) struct Truth {
    chain: Chain,
    files: Vec<Csv>,
    error: Option<SimError>,
}

const ENT: usize = 0;
const ADDR: usize = 1;
const HEIST: usize = 2;
const DEP: usize = 3;
const TX: usize = 4;
const TAINTED: usize = 5;
const CJ: usize = 6;
const BAL: usize = 7;

impl Truth {
    /// Creates `dir` and the files with their headers.
    pub fn create(dir: &Path, chain: Chain) -> Result<Truth, SimError> {
        std::fs::create_dir_all(dir).map_err(|source| SimError::Io { path: dir.to_owned(), source })?;
        let mut files = Vec::new();
        for (name, header) in FILES {
            let path = dir.join(name);
            let f = File::create(&path).map_err(|source| SimError::Io { path: path.clone(), source })?;
            let mut w = BufWriter::with_capacity(1 << 18, f);
            writeln!(w, "{header}").map_err(|source| SimError::Io { path: path.clone(), source })?;
            files.push(Csv { path, w });
        }
        Ok(Truth { chain, files, error: None })
    }

    fn write(&mut self, file: usize, args: std::fmt::Arguments<'_>) {
        let f = &mut self.files[file];
        if let Err(source) = f.w.write_fmt(args) {
            if self.error.is_none() {
                self.error = Some(SimError::Io { path: f.path.clone(), source });
            }
        }
    }

    /// A line of `entities.csv`.
    pub fn entity(&mut self, id: u32, name: &str, kind: &str) {
        self.write(ENT, format_args!("{id},{name},{kind}\n"));
    }

    /// A line of `addresses.csv`.
    pub fn address(&mut self, key: &AddressKey, entity: u32) {
        let a = sleuth_chain::address::encode(key, self.chain);
        self.write(ADDR, format_args!("{a},{entity}\n"));
    }

    /// A line of `heists.csv`.
    pub fn heist(&mut self, txid: &Txid, victim: &str, thief: &str, amount: u64) {
        self.write(HEIST, format_args!("{txid},{victim},{thief},{amount}\n"));
    }

    /// A line of `deposits.csv`.
    pub fn deposit(&mut self, txid: &Txid, vout: u32, key: &AddressKey, exchange: &str, amount: u64, from: u32) {
        let a = sleuth_chain::address::encode(key, self.chain);
        self.write(DEP, format_args!("{txid},{vout},{a},{exchange},{amount},{from}\n"));
    }

    /// A line of `transactions.csv`.
    #[allow(clippy::too_many_arguments)]
    pub fn transaction(
        &mut self,
        txid: &Txid,
        height: u32,
        kind: &str,
        spender: Option<u32>,
        fee: u64,
        change_vout: Option<u32>,
        heist: Option<&Txid>,
    ) {
        let spender = Opt(spender);
        let change = Opt(change_vout);
        let heist = Opt(heist);
        self.write(TX, format_args!("{txid},{height},{kind},{spender},{fee},{change},{heist}\n"));
    }

    /// A line of `taint.csv`.
    #[allow(clippy::too_many_arguments)]
    pub fn taint(&mut self, txid: &Txid, vout: u32, key: &AddressKey, heist: &Txid, to: u32, amount: u64, direct: bool) {
        let a = sleuth_chain::address::encode(key, self.chain);
        let direct = direct as u8;
        self.write(TAINTED, format_args!("{txid},{vout},{a},{heist},{to},{amount},{direct}\n"));
    }

    /// A line of `coinjoins.csv`.
    #[allow(clippy::too_many_arguments)]
    pub fn coinjoin(&mut self, txid: &Txid, style: &str, participants: usize, inputs: usize, outputs: usize, equal: usize, denomination: u64) {
        self.write(CJ, format_args!("{txid},{style},{participants},{inputs},{outputs},{equal},{denomination}\n"));
    }

    /// A line of `balances.csv`.
    pub fn balance(&mut self, entity: u32, received: u64, spent: u64) {
        let balance = received - spent;
        self.write(BAL, format_args!("{entity},{received},{spent},{balance}\n"));
    }

    /// The first write error so far, if any.
    pub fn check(&mut self) -> Result<(), SimError> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Flushes every file.
    pub fn finish(mut self) -> Result<(), SimError> {
        self.check()?;
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
