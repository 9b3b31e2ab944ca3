//! Address clustering: which addresses one entity controls.
//!
//! [`build`] walks every transaction in chain order. CoinJoins ([`coinjoin`]) are skipped;
//! otherwise all input addresses are merged (multi-input) and, if the enabled change
//! heuristics ([`change`]) agree on an output, its address is merged with the inputs'. Every
//! union that joins two clusters is recorded with its transaction and heuristic, so
//! [`Clustering::why`] can show the chain of evidence between any two addresses of a cluster.
//! New blocks extend a saved clustering without starting over.

pub mod accuracy;
pub mod change;
pub mod coinjoin;
mod facts;
mod heuristics;
mod scan;
mod store;
mod txview;
mod union_find;
mod why;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sleuth_index::{AddrId, OutputNum, TxNum, View};

pub use facts::{ClusterInfo, MAX_LISTED};
pub use heuristics::{
    bit_names, HeuristicSet, UnknownHeuristic, DEFAULT_CHANGE, DEFAULT_CHANGE_OUTPUTS, DEFAULT_COLLAPSE_GUARD,
    MULTI_INPUT_BIT,
};
pub use store::{BigCluster, ClusterError, ClusterMeta, HeldRec, MergeRec, BIG_COINS, CLUSTER_FORMAT};
pub use txview::TxView;
pub use union_find::UnionFind;
pub use why::{HeldStep, MergeStep, WhyAnswer};

/// What a build did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    /// Heuristics used.
    pub heuristics: Vec<String>,
    /// Continued a saved clustering rather than starting over.
    pub incremental: bool,
    /// Transactions processed in this run.
    pub transactions: u64,
    /// Addresses covered.
    pub addresses: u64,
    /// Clusters (singletons included).
    pub clusters: u64,
    /// Clusters of more than one address.
    pub multi_address_clusters: u64,
    /// Addresses in the largest cluster.
    pub largest_cluster: u64,
    /// Unions recorded, by heuristic names.
    pub merges: BTreeMap<String, u64>,
    /// Change inferences the collapse guard held back in this run.
    #[serde(default)]
    pub held_back: u64,
    /// CoinJoins recognised (and not merged), by kind.
    pub coinjoins: BTreeMap<String, u64>,
    /// Seconds spent.
    pub seconds: f64,
}

/// A cluster: the id of its representative address (stable while the clustering is only
/// extended; a rebuild may name a cluster by another member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClusterId(u32);

impl ClusterId {
    /// The cluster represented by address number `n`.
    pub const fn new(n: u32) -> ClusterId {
        ClusterId(n)
    }

    /// Its number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Its representative address.
    pub const fn representative(self) -> AddrId {
        AddrId::new(self.0)
    }
}

impl std::fmt::Display for ClusterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for ClusterId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<ClusterId, Self::Err> {
        s.parse().map(ClusterId)
    }
}

/// A clustering, loaded for queries.
pub struct Clustering {
    dir: PathBuf,
    saved: store::Saved,
}

/// The clustering folder of an index data dir.
pub fn cluster_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cluster")
}

