//! The clustering on disk, under `<data dir>/cluster/`. Each build writes a new generation
//! folder `g<N>/` — `roots.bin` (the cluster of every address, `u32` each), `merges.bin` (the
//! evidence of every union), `members.bin` and `merges_by_cluster.bin` (`(cluster, id)` pairs
//! sorted by cluster, so a cluster's addresses and unions are a binary search away; a
//! cluster of one address has no pairs),
//! `big.bin` (the clusters with at least [`BIG_COINS`] coins and what they received in all),
//! `held.bin` (the change inferences the collapse guard held back), `coinjoins.bin` (a bit per
//! transaction of `0..upto_tx`, set for the CoinJoins the build recognised, which traces
//! then need not recognise again) —
//! and then replaces `meta.json`, which names the generation, atomically. A crash at any point leaves
//! the previous generation in force. Queries map the files instead of reading them.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use bytemuck::{Pod, Zeroable};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};

/// Version of the clustering files and rules: bumped whenever a file layout, a CoinJoin
/// detector or a change heuristic changes, so that a saved clustering is rebuilt rather than
/// extended with different rules.
pub const CLUSTER_FORMAT: u32 = 12;

/// One union: transaction `tx` joined addresses `a` and `b` by the heuristics in `heuristic`
/// (bits, see [`super::heuristics::bit_names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct MergeRec {
    /// The transaction (`TxNum`).
    pub tx: u32,
    /// One side (`AddrId`): an input address.
    pub a: u32,
    /// The other side (`AddrId`): another input address, or the change output's address.
    pub b: u32,
    /// Heuristic bits.
    pub heuristic: u16,
    /// Padding.
    pub _pad: [u8; 2],
}

/// A change inference the collapse guard held back: transaction `tx` would have joined the
/// payer's address `a`, in a cluster of `size_a` addresses, with the change candidate `b`, in
/// a cluster of `size_b` (both at that point of the build).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct HeldRec {
    /// The transaction (`TxNum`).
    pub tx: u32,
    /// The payer's side (`AddrId`): the first input address.
    pub a: u32,
    /// The change candidate's address (`AddrId`).
    pub b: u32,
    /// Heuristic bits of the votes.
    pub heuristic: u16,
    /// Padding.
    pub _pad: [u8; 2],
    /// Addresses in `a`'s cluster then.
    pub size_a: u32,
    /// Addresses in `b`'s cluster then.
    pub size_b: u32,
}

/// Clusters with at least this many coins are listed in `big.bin`.
pub const BIG_COINS: u64 = 1_000;

/// A cluster with many coins (an exchange's, a mixer's): how many coins its addresses were
/// paid and their value, over the transactions the clustering covers. Screening reads this
/// instead of every coin of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BigCluster {
    /// The cluster (its root address).
    pub cluster: u32,
    /// Padding.
    pub _pad: u32,
    /// Outputs paying its addresses.
    pub coins: u64,
    /// Their value in base units.
    pub received_sat: u64,
}

/// What `meta.json` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMeta {
    /// Format version.
    pub version: u32,
    /// Heuristic names.
    pub heuristics: Vec<String>,
    /// Transactions processed (`0..upto_tx`).
    pub upto_tx: u64,
    /// Txid of the last one processed, to notice a reorg below it.
    pub last_txid: Option<String>,
    /// Addresses covered.
    pub addresses: u64,
    /// The generation folder holding the files.
    pub generation: u64,
    /// Records in `members.bin`: the addresses in clusters of two or more. (Defaulted so that
    /// a meta of an older version reads far enough to say which version it is.)
    #[serde(default)]
    pub member_pairs: u64,
}

