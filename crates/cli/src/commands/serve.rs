//! `sleuth serve`: the REST API over the data dir (see the `sleuth-server` crate).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sleuth_engine::Engine;
use sleuth_server::{AppState, ServerConfig, Tokens};

use super::rpc_args::RpcArgs;
use crate::Context;

/// Serve the REST API (status, blocks, txs, addresses, clusters, trace, screen, incidents,
/// reports; OpenAPI at /api/v1/openapi.json; Prometheus metrics at /metrics).
#[derive(Debug, clap::Args)]
pub struct ServeCmd {
    /// Address to listen on; anything but loopback needs --token-file (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer tokens, one per line (at least 16 characters each); every request must carry one.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Requests per second each token may make (bursts of twice that).
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Seconds between looks at the data dir for a new commit, clustering, tags or incidents.
    #[arg(long, default_value_t = 1.0)]
    pub refresh: f64,
    /// Follow a node on this machine: ingest its block folder as it grows (reorgs included)
    /// and extend the clustering, every --refresh seconds.
    /// With --rpc-url, the files are only the first catch-up; RPC follows the tip after.
    #[arg(long, value_name = "BLOCKS_DIR")]
    pub follow_blocks_dir: Option<PathBuf>,
    /// Follow a node over its JSON-RPC: each block the node accepts is indexed at once
    /// (long poll), reorgs are unwound, and the server keeps serving while the node is away.
    #[command(flatten)]
    pub rpc: RpcArgs,
}

impl ServeCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let tokens = self.token_file.as_deref().map(Tokens::load).transpose()?;
        let refresh = Duration::from_secs_f64(self.refresh.max(0.05));
        let listen = self.listen;
        if !listen.ip().is_loopback() && tokens.is_none() {
            return Err(sleuth_server::ServeError::NeedsTokens(listen).into());
        }
        if sleuth_engine::evm::is_evm_data_dir(&ctx.data_dir) {
            return self
                .run_evm(ctx, ServerConfig { listen, tokens, rate_per_token: self.rate, refresh, follow: None });
        }
        let node = self.rpc.client()?;
        let (engine, follow) = if let (None, None) = (&node, &self.follow_blocks_dir) {
            (Engine::open(&ctx.data_dir), None)
        } else {
            // The block files are the fast path to the tip: catch up before serving.
            if let Some(blocks_dir) = &self.follow_blocks_dir {
                let opts = sleuth_index::ingest::IngestOptions::new(blocks_dir.clone());
                let stop = std::sync::atomic::AtomicBool::new(false);
                sleuth_engine::ingest(&ctx.data_dir, &opts, &mut crate::progress::Bar::new(!ctx.quiet), &stop)?;
            }
            let chain = match &node {
                Some(n) => sleuth_node::node_chain(n, &ctx.data_dir)?,
                None => sleuth_index::IndexWriter::chain_of(&ctx.data_dir)?
                    .ok_or_else(|| anyhow::anyhow!("{}: no index after the ingest", ctx.data_dir.display()))?,
            };
            // Hold the writer, so that the server's snapshots come from it.
            let mut writer = sleuth_index::IndexWriter::open(&ctx.data_dir, chain)?;
            if let Some(n) = &node {
                // Serve from the node's tip, not from an empty or old index.
                let stop = std::sync::atomic::AtomicBool::new(false);
                let opts = sleuth_node::SyncOptions::default();
                while sleuth_node::sync(&mut writer, n, &opts, &stop)?.moved {}
            }
            let engine = Engine::beside_writer(&ctx.data_dir, writer.snapshots());
            let writer = Arc::new(std::sync::Mutex::new(writer));
            // RPC follows the tip when given; the files were only the first catch-up then.
            let source = match node {
                Some(n) => sleuth_server::follow::FollowSource::Rpc(Arc::new(n)),
                None => {
                    sleuth_server::follow::FollowSource::BlocksDir(self.follow_blocks_dir.clone().unwrap_or_default())
                }
            };
            (engine, Some(sleuth_server::follow::Follow { source, writer }))
        };
        let cfg = ServerConfig { listen, tokens, rate_per_token: self.rate, refresh, follow };
        let state = Arc::new(AppState::new(engine)?);
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let quiet = ctx.quiet;
        runtime.block_on(sleuth_server::serve(
            state,
            &cfg,
            |addr| {
                // Tests and scripts read the bound port from this line.
                println!("listening on http://{addr}");
                if !quiet {
                    eprintln!("serving {} (Ctrl-C stops)", ctx.data_dir.display());
                }
            },
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        ))?;
        Ok(())
    }

    /// `serve` over an EVM data dir; with `--rpc-url`, the node is followed.
    fn run_evm(&self, ctx: &Context, cfg: ServerConfig) -> anyhow::Result<()> {
        let url = self.rpc.rpc_url.clone();
        if let Some(u) = &url {
            // Serve from the node's tip, not from an old index.
            let stop = std::sync::atomic::AtomicBool::new(false);
            sleuth_engine::evm::ingest(&ctx.data_dir, u, &Default::default(), &stop, &mut |_, _| {})?;
        }
        let state = Arc::new(sleuth_server::EvmState::new(ctx.data_dir.clone()));
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let quiet = ctx.quiet;
        runtime.block_on(sleuth_server::serve_evm(
            state,
            &cfg,
            url,
            |addr| {
                println!("listening on http://{addr}");
                if !quiet {
                    eprintln!("serving the EVM index in {} (Ctrl-C stops)", ctx.data_dir.display());
                }
            },
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        ))?;
        Ok(())
    }
}
