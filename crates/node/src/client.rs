//! [`NodeClient`]: Bitcoin Core's (or Litecoin Core's) JSON-RPC through `bitcoincore-rpc`,
//! authenticated as Core is: its cookie file, or a user and a password kept in a file.
//!
//! The connection is made lazily and made again after any transport failure, reading the
//! cookie again: a node that restarts writes a new cookie, and a follower must carry on
//! without being restarted itself.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bitcoin::BlockHash;
use bitcoincore_rpc::RpcApi as _;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::error::NodeError;

/// How long a call may take before the node counts as gone (a long poll adds its own wait).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Core's JSON-RPC error code for an unknown method.
const RPC_METHOD_NOT_FOUND: i32 = -32601;

/// How to authenticate to the node, as Core offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// The `.cookie` file the node writes at each start (`<datadir>/.cookie`, or
    /// `<datadir>/<network>/.cookie`): read again after every reconnection.
    Cookie(PathBuf),
    /// `-rpcuser`, with the password in a file (first line), so that it is never on a command
    /// line another user can read.
    UserPassword {
        /// The user.
        user: String,
        /// The file holding the password.
        password_file: PathBuf,
    },
}

impl RpcAuth {
    /// The user and password to send.
    fn credentials(&self) -> Result<(String, String), NodeError> {
        match self {
            RpcAuth::Cookie(path) => {
                let text = read_secret(path)?;
                let (user, pass) = text.split_once(':').ok_or_else(|| NodeError::Credentials {
                    path: path.clone(),
                    reason: "it holds no `user:password` line, as the node's .cookie does".to_owned(),
                })?;
                Ok((user.to_owned(), pass.to_owned()))
            }
            RpcAuth::UserPassword { user, password_file } => Ok((user.clone(), read_secret(password_file)?)),
        }
    }
}

/// The first line of a credentials file, trimmed.
fn read_secret(path: &Path) -> Result<String, NodeError> {
    let text = std::fs::read_to_string(path).map_err(|e| NodeError::Credentials {
        path: path.to_owned(),
        reason: format!("{e} (is the node running, and is this its datadir?)"),
    })?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(NodeError::Credentials { path: path.to_owned(), reason: "it is empty".to_owned() });
    }
    Ok(line.to_owned())
}

/// A node's JSON-RPC: `http://host:port` and how to authenticate. Safe to share between
/// threads (calls on one connection are serialised by `bitcoincore-rpc`'s transport).
pub struct NodeClient {
    url: String,
    auth: RpcAuth,
    client: Mutex<Option<std::sync::Arc<bitcoincore_rpc::Client>>>,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credentials stay out of logs.
        write!(f, "NodeClient({})", self.url)
    }
}

impl NodeClient {
    /// A client of the node at `url` (`http://127.0.0.1:8332`; no connection is made yet).
    ///
    /// # Errors
    /// [`NodeError::BadUrl`] for anything but an `http://host:port` URL.
    pub fn new(url: &str, auth: RpcAuth) -> Result<NodeClient, NodeError> {
        let rest = url.strip_prefix("http://").ok_or_else(|| NodeError::BadUrl {
            url: url.to_owned(),
            reason: "it must start with http:// (Core's RPC is plain HTTP; use an SSH tunnel for a node elsewhere)"
                .to_owned(),
        })?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(NodeError::BadUrl { url: url.to_owned(), reason: "it names no host".to_owned() });
        }
        Ok(NodeClient { url: url.trim_end_matches('/').to_owned(), auth, client: Mutex::new(None) })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn connect(&self, timeout: Duration) -> Result<bitcoincore_rpc::Client, NodeError> {
        let (user, pass) = self.auth.credentials()?;
        let transport = jsonrpc::simple_http::SimpleHttpTransport::builder()
            .url(&self.url)
            .map_err(|e| NodeError::BadUrl { url: self.url.clone(), reason: e.to_string() })?
            .timeout(timeout)
            .auth(user, Some(pass))
            .build();
        Ok(bitcoincore_rpc::Client::from_jsonrpc(jsonrpc::Client::with_transport(transport)))
    }

    /// Calls `method` with `args` on the shared connection.
    ///
    /// # Errors
    /// [`NodeError::Unreachable`], [`NodeError::Unauthorized`], [`NodeError::Rpc`].
    pub fn call<T: DeserializeOwned>(&self, method: &str, args: &[Value]) -> Result<T, NodeError> {
        let client = {
            let mut slot = self.client.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                Some(c) => c.clone(),
                None => {
                    let c = std::sync::Arc::new(self.connect(CALL_TIMEOUT)?);
                    *slot = Some(c.clone());
                    c
                }
            }
        };
        let result = client.call(method, args).map_err(|e| self.error(method, e));
        if matches!(result, Err(NodeError::Unreachable { .. } | NodeError::Unauthorized { .. })) {
            // Reconnect (and read the cookie again) on the next call.
            *self.client.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        result
    }

