//! The writer thread: block records and truth lines are handed over in batches, in the order
//! they were made, and formatted and written off the simulation's thread (address encoding
//! and file writes are a fifth of the work; the machine has a second core for them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bitcoin::Txid;
use sleuth_chain::AddressKey;

use crate::blockwriter::BlockWriter;
use crate::truth::{Line, TruthFiles};
use crate::SimError;

/// Lines or blocks handed over at once.
const BATCH: usize = 4096;

/// Batches in flight before the simulation waits for the writer.
const IN_FLIGHT: usize = 8;

/// Something to write.
enum Item {
    Line(Line),
    Block(Vec<u8>),
}

/// The simulation's end of the writer thread.
pub(crate) struct Sink {
    tx: Option<SyncSender<Vec<Item>>>,
    buf: Vec<Item>,
    failed: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<u32, SimError>>>,
    /// Bytes of block records sent.
    pub bytes: u64,
    /// Whether truth lines other than the entities and heists are written (`SimConfig::truth`).
    truth: bool,
}

impl Sink {
    /// Starts the writer thread with the block files and truth files it writes.
    pub fn start(blocks: BlockWriter, truth: TruthFiles, full_truth: bool) -> Sink {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let handle = std::thread::Builder::new()
            .name("sleuth-sim-writer".into())
            .spawn(move || write_all(rx, blocks, truth, flag))
            .expect("the writer thread starts");
        Sink { tx: Some(tx), buf: Vec::with_capacity(BATCH), failed, handle: Some(handle), bytes: 0, truth: full_truth }
    }

    fn push(&mut self, item: Item) {
        if !self.truth && matches!(&item, Item::Line(l) if !matches!(l, Line::Entity { .. } | Line::Heist { .. })) {
            return;
        }
        self.buf.push(item);
        if self.buf.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH));
        if let Some(tx) = &self.tx {
            // A send fails only when the writer stopped on an error, which `check` reports.
            let _ = tx.send(batch);
        }
    }

    /// A block record.
    pub fn block(&mut self, raw: Vec<u8>) {
        self.bytes += 8 + raw.len() as u64;
        self.push(Item::Block(raw));
        // Blocks are big: hand them over at once to bound memory.
        self.flush();
    }

    /// A line of `entities.csv`.
    pub fn entity(&mut self, id: u32, name: &str, kind: &'static str) {
        self.push(Item::Line(Line::Entity { id, name: name.to_owned(), kind }));
    }

    /// A line of `addresses.csv`.
    pub fn address(&mut self, key: &AddressKey, entity: u32) {
        self.push(Item::Line(Line::Address { key: *key, entity }));
    }

    /// A line of `heists.csv`.
    pub fn heist(&mut self, txid: &Txid, victim: &str, thief: &str, amount: u64) {
        self.push(Item::Line(Line::Heist { txid: *txid, victim: victim.to_owned(), thief: thief.to_owned(), amount }));
    }

    /// A line of `deposits.csv`; `exchange` is the service's entity id.
    pub fn deposit(&mut self, txid: &Txid, vout: u32, key: &AddressKey, exchange: u32, amount: u64, from: u32) {
        self.push(Item::Line(Line::Deposit { txid: *txid, vout, key: *key, exchange, amount, from }));
    }

    /// A line of `transactions.csv`.
    #[allow(clippy::too_many_arguments)]
    pub fn transaction(
        &mut self,
        txid: &Txid,
        height: u32,
        kind: &'static str,
        spender: Option<u32>,
        fee: u64,
        change_vout: Option<u32>,
        heist: Option<&Txid>,
    ) {
        let heist = heist.copied();
        self.push(Item::Line(Line::Transaction { txid: *txid, height, kind, spender, fee, change_vout, heist }));
    }

    /// A line of `taint.csv`.
    #[allow(clippy::too_many_arguments)]
    pub fn taint(
        &mut self,
        txid: &Txid,
        vout: u32,
        key: &AddressKey,
        heist: &Txid,
        to: u32,
        amount: u64,
        direct: bool,
    ) {
        self.push(Item::Line(Line::Taint { txid: *txid, vout, key: *key, heist: *heist, to, amount, direct }));
    }

    /// A line of `coinjoins.csv`.
    #[allow(clippy::too_many_arguments)]
    pub fn coinjoin(
        &mut self,
        txid: &Txid,
        style: &'static str,
        participants: usize,
        inputs: usize,
        outputs: usize,
        equal: usize,
        denomination: u64,
    ) {
        let n = |v: usize| v as u32;
        self.push(Item::Line(Line::Coinjoin {
            txid: *txid,
            style,
            participants: n(participants),
            inputs: n(inputs),
            outputs: n(outputs),
            equal: n(equal),
            denomination,
        }));
    }

    /// A line of `balances.csv`.
    pub fn balance(&mut self, entity: u32, received: u64, spent: u64) {
        self.push(Item::Line(Line::Balance { entity, received, spent }));
    }

    /// A line of `utxos.csv`.
    pub fn utxo(&mut self, txid: &Txid, vout: u32, key: AddressKey, entity: u32, amount: u64) {
        self.push(Item::Line(Line::Utxo { txid: *txid, vout, key, entity, amount }));
    }

    /// The writer's error, if it stopped on one.
    pub fn check(&mut self) -> Result<(), SimError> {
        if self.failed.load(Ordering::Relaxed) {
            self.finish()?;
        }
        Ok(())
    }

    /// Hands over what is left, waits for the writer and returns the number of block files.
    pub fn finish(&mut self) -> Result<u32, SimError> {
        self.flush();
        self.tx = None;
        match self.handle.take() {
            Some(h) => h.join().expect("the writer thread does not panic"),
            None => Ok(0),
        }
    }
}

fn write_all(
    rx: Receiver<Vec<Item>>,
    mut blocks: BlockWriter,
    mut truth: TruthFiles,
    failed: Arc<AtomicBool>,
) -> Result<u32, SimError> {
    let mut result = Ok(());
    for batch in rx {
        if result.is_err() {
            continue; // drain, so that the simulation never blocks on a dead writer
        }
        for item in batch {
            let r = match item {
                Item::Line(l) => truth.write(&l),
                Item::Block(raw) => blocks.write_block(&raw),
            };
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
                result = r;
                break;
            }
        }
    }
    result?;
    truth.finish()?;
    blocks.finish()
}
