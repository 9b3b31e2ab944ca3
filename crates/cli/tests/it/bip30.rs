//! BIP30 as Core applies it, on a Litecoin regtest chain built here from the genesis block a
//! real `litecoind -regtest` serves (Litecoin regtest activates BIP34 only at height 500, so
//! its early coinbases need not state their height and can repeat, as mainnet's did at
//! 91,842 and 91,880): a coinbase repeating one whose output is unspent is refused, naming
//! block, txid and rule; one repeating a coinbase spent in full is accepted, as Core does.

use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash;
use bitcoin::{Amount, Block, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use serde_json::json;
use sleuth_chain::validate::headers::scrypt_hash;
use sleuth_chain::validate::target::U256;

use crate::validation::{folder, ingest};

const COIN: u64 = 100_000_000;

/// A coinbase whose script is `tag` (no height: below BIP34's activation).
fn coinbase(tag: &[u8]) -> Transaction {
    Transaction {
        version: bitcoin::transaction::Version::ONE,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(tag.to_vec()),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(50 * COIN), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) }],
    }
}

/// Appends a block of `txs` to `chain`, ground to regtest's target by scrypt.
fn push(chain: &mut Vec<Block>, txs: Vec<Transaction>) {
    let prev = chain.last().unwrap();
    let mut block = Block {
        header: bitcoin::block::Header {
            version: bitcoin::block::Version::from_consensus(4),
            prev_blockhash: prev.block_hash(),
            merkle_root: bitcoin::TxMerkleNode::all_zeros(),
            time: prev.header.time + 150,
            bits: prev.header.bits,
            nonce: 0,
        },
        txdata: txs,
    };
    block.header.merkle_root = block.compute_merkle_root().unwrap();
    let (target, _, _) = U256::from_compact(block.header.bits.to_consensus());
    while scrypt_hash(&block.header) > target {
        block.header.nonce += 1;
    }
    chain.push(block);
}

/// Block files of `chain`.
fn file(chain: &[Block]) -> Vec<u8> {
    crate::validation::Regtest { blocks: chain.to_vec() }.file()
}

#[test]
fn a_repeated_txid_is_refused_while_its_twin_has_unspent_outputs() {
    let genesis = {
        let mut node = sleuth_testkit::RegtestNode::start();
        let hash = node.rpc("getblockhash", json!([0]));
        let hex = node.rpc("getblock", json!([hash, 0]));
        node.stop();
        let raw = <Vec<u8> as bitcoin::hex::FromHex>::from_hex(hex.as_str().unwrap()).unwrap();
        deserialize::<Block>(&raw).unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let twin = coinbase(b"\x03dup");
    let txid = twin.compute_txid();

    // Block 2 repeats block 1's coinbase, whose output is unspent.
    let mut chain = vec![genesis];
    push(&mut chain, vec![twin.clone()]);
    push(&mut chain, vec![twin.clone()]);
    let e = match ingest(&tmp.path().join("dup"), &folder(tmp.path(), "dup", &[&file(&chain)])) {
        Ok(r) => panic!("a repeated txid was indexed (tip {:?})", r.height),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("block 2 ") && e.contains(&txid.to_string()) && e.contains("rule bip30") && e.contains("output 0"),
        "{e}"
    );
    assert!(e.contains("blk00000.dat: block at byte"), "{e}");

    // Spent in full first (once mature), the coinbase may come again.
    chain.truncate(2);
    for h in 2..=101u32 {
        push(&mut chain, vec![coinbase(&[&[0x04][..], &h.to_le_bytes()].concat())]);
    }
    let spend = Transaction {
        version: bitcoin::transaction::Version::ONE,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid, vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(50 * COIN), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) }],
    };
    push(&mut chain, vec![coinbase(b"\x03102"), spend]);
    push(&mut chain, vec![twin]);
    let r = ingest(&tmp.path().join("ok"), &folder(tmp.path(), "ok", &[&file(&chain)])).unwrap();
    assert_eq!((r.chain, r.height), (sleuth_chain::Chain::LitecoinRegtest, Some(103)));
}