    fn error(&self, method: &str, e: bitcoincore_rpc::Error) -> NodeError {
        use bitcoincore_rpc::jsonrpc::error::Error as JsonRpc;
        let url = self.url.clone();
        match e {
            bitcoincore_rpc::Error::JsonRpc(JsonRpc::Rpc(rpc)) => {
                NodeError::Rpc { url, method: method.to_owned(), code: rpc.code, message: rpc.message }
            }
            bitcoincore_rpc::Error::JsonRpc(JsonRpc::Transport(t)) => {
                let unauthorized = t
                    .downcast_ref::<jsonrpc::simple_http::Error>()
                    .is_some_and(|e| matches!(e, jsonrpc::simple_http::Error::HttpErrorCode(401)));
                if unauthorized {
                    NodeError::Unauthorized { url }
                } else {
                    NodeError::Unreachable { url, detail: t.to_string() }
                }
            }
            other => NodeError::Unreachable { url, detail: format!("{method}: {other}") },
        }
    }

    /// The hash of the node's genesis block.
    ///
    /// # Errors
    /// As [`NodeClient::call`].
    pub fn genesis(&self) -> Result<BlockHash, NodeError> {
        self.block_hash(0)
    }

    /// The hash of the node's best-chain block at `height` (an RPC error above its tip).
    ///
    /// # Errors
    /// As [`NodeClient::call`].
    pub fn block_hash(&self, height: u32) -> Result<BlockHash, NodeError> {
        self.call("getblockhash", &[json!(height)])
    }

    /// The node's tip: its height and hash (`getblockchaininfo`, one answer, so both are of
    /// the same moment).
    ///
    /// # Errors
    /// As [`NodeClient::call`]; [`NodeError::Unexpected`] for an answer without them.
    pub fn tip(&self) -> Result<(u32, BlockHash), NodeError> {
        let info: Value = self.call("getblockchaininfo", &[])?;
        let height = info["blocks"].as_u64().and_then(|h| u32::try_from(h).ok());
        let hash = info["bestblockhash"].as_str().and_then(|h| h.parse::<BlockHash>().ok());
        match (height, hash) {
            (Some(h), Some(hash)) => Ok((h, hash)),
            _ => Err(NodeError::Unexpected {
                url: self.url.clone(),
                method: "getblockchaininfo".to_owned(),
                detail: "no `blocks` and `bestblockhash`".to_owned(),
            }),
        }
    }

    /// The serialized block `hash` (`getblock <hash> 0`), as the node stores it (a Litecoin
    /// block with its MWEB data).
    ///
    /// # Errors
    /// As [`NodeClient::call`]; [`NodeError::Unexpected`] for an answer that is not hex.
    pub fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, NodeError> {
        use bitcoin::hex::FromHex as _;
        let hex: String = self.call("getblock", &[json!(hash.to_string()), json!(0)])?;
        Vec::<u8>::from_hex(&hex).map_err(|e| NodeError::Unexpected {
            url: self.url.clone(),
            method: "getblock".to_owned(),
            detail: format!("block {hash}: the answer is not hex ({e})"),
        })
    }

    /// Waits up to `wait` for the node to have a block above `height`
    /// (`waitforblockheight`, a long poll Core has had since 0.14), and returns at once if it
    /// already has. Returns `false` when the node lacks the call (the caller then polls).
    ///
    /// # Errors
    /// As [`NodeClient::call`].
    pub fn wait_for_height(&self, height: u32, wait: Duration) -> Result<bool, NodeError> {
        // Its own connection: the long poll must not hold up the shared one.
        let client = self.connect(CALL_TIMEOUT + wait)?;
        let millis = wait.as_millis().min(u128::from(u32::MAX)) as u64;
        match client.call::<Value>("waitforblockheight", &[json!(height + 1), json!(millis)]) {
            Ok(_) => Ok(true),
            Err(e) => match self.error("waitforblockheight", e) {
                NodeError::Rpc { code: RPC_METHOD_NOT_FOUND, .. } => Ok(false),
                e => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_with_a_host() {
        let auth = RpcAuth::Cookie(PathBuf::from("/nonexistent/.cookie"));
        assert!(NodeClient::new("http://127.0.0.1:8332", auth.clone()).is_ok());
        for bad in ["https://127.0.0.1:8332", "127.0.0.1:8332", "http://", "http:///x"] {
            let e = NodeClient::new(bad, auth.clone()).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missing_cookie_names_its_path() {
        let c = NodeClient::new("http://127.0.0.1:1", RpcAuth::Cookie(PathBuf::from("/nonexistent/.cookie"))).unwrap();
        let e = c.tip().unwrap_err().to_string();
        assert!(e.contains("/nonexistent/.cookie") && e.contains("is the node running"), "{e}");
    }

    #[test]
    fn a_cookie_without_a_colon_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cookie = dir.path().join(".cookie");
        std::fs::write(&cookie, "nocolon\n").unwrap();
        let e = RpcAuth::Cookie(cookie.clone()).credentials().unwrap_err().to_string();
        assert!(e.contains("user:password"), "{e}");
        std::fs::write(&cookie, "__cookie__:secret\n").unwrap();
        assert_eq!(RpcAuth::Cookie(cookie).credentials().unwrap(), ("__cookie__".into(), "secret".into()));
    }
}
