//! `cluster why`: the chain of recorded unions that joins two addresses.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use sleuth_index::{AddrId, TxNum, View};

use super::{bit_names, ClusterId, Clustering};

/// One union on the way from one address to the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeStep {
    /// The transaction that is the evidence.
    pub txid: String,
    /// The heuristics that fired on it.
    pub heuristics: Vec<String>,
    /// The address this step starts from.
    pub from: String,
    /// The address it reaches.
    pub to: String,
}

/// A change inference the collapse guard held back between the two addresses' clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldStep {
    /// The transaction.
    pub txid: String,
    /// The heuristics that voted.
    pub heuristics: Vec<String>,
    /// The payer's address.
    pub from: String,
    /// The change candidate's address.
    pub to: String,
    /// Addresses in the payer's cluster at that point of the build.
    pub from_cluster_size: u32,
    /// Addresses in the candidate's cluster then.
    pub to_cluster_size: u32,
}

/// The answer to "why are these two addresses one entity?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyAnswer {
    /// First address asked about.
    pub address_a: String,
    /// Second address asked about.
    pub address_b: String,
    /// Whether they are in one cluster.
    pub linked: bool,
    /// Their cluster, if linked.
    pub cluster_id: Option<ClusterId>,
    /// The shortest chain of recorded unions from `address_a` to `address_b`.
    pub steps: Vec<MergeStep>,
    /// Change inferences held back by the collapse guard that would have joined the two
    /// addresses' clusters.
    #[serde(default)]
    pub held_back: Vec<HeldStep>,
}

impl Clustering {
    /// The shortest chain of unions joining `a` and `b` (the unions form a spanning forest,
    /// so it is the one path between them).
    pub fn why(&self, index: &View<'_>, a: AddrId, b: AddrId) -> WhyAnswer {
        let name = |x: u32| index.address_of(AddrId::new(x));
        let (ra, rb) = (self.cluster_of(a), self.cluster_of(b));
        let mut answer = WhyAnswer {
            address_a: name(a.get()),
            address_b: name(b.get()),
            linked: ra.is_some() && ra == rb,
            cluster_id: ra.filter(|_| ra == rb),
            steps: Vec::new(),
            held_back: Vec::new(),
        };
        if let (Some(ra), Some(rb)) = (ra, rb) {
            for h in self.held() {
                let (ca, cb) = (self.cluster_of(AddrId::new(h.a)), self.cluster_of(AddrId::new(h.b)));
                if (ca, cb) == (Some(ra), Some(rb)) || (ca, cb) == (Some(rb), Some(ra)) {
                    answer.held_back.push(HeldStep {
                        txid: index.txid(TxNum::new(h.tx)).to_string(),
                        heuristics: bit_names(h.heuristic).into_iter().map(str::to_owned).collect(),
                        from: name(h.a),
                        to: name(h.b),
                        from_cluster_size: h.size_a,
                        to_cluster_size: h.size_b,
                    });
                }
            }
        }
        let Some(root) = answer.cluster_id else { return answer };
        let mut adjacent: HashMap<u32, Vec<(u32, usize)>> = HashMap::new();
        for i in self.merges_of(root) {
            let m = self.merge(i);
            adjacent.entry(m.a).or_default().push((m.b, i));
            adjacent.entry(m.b).or_default().push((m.a, i));
        }
        let mut came_from: HashMap<u32, (u32, usize)> = HashMap::new();
        let mut queue = VecDeque::from([a.get()]);
        came_from.insert(a.get(), (a.get(), usize::MAX));
        while let Some(x) = queue.pop_front() {
            if x == b.get() {
                break;
            }
            for &(y, m) in adjacent.get(&x).map(Vec::as_slice).unwrap_or_default() {
                if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(y) {
                    e.insert((x, m));
                    queue.push_back(y);
                }
            }
        }
        let mut x = b.get();
        while x != a.get() {
            let Some(&(prev, m)) = came_from.get(&x) else {
                // Two addresses of one cluster are joined by its unions: a missing link was
                // read from a damaged file.
                self.damaged(
                    "merges_by_cluster.bin",
                    format!("no chain of cluster {}'s unions joins two of its addresses", root.get()),
                )
            };
            let rec = self.merge(m);
            answer.steps.push(MergeStep {
                txid: index.txid(TxNum::new(rec.tx)).to_string(),
                heuristics: bit_names(rec.heuristic).into_iter().map(str::to_owned).collect(),
                from: name(prev),
                to: name(x),
            });
            x = prev;
        }
        answer.steps.reverse();
        answer
    }
}
