//! The account-model side of `ingest`, `status`, `block`, `tx`, `address` and `trace`: taken when
//! `--chain` names an EVM chain or the data dir already holds an EVM index.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use sleuth_engine::evm::{
    self, AccountTrace, AccountTraceOptions, EvmAddressView, EvmBlockView, EvmChain, EvmStatusView, EvmTxView,
    SyncOptions, SyncReport, TraceDialect,
};
use sleuth_engine::Subject;

use crate::output::{print, thousands, Human};
use crate::Context;

/// What `ingest` passes on for an EVM chain.
pub(crate) struct EvmIngestArgs {
    pub rpc_url: Option<String>,
    pub chain: Option<EvmChain>,
    pub until_height: Option<u32>,
    pub genesis: Option<PathBuf>,
    pub traces: Option<String>,
    pub commit_every: Option<u64>,
}

pub(crate) fn ingest(ctx: &Context, a: EvmIngestArgs) -> anyhow::Result<()> {
    let url =
        a.rpc_url.context("an EVM chain is read from its node's JSON-RPC: pass --rpc-url http://127.0.0.1:8545")?;
    let dialect =
        match a.traces.as_deref() {
            None => None,
            Some(t) => Some(TraceDialect::parse(t).with_context(|| {
                format!("--traces {t:?}: use parity (trace_block) or geth (debug_traceBlockByNumber)")
            })?),
        };
    let opts = SyncOptions {
        chain: a.chain,
        until_height: a.until_height.map(u64::from),
        genesis: a.genesis,
        dialect,
        batch_blocks: a.commit_every.unwrap_or(SyncOptions::default().batch_blocks),
        ..SyncOptions::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // Ctrl-C: finish the batch in flight, commit, and exit cleanly.
    let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
    let bar = crate::progress::count_bar(!ctx.quiet, "blocks");
    let report = evm::ingest(&ctx.data_dir, &url, &opts, &stop, &mut |done, total| {
        bar.set_length(total + 1);
        bar.set_position(done + 1);
    })
    .with_context(|| format!("indexing from {url} into {}", ctx.data_dir.display()))?;
    bar.finish_and_clear();
    print(ctx, &report);
    Ok(())
}

fn reader(ctx: &Context) -> anyhow::Result<sleuth_engine::evm::EvmReader> {
    Ok(evm::open(&ctx.data_dir)?)
}

pub(crate) fn status(ctx: &Context) -> anyhow::Result<()> {
    print(ctx, &reader(ctx)?.status_view()?);
    Ok(())
}

pub(crate) fn block(ctx: &Context, block: &str) -> anyhow::Result<()> {
    let r = reader(ctx)?;
    let view = match block.parse::<u64>() {
        Ok(h) if !block.starts_with("0x") => r.block_view(h)?,
        _ => r.block_view_by_hash(&evm::parse_hash(block)?)?,
    };
    print(ctx, &view);
    Ok(())
}

pub(crate) fn tx(ctx: &Context, hash: &str) -> anyhow::Result<()> {
    print(ctx, &reader(ctx)?.tx_view(&evm::parse_hash(hash)?)?);
    Ok(())
}

pub(crate) fn address(ctx: &Context, address: &str) -> anyhow::Result<()> {
    print(ctx, &evm::address(&ctx.data_dir, address)?);
    Ok(())
}

/// `trace` on an EVM index: forward from a transaction or an account, one asset at a time.
pub(crate) fn trace(ctx: &Context, cmd: &super::trace::TraceCmd) -> anyhow::Result<()> {
    let [from] = cmd.from.as_slice() else {
        anyhow::bail!("on EVM chains trace one --from at a time");
    };
    let typed = match from {
        Subject::Address(s) => s.clone(),
        Subject::Tx(txid, None) => txid.to_string(),
        Subject::Incident(name) => format!("incident:{name}"),
        other => anyhow::bail!("{other:?}: on EVM chains --from is a transaction hash, an 0x address or incident:NAME"),
    };
    if cmd.direction == sleuth_analysis::trace::Direction::Backward {
        // Where an account's value came from: haircut shares, as screening reads them.
        let report = evm::trace_back(&ctx.data_dir, &typed, cmd.asset.as_deref(), cmd.max_hops)?;
        let json = ctx.json || cmd.format == super::trace::Format::Json;
        print(&Context { json, ..ctx.clone() }, &report);
        return Ok(());
    }
    let start = evm::start_in(&ctx.data_dir, &typed)?;
    let policies = evm::parse_policies(&cmd.policy).map_err(|e| anyhow::anyhow!("--policy {:?}: {e}", cmd.policy))?;
    let opts = AccountTraceOptions {
        policies,
        max_hops: cmd.max_hops,
        until_block: cmd.until_height.map(u64::from),
        max_endpoints: cmd.max_endpoints,
        ..AccountTraceOptions::default()
    };
    let report = evm::trace(&ctx.data_dir, &start, cmd.asset.as_deref(), opts)?;
    let json = ctx.json || cmd.format == super::trace::Format::Json;
    print(&Context { json, ..ctx.clone() }, &report);
    Ok(())
}

impl Human for evm::EvmBackwardReport {
    fn human(&self) -> String {
        let mut s = format!(
            "backward trace of {} ({} base units of {} received), {} hops: {:.2}% reached no label\n",
            self.subject,
            self.received_base,
            self.asset,
            self.max_hops,
            self.unattributed_share * 100.0
        );
        for x in &self.sources {
            s += &format!(
                "  {:>7.3}% {} {} ({}) {} hops, via {}\n",
                x.share * 100.0,
                x.entity,
                x.address,
                x.category,
                x.hops,
                x.path_txids.join(" ")
            );
        }
        s
    }
}

impl Human for AccountTrace {
    fn human(&self) -> String {
        let names: Vec<&str> = self.policies.iter().map(|p| p.as_str()).collect();
        let mut s = format!(
            "forward trace of {} base units of {} from {} source transfer(s); {} accounts reached, {} transfers replayed\n",
            self.traced_base,
            self.asset,
            self.sources.len().max(1),
            thousands(self.accounts_reached as u64),
            thousands(self.transfers_replayed)
        );
        s += &format!("{:<44} {:<24} {:<10} {:>4}  {}\n", "endpoint", "entity", "stop", "hops", names.join(" | "));
        for e in &self.endpoints {
            let amounts: Vec<String> = e.amounts_base.iter().map(|a| a.to_string()).collect();
            s += &format!(
                "{:<44} {:<24} {:<10} {:>4}  {}\n",
                e.address,
                e.entity.as_deref().or(e.category.as_deref()).unwrap_or("-"),
                e.stop_reason,
                e.hops,
                amounts.join(" | ")
            );
        }
        s += "reconciliation (services + unspent + fees + mixers + limited):\n";
        for r in &self.reconciliation {
            s += &format!(
                "  {:<8} {} + {} + {} + {} + {}\n",
                r.policy.map_or("-", |p| p.as_str()),
                r.to_services_base,
                r.unspent_base,
                r.fees_base,
                r.mixers_base,
                r.limited_base
            );
        }
        for d in &self.mixer_deposits {
            s += &format!(
                "mixer deposit {} of {} into {} ({}); candidate withdrawals:\n",
                d.tx, d.amount_base, d.mixer, d.recognised_by
            );
            for c in &d.candidates {
                s += &format!("  {:?} {} -> {} ({})\n", c.level, c.tx, c.to, c.evidence.join("; "));
            }
        }
        s
    }
}

impl Human for evm::EvmScreenReport {
    fn human(&self) -> String {
        let mut s = format!(
            "{} ({}): score {} ({:?}){}\nscreened {} base units received, within {} hops ({} accounts, {} µs); {:.2}% reached no tag\n",
            self.subject,
            self.asset,
            self.score,
            self.level,
            self.entity.as_ref().map(|e| format!(", tagged {e}")).unwrap_or_default(),
            self.screened_base,
            self.hops,
            self.accounts_visited,
            self.micros,
            self.unattributed_share * 100.0
        );
        for (name, list) in [("received from", &self.received_from), ("within the hops", &self.indirect)] {
            for e in list {
                s += &format!("  {name} {}: {} ({:.2}%)\n", e.category, e.amount_base, e.share * 100.0);
            }
        }
        for r in self.reasons.iter().take(10) {
            s += &format!(
                "  reason (+{}): {} {} {} {} ({:.2}%), {} hops, via {}\n",
                r.score,
                r.kind,
                r.category,
                r.entity,
                r.address,
                r.share * 100.0,
                r.hops,
                r.path_txids.join(" ")
            );
        }
        s
    }
}

impl Human for SyncReport {
    fn human(&self) -> String {
        let secs = self.seconds.max(1e-9);
        let mut s = format!(
            "{} (chain id {}): {} new blocks, {} transactions, {} transfers in {:.2}s ({:.0} blocks/s, {:.0} tx/s); traces: {}\n",
            self.chain,
            self.chain_id,
            thousands(self.added_blocks),
            thousands(self.added_transactions),
            thousands(self.added_transfers),
            self.seconds,
            self.added_blocks as f64 / secs,
            self.added_transactions as f64 / secs,
            self.traces.as_str(),
        );
        match (self.height, &self.tip_hash) {
            (Some(h), Some(hash)) => s += &format!("tip: height {h}, {hash} (node at {})\n", self.node_height),
            _ => s += "tip: none (empty index)\n",
        }
        if self.unwound_blocks > 0 {
            s += &format!("reorg: {} blocks unwound and replaced by the node's branch\n", self.unwound_blocks);
        }
        if self.interrupted {
            s += "interrupted: everything up to the tip above is committed; run ingest again to continue\n";
        }
        s
    }
}

impl Human for EvmStatusView {
    fn human(&self) -> String {
        let c = &self.counts;
        format!(
            "chain         {} (chain id {})\nheight        {}\ntip           {}\nblocks        {}\ntransactions  {}\ntransfers     {}\naccounts      {}\ntokens        {}\ntraces        {}\n",
            self.chain,
            self.chain_id,
            self.height.map_or("-".into(), |h| h.to_string()),
            self.tip_hash.as_deref().unwrap_or("-"),
            thousands(c.blocks),
            thousands(c.transactions),
            thousands(c.transfers),
            thousands(c.accounts),
            thousands(c.tokens),
            self.traces.as_deref().unwrap_or("-"),
        )
    }
}

impl Human for EvmBlockView {
    fn human(&self) -> String {
        let mut s = format!(
            "block {} {}\nparent  {}\ntime    {}\nminer   {}\nbasefee {} wei\ngas     {}\ntxs     {}\n",
            self.number,
            self.hash,
            self.parent_hash,
            self.timestamp,
            self.miner,
            self.base_fee_wei.as_deref().unwrap_or("-"),
            thousands(self.gas_used),
            self.transactions.len()
        );
        for t in &self.transactions {
            s += &format!(
                "  {} {} -> {} {} wei{}\n",
                t.hash,
                t.from,
                t.to.as_deref().unwrap_or("(create)"),
                t.value_wei,
                if t.success { "" } else { " (reverted)" }
            );
        }
        s
    }
}

fn transfer_lines(ts: &[evm::TransferView]) -> String {
    let mut s = String::new();
    for t in ts {
        s += &format!(
            "  {:<12} {} {} -> {} {}{}\n",
            format!("{:?}", t.kind).to_lowercase(),
            t.symbol.as_deref().unwrap_or(&t.asset),
            t.from,
            t.to,
            t.amount_base,
            if t.reverted { " (reverted)" } else { "" }
        );
    }
    s
}

impl Human for EvmTxView {
    fn human(&self) -> String {
        let mut s = format!(
            "tx      {}\nblock   {} (position {})\nstatus  {}\nfrom    {}\nto      {}\nvalue   {} wei\nfee     {} wei ({} gas at {} wei)\n",
            self.hash,
            self.block,
            self.index,
            if self.success { "success" } else { "reverted" },
            self.from,
            self.to.as_deref().or(self.created.as_deref().map(|_| "(create)")).unwrap_or("-"),
            self.value_wei,
            self.fee_wei,
            thousands(self.gas_used),
            self.effective_gas_price_wei
        );
        if let Some(c) = &self.created {
            s += &format!("created {c}\n");
        }
        s += &format!("transfers ({}):\n{}", self.transfers.len(), transfer_lines(&self.transfers));
        s
    }
}

impl Human for evm::EvmAddressWithTags {
    fn human(&self) -> String {
        let mut s = self.view.human();
        if !self.tags.is_empty() {
            s += &format!("tags:\n{}", super::tags::tag_lines(&self.tags));
        }
        s
    }
}

impl Human for EvmAddressView {
    fn human(&self) -> String {
        let mut s = format!(
            "address   {}\nkind      {}\nbalance   {} wei\ntxs       {} ({} sent)\nseen      from block {}\n",
            self.address,
            self.kind.replace('_', " "),
            self.balance_wei,
            thousands(self.tx_count),
            thousands(self.sent_tx_count),
            self.first_block
        );
        if let Some(c) = &self.created_by {
            s += &format!("created   {c}\n");
        }
        if let Some(d) = &self.destroyed_by {
            s += &format!("destroyed {d}\n");
        }
        for t in &self.tokens {
            s += &format!(
                "token     {} {} {}\n",
                t.token,
                t.symbol.as_deref().unwrap_or("?"),
                t.decimals.map_or_else(|| t.balance.to_string(), |d| evm::format_units(t.balance.0, d))
            );
        }
        s += &format!("transfers (first {}):\n{}", self.transfers.len(), transfer_lines(&self.transfers));
        s
    }
}
