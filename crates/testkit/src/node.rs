//! A real `litecoind -regtest` for tests, in a tempdir on free ports.

use std::env;
use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::rpc::{self, RpcError};

/// How long the node may take to answer RPC after it is launched.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the node may take to exit after RPC `stop` before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
/// Lines of `debug.log` quoted when the node fails.
const LOG_TAIL_LINES: usize = 40;

/// A `litecoind -regtest -vbparams=mweb:-2:0` (Litecoin Core 0.21) running in a fresh tempdir,
/// with cookie auth and RPC on a free port of 127.0.0.1.
///
/// `-vbparams=mweb:-2:0` keeps MWEB never active, so blocks carry no HogEx transaction and
/// `mweb` addresses are unusable: the wallet accepts a send to one, but the node never
/// relays or mines it and the coins stay spent until `abandontransaction`. The node is stopped (RPC `stop`, then a kill after 10 s) and its
/// datadir deleted on `Drop`.
///
/// ```no_run
/// use serde_json::json;
/// use sleuth_testkit::RegtestNode;
///
/// let node = RegtestNode::start();
/// node.create_wallet("alice");
/// let address = node.new_address("alice", "bech32");
/// node.mine(101, &address);
/// assert_eq!(node.rpc("getblockcount", json!([])), 101);
/// ```
#[derive(Debug)]
pub struct RegtestNode {
    /// `None` once stopped. `Drop::drop` stops it before the fields, and so the tempdir,
    /// are dropped.
    child: Option<Child>,
    exe: PathBuf,
    p2p_port: u16,
    rpc_port: u16,
    /// The cookie's `user:password`, re-read at each launch.
    cookie: String,
    datadir: TempDir,
    /// Whether MWEB may activate (regtest's own deployment: active from height 432).
    mweb: bool,
}

impl RegtestNode {
    /// Starts a node on a fresh datadir and waits until it answers `getblockchaininfo`.
    ///
    /// # Panics
    ///
    /// If `litecoind` is not on `PATH`, or the node does not come up within 60 s (quoting the
    /// tail of its `debug.log`).
    pub fn start() -> RegtestNode {
        RegtestNode::start_with(false)
    }

    /// Starts a node whose MWEB deployment follows regtest's own parameters (no `-vbparams`):
    /// active from height 432, so that mining 431 blocks, then a send to an `mweb` address
    /// (a peg-in), gives blocks with a HogEx transaction and MWEB data, as Litecoin Core's
    /// own MWEB tests set it up (`test_framework/ltc_util.py`, `setup_mweb_chain`).
    ///
    /// # Panics
    /// As [`RegtestNode::start`].
    pub fn start_with_mweb() -> RegtestNode {
        RegtestNode::start_with(true)
    }

    fn start_with(mweb: bool) -> RegtestNode {
        let exe = find_litecoind().unwrap_or_else(|| {
            panic!("litecoind not found: run scripts/test, which installs it from Debian's packages")
        });
        let datadir =
            tempfile::Builder::new().prefix("sleuth-regtest-").tempdir().expect("the system temp folder is writable");
        let (p2p_port, rpc_port) = free_ports();
        let mut node = RegtestNode { child: None, exe, p2p_port, rpc_port, cookie: String::new(), datadir, mweb };
        node.launch();
        node
    }

    /// The node's datadir (a tempdir deleted on `Drop`).
    pub fn datadir(&self) -> &Path {
        self.datadir.path()
    }

    /// The folder holding `blk*.dat`, `rev*.dat` and the block index: `<datadir>/regtest/blocks`.
    ///
    /// The node preallocates `blk*.dat` in 16 MiB steps, so a file ends in zeros; call
    /// [`RegtestNode::stop`] first to read the files with everything flushed.
    pub fn blocks_dir(&self) -> PathBuf {
        self.network_dir().join("blocks")
    }

    /// The cookie file holding `user:password` for RPC: `<datadir>/regtest/.cookie`. It
    /// exists only while the node runs and changes at each start.
    pub fn cookie_file(&self) -> PathBuf {
        self.network_dir().join(".cookie")
    }

    /// The RPC port on 127.0.0.1; it stays the same across [`RegtestNode::restart`].
    pub fn rpc_port(&self) -> u16 {
        self.rpc_port
    }

