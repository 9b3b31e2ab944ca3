//! The JSON of an account trace, in the Bitcoin trace's shape (`sleuth_analysis::trace`'s
//! `TraceReport`): `traced_base`, each endpoint's and entity's `amount_base`, and the
//! `reconciliation`, are one value when one policy ran and `{policy: value}` when several;
//! `by_category` totals the endpoints per category; `source_base` is what the sources moved.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

use super::{AccountPolicy, AccountTrace};
use crate::amount::BaseUnits;

/// `values[i]` under `policies[i]`: the bare value for one policy, a map for several.
fn per_policy<T: Serialize>(policies: &[AccountPolicy], values: &[T]) -> Value {
    if let [v] = values {
        return serde_json::to_value(v).expect("values serialize");
    }
    let mut m = Map::new();
    for (p, v) in policies.iter().zip(values) {
        m.insert(p.as_str().to_string(), serde_json::to_value(v).expect("values serialize"));
    }
    Value::Object(m)
}

/// `x` with its `amounts_base` vector as a per-policy `amount_base`.
fn with_amount(policies: &[AccountPolicy], x: impl Serialize, amounts: &[BaseUnits]) -> Value {
    let mut v = serde_json::to_value(x).expect("trace parts serialize");
    if let Value::Object(m) = &mut v {
        m.remove("amounts_base");
        m.insert("amount_base".into(), per_policy(policies, amounts));
    }
    v
}

impl Serialize for AccountTrace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.policies;
        let k = p.len();
        let traced = vec![self.traced_base; k];
        let mut by_category: BTreeMap<&str, Vec<U256>> = BTreeMap::new();
        for e in &self.endpoints {
            let cat = e.category.as_deref().unwrap_or("unknown");
            let v = by_category.entry(cat).or_insert_with(|| vec![U256::ZERO; k]);
            for (i, a) in e.amounts_base.iter().enumerate() {
                v[i] += a.0;
            }
        }
        let reconciliation: Vec<Value> = self
            .reconciliation
            .iter()
            .map(|r| {
                json!({
                    "traced_base": self.traced_base,
                    "to_services_base": r.to_services_base,
                    "unspent_base": r.unspent_base,
                    "fees_base": r.fees_base,
                    "mixers_base": r.mixers_base,
                    "limited_base": r.limited_base,
                })
            })
            .collect();
        let out = json!({
            "asset": self.asset,
            "policies": p,
            "direction": self.direction,
            "sources": self.sources,
            "source_base": self.traced_base,
            "traced_base": per_policy(p, &traced),
            "endpoints": self.endpoints.iter().map(|e| with_amount(p, e, &e.amounts_base)).collect::<Vec<_>>(),
            "endpoint_count": self.endpoints.len(),
            "by_entity": self.by_entity.iter().map(|e| with_amount(p, e, &e.amounts_base)).collect::<Vec<_>>(),
            "by_category": by_category
                .into_iter()
                .map(|(c, v)| json!({ "category": c, "amount_base": per_policy(p, &v.into_iter().map(BaseUnits).collect::<Vec<_>>()) }))
                .collect::<Vec<_>>(),
            "reconciliation": per_policy(p, &reconciliation),
            "mixer_deposits": self.mixer_deposits,
            "accounts_reached": self.accounts_reached,
            "transfers_replayed": self.transfers_replayed,
        });
        out.serialize(s)
    }
}
