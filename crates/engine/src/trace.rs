//! Tracing from an engine snapshot: what a trace starts from, the labels it stops at (tags on
//! clusters), and the call the CLI, the server and reports share.

use std::str::FromStr;
use std::sync::Arc;

use bitcoin::Txid;
use sleuth_analysis::cluster::ClusterId;
use sleuth_analysis::trace::{trace, Attribution, Class, Label, TraceOptions, TraceReport};
use sleuth_index::{IndexError, Lookup, OutputNum, TxNum, View};
use sleuth_tags::TagRef;

use crate::{EngineError, EngineSnapshot};

/// What a trace or a screening starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One output, or every output of a transaction.
    Tx(Txid, Option<u32>),
    /// Every output paying an address.
    Address(String),
    /// Every output paying a member of a cluster.
    Cluster(ClusterId),
    /// The stolen outputs of an incident of the ledger (`incident:NAME_OR_ID`).
    Incident(String),
}

impl FromStr for Subject {
    type Err = String;
    /// `TXID`, `TXID:VOUT`, `cluster:N` (or `c:N`), `incident:NAME_OR_ID`, or an address.
    fn from_str(s: &str) -> Result<Subject, String> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix("incident:") {
            if name.trim().is_empty() {
                return Err(format!("{s:?}: an incident is incident:<name or number>"));
            }
            return Ok(Subject::Incident(name.trim().to_owned()));
        }
        if let Some(n) = s.strip_prefix("cluster:").or_else(|| s.strip_prefix("c:")) {
            return n.parse().map(Subject::Cluster).map_err(|_| format!("{s:?}: a cluster is cluster:<number>"));
        }
        let (head, vout) = match s.split_once(':') {
            Some((h, v)) => (h, Some(v)),
            None => (s, None),
        };
        if head.len() == 64 && head.bytes().all(|b| b.is_ascii_hexdigit()) {
            let txid = Txid::from_str(head).map_err(|e| format!("{} is not a txid: {e}", sleuth_chain::shown(head)))?;
            let vout = vout
                .map(|v| v.parse::<u32>().map_err(|_| format!("{s:?}: the output index after ':' must be a number")))
                .transpose()?;
            return Ok(Subject::Tx(txid, vout));
        }
        if vout.is_some() {
            return Err(format!("{s:?} is neither TXID:VOUT nor an address"));
        }
        Ok(Subject::Address(s.to_owned()))
    }
}

/// What a category means for a trace: services can freeze, mixers mix, abuse is risk.
pub fn class_of(category: &str) -> Class {
    match category {
        "exchange" | "otc" | "otc_desk" | "payment_processor" | "defi_bridge" | "bridge" | "wallet_service"
        | "hot_wallet" | "cold_wallet" | "warm_wallet" | "escrow_wallet" | "atm" | "gambling" | "mining_service"
        | "defi_lending" | "defi_custody" | "defi_dex" | "shop" => Class::Service,
        "mixing_service" | "coinjoin" | "mixer" => Class::Mixer,
        c if crate::screen::risk_group(c).is_some() => Class::Risk,
        _ => Class::Other,
    }
}

/// The label a tag gives its address's cluster: its abuse, if it names one, else its category.
fn label_of(tag: &TagRef<'_>) -> Label {
    label_named(tag.label, tag.abuse.or(tag.category))
}

/// [`label_of`] for a tag read whole.
pub(crate) fn label_of_tag(tag: &sleuth_tags::Tag) -> Label {
    label_named(&tag.label, tag.abuse.as_deref().or(tag.category.as_deref()))
}

/// The label of entity `entity` with its abuse, or else its category (`unknown` without).
fn label_named(entity: &str, category: Option<&str>) -> Label {
    let category = category.unwrap_or("unknown").to_owned();
    Label { entity: entity.to_owned(), class: class_of(&category), category }
}

impl EngineSnapshot {
    /// The clusters and labels of this snapshot, built once (tags of other chains are left out).
    ///
    /// # Errors
    /// [`EngineError::Tags`] if a tag store file is damaged.
    pub fn attribution(&self) -> Result<Arc<Attribution>, EngineError> {
        if let Some(a) = self.attribution.get() {
            return Ok(a.clone());
        }
        let view = self.index.view();
        let mut a = Attribution::new(self.clustering.clone());
        let chain = view.chain();
        // Read in place: no tag is copied, and addresses of other chains fail to decode.
        self.tags.scan(|tag| {
            let Ok(key) = sleuth_chain::address::decode(tag.address, chain) else { return };
            if let Some(id) = view.addr_id(&key) {
                a.label(id, label_of(&tag));
            }
        })?;
        // Stolen outputs are sources of theft: what descends from them is exposed.
        for i in self.incidents.incidents() {
            for s in &i.outputs {
                let Ok(coins) = self.coins_of(&view, &Subject::Tx(s.txid, s.vout)) else { continue };
                for o in coins {
                    if let Some(addr) = view.output(o).addr {
                        let entity = match &i.actor {
                            Some(actor) => format!("{} ({actor})", i.name),
                            None => i.name.clone(),
                        };
                        a.label(addr, Label { entity, category: "theft".into(), class: Class::Risk });
                    }
                }
            }
        }
        Ok(self.attribution.get_or_init(|| Arc::new(a)).clone())
    }