/// Errors reading or writing the clustering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The files are damaged.
    #[error("{}: {what}; build the clustering again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The clustering was saved by a Sleuth of another clustering format (an older one,
    /// after an upgrade): it is not read, and the next build starts over.
    #[error("{}: made by clustering format {found}, this sleuth reads format {}; build the clustering again", path.display(), CLUSTER_FORMAT)]
    OtherFormat {
        /// Its `meta.json`.
        path: PathBuf,
        /// The format it was saved in.
        found: u32,
    },
    /// No clustering has been built.
    #[error("no clustering in {}", path.display())]
    NotBuilt {
        /// The folder.
        path: PathBuf,
    },
    /// The index could not be read.
    #[error(transparent)]
    Index(#[from] sleuth_index::IndexError),
    /// An address the clustering does not cover: newer than the clustering.
    #[error("address {address} is newer than the clustering (built up to transaction {upto_tx})")]
    NotCovered {
        /// The address.
        address: String,
        /// Transactions the clustering covers.
        upto_tx: u64,
    },
    /// A cluster id that names no cluster of the clustering.
    #[error("cluster:{cluster} names no cluster: {why}")]
    NotACluster {
        /// The id asked for.
        cluster: u32,
        /// What it is instead (another cluster's member, or past the clustering's addresses).
        why: String,
    },
    /// Values that do not add up in 64 bits.
    #[error("the values of cluster {cluster} add up to more than 2^64 base units; the indexed blocks are damaged")]
    Overflow {
        /// The cluster.
        cluster: u32,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ClusterError + '_ {
    move |source| ClusterError::Io { path: path.to_owned(), source }
}

/// `(cluster, id)` pairs sorted by cluster, then id: the index behind "the members of a
/// cluster". `pairs` yields ids in ascending order with clusters below `clusters`, so a
/// stable least-significant-digit radix sort on the cluster alone puts them in order: two
/// passes of 13 bits for 10M addresses, each a sequential read and a scatter into 8,192
/// runs that stay in cache. A counting sort straight into cluster order scattered into
/// millions of places (a cache and TLB miss each) and a comparison sort cost 1.5–2 s there.
fn by_cluster(clusters: usize, pairs: impl Iterator<Item = (u32, u32)>) -> Vec<[u32; 2]> {
    const DIGIT: u32 = 13;
    let mut v: Vec<[u32; 2]> = pairs.map(|(c, id)| [c, id]).collect();
    let key_bits = usize::BITS - clusters.saturating_sub(1).leading_zeros();
    let mut other = vec![[0u32; 2]; v.len()];
    let mut shift = 0;
    while shift < key_bits {
        let mask = (1u32 << DIGIT) - 1;
        let mut start = vec![0usize; 1 << DIGIT];
        for p in &v {
            start[((p[0] >> shift) & mask) as usize] += 1;
        }
        let mut at = 0;
        for s in &mut start {
            (*s, at) = (at, at + *s);
        }
        for p in &v {
            let d = ((p[0] >> shift) & mask) as usize;
            other[start[d]] = *p;
            start[d] += 1;
        }
        std::mem::swap(&mut v, &mut other);
        shift += DIGIT;
    }
    debug_assert!(v.windows(2).all(|w| w[0] <= w[1]), "ids come in ascending order");
    v
}

fn generation_dir(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("g{generation}"))
}

/// The addresses in clusters of two or more, as a bitset over ids: an address whose root is
/// another address is, and so is a root that some other address points to. Two sequential
/// passes; the bitset (a bit per address) stays in cache.
fn in_multi_address_clusters(roots: &[u32]) -> Vec<u64> {
    let mut pointed_to = vec![0u64; roots.len().div_ceil(64)];
    for (a, &r) in roots.iter().enumerate() {
        if r as usize != a {
            pointed_to[r as usize / 64] |= 1 << (r % 64);
        }
    }
    for (a, &r) in roots.iter().enumerate() {
        if r as usize != a {
            pointed_to[a / 64] |= 1 << (a % 64);
        }
    }
    pointed_to
}

/// Writes `bytes` to `gen/name` and hands the file to the syncer.
fn write_for_sync(
    gen: &Path,
    name: &str,
    bytes: &[u8],
    to_sync: &mpsc::Sender<(PathBuf, std::fs::File)>,
) -> Result<(), ClusterError> {
    let path = gen.join(name);
    let file = sleuth_durable::write_unsynced(&path, bytes).map_err(io(&path))?;
    // The syncer is gone only after an error of its own, which its join reports.
    let _ = to_sync.send((path, file));
    Ok(())
}

