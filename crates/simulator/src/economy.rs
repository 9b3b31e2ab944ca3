//! The scheduler: the world's state and the block loop.
//!
//! Each block draws its interval (exponential, ten minutes on average) and a transaction
//! count that grows with the interval, as a node's mempool fills between blocks. The first
//! hundred blocks carry only their coinbase, so that the first coinbases mature. After that,
//! each block first runs the services' periodic work (sweeps, batched withdrawals, pool
//! payouts, CoinJoin rounds, laundering steps), then fills up with users' own transactions.
//! A transaction that would push the block over 4 M weight units starts the next block.

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Txid};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sleuth_chain::Chain;

use crate::actors::Services;
use crate::address::Keys;
use crate::blockwriter::{self, BlockBuilder, BlockWriter, SUBSIDY};
use crate::config::{Scale, SimConfig, COINBASE_MATURITY};
use crate::entity::Entity;
use crate::heist::{Heist, Thief};
use crate::sink::Sink;
use crate::truth::TruthFiles;
use crate::wallet::Utxo;
use crate::{HeistSummary, SimError, SimSummary};

/// Time of block 1: 2024-01-01T00:00:00Z, so that every script type is in use.
const START_TIME: u32 = 1_704_067_200;

/// Counters for the summary.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub blocks: u64,
    pub transactions: u64,
    pub inputs: u64,
    pub outputs: u64,
    pub coinjoins: u64,
    pub addresses: u64,
    pub deposits: u64,
    pub fees: u64,
}

/// Everything the simulation knows.
pub(crate) struct World {
    /// The one random generator: every choice comes from here, in a fixed order.
    pub rng: StdRng,
    /// Key derivation.
    pub keys: Keys,
    /// Sizes.
    pub scale: Scale,
    /// Height of the block being built.
    pub height: u32,
    /// Its timestamp.
    pub time: u32,
    /// Hash of the previous block.
    pub prev: BlockHash,
    /// All entities; services first, then thieves, then users.
    pub entities: Vec<Entity>,
    /// Names of the entities before the first user.
    pub names: Vec<String>,
    /// Id of the first user; users are `first_user..entities.len()`.
    pub first_user: u32,
    /// Users that may have coins in their main pocket.
    pub funded: Vec<u32>,
    /// The block being built.
    pub block: BlockBuilder,
    /// Pool that mines the block being built.
    pub block_pool: usize,
    /// The writer thread's end: block records and ground-truth lines.
    pub truth: Sink,
    /// Economy transactions still to write.
    pub budget: u64,
    /// Market fee rate (sat/vB) of the current block.
    pub feerate: f64,
    /// Seconds since the previous block.
    interval: u32,
    /// Counters.
    pub stats: Stats,
    /// Drain transaction of each theft, once made.
    pub heist_txids: Vec<Option<Txid>>,
    /// The thefts, for the summary.
    pub heist_summaries: Vec<HeistSummary>,
    /// The services' state.
    pub svc: Services,
    /// The thefts' state.
    pub heists: Vec<Heist>,
    /// The thieves.
    pub thieves: Vec<Thief>,
}

impl World {
    fn new(cfg: &SimConfig, max_file: u64) -> Result<World, SimError> {
        let writer = BlockWriter::create(&cfg.out.join("blocks"), cfg.chain.magic(), max_file)?;
        let truth = Sink::start(writer, TruthFiles::create(&cfg.out.join("truth"), cfg.chain)?, cfg.truth);
        let scale = Scale::new(cfg.transactions);
        let mut w = World {
            rng: StdRng::seed_from_u64(cfg.seed),
            keys: Keys::new(cfg.seed),
            scale,
            height: 0,
            time: START_TIME,
            prev: BlockHash::all_zeros(),
            entities: Vec::new(),
            names: Vec::new(),
            first_user: 0,
            funded: Vec::new(),
            block: BlockBuilder::default(),
            block_pool: 0,
            truth,
            budget: cfg.transactions,
            feerate: 5.0,
            interval: 600,
            stats: Stats::default(),
            heist_txids: Vec::new(),
            heist_summaries: Vec::new(),
            svc: Services::default(),
            heists: Vec::new(),
            thieves: Vec::new(),
        };
        w.populate();
        Ok(w)
    }

