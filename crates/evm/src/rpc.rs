//! The link to an execution client's JSON-RPC, over alloy's HTTP provider: blocks with their
//! transactions, receipts (`eth_getBlockReceipts`, one call per block) and call traces, many
//! blocks in flight at once; token metadata by `eth_call`.
//!
//! Which client gives which traces: reth, Erigon, Nethermind and Anvil answer Parity's
//! `trace_block` (with pre-merge block rewards); Geth answers only `debug_traceBlockByNumber`
//! with the `callTracer`, which reth, Erigon, Nethermind and Anvil also answer. The dialect
//! is picked once per index (`trace_block` first) and kept.

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::ext::TraceApi as _;
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::trace::common::TraceResult;
use alloy::rpc::types::trace::geth::CallFrame;
use alloy::rpc::types::{Block, TransactionReceipt, TransactionRequest};
use alloy::sol;
use alloy::sol_types::SolCall;
use alloy::transports::http::{reqwest, Http};
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::error::EvmError;
use crate::extract::BlockTraces;
use crate::store::TokenMeta;

sol! {
    function symbol() external view returns (string);
    function decimals() external view returns (uint8);
}

/// How the node reports internal calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceDialect {
    /// `trace_block` (Parity's trace module).
    Parity,
    /// `debug_traceBlockByNumber` with the call tracer (Geth's).
    Geth,
}

impl TraceDialect {
    /// Its name in the index's meta table and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceDialect::Parity => "parity",
            TraceDialect::Geth => "geth",
        }
    }

    /// From its name.
    pub fn parse(s: &str) -> Option<TraceDialect> {
        match s {
            "parity" | "trace_block" => Some(TraceDialect::Parity),
            "geth" | "debug" | "callTracer" => Some(TraceDialect::Geth),
            _ => None,
        }
    }
}

/// One block as the node gave it.
#[derive(Debug)]
pub struct FetchedBlock {
    /// With full transactions.
    pub block: Block,
    /// In transaction order.
    pub receipts: Vec<TransactionReceipt>,
    /// Call traces.
    pub traces: BlockTraces,
}

/// An execution client's JSON-RPC.
pub struct EvmNode {
    url: String,
    rt: tokio::runtime::Runtime,
    provider: RootProvider,
}