/// Saves a clustering as a new generation, then points `meta.json` at it and removes the
/// older generations. `big` makes `big.bin`'s records; it runs on this thread while another
/// sorts and writes the per-cluster indexes (both are passes of a second or more over 10M
/// addresses, and the machine has a core for each). Each file is synced on a third thread as
/// soon as it is written, so that the disk writes it while the next one is computed; all are
/// synced before `meta.json` names them.
pub fn save(
    dir: &Path,
    meta: &mut ClusterMeta,
    roots: &[u32],
    merges: &[MergeRec],
    held: &[HeldRec],
    coinjoins: &[u64],
    big: impl FnOnce() -> Vec<BigCluster>,
) -> Result<(), ClusterError> {
    let previous = read_meta(dir).ok().flatten().map(|m| m.generation);
    meta.generation = previous.map_or(1, |g| g + 1);
    let gen = generation_dir(dir, meta.generation);
    let _ = std::fs::remove_dir_all(&gen);
    std::fs::create_dir_all(&gen).map_err(io(&gen))?;
    let gen = gen.as_path();
    meta.member_pairs = std::thread::scope(|s| {
        let (to_sync, written) = mpsc::channel::<(PathBuf, std::fs::File)>();
        let syncer =
            s.spawn(move || written.into_iter().try_for_each(|(path, file)| file.sync_all().map_err(io(&path))));
        let to_sync_too = to_sync.clone();
        let indexes = s.spawn(move || {
            // Singletons are left out: a cluster without pairs is its root alone.
            let multi = in_multi_address_clusters(roots);
            let members = by_cluster(
                roots.len(),
                roots
                    .iter()
                    .enumerate()
                    .filter(|&(a, _)| multi[a / 64] >> (a % 64) & 1 == 1)
                    .map(|(a, &r)| (r, a as u32)),
            );
            write_for_sync(gen, "members.bin", bytemuck::cast_slice(&members), &to_sync_too)?;
            Ok::<u64, ClusterError>(members.len() as u64)
        });
        // A third thread: the sorts wait on memory more than they compute, so they share
        // two cores with little loss and the longest no longer sets the pace alone.
        let to_sync_also = to_sync.clone();
        let unions = s.spawn(move || {
            let unions =
                by_cluster(roots.len(), merges.iter().enumerate().map(|(i, m)| (roots[m.a as usize], i as u32)));
            write_for_sync(gen, "merges_by_cluster.bin", bytemuck::cast_slice(&unions), &to_sync_also)
        });
        let written = write_for_sync(gen, "roots.bin", bytemuck::cast_slice(roots), &to_sync)
            .and_then(|()| write_for_sync(gen, "merges.bin", bytemuck::cast_slice(merges), &to_sync))
            .and_then(|()| write_for_sync(gen, "held.bin", bytemuck::cast_slice(held), &to_sync))
            .and_then(|()| write_for_sync(gen, "coinjoins.bin", bytemuck::cast_slice(coinjoins), &to_sync))
            .and_then(|()| write_for_sync(gen, "big.bin", bytemuck::cast_slice(&big()), &to_sync));
        drop(to_sync);
        let started = std::time::Instant::now();
        let member_pairs = indexes.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let unions = unions.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let sorted = started.elapsed();
        let synced = syncer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        tracing::debug!(
            sorts_wait_s = sorted.as_secs_f64(),
            sync_wait_s = (started.elapsed() - sorted).as_secs_f64(),
            "cluster save: waited for the sorts, then for the disk"
        );
        written.and(unions).and(member_pairs).and_then(|n| synced.map(|()| n))
    })?;
    sleuth_durable::sync_dir(gen).map_err(io(gen))?;
    let meta_path = dir.join("meta.json");
    sleuth_durable::write_atomic(&meta_path, &serde_json::to_vec_pretty(meta).expect("meta serializes"))
        .map_err(io(&meta_path))?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('g') && name != format!("g{}", meta.generation) && e.path().is_dir() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

fn read_meta(dir: &Path) -> Result<Option<ClusterMeta>, ClusterError> {
    let meta_path = dir.join("meta.json");
    let meta: ClusterMeta = match std::fs::read(&meta_path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| ClusterError::Corrupt { path: meta_path.clone(), what: e.to_string() })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&meta_path)(e)),
    };
    if meta.version != CLUSTER_FORMAT {
        return Err(ClusterError::OtherFormat { path: meta_path, found: meta.version });
    }
    Ok(Some(meta))
}