/// Builds (or extends) the clustering of `index` with `set`, saving it under the data dir.
/// A saved clustering is extended when it used the same heuristics and the chain below its
/// last transaction is unchanged; otherwise it is rebuilt from the start.
///
/// # Errors
/// I/O errors writing the clustering.
pub fn build(
    index: &View<'_>,
    set: HeuristicSet,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BuildReport, ClusterError> {
    let started = Instant::now();
    let dir = cluster_dir(index.dir());
    let n_tx = index.tx_count();
    let n_addr = index.address_count() as usize;
    let saved = match store::load(&dir).and_then(|s| match s {
        Some(s) => store::check_ids(&s.generation_dir(&dir), &s).map(|()| Some(s)),
        None => Ok(None),
    }) {
        Ok(s) => s,
        Err(ClusterError::OtherFormat { found, .. }) => {
            tracing::info!(
                "the saved clustering is of format {found}, this sleuth's is {}: built again from the start",
                store::CLUSTER_FORMAT
            );
            None
        }
        Err(e) => {
            // A build replaces what it cannot read: say so, do not hide it.
            tracing::warn!("the saved clustering cannot be read and is rebuilt from the start: {e}");
            None
        }
    };
    let saved = saved.filter(|s| {
        let m = &s.meta;
        m.heuristics == set.names()
            && m.upto_tx <= n_tx
            && m.last_txid == m.upto_tx.checked_sub(1).map(|t| index.txid(TxNum::new(t as u32)).to_string())
    });
    let incremental = saved.is_some();
    let (start, mut uf, merges, held, coinjoin_bits) = match saved {
        Some(s) => (
            s.meta.upto_tx,
            UnionFind::from_parents(s.roots.as_slice().to_vec()),
            s.merges.as_slice().to_vec(),
            s.held.as_slice().to_vec(),
            s.coinjoins.as_slice().to_vec(),
        ),
        None => (0, UnionFind::new(0), Vec::new(), Vec::new(), Vec::new()),
    };
    let held_before = held.len();
    uf.grow(n_addr);
    let change: Vec<_> = set.change_heuristics().collect();
    let rules = scan::Rules {
        multi_input: set.multi_input,
        change: &change,
        collapse_guard: set.collapse_guard,
        change_outputs: set.change_outputs as usize,
        coinjoin_change: set.coinjoin_change,
    };
    let scan::Scanned { uf, merges, held, merge_counts, coinjoins, coinjoin_bits } =
        scan::scan(index, &rules, (start, n_tx), (uf, merges, held, coinjoin_bits), progress);
    let scanned = started.elapsed();
    // Two threads: the machine's two cores, idle between the scan and the save.
    let (roots, counts) = uf.roots_and_counts(2);
    drop(uf);
    let mut meta = ClusterMeta {
        version: store::CLUSTER_FORMAT,
        heuristics: set.names(),
        upto_tx: n_tx,
        last_txid: n_tx.checked_sub(1).map(|t| index.txid(TxNum::new(t as u32)).to_string()),
        addresses: roots.len() as u64,
        generation: 0,
        member_pairs: 0,
    };
    let summed = started.elapsed();
    store::save(&dir, &mut meta, &roots, &merges, &held, &coinjoin_bits, || big_clusters(index, &roots, n_tx))?;
    tracing::debug!(
        scan_s = scanned.as_secs_f64(),
        roots_s = (summed - scanned).as_secs_f64(),
        save_s = (started.elapsed() - summed).as_secs_f64(),
        "cluster build phases"
    );
    let merge_counts: BTreeMap<String, u64> = (0..scan::MERGE_KINDS as u16)
        .filter(|&bits| merge_counts[bits as usize] > 0)
        .map(|bits| (bit_names(bits).join("+"), merge_counts[bits as usize]))
        .collect();
    Ok(BuildReport {
        heuristics: set.names(),
        incremental,
        transactions: n_tx - start,
        addresses: roots.len() as u64,
        clusters: counts.sets,
        multi_address_clusters: counts.multi,
        largest_cluster: counts.largest,
        merges: merge_counts,
        held_back: (held.len() - held_before) as u64,
        coinjoins,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The clusters paid at least [`BIG_COINS`] outputs by transactions `0..n_tx`, in cluster
/// order, with their coin counts and values: one pass over the outputs.
fn big_clusters(index: &View<'_>, roots: &[u32], n_tx: u64) -> Vec<BigCluster> {
    // Two lookups per output in random order (the address's cluster, then the cluster's
    // tally): each is started ahead, the cluster 32 outputs ahead, the tally (once the
    // cluster is in cache) 16 ahead. Count and value share a cache line.
    const AHEAD_ROOT: u64 = 32;
    const AHEAD_TALLY: u64 = 16;
    let n_out = n_tx.checked_sub(1).map_or(0, |t| index.tx_output_range(TxNum::new(t as u32)).end);
    let mut tally = vec![[0u64; 2]; roots.len()];
    let addr = |o: u64| index.output(OutputNum::new(o)).addr.map(|a| a.get() as usize);
    for o in 0..n_out {
        if let Some(a) = (o + AHEAD_ROOT < n_out).then(|| addr(o + AHEAD_ROOT)).flatten() {
            sleuth_index::prefetch(&roots[a]);
        }
        if let Some(a) = (o + AHEAD_TALLY < n_out).then(|| addr(o + AHEAD_TALLY)).flatten() {
            sleuth_index::prefetch(&tally[roots[a] as usize]);
        }
        let out = index.output(OutputNum::new(o));
        if let Some(a) = out.addr {
            let t = &mut tally[roots[a.get() as usize] as usize];
            t[0] += 1;
            // Saturates only on damaged blocks (no chain holds 2^64 base units).
            t[1] = t[1].saturating_add(out.value);
        }
    }
    (0..roots.len())
        .filter(|&c| tally[c][0] >= BIG_COINS)
        .map(|c| BigCluster { cluster: c as u32, _pad: 0, coins: tally[c][0], received_sat: tally[c][1] })
        .collect()
}

impl Clustering {
    /// Loads the clustering saved under `data_dir`.
    ///
    /// # Errors
    /// [`ClusterError::NotBuilt`] if there is none; I/O and format errors.
    pub fn load(data_dir: &Path) -> Result<Clustering, ClusterError> {
        Clustering::load_if_built(data_dir)?.ok_or_else(|| ClusterError::NotBuilt { path: cluster_dir(data_dir) })
    }

    /// Loads the clustering saved under `data_dir`; `None` if none was built. A clustering
    /// that exists but cannot be read is an error naming the file, never `None`.
    ///
    /// # Errors
    /// I/O and format errors.
    pub fn load_if_built(data_dir: &Path) -> Result<Option<Clustering>, ClusterError> {
        let dir = cluster_dir(data_dir);
        Ok(store::load(&dir)?.map(|saved| Clustering { dir, saved }))
    }

    /// What the saved clustering covers.
    pub fn meta(&self) -> &ClusterMeta {
        &self.saved.meta
    }

    /// The folder it is saved in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Hints the CPU to load what [`Clustering::cluster_of`] reads first for `a`.
    #[inline]
    pub fn prefetch(&self, a: AddrId) {
        if let Some(r) = self.saved.roots.as_slice().get(a.get() as usize) {
            sleuth_index::prefetch(r);
        }
    }

    /// Whether the build recognised transaction `t` as a CoinJoin ([`coinjoin::detect`]);
    /// `None` past the transactions it covers.
    #[inline]
    pub fn is_coinjoin(&self, t: TxNum) -> Option<bool> {
        let i = t.get() as u64;
        if i >= self.saved.meta.upto_tx {
            return None;
        }
        let word = self.saved.coinjoins.as_slice().get((i / 64) as usize)?;
        Some(word >> (i % 64) & 1 == 1)
    }

    /// The cluster of `a`, if the clustering covers it.
    pub fn cluster_of(&self, a: AddrId) -> Option<ClusterId> {
        let roots = self.saved.roots.as_slice();
        let r = *roots.get(a.get() as usize)?;
        // Saved fully compressed: a cluster's id is its own root.
        if roots.get(r as usize) != Some(&r) {
            self.damaged(
                "roots.bin",
                format!("address {} has cluster {r}, which is not a cluster of its own", a.get()),
            );
        }
        Some(ClusterId(r))
    }

    /// The addresses of cluster `c`, in id order; none if `c` names no cluster.
    pub fn members(&self, c: ClusterId) -> Vec<AddrId> {
        let n = self.saved.meta.addresses;
        let pairs = self.saved.members.as_slice();
        let start = pairs.partition_point(|p| p[0] < c.0);
        // The pair the search stopped at names a cluster too: one past the addresses was read
        // from a damaged file (or one of another index), whose pairs would be missed here.
        if let Some(p) = pairs.get(start).filter(|p| u64::from(p[0]) >= n) {
            self.damaged("members.bin", format!("a member pair names cluster {}, past the {n} addresses", p[0]));
        }
        let members: Vec<AddrId> = pairs[start..]
            .iter()
            .take_while(|p| p[0] == c.0)
            .map(|p| {
                if u64::from(p[1]) >= n {
                    self.damaged("members.bin", format!("cluster {} has member {}, past the {n} addresses", c.0, p[1]));
                }
                AddrId::new(p[1])
            })
            .collect();
        if members.is_empty() {
            // A cluster of one address has no pairs; a number that is no cluster's has none
            // either, and no members.
            let roots = self.saved.roots.as_slice();
            return if roots.get(c.0 as usize) == Some(&c.0) { vec![c.representative()] } else { Vec::new() };
        }
        // A cluster's id is one of its addresses: a list without it was read from a damaged file.
        if members.binary_search(&c.representative()).is_err() {
            self.damaged("members.bin", format!("cluster {} is not among its own {} members", c.0, members.len()));
        }
        members
    }

    /// Cluster `c`'s coin count and value when it has at least [`BIG_COINS`] coins.
    pub fn big(&self, c: ClusterId) -> Option<BigCluster> {
        let big = self.saved.big.as_slice();
        big.binary_search_by_key(&c.0, |b| b.cluster).ok().map(|i| big[i])
    }

    /// How many addresses the clustering covers (ids `0..n`).
    pub fn address_count(&self) -> u64 {
        self.saved.meta.addresses
    }

    /// Union number `i` (an index from [`Clustering::merges_of`]), its ids checked.
    pub fn merge(&self, i: usize) -> MergeRec {
        let (n, txs) = (self.saved.meta.addresses, self.saved.meta.upto_tx);
        let merges = self.saved.merges.as_slice();
        match merges.get(i) {
            Some(&m) if u64::from(m.a) < n && u64::from(m.b) < n && u64::from(m.tx) < txs => m,
            Some(m) => self.damaged(
                "merges.bin",
                format!("union {i} joins addresses {} and {} in transaction {}, past the counts", m.a, m.b, m.tx),
            ),
            None => self
                .damaged("merges_by_cluster.bin", format!("a cluster lists union {i}, and there are {}", merges.len())),
        }
    }

    /// The change inferences the collapse guard held back, in chain order, their ids checked.
    pub fn held(&self) -> impl Iterator<Item = HeldRec> + '_ {
        let (n, txs) = (self.saved.meta.addresses, self.saved.meta.upto_tx);
        self.saved.held.as_slice().iter().map(move |&h| {
            if u64::from(h.a) < n && u64::from(h.b) < n && u64::from(h.tx) < txs {
                h
            } else {
                self.damaged(
                    "held.bin",
                    format!(
                        "a held-back merge joins addresses {} and {} in transaction {}, past the counts",
                        h.a, h.b, h.tx
                    ),
                )
            }
        })
    }

    /// The unions inside cluster `c`, as indices for [`Clustering::merge`].
    pub fn merges_of(&self, c: ClusterId) -> impl Iterator<Item = usize> + '_ {
        store::ids_of(self.saved.merges_by_cluster.as_slice(), c.0).map(|i| i as usize)
    }

    /// A read found the files contradicting themselves: unwinds with
    /// [`sleuth_index::Damaged`], which the binary's edge reports as an error.
    #[cold]
    pub(super) fn damaged(&self, file: &str, what: String) -> ! {
        sleuth_index::Damaged::raise(
            &self.saved.generation_dir(&self.dir).join(file),
            what,
            "run `sleuth cluster build` again",
        )
    }

    /// Whether this clustering was built on the chain `index` holds: it covers no more
    /// transactions than `index`, and its last one is the same. A clustering of a branch a
    /// reorg removed, or built at a newer commit than `index`, is not.
    pub fn matches(&self, index: &View<'_>) -> bool {
        let m = &self.saved.meta;
        m.upto_tx <= index.tx_count()
            && m.addresses <= index.address_count()
            && m.last_txid == m.upto_tx.checked_sub(1).map(|t| index.txid(TxNum::new(t as u32)).to_string())
    }
}