impl EvmNode {
    /// A client for the node at `url` (http://host:port). Nothing is sent yet.
    pub fn connect(url: &str) -> Result<EvmNode, EvmError> {
        let bad = |message: String| EvmError::Rpc { url: url.to_string(), method: "connect".into(), message };
        let parsed: reqwest::Url = url.parse().map_err(|e| bad(format!("not a URL: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(bad(
                "only http:// is supported (a node on this machine or its LAN); put TLS in front with a local proxy"
                    .into(),
            ));
        }
        // Traces of a full mainnet block take a node seconds; a minute is a stuck node.
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| bad(e.to_string()))?;
        let is_local = parsed.host_str().is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "::1");
        let client = RpcClient::new(Http::with_client(http, parsed), is_local);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the RPC runtime: {e}")))?;
        Ok(EvmNode { url: url.to_string(), rt, provider: RootProvider::new(client) })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn err<E: std::fmt::Display>(&self, method: &str) -> impl Fn(E) -> EvmError + '_ {
        let method = method.to_string();
        move |e| EvmError::Rpc { url: self.url.clone(), method: method.clone(), message: e.to_string() }
    }

    /// `eth_chainId`.
    pub fn chain_id(&self) -> Result<u64, EvmError> {
        self.rt.block_on(self.provider.get_chain_id()).map_err(self.err("eth_chainId"))
    }

    /// `eth_blockNumber`.
    pub fn block_number(&self) -> Result<u64, EvmError> {
        self.rt.block_on(self.provider.get_block_number()).map_err(self.err("eth_blockNumber"))
    }

    /// The hash of the node's block at `height`, `None` above its tip.
    pub fn block_hash(&self, height: u64) -> Result<Option<B256>, EvmError> {
        let b = self
            .rt
            .block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Number(height)).await })
            .map_err(self.err("eth_getBlockByNumber"))?;
        Ok(b.map(|b| b.header.hash))
    }

    /// Which trace dialect the node answers: `trace_block` where it can, else Geth's.
    pub fn detect_dialect(&self) -> Result<TraceDialect, EvmError> {
        let tip = self.block_number()?;
        match self.rt.block_on(self.provider.trace_block(BlockNumberOrTag::Number(tip).into())) {
            Ok(_) => Ok(TraceDialect::Parity),
            Err(parity) => {
                let opts = serde_json::json!({ "tracer": "callTracer" });
                let geth: Result<Vec<TraceResult<CallFrame, String>>, _> = self.rt.block_on(
                    self.provider.client().request("debug_traceBlockByNumber", (BlockNumberOrTag::Number(tip), opts)),
                );
                match geth {
                    Ok(_) => Ok(TraceDialect::Geth),
                    Err(geth) => Err(EvmError::Rpc {
                        url: self.url.clone(),
                        method: "trace_block / debug_traceBlockByNumber".into(),
                        message: format!(
                            "the node answers neither ({parity}; {geth}): internal transfers need a client with the trace or debug API enabled (reth, Erigon, Nethermind, Geth with --http.api eth,debug)"
                        ),
                    }),
                }
            }
        }
    }

    /// Blocks `from..=to`, in order, `in_flight` fetched at a time.
    pub fn fetch_blocks(
        &self,
        from: u64,
        to: u64,
        dialect: TraceDialect,
        in_flight: usize,
    ) -> Result<Vec<FetchedBlock>, EvmError> {
        self.rt.block_on(
            futures_util::stream::iter(from..=to)
                .map(|h| self.fetch_block(h, dialect))
                .buffered(in_flight.max(1))
                .try_collect(),
        )
    }

    async fn fetch_block(&self, h: u64, dialect: TraceDialect) -> Result<FetchedBlock, EvmError> {
        let n = BlockNumberOrTag::Number(h);
        let block =
            async { self.provider.get_block_by_number(n).full().await.map_err(self.err("eth_getBlockByNumber")) };
        let receipts =
            async { self.provider.get_block_receipts(n.into()).await.map_err(self.err("eth_getBlockReceipts")) };
        let traces = async {
            // Block 0 has no transactions and no reward; some nodes refuse to trace it.
            if h == 0 {
                return Ok(match dialect {
                    TraceDialect::Parity => BlockTraces::Parity(Vec::new()),
                    TraceDialect::Geth => BlockTraces::Geth(Vec::new()),
                });
            }
            match dialect {
                TraceDialect::Parity => {
                    self.provider.trace_block(n.into()).await.map(BlockTraces::Parity).map_err(self.err("trace_block"))
                }
                TraceDialect::Geth => {
                    let opts = serde_json::json!({ "tracer": "callTracer" });
                    let results: Vec<TraceResult<CallFrame, String>> = self
                        .provider
                        .client()
                        .request("debug_traceBlockByNumber", (n, opts))
                        .await
                        .map_err(self.err("debug_traceBlockByNumber"))?;
                    let mut frames = Vec::with_capacity(results.len());
                    for r in results {
                        match r {
                            TraceResult::Success { result, .. } => frames.push(result),
                            TraceResult::Error { error, tx_hash } => {
                                return Err(EvmError::BadBlock {
                                    number: h,
                                    what: format!("the node could not trace transaction {tx_hash:?}: {error}"),
                                })
                            }
                        }
                    }
                    Ok(BlockTraces::Geth(frames))
                }
            }
        };
        let (block, receipts, traces) = futures_util::future::try_join3(block, receipts, traces).await?;
        let block =
            block.ok_or_else(|| EvmError::BadBlock { number: h, what: "the node has no such block (yet)".into() })?;
        let receipts =
            receipts.ok_or_else(|| EvmError::BadBlock { number: h, what: "the node has no receipts for it".into() })?;
        Ok(FetchedBlock { block, receipts, traces })
    }

    /// The node's own ceiling, for the ingest benchmark: blocks `from..=to` asked with the
    /// same three calls each as [`EvmNode::fetch_blocks`], `in_flight` at a time, their
    /// answers read off the wire but not decoded. Returns the number of blocks fetched.
    pub fn fetch_blocks_plain(
        &self,
        from: u64,
        to: u64,
        dialect: TraceDialect,
        in_flight: usize,
    ) -> Result<u64, EvmError> {
        use serde::de::IgnoredAny;
        let client = self.provider.client();
        let one = |h: u64| async move {
            let n = BlockNumberOrTag::Number(h);
            let block = client.request::<_, IgnoredAny>("eth_getBlockByNumber", (n, true));
            let receipts = client.request::<_, IgnoredAny>("eth_getBlockReceipts", (n,));
            let traces = async move {
                match (h, dialect) {
                    (0, _) => Ok(IgnoredAny),
                    (_, TraceDialect::Parity) => client.request::<_, IgnoredAny>("trace_block", (n,)).await,
                    (_, TraceDialect::Geth) => {
                        client
                            .request::<_, IgnoredAny>(
                                "debug_traceBlockByNumber",
                                (n, serde_json::json!({ "tracer": "callTracer" })),
                            )
                            .await
                    }
                }
            };
            futures_util::future::try_join3(block, receipts, traces).await.map(|_| ())
        };
        self.rt
            .block_on(
                futures_util::stream::iter(from..=to).map(one).buffered(in_flight.max(1)).try_collect::<Vec<()>>(),
            )
            .map(|v| v.len() as u64)
            .map_err(self.err("plain fetch"))
    }

    /// A development node's funded accounts and their balances at block 0: the genesis
    /// allocation of Anvil and Hardhat.
    pub fn dev_genesis_allocation(&self) -> Result<Vec<(Address, U256)>, EvmError> {
        let accounts = self.rt.block_on(self.provider.get_accounts()).map_err(self.err("eth_accounts"))?;
        let mut out = Vec::with_capacity(accounts.len());
        for a in accounts {
            let b = self
                .rt
                .block_on(async { self.provider.get_balance(a).number(0).await })
                .map_err(|e| EvmError::Rpc {
                    url: self.url.clone(),
                    method: "eth_getBalance at block 0".into(),
                    message: format!("{e}: the node no longer keeps block 0's state, so its genesis allocation must come from a file: pass --genesis FILE"),
                })?;
            out.push((a, b));
        }
        Ok(out)
    }

    /// `eth_getBalance` at a height.
    pub fn balance(&self, a: Address, height: u64) -> Result<U256, EvmError> {
        self.rt
            .block_on(async { self.provider.get_balance(a).number(height).await })
            .map_err(self.err("eth_getBalance"))
    }

    /// `eth_call` at a height; `None` when the call reverts or the node refuses it.
    pub fn call(&self, to: Address, data: Bytes, height: u64) -> Option<Bytes> {
        let tx = TransactionRequest::default().with_to(to).with_input(data);
        self.rt.block_on(async { self.provider.call(tx).block(height.into()).await }).ok()
    }

    /// A token's `symbol()` and `decimals()` at a height, where the contract answers them
    /// (a `bytes32` symbol, as old tokens such as MKR return, is read too).
    pub fn token_meta(&self, token: Address, height: u64) -> TokenMeta {
        let symbol = self.call(token, symbolCall {}.abi_encode().into(), height).and_then(|b| {
            symbolCall::abi_decode_returns(&b)
                .ok()
                .or_else(|| (b.len() == 32).then(|| String::from_utf8_lossy(&b).trim_end_matches('\0').to_string()))
        });
        let decimals = self
            .call(token, decimalsCall {}.abi_encode().into(), height)
            .and_then(|b| decimalsCall::abi_decode_returns(&b).ok());
        TokenMeta { symbol: symbol.filter(|s| !s.is_empty() && s.len() <= 64), decimals }
    }
}