    /// Adds an entity and its line in `entities.csv`. Services and thieves are named;
    /// users are `user-ID`.
    pub(crate) fn add_entity(&mut self, entity: Entity, name: Option<String>) -> u32 {
        let id = self.entities.len() as u32;
        match name {
            Some(n) => {
                debug_assert_eq!(self.names.len(), id as usize, "named entities come first");
                self.truth.entity(id, &n, entity.kind.name());
                self.names.push(n);
            }
            None => self.truth.entity(id, &format!("user-{id}"), entity.kind.name()),
        }
        self.entities.push(entity);
        id
    }

    /// Name of a service or thief.
    pub(crate) fn name(&self, e: u32) -> &str {
        &self.names[e as usize]
    }

    /// Number of users.
    pub(crate) fn user_count(&self) -> u32 {
        self.entities.len() as u32 - self.first_user
    }

    fn write_genesis(&mut self, chain: Chain) {
        let genesis = crate::genesis_block(chain);
        self.truth.block(bitcoin::consensus::serialize(&genesis));
        self.prev = genesis.block_hash();
        self.stats.blocks += 1;
        self.stats.transactions += 1;
        self.stats.inputs += 1;
        self.stats.outputs += 1;
        self.truth.transaction(&genesis.txdata[0].compute_txid(), 0, "coinbase", None, 0, None, None);
    }

    /// Starts the next block: its time, the fee market, the pool that mines it.
    fn open_block(&mut self) {
        self.height += 1;
        let interval = (-600.0 * (1.0 - self.rng.gen::<f64>()).ln()).clamp(1.0, 7200.0) as u32;
        self.time += interval;
        self.interval = interval;
        // The fee market drifts around 8 sat/vB, with a daily rhythm and bursts.
        let day = (self.height % 144) as f64 / 144.0 * std::f64::consts::TAU;
        let ln = self.feerate.ln() * 0.97 + 0.03 * (8.0f64.ln() + 0.4 * day.sin()) + 0.12 * self.normal();
        self.feerate = ln.exp().clamp(1.0, 300.0);
        self.block_pool = self.pick_pool();
    }

    /// A standard normal draw (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.gen::<f64>();
        let u2: f64 = self.rng.gen();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// How many economy transactions the block being built aims at.
    fn block_target(&mut self) -> usize {
        let noise = 0.8 + 0.4 * self.rng.gen::<f64>();
        let t = self.scale.tx_per_block * (0.6 + 0.4 * self.interval as f64 / 600.0) * noise;
        (t.round() as usize).clamp(1, (self.scale.tx_per_block * 3.0) as usize)
    }

    /// Makes room for a transaction of `weight`: a full block is closed and the next opened.
    pub(crate) fn make_room(&mut self, weight: u64) {
        if !self.block.fits(weight) {
            self.close_block();
        }
    }

    /// Finishes the block being built (coinbase, header, write) and opens the next.
    pub(crate) fn close_block(&mut self) {
        let pool = self.block_pool;
        let pool_id = self.svc.pools[pool].entity;
        let fees = self.block.fees;
        let value = SUBSIDY + fees;
        let payout = self.coinbase_address(pool);
        let tag = format!("/{}/", self.name(pool_id));
        let extranonce = self.rng.gen::<u64>();
        let cb = blockwriter::coinbase(
            self.height,
            value,
            self.keys.script_pubkey(&payout.addr),
            tag.as_bytes(),
            extranonce,
            self.block.witness_commitment(),
        );
        let version =
            if self.rng.gen_bool(0.8) { 0x2000_0000 } else { 0x2000_0000 | (self.rng.gen::<i32>() & 0x1fff_e000) };
        let mut header = blockwriter::header(self.prev, self.time, version);
        let (n, inputs, outputs) = (self.block.len() as u64, self.block.inputs, self.block.outputs);
        let (raw, hash) = self.block.finish(&cb, &mut header);
        self.time = header.time;
        self.truth.block(raw);
        self.prev = hash;
        self.stats.blocks += 1;
        self.stats.transactions += n + 1;
        self.stats.inputs += inputs + 1;
        self.stats.outputs += outputs + 2;
        self.stats.fees += fees;
        let txid = cb.compute_txid();
        self.truth.transaction(&txid, self.height, "coinbase", None, 0, None, None);
        if payout.fresh {
            self.truth.address(&self.keys.address_key(&payout.addr), pool_id);
            self.stats.addresses += 1;
        }
        let ent = &mut self.entities[pool_id as usize];
        ent.received += value;
        ent.pocket(crate::actors::pockets::HOT).push(Utxo {
            txid,
            value,
            vout: 0,
            index: payout.addr.index,
            ready: self.height + COINBASE_MATURITY,
            kind: payout.addr.kind,
            tag: 0,
        });
        self.open_block();
    }