/// A read-only mapped file of `T` records.
pub struct Mapped<T> {
    map: Option<Mmap>,
    _t: std::marker::PhantomData<T>,
}

impl<T: Pod> Mapped<T> {
    fn open(path: &Path, records: Option<u64>) -> Result<Mapped<T>, ClusterError> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        let size = std::mem::size_of::<T>() as u64;
        if len % size != 0 || records.is_some_and(|n| n * size != len) {
            return Err(ClusterError::Corrupt { path: path.to_owned(), what: "size does not match meta.json".into() });
        }
        // SAFETY: generation files are written once, before meta.json names them, and never
        // modified; a newer build writes another generation.
        let map = (len > 0).then(|| unsafe { Mmap::map(&file) }).transpose().map_err(io(path))?;
        Ok(Mapped { map, _t: std::marker::PhantomData })
    }

    /// The records.
    pub fn as_slice(&self) -> &[T] {
        self.map.as_deref().map_or(&[], bytemuck::cast_slice)
    }
}

/// A saved clustering, mapped.
pub struct Saved {
    /// Its meta.
    pub meta: ClusterMeta,
    /// Cluster of every address.
    pub roots: Mapped<u32>,
    /// Every union.
    pub merges: Mapped<MergeRec>,
    /// `(cluster, address)` sorted, for the clusters of two or more addresses.
    pub members: Mapped<[u32; 2]>,
    /// `(cluster, union index)` sorted.
    pub merges_by_cluster: Mapped<[u32; 2]>,
    /// Clusters with many coins, sorted.
    pub big: Mapped<BigCluster>,
    /// Change inferences held back, in chain order.
    pub held: Mapped<HeldRec>,
    /// A bit per transaction of `0..upto_tx`, set for the CoinJoins.
    pub coinjoins: Mapped<u64>,
}

/// Maps the saved clustering; `None` if none was built.
pub fn load(dir: &Path) -> Result<Option<Saved>, ClusterError> {
    let Some(meta) = read_meta(dir)? else { return Ok(None) };
    let gen = generation_dir(dir, meta.generation);
    let saved = Saved {
        roots: Mapped::open(&gen.join("roots.bin"), Some(meta.addresses))?,
        merges: Mapped::open(&gen.join("merges.bin"), None)?,
        members: Mapped::open(&gen.join("members.bin"), Some(meta.member_pairs))?,
        merges_by_cluster: Mapped::open(&gen.join("merges_by_cluster.bin"), None)?,
        big: Mapped::open(&gen.join("big.bin"), None)?,
        held: Mapped::open(&gen.join("held.bin"), None)?,
        coinjoins: Mapped::open(&gen.join("coinjoins.bin"), Some(meta.upto_tx.div_ceil(64)))?,
        meta,
    };
    Ok(Some(saved))
}

impl Saved {
    /// The generation folder its files are in.
    pub fn generation_dir(&self, dir: &Path) -> PathBuf {
        generation_dir(dir, self.meta.generation)
    }
}