    /// The RPC URL, `http://127.0.0.1:<rpc port>`.
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// The process id of the running node, or `None` once stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Calls node-level `method` with `params` (a JSON array, or an object for named
    /// arguments) and returns the result.
    ///
    /// # Panics
    ///
    /// If the node answers with an error (naming the method and the error), or cannot be
    /// reached.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params).unwrap_or_else(|error| panic!("rpc {method} failed: {error}"))
    }

    /// Calls node-level `method` with `params` and returns the result, or the error the node
    /// answered, for tests that expect one.
    ///
    /// # Errors
    ///
    /// The node's JSON-RPC error, with its code and message.
    ///
    /// # Panics
    ///
    /// If the node is stopped or cannot be reached: that is a broken test, not an answer.
    pub fn try_rpc(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call("/", method, &params)
    }

    /// Calls `method` on wallet `wallet` (URL path `/wallet/<name>`), for nodes with several
    /// wallets loaded.
    ///
    /// # Panics
    ///
    /// If the node answers with an error (naming the wallet, the method and the error), or
    /// cannot be reached.
    pub fn wallet_rpc(&self, wallet: &str, method: &str, params: Value) -> Value {
        self.try_wallet_rpc(wallet, method, params)
            .unwrap_or_else(|error| panic!("rpc {method} on wallet {wallet:?} failed: {error}"))
    }

    /// Calls `method` on wallet `wallet` and returns the result or the node's error.
    ///
    /// # Errors
    ///
    /// The node's JSON-RPC error, e.g. code -18 when the wallet is not loaded.
    ///
    /// # Panics
    ///
    /// If the node is stopped or cannot be reached.
    pub fn try_wallet_rpc(&self, wallet: &str, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call(&rpc::wallet_path(wallet), method, &params)
    }

    /// Creates wallet `name` (a legacy BDB wallet: this build has no sqlite, so no
    /// descriptor wallets) and marks it to be loaded again by [`RegtestNode::restart`].
    ///
    /// # Panics
    ///
    /// If the node refuses, e.g. because the wallet exists.
    pub fn create_wallet(&self, name: &str) {
        self.rpc("createwallet", json!({"wallet_name": name, "load_on_startup": true}));
    }

    /// A new address of wallet `wallet`. `address_type` is `legacy`, `p2sh-segwit` or `bech32`
    /// (`rltc1…` on regtest); `bech32m` is rejected by 0.21, and `mweb` addresses cannot be
    /// paid while MWEB is inactive.
    ///
    /// # Panics
    ///
    /// If the node refuses, e.g. for an unknown wallet or address type.
    pub fn new_address(&self, wallet: &str, address_type: &str) -> String {
        let address = self.wallet_rpc(wallet, "getnewaddress", json!(["", address_type]));
        match address {
            Value::String(address) => address,
            other => panic!("getnewaddress returned {other}, expected a string"),
        }
    }

    /// Mines `n` blocks paying their coinbase to `address` and returns their hashes, in order.
    /// Coinbases mature after 100 blocks, and the regtest subsidy halves every 150 blocks.
    ///
    /// # Panics
    ///
    /// If the node refuses, e.g. for an invalid address.
    pub fn mine(&self, n: u32, address: &str) -> Vec<String> {
        let hashes = self.rpc("generatetoaddress", json!([n, address]));
        serde_json::from_value(hashes.clone())
            .unwrap_or_else(|_| panic!("generatetoaddress returned {hashes}, expected hashes"))
    }

    /// Stops the node with RPC `stop` and waits for the process to exit, so the block files
    /// and indexes are flushed and complete. Does nothing if the node is already stopped.
    ///
    /// # Panics
    ///
    /// If the node did not exit within 10 s (it is then killed) or exited with a failure.
    pub fn stop(&mut self) {
        if let Err(problem) = self.shutdown() {
            panic!("stopping litecoind: {problem}{}", self.log_tail());
        }
    }

    /// Starts the node again on the same datadir and ports, stopping it first if it runs.
    /// Wallets made with [`RegtestNode::create_wallet`] are loaded again.
    ///
    /// # Panics
    ///
    /// As [`RegtestNode::stop`] and [`RegtestNode::start`].
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn network_dir(&self) -> PathBuf {
        self.datadir.path().join("regtest")
    }

    fn call(&self, path: &str, method: &str, params: &Value) -> Result<Value, RpcError> {
        assert!(self.child.is_some(), "rpc {method}: the node is stopped; call restart() first");
        rpc::call(self.rpc_port, &self.cookie, path, method, params)
            .unwrap_or_else(|error| panic!("rpc {method}: no answer from litecoind: {error}{}", self.log_tail()))
    }

    /// Spawns litecoind and waits until it answers RPC.
    fn launch(&mut self) {
        let stderr_path = self.datadir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("the datadir is writable");
        let child = Command::new(&self.exe)
            .arg("-regtest")
            .args((!self.mweb).then_some("-vbparams=mweb:-2:0"))
            .arg(format!("-datadir={}", self.datadir.path().display()))
            .arg(format!("-port={}", self.p2p_port))
            .arg(format!("-rpcport={}", self.rpc_port))
            .args([
                "-listen=0",
                "-server=1",
                "-txindex=1",
                "-fallbackfee=0.0001",
                "-printtoconsole=0",
                "-rpcbind=127.0.0.1",
                "-rpcallowip=127.0.0.1",
                // The default pool of 1000 keys (times three with MWEB's) makes createwallet
                // take ~2 s; the wallet tops the pool up on demand anyway.
                "-keypool=10",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("spawning {}: {error}", self.exe.display()));
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let cookie_file = self.cookie_file();
        let mut last_problem = format!("{} was never written", cookie_file.display());
        loop {
            let child = self.child.as_mut().expect("launch() set the child");
            if let Some(status) = child.try_wait().expect("waiting on litecoind") {
                self.child = None;
                panic!("litecoind exited during startup with {status}{}", self.log_tail());
            }
            // Read the cookie each round: one left by a killed run is stale until the new
            // process replaces it.
            if let Ok(cookie) = fs::read_to_string(&cookie_file) {
                self.cookie = cookie.trim().to_owned();
                match rpc::call(self.rpc_port, &self.cookie, "/", "getblockchaininfo", &json!([])) {
                    Ok(Ok(_)) => return,
                    // -28 while the node is warming up.
                    Ok(Err(error)) => last_problem = error.to_string(),
                    Err(error) => last_problem = error.to_string(),
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "litecoind did not answer rpc within {} s; last: {last_problem}{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log_tail()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Stops a running node: RPC `stop`, wait, and kill it if it lingers.
    fn shutdown(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("litecoind had already exited with {status}"));
        }
        // Errors are moot here: either the node stops, or it is killed below.
        let _ = rpc::call(self.rpc_port, &self.cookie, "/", "stop", &json!([]));
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return exit_ok(status);
            }
            thread::sleep(POLL);
        }
        let _ = child.kill();
        let status = child.wait().map_err(|e| e.to_string())?;
        Err(format!("litecoind did not exit within {} s of rpc stop; killed it ({status})", STOP_TIMEOUT.as_secs()))
    }

    /// The last lines of `debug.log` and any stderr, to append to a panic message.
    fn log_tail(&self) -> String {
        let mut out = String::new();
        let stderr = fs::read_to_string(self.datadir.path().join("stderr.log")).unwrap_or_default();
        if !stderr.trim().is_empty() {
            out.push_str(&format!("\n--- litecoind stderr ---\n{}", stderr.trim_end()));
        }
        let log_path = self.network_dir().join("debug.log");
        match fs::read_to_string(&log_path) {
            Ok(log) => {
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
                out.push_str(&format!(
                    "\n--- last {} lines of {} ---\n{}",
                    tail.len(),
                    log_path.display(),
                    tail.join("\n")
                ));
            }
            Err(error) => out.push_str(&format!("\n(no {}: {error})", log_path.display())),
        }
        out
    }
}

impl Drop for RegtestNode {
    fn drop(&mut self) {
        // Never panic here: this may run while a failed test unwinds.
        let _ = self.shutdown();
    }
}

fn exit_ok(status: ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("litecoind exited with {status}"))
    }
}

/// `litecoind` from `PATH`, if it is there.
fn find_litecoind() -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join("litecoind")).find(|exe| exe.is_file())
}

/// Two distinct ports that were free on 127.0.0.1 a moment ago. Both listeners are held
/// until both ports are known, so the two differ.
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free port on 127.0.0.1");
    let (a, b) = (bind(), bind());
    let port = |listener: &TcpListener| listener.local_addr().expect("a bound address").port();
    (port(&a), port(&b))
}
