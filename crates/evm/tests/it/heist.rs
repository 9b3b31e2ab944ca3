//! A heist on a real Anvil node: an exchange's hot wallet drained in ETH and a token, fanned
//! out by a router's internal calls, partly mixed, paid to two exchanges' deposit accounts,
//! beside a clean user, a reverted transaction, a reverted internal call and a contract
//! created and destroyed in one transaction.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolCall;
use serde_json::{json, Value};
use sleuth_testkit::anvil::{bytecode, Anvil};

alloy::sol! {
    function tokenArgs(string name, string symbol, uint8 decimals, uint256 supply);
    function mixerArgs(uint256 denomination);
    function bouncerArgs(address to);
    function transfer(address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
    function fanOut(address[] to, uint256[] amounts) external payable;
    function fanOutToken(address token, address[] to, uint256[] amounts) external;
    function payOrElse(address first, address fallbackTo) external payable;
    function deposit(bytes32 commitment) external payable;
    function withdraw(bytes32 secret, address to) external;
    function makeAndDestroy(address to) external payable returns (address);
    function burn(uint256 value) external;
}

pub const ETH: u128 = 1_000_000_000_000_000_000;

/// Who is who in the heist.
pub struct Heist {
    pub exchange_a: Address,
    pub thief: Address,
    pub deposit_b: Address,
    pub deposit_c: Address,
    pub user: Address,
    pub mules: [Address; 3],
    pub fresh: Address,
    /// Where the peel chain's links peeled off to.
    pub peeled_to: Address,
    pub token: Address,
    pub router: Address,
    pub mixer: Address,
    pub refuser: Address,
    pub bouncer: Address,
    pub factory: Address,
    /// The drain of ETH and of the token.
    pub drain_eth: B256,
    pub drain_token: B256,
    /// The reverted transaction, and the one whose first internal call reverted (after its
    /// own inner call had paid a mule).
    pub reverted_tx: B256,
    pub pay_or_else_tx: B256,
    /// The transaction that made and destroyed a child contract.
    pub ephemeral_tx: B256,
}

fn hex(data: Vec<u8>) -> String {
    format!("0x{}", alloy::primitives::hex::encode(data))
}

/// Constructor arguments: a call's encoding without its selector.
fn args(call: impl SolCall) -> String {
    alloy::primitives::hex::encode(&call.abi_encode()[4..])
}

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn tx_hash(receipt: &Value) -> B256 {
    receipt["transactionHash"].as_str().unwrap().parse().unwrap()
}

fn ok(receipt: Value) -> Value {
    assert_eq!(receipt["status"], "0x1", "transaction failed: {receipt}");
    receipt
}

impl Heist {
    /// Plays the heist on `node`.
    pub fn play(node: &Anvil) -> Heist {
        let acc = node.accounts();
        let a = |i: usize| acc[i].as_str();
        let (exchange_a, deposit_b, deposit_c, user) = (a(0), a(2), a(3), a(4));
        // The thief and its mules are fresh accounts (impersonated on the node): everything
        // they ever hold is stolen, as in a real heist.
        let thief = "0x000000000000000000000000000000000007a1ef";
        let mules = [
            "0x000000000000000000000000000000000000a001",
            "0x000000000000000000000000000000000000a002",
            "0x000000000000000000000000000000000000a003",
        ];
        for who in [thief].iter().chain(mules.iter()) {
            node.rpc("anvil_impersonateAccount", json!([who]));
        }
        // A fresh account, never funded at genesis: the mixer's withdrawal goes there.
        let fresh = "0x00000000000000000000000000000000000f2e51";

        let token = node.deploy(
            exchange_a,
            &(bytecode("Token")
                + &args(tokenArgsCall {
                    name: "Tether Test".into(),
                    symbol: "USDX".into(),
                    decimals: 6,
                    supply: U256::from(10u64).pow(U256::from(15u64)),
                })),
            0,
        );
        let router = node.deploy(exchange_a, &bytecode("Router"), 0);
        let mixer =
            node.deploy(exchange_a, &(bytecode("Mixer") + &args(mixerArgsCall { denomination: U256::from(ETH) })), 0);
        let refuser = node.deploy(exchange_a, &bytecode("Refuser"), 0);
        let factory = node.deploy(exchange_a, &bytecode("Factory"), 0);
        let bouncer =
            node.deploy(exchange_a, &(bytecode("Bouncer") + &args(bouncerArgsCall { to: addr(mules[1]) })), 0);

        // A clean user is paid; the exchange's hot wallet is drained of ETH and tokens.
        ok(node.send(exchange_a, Some(user), 5 * ETH, "0x"));
        let drain_eth = tx_hash(&ok(node.send(exchange_a, Some(thief), 100 * ETH, "0x")));
        let drain_token = tx_hash(&ok(node.send(
            exchange_a,
            Some(&token),
            0,
            &hex(transferCall { to: addr(thief), value: U256::from(500_000_000_000u64) }.abi_encode()),
        )));
        // Fanned out by internal calls.
        ok(node.send(
            thief,
            Some(&router),
            60 * ETH,
            &hex(fanOutCall {
                to: mules.iter().map(|m| addr(m)).collect(),
                amounts: vec![U256::from(10 * ETH), U256::from(20 * ETH), U256::from(30 * ETH)],
            }
            .abi_encode()),
        ));
        // Two notes into the mixer, one withdrawn to a fresh account (the relayer pays gas).
        for secret in [[1u8; 32], [2u8; 32]] {
            let commitment = alloy::primitives::keccak256(secret);
            ok(node.send(thief, Some(&mixer), ETH, &hex(depositCall { commitment }.abi_encode())));
        }
        ok(node.send(
            user,
            Some(&mixer),
            0,
            &hex(withdrawCall { secret: B256::from([1u8; 32]), to: addr(fresh) }.abi_encode()),
        ));
        // The mules pay the exchanges' deposit accounts.
        ok(node.send(mules[1], Some(deposit_b), 15 * ETH, "0x"));
        // The third mule's 30 ETH go down a peel chain: each link peels a little off to a
        // cash-out account and passes the rest on; the last link pays the deposit.
        let peel = ["0x000000000000000000000000000000000000b001", "0x000000000000000000000000000000000000b002"];
        let peeled_to = "0x000000000000000000000000000000000000c0de";
        for who in peel {
            node.rpc("anvil_impersonateAccount", json!([who]));
        }
        ok(node.send(mules[2], Some(peeled_to), ETH, "0x"));
        ok(node.send(mules[2], Some(peel[0]), 28 * ETH, "0x"));
        ok(node.send(peel[0], Some(peeled_to), ETH, "0x"));
        ok(node.send(peel[0], Some(peel[1]), 26 * ETH, "0x"));
        ok(node.send(peel[1], Some(deposit_c), 25 * ETH, "0x"));
        // Tokens fanned out to the deposits through the router (transferFrom).
        ok(node.send(
            thief,
            Some(&token),
            0,
            &hex(approveCall { spender: addr(&router), value: U256::from(300_000_000u64) }.abi_encode()),
        ));
        ok(node.send(
            thief,
            Some(&router),
            0,
            &hex(fanOutTokenCall {
                token: addr(&token),
                to: vec![addr(deposit_b), addr(deposit_c)],
                amounts: vec![U256::from(100_000_000u64), U256::from(200_000_000u64)],
            }
            .abi_encode()),
        ));
        // A transaction that reverts (its value stays), one whose first internal call
        // reverts (the second pays), and a child created with value and destroyed at once.
        let reverted =
            node.try_send(user, Some(&refuser), ETH, "0x").expect("anvil mines a reverting transaction given its gas");
        assert_eq!(reverted["status"], "0x0", "the refuser must revert: {reverted}");
        let pay_or_else = ok(node.send(
            user,
            Some(&router),
            2 * ETH,
            &hex(payOrElseCall { first: addr(&bouncer), fallbackTo: addr(mules[0]) }.abi_encode()),
        ));
        let ephemeral =
            ok(node.send(user, Some(&factory), 3 * ETH, &hex(makeAndDestroyCall { to: addr(deposit_b) }.abi_encode())));
        ok(node.send(thief, Some(&token), 0, &hex(burnCall { value: U256::from(1_000u64) }.abi_encode())));
        node.mine(2);

        Heist {
            exchange_a: addr(exchange_a),
            thief: addr(thief),
            deposit_b: addr(deposit_b),
            deposit_c: addr(deposit_c),
            user: addr(user),
            mules: mules.map(addr),
            fresh: addr(fresh),
            peeled_to: addr(peeled_to),
            token: addr(&token),
            router: addr(&router),
            mixer: addr(&mixer),
            refuser: addr(&refuser),
            bouncer: addr(&bouncer),
            factory: addr(&factory),
            drain_eth,
            drain_token,
            reverted_tx: tx_hash(&reverted),
            pay_or_else_tx: tx_hash(&pay_or_else),
            ephemeral_tx: tx_hash(&ephemeral),
        }
    }
}

/// The node's `eth_getBalance` at the latest block.
pub fn node_balance(node: &Anvil, a: &Address) -> U256 {
    let v = node.rpc("eth_getBalance", json!([a.to_string(), "latest"]));
    v.as_str().unwrap().parse().unwrap()
}

/// The token's `balanceOf`, asked of the contract on the node.
pub fn node_token_balance(node: &Anvil, token: &Address, who: &Address) -> U256 {
    let data = hex(balanceOfCall { who: *who }.abi_encode());
    let v = node.rpc("eth_call", json!([{ "to": token.to_string(), "data": data }, "latest"]));
    U256::from_be_slice(&alloy::primitives::hex::decode(v.as_str().unwrap()).unwrap())
}

/// The node's nonce of an account.
pub fn node_nonce(node: &Anvil, a: &Address) -> u64 {
    let v = node.rpc("eth_getTransactionCount", json!([a.to_string(), "latest"]));
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}