/// Every id the files hold is within the counts they are read with, and every cluster id is
/// its own cluster's: a build checks this before it extends a saved clustering (one pass over
/// each file, a few hundred milliseconds for 10M addresses). Queries do not: they read a few
/// records and check those where they read them ([`super::Clustering`]'s accessors), so that
/// opening a snapshot costs no pass over the files.
pub fn check_ids(gen: &Path, s: &Saved) -> Result<(), ClusterError> {
    let n = s.meta.addresses;
    let txs = s.meta.upto_tx;
    let merges = s.merges.as_slice().len() as u64;
    let bad = |file: &str, what: String| ClusterError::Corrupt { path: gen.join(file), what };
    let roots = s.roots.as_slice();
    if let Some((i, &r)) = roots.iter().enumerate().find(|(_, &r)| u64::from(r) >= n) {
        return Err(bad("roots.bin", format!("address {i} has cluster {r}, past the {n} addresses")));
    }
    // Saved fully compressed: a cluster's id is its own root, so no walk up the sets loops.
    if let Some((i, &r)) = roots.iter().enumerate().find(|(_, &r)| roots[r as usize] != r) {
        return Err(bad(
            "roots.bin",
            format!("address {i} has cluster {r}, whose own cluster is {}", roots[r as usize]),
        ));
    }
    if let Some(p) = s.members.as_slice().iter().find(|p| u64::from(p[0]) >= n || u64::from(p[1]) >= n) {
        return Err(bad("members.bin", format!("member pair {p:?} is past the {n} addresses")));
    }
    let out_of_order = s.members.as_slice().windows(2).any(|w| w[0] > w[1]);
    if out_of_order {
        return Err(bad("members.bin", "the member pairs are not sorted".into()));
    }
    if let Some(m) =
        s.merges.as_slice().iter().find(|m| u64::from(m.a) >= n || u64::from(m.b) >= n || u64::from(m.tx) >= txs)
    {
        return Err(bad(
            "merges.bin",
            format!("a merge of addresses {} and {} in transaction {} is past the counts", m.a, m.b, m.tx),
        ));
    }
    if let Some(p) = s.merges_by_cluster.as_slice().iter().find(|p| u64::from(p[0]) >= n || u64::from(p[1]) >= merges) {
        return Err(bad("merges_by_cluster.bin", format!("pair {p:?} is past the {n} addresses or {merges} merges")));
    }
    if let Some(b) = s.big.as_slice().iter().find(|b| u64::from(b.cluster) >= n) {
        return Err(bad("big.bin", format!("cluster {} is past the {n} addresses", b.cluster)));
    }
    if let Some(h) =
        s.held.as_slice().iter().find(|h| u64::from(h.a) >= n || u64::from(h.b) >= n || u64::from(h.tx) >= txs)
    {
        return Err(bad(
            "held.bin",
            format!("a held-back merge of addresses {} and {} in transaction {} is past the counts", h.a, h.b, h.tx),
        ));
    }
    Ok(())
}

/// The ids paired with `cluster` in a sorted pair list.
pub fn ids_of(pairs: &[[u32; 2]], cluster: u32) -> impl Iterator<Item = u32> + '_ {
    let start = pairs.partition_point(|p| p[0] < cluster);
    pairs[start..].iter().take_while(move |p| p[0] == cluster).map(|p| p[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radix sort gives what a comparison sort of the same pairs gives, for cluster
    /// counts that need one, two and three digits (and none).
    #[test]
    fn by_cluster_sorts_like_a_comparison_sort() {
        for clusters in [1usize, 2, 8_192, 8_193, 70_000_000] {
            // A deterministic spread of clusters over ascending ids (a multiplicative hash).
            let pairs: Vec<(u32, u32)> = (0..50_000u32)
                .map(|id| ((id.wrapping_mul(2_654_435_761) as u64 % clusters as u64) as u32, id))
                .collect();
            let mut expected: Vec<[u32; 2]> = pairs.iter().map(|&(c, id)| [c, id]).collect();
            expected.sort_unstable();
            assert_eq!(by_cluster(clusters, pairs.into_iter()), expected, "{clusters} clusters");
        }
        assert!(by_cluster(0, std::iter::empty()).is_empty());
    }
}