    fn finish(mut self) -> Result<SimSummary, SimError> {
        for id in 0..self.entities.len() {
            let e = &self.entities[id];
            let (r, s) = (e.received, e.spent);
            self.truth.balance(id as u32, r, s);
        }
        // The unspent outputs at the tip: in their owners' pockets, or waiting in a CoinJoin
        // coordinator's queue.
        let mut unspent: Vec<(u32, crate::wallet::Utxo)> = Vec::new();
        for (id, e) in self.entities.iter().enumerate() {
            unspent.extend(e.pockets.iter().flatten().map(|u| (id as u32, *u)));
        }
        let queued = self
            .svc
            .wasabi
            .queue
            .iter()
            .chain(self.svc.whirlpool.pools.iter().flat_map(|p| p.premix.iter().chain(&p.remix)));
        unspent.extend(queued.map(|r| (r.owner, r.utxo)));
        for (owner, u) in unspent {
            let key = self.keys.address_key(&u.addr(owner));
            self.truth.utxo(&u.txid, u.vout, key, owner, u.value);
        }
        let tip_height = self.height as u64 - 1;
        let block_files = self.truth.finish()?;
        let World { truth, stats: s, heist_summaries, prev, entities, .. } = self;
        let bytes = truth.bytes;
        Ok(SimSummary {
            blocks: s.blocks,
            transactions: s.transactions,
            inputs: s.inputs,
            outputs: s.outputs,
            bytes,
            heists: heist_summaries,
            block_files,
            tip_height,
            tip_hash: prev,
            entities: entities.len() as u64,
            addresses: s.addresses,
            coinjoins: s.coinjoins,
            deposits: s.deposits,
            fees: s.fees,
        })
    }
}

/// Runs a simulation, writing files of at most `max_file` bytes.
pub(crate) fn run(cfg: &SimConfig, max_file: u64, progress: &mut dyn FnMut(u64)) -> Result<SimSummary, SimError> {
    let mut w = World::new(cfg, max_file)?;
    w.write_genesis(cfg.chain);
    w.open_block();
    let bootstrap = w.scale.bootstrap_blocks;
    // Until every transaction is written and no block is left half-built.
    while w.budget > 0 || w.block.len() > 0 {
        let h = w.height;
        if h > bootstrap && w.budget > 0 {
            let target = w.block_target();
            w.scheduled();
            while w.height == h && w.block.len() < target && w.budget > 0 {
                w.organic();
            }
        }
        if w.height == h {
            w.close_block();
        }
        w.truth.check()?;
        progress(cfg.transactions - w.budget);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sleuth_chain::blockfile::{best_chain, BlockFileReader};

    #[test]
    fn a_chain_spread_over_many_small_files_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cfg =
            SimConfig { out: dir.path().to_owned(), transactions: 2_000, seed: 5, chain: Chain::Regtest, truth: true };
        let limit = 64 << 10;
        let summary = run(&cfg, limit, &mut |_| {}).unwrap();
        assert!(summary.block_files > 5, "{} files", summary.block_files);
        let reader = BlockFileReader::open(&dir.path().join("blocks")).unwrap();
        let scan = reader.scan_headers(Some(Chain::Regtest.magic())).unwrap();
        assert_eq!(scan.bytes, summary.bytes);
        let chain = best_chain(&scan.records, Chain::Regtest.genesis_hash()).unwrap();
        assert_eq!(chain.len() as u64, summary.blocks);
        for n in 0..summary.block_files {
            let len = std::fs::metadata(dir.path().join(format!("blocks/blk{n:05}.dat"))).unwrap().len();
            assert!(len <= limit, "blk{n:05}.dat has {len} bytes");
        }
    }

    #[test]
    fn no_transactions_writes_the_genesis_block_only() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SimConfig {
            out: dir.path().to_owned(),
            transactions: 0,
            seed: 1,
            chain: Chain::LitecoinRegtest,
            truth: true,
        };
        let summary = run(&cfg, blockwriter::MAX_BLOCKFILE_SIZE, &mut |_| {}).unwrap();
        assert_eq!((summary.blocks, summary.transactions, summary.tip_height), (1, 1, 0));
        assert_eq!(summary.tip_hash, Chain::LitecoinRegtest.genesis_hash());
    }
}
