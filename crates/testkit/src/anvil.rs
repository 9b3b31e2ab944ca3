//! A real Anvil (Foundry's local Ethereum node) for tests, on a free port, and contracts
//! compiled by solc-js. Both come from the npm registry: `scripts/test` runs `npm ci` in
//! `tools/evm` when they are missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::rpc::{self, RpcError};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The repository's `tools/evm`, where `npm ci` puts Anvil and solc-js.
pub fn evm_tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/evm")
}

fn find_anvil() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLEUTH_ANVIL") {
        return Some(PathBuf::from(p));
    }
    let bundled = evm_tools_dir().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if bundled.is_file() {
        return Some(bundled);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("anvil")).find(|p| p.is_file())
}

/// A running `anvil` with automine (a block per transaction), killed on `Drop`.
pub struct Anvil {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Anvil {
    /// Starts Anvil on a free port of 127.0.0.1 with its ten funded dev accounts and waits
    /// until it answers `eth_chainId`.
    ///
    /// # Panics
    /// If Anvil is not installed (run scripts/test) or does not come up within 30 s.
    pub fn start() -> Anvil {
        Anvil::start_with(&[])
    }

    /// As [`Anvil::start`], with extra command-line arguments (e.g. `--no-mining`).
    pub fn start_with(args: &[&str]) -> Anvil {
        let exe = find_anvil().unwrap_or_else(|| {
            panic!("anvil not found: run scripts/test (it runs `npm ci` in tools/evm), or set SLEUTH_ANVIL")
        });
        let dir = tempfile::Builder::new().prefix("sleuth-anvil-").tempdir().expect("a writable temp folder");
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free port").local_addr().unwrap().port();
        let log = std::fs::File::create(dir.path().join("anvil.log")).expect("anvil.log");
        let child = Command::new(&exe)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let node = Anvil { child, port, _dir: dir };
        let started = Instant::now();
        loop {
            if node.try_rpc("eth_chainId", json!([])).is_ok() {
                return node;
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                let log = std::fs::read_to_string(node._dir.path().join("anvil.log")).unwrap_or_default();
                panic!("anvil did not answer within {STARTUP_TIMEOUT:?}; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Calls `method`, panicking on an error.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params).unwrap_or_else(|e| panic!("anvil {method}: {e}"))
    }

    /// Calls `method`, returning the node's error.
    pub fn try_rpc(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        match rpc::call_version("2.0", self.port, "", "/", method, &params) {
            Ok(r) => r,
            Err(e) => Err(RpcError { code: -1, message: e.to_string() }),
        }
    }

    /// The funded dev accounts.
    pub fn accounts(&self) -> Vec<String> {
        self.rpc("eth_accounts", json!([]))
            .as_array()
            .expect("an array")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// Sends a transaction from an unlocked account (`value` in wei, `data` as 0x hex) and
    /// returns its receipt once mined.
    pub fn send(&self, from: &str, to: Option<&str>, value: u128, data: &str) -> Value {
        let mut tx = json!({ "from": from, "value": format!("0x{value:x}"), "data": data });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = self.rpc("eth_sendTransaction", json!([tx]));
        self.receipt(hash.as_str().unwrap())
    }

    /// As [`Anvil::send`], returning the node's error when it refuses.
    pub fn try_send(&self, from: &str, to: Option<&str>, value: u128, data: &str) -> Result<Value, RpcError> {
        let mut tx = json!({ "from": from, "value": format!("0x{value:x}"), "data": data, "gas": "0x1e8480" });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = self.try_rpc("eth_sendTransaction", json!([tx]))?;
        Ok(self.receipt(hash.as_str().unwrap()))
    }

    /// A transaction's receipt, waiting for it to be mined.
    pub fn receipt(&self, hash: &str) -> Value {
        let started = Instant::now();
        loop {
            let r = self.rpc("eth_getTransactionReceipt", json!([hash]));
            if !r.is_null() {
                return r;
            }
            assert!(started.elapsed() < STARTUP_TIMEOUT, "transaction {hash} was not mined");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deploys `bytecode` (0x hex, constructor arguments appended) and returns the contract's address.
    pub fn deploy(&self, from: &str, bytecode: &str, value: u128) -> String {
        let r = self.send(from, None, value, bytecode);
        assert_eq!(r["status"], "0x1", "deployment failed: {r}");
        r["contractAddress"].as_str().unwrap().to_string()
    }

    /// Mines `n` empty blocks.
    pub fn mine(&self, n: u64) {
        self.rpc("anvil_mine", json!([format!("0x{n:x}")]));
    }

    /// The node's height.
    pub fn height(&self) -> u64 {
        let h = self.rpc("eth_blockNumber", json!([]));
        u64::from_str_radix(h.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test contracts (`crates/testkit/contracts/*.sol`) compiled by solc-js, once per process:
/// `{"Name": {"abi": [...], "bytecode": "0x..."}}`.
pub fn test_contracts() -> &'static Value {
    static COMPILED: OnceLock<Value> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let tools = evm_tools_dir();
        let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/Heist.sol");
        assert!(
            tools.join("node_modules/solc").is_dir(),
            "solc-js not found in {}: run scripts/test (npm ci in tools/evm)",
            tools.display()
        );
        let out = Command::new("node")
            .arg(tools.join("compile.mjs"))
            .arg(&sources)
            .output()
            .unwrap_or_else(|e| panic!("running node (Node.js) to compile {}: {e}", sources.display()));
        assert!(
            out.status.success(),
            "solc-js failed on {}:\n{}",
            sources.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("compile.mjs prints JSON")
    })
}

/// A compiled contract's creation bytecode.
pub fn bytecode(name: &str) -> String {
    test_contracts()[name]["bytecode"].as_str().unwrap_or_else(|| panic!("no contract {name} in Heist.sol")).to_string()
}
