//! The genesis block of each chain, which every simulated chain starts from.

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::opcodes::all::OP_CHECKSIG;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode,
    TxOut, Witness,
};
use sleuth_chain::Chain;

/// The text of Litecoin's genesis coinbase (the apostrophe is U+2019).
const LITECOIN_TIMESTAMP: &str = "NY Times 05/Oct/2011 Steve Jobs, Apple\u{2019}s Visionary, Dies at 56";

/// The uncompressed public key Litecoin's genesis output pays.
const LITECOIN_GENESIS_PUBKEY: &str = "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9";

/// The genesis block of `chain`, byte for byte as its node has it: rust-bitcoin's for the
/// Bitcoin chains, and Litecoin's built the same way from Litecoin's parameters.
pub fn genesis_block(chain: Chain) -> Block {
    let (time, nonce, bits) = match chain {
        Chain::Bitcoin => return bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin),
        Chain::Testnet => return bitcoin::constants::genesis_block(bitcoin::Network::Testnet),
        Chain::Testnet4 => return bitcoin::constants::genesis_block(bitcoin::Network::Testnet4),
        Chain::Signet => return bitcoin::constants::genesis_block(bitcoin::Network::Signet),
        Chain::Regtest => return bitcoin::constants::genesis_block(bitcoin::Network::Regtest),
        Chain::Litecoin => (1_317_972_665, 2_084_524_493, 0x1e0f_fff0),
        Chain::LitecoinTestnet => (1_486_949_366, 293_345, 0x1e0f_fff0),
        Chain::LitecoinRegtest => (1_296_688_602, 0, 0x207f_ffff),
    };
    // `CScript() << 486604799 << CScriptNum(4) << text`, as in Bitcoin's genesis.
    let text = LITECOIN_TIMESTAMP.as_bytes();
    let mut script_sig = vec![0x04, 0xff, 0xff, 0x00, 0x1d, 0x01, 0x04, text.len() as u8];
    script_sig.extend_from_slice(text);
    let script_sig = ScriptBuf::from_bytes(script_sig);
    let pubkey: Vec<u8> = (0..LITECOIN_GENESIS_PUBKEY.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&LITECOIN_GENESIS_PUBKEY[i..i + 2], 16).expect("hex"))
        .collect();
    let mut out = vec![65u8];
    out.extend_from_slice(&pubkey);
    out.push(OP_CHECKSIG.to_u8());
    let tx = Transaction {
        version: Version::ONE,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness: Witness::default(),
        }],
        output: vec![TxOut { value: Amount::from_sat(50 * 100_000_000), script_pubkey: ScriptBuf::from_bytes(out) }],
    };
    let merkle_root = TxMerkleNode::from_raw_hash(tx.compute_txid().to_raw_hash());
    Block {
        header: Header {
            version: BlockVersion::ONE,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root,
            time,
            bits: CompactTarget::from_consensus(bits),
            nonce,
        },
        txdata: vec![tx],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_genesis_hashes_to_the_chains_genesis_hash() {
        for chain in Chain::ALL {
            assert_eq!(genesis_block(chain).block_hash(), chain.genesis_hash(), "{chain}");
        }
    }

    #[test]
    fn litecoin_merkle_root_is_litecoins() {
        let b = genesis_block(Chain::LitecoinRegtest);
        assert_eq!(
            b.header.merkle_root.to_string(),
            "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9"
        );
    }
}
