//! The options that name a node's JSON-RPC, shared by `ingest` and `serve`.

use std::path::PathBuf;

use sleuth_node::{NodeClient, RpcAuth};

/// A node's RPC and how to authenticate to it, as Core offers.
#[derive(Debug, Clone, clap::Args)]
pub struct RpcArgs {
    /// The node's JSON-RPC, e.g. http://127.0.0.1:8332 (Litecoin Core: 9332; regtest: 18443,
    /// 19443): blocks come from its `getblock` instead of block files.
    #[arg(long, value_name = "URL")]
    pub rpc_url: Option<String>,
    /// The node's cookie file (`<datadir>/.cookie`, or `<datadir>/<network>/.cookie`); read
    /// again whenever the node restarts.
    #[arg(long, value_name = "FILE", requires = "rpc_url", conflicts_with = "rpc_user")]
    pub rpc_cookie: Option<PathBuf>,
    /// The node's -rpcuser (with --rpc-password-file).
    #[arg(long, value_name = "USER", requires_all = ["rpc_url", "rpc_password_file"])]
    pub rpc_user: Option<String>,
    /// A file whose first line is the -rpcpassword (never on the command line).
    #[arg(long, value_name = "FILE", requires = "rpc_user")]
    pub rpc_password_file: Option<PathBuf>,
}

impl RpcArgs {
    /// The client these options name, if `--rpc-url` was given.
    pub(crate) fn client(&self) -> anyhow::Result<Option<NodeClient>> {
        let Some(url) = &self.rpc_url else { return Ok(None) };
        let auth = match (&self.rpc_cookie, &self.rpc_user, &self.rpc_password_file) {
            (Some(cookie), _, _) => RpcAuth::Cookie(cookie.clone()),
            (None, Some(user), Some(file)) => RpcAuth::UserPassword { user: user.clone(), password_file: file.clone() },
            _ => anyhow::bail!(
                "--rpc-url {url} needs credentials: --rpc-cookie <datadir>/.cookie, or --rpc-user U --rpc-password-file F (for an Ethereum node, name its chain: --chain ethereum, sepolia, holesky or anvil)"
            ),
        };
        Ok(Some(NodeClient::new(url, auth)?))
    }
}