    /// The outputs a subject names.
    ///
    /// # Errors
    /// [`EngineError::Index`] if the transaction, output or address is not indexed, and the
    /// errors of an address of another chain or a cluster the clustering does not have.
    pub fn coins_of(&self, view: &View<'_>, subject: &Subject) -> Result<Vec<OutputNum>, EngineError> {
        Ok(match subject {
            Subject::Tx(txid, vout) => {
                let t = view.tx_num(txid).ok_or_else(|| IndexError::NotFound {
                    lookup: Lookup::Tx(*txid),
                    message: format!("transaction {txid} is not in the index"),
                })?;
                let range = view.tx_output_range(t);
                match vout {
                    None => range.map(OutputNum::new).collect(),
                    Some(v) if (*v as u64) < range.end - range.start => vec![OutputNum::new(range.start + *v as u64)],
                    Some(v) => {
                        return Err(IndexError::NotFound {
                            lookup: Lookup::Output(*txid, *v),
                            message: format!(
                                "transaction {txid} has {} outputs, no output {v}",
                                range.end - range.start
                            ),
                        }
                        .into())
                    }
                }
            }
            Subject::Address(a) => {
                let key = sleuth_chain::address::decode(a, view.chain())?;
                let id = view.addr_id(&key).ok_or_else(|| IndexError::not_found_address(a))?;
                let mut coins: Vec<OutputNum> = view.address_outputs(id).collect();
                coins.reverse();
                coins
            }
            Subject::Cluster(c) => {
                let clustering = self.require_clustering()?;
                let members = clustering.members(*c);
                if members.is_empty() {
                    // A cluster's id is its root address's: say which cluster the address
                    // is in, or that the clustering does not reach it.
                    let why = match clustering.cluster_of(c.representative()) {
                        Some(root) => format!("address {} is a member of cluster:{root}; a cluster's id is its root address's", c.get()),
                        None => format!(
                            "the clustering holds {} addresses (built up to transaction {}); build it again if the index has grown",
                            clustering.address_count(),
                            clustering.meta().upto_tx
                        ),
                    };
                    return Err(sleuth_analysis::cluster::ClusterError::NotACluster { cluster: c.get(), why }.into());
                }
                let mut coins: Vec<OutputNum> = members.iter().flat_map(|&m| view.address_outputs(m)).collect();
                coins.sort_unstable();
                coins
            }
            Subject::Incident(name) => {
                let i = self.incidents.find(name).ok_or_else(|| {
                    EngineError::Incident(format!("no incident named or numbered {name:?} in the ledger"))
                })?;
                let mut coins = Vec::new();
                for s in &i.outputs {
                    coins.extend(self.coins_of(view, &Subject::Tx(s.txid, s.vout))?);
                }
                coins.sort_unstable();
                coins.dedup();
                coins
            }
        })
    }

    /// Traces the coins of `subjects` together, forward or backward, under the policies of
    /// `opts`; with `stop_at`, forward traces stop at those categories or classes instead of
    /// services and mixers.
    ///
    /// # Errors
    /// As [`EngineSnapshot::coins_of`].
    pub fn trace(
        &self,
        subjects: &[Subject],
        opts: &TraceOptions,
        stop_at: Option<&[String]>,
    ) -> Result<TraceReport, EngineError> {
        let view = self.index.view();
        let mut sources = Vec::new();
        for s in subjects {
            sources.extend(self.coins_of(&view, s)?);
        }
        sources.sort_unstable();
        sources.dedup();
        let base = self.attribution()?;
        let custom;
        let attribution: &Attribution = match stop_at {
            Some(names) => {
                let mut a = (*base).clone();
                a.set_stop_at(names);
                custom = a;
                &custom
            }
            None => &base,
        };
        Ok(trace(&view, &sources, attribution, opts))
    }

    /// The transaction and output index of coin `o`, for people.
    pub fn outpoint(&self, view: &View<'_>, o: OutputNum) -> (Txid, u32) {
        let t: TxNum = view.tx_of_output(o);
        (view.txid(t), (o.get() - view.tx_output_range(t).start) as u32)
    }
}
