//! A whole block: header, transactions and (on Litecoin) a skipped MWEB extension.

use bitcoin::block::Header;
use bitcoin::consensus::Decodable;
use bitcoin::hashes::Hash;
use bitcoin::BlockHash;

use super::cursor::Cursor;
use super::parsed::{ParsedInput, ParsedOutput, ParsedTx};
use super::tx::parse_tx;
use super::DecodeError;

/// A decoded block, in flat arrays that are reused from block to block so that decoding
/// allocates nothing once the buffers have grown.
#[derive(Debug, Clone)]
pub struct ParsedBlock {
    /// The 80-byte header.
    pub header: Header,
    /// Hash of the header.
    pub hash: BlockHash,
    /// Transactions in block order.
    pub txs: Vec<ParsedTx>,
    /// Inputs of all transactions, in order.
    pub inputs: Vec<ParsedInput>,
    /// Outputs of all transactions, in order.
    pub outputs: Vec<ParsedOutput>,
    /// Size of the serialized block in bytes.
    pub size: usize,
    /// Bytes of Litecoin MWEB extension data that followed the transactions and were skipped.
    pub mweb_bytes: usize,
    /// The first bytes of the coinbase's script (BIP34 puts the height there).
    pub coinbase_script_head: [u8; 8],
    /// Length of the coinbase's script.
    pub coinbase_script_len: usize,
    /// Scratch space of the merkle root computation.
    merkle: Vec<[u8; 32]>,
}

impl Default for ParsedBlock {
    fn default() -> Self {
        ParsedBlock {
            header: bitcoin::constants::genesis_block(bitcoin::Network::Regtest).header,
            hash: BlockHash::all_zeros(),
            txs: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            size: 0,
            mweb_bytes: 0,
            coinbase_script_head: [0; 8],
            coinbase_script_len: 0,
            merkle: Vec::new(),
        }
    }
}

/// Decodes a serialized block into `out`, reusing its buffers.
///
/// `litecoin` allows the MWEB transaction flag and an MWEB extension block after the
/// transactions, which is skipped: its outputs are confidential and have no address.
///
/// # Errors
/// A [`DecodeError`] naming the field and byte offset where the data stops making sense,
/// or a merkle root that does not match the transactions.
pub fn parse_block(raw: &[u8], litecoin: bool, out: &mut ParsedBlock) -> Result<(), DecodeError> {
    out.txs.clear();
    out.inputs.clear();
    out.outputs.clear();
    out.size = raw.len();
    out.mweb_bytes = 0;
    let mut c = Cursor::new(raw);
    let mut header_bytes = c.take(80, "block header")?;
    out.header = Header::consensus_decode(&mut header_bytes).expect("80 bytes decode as a header");
    out.hash = out.header.block_hash();
    let n_tx = c.count("transaction count", 60)?;
    let mut last_mweb = false;
    out.coinbase_script_head = [0; 8];
    out.coinbase_script_len = 0;
    for i in 0..n_tx {
        let tail = parse_tx(&mut c, i, litecoin, &mut out.txs, &mut out.inputs, &mut out.outputs)?;
        last_mweb = tail.mweb;
        if i == 0 {
            let script = &raw[tail.first_script.0..tail.first_script.1];
            let n = script.len().min(8);
            out.coinbase_script_head[..n].copy_from_slice(&script[..n]);
            out.coinbase_script_len = script.len();
        }
    }
    if c.remaining() > 0 {
        // Litecoin: a block whose last transaction is the HogEx carries the MWEB extension
        // block after it. Its contents are confidential outputs and kernels: skipped.
        if litecoin && last_mweb {
            out.mweb_bytes = c.remaining();
        } else {
            return Err(DecodeError::TrailingBytes { at: c.pos, extra: c.remaining() });
        }
    }
    out.merkle.clear();
    out.merkle.extend(out.txs.iter().map(|t| t.txid.to_byte_array()));
    let (root, mutated) = merkle_root(&mut out.merkle);
    let root = root.map(bitcoin::TxMerkleNode::from_byte_array);
    if root != Some(out.header.merkle_root) {
        return Err(DecodeError::MerkleMismatch {
            expected: out.header.merkle_root.to_string(),
            found: root.map(|r| r.to_string()).unwrap_or_else(|| "nothing (no transactions)".into()),
        });
    }
    if mutated {
        return Err(DecodeError::MerkleMalleated { transactions: n_tx });
    }
    Ok(())
}

/// The merkle root of `hashes` (consumed), and whether two hashes paired at some level are
/// equal: Core's `ComputeMerkleRoot` with its `mutated` flag, which catches the duplicated
/// transactions of CVE-2012-2459 that leave the root unchanged.
fn merkle_root(hashes: &mut Vec<[u8; 32]>) -> (Option<[u8; 32]>, bool) {
    if hashes.is_empty() {
        return (None, false);
    }
    let mut mutated = false;
    while hashes.len() > 1 {
        for pair in hashes.chunks_exact(2) {
            mutated |= pair[0] == pair[1];
        }
        if hashes.len() % 2 == 1 {
            hashes.push(*hashes.last().expect("not empty"));
        }
        let n = hashes.len() / 2;
        for i in 0..n {
            let mut both = [0u8; 64];
            both[..32].copy_from_slice(&hashes[2 * i]);
            both[32..].copy_from_slice(&hashes[2 * i + 1]);
            hashes[i] = bitcoin::hashes::sha256d::Hash::hash(&both).to_byte_array();
        }
        hashes.truncate(n);
    }
    (Some(hashes[0]), mutated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::SequenceKind;
    use crate::script::ScriptKind;
    use bitcoin::consensus::serialize;

    #[test]
    fn decodes_genesis_like_rust_bitcoin() {
        let genesis = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let raw = serialize(&genesis);
        let mut b = ParsedBlock::default();
        parse_block(&raw, false, &mut b).unwrap();
        assert_eq!(b.hash, genesis.block_hash());
        assert_eq!(b.txs.len(), 1);
        assert_eq!(b.txs[0].txid, genesis.txdata[0].compute_txid());
        assert!(b.inputs[0].is_null());
        assert_eq!(b.outputs[0].value, 5_000_000_000);
        assert_eq!(b.outputs[0].kind, ScriptKind::P2pk);
    }

    #[test]
    fn rejects_trailing_bytes_and_truncation() {
        let genesis = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let mut raw = serialize(&genesis);
        let mut b = ParsedBlock::default();
        raw.push(0);
        assert!(matches!(parse_block(&raw, false, &mut b), Err(DecodeError::TrailingBytes { .. })));
        raw.truncate(raw.len() - 10);
        assert!(matches!(
            parse_block(&raw, false, &mut b),
            Err(DecodeError::Truncated { .. } | DecodeError::Implausible { .. })
        ));
    }

    /// A block of the genesis coinbase and one payment with outputs of `values`, in order.
    fn block_paying(values: &[u64]) -> Vec<u8> {
        use bitcoin::{
            absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
        };
        let mut block = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let pay = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: block.txdata[0].compute_txid(), vout: 0 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: values
                .iter()
                .map(|&v| TxOut { value: Amount::from_sat(v), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) })
                .collect(),
        };
        block.txdata.push(pay);
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        serialize(&block)
    }

    #[test]
    fn notices_bip69_output_order() {
        let mut b = ParsedBlock::default();
        parse_block(&block_paying(&[1_000, 2_000, 2_000]), false, &mut b).unwrap();
        assert!(b.txs[1].bip69);
        parse_block(&block_paying(&[2_000, 1_000]), false, &mut b).unwrap();
        assert!(!b.txs[1].bip69);
        assert_eq!((b.txs[1].version, b.txs[1].locktime, b.txs[1].sequences), (2, 0, SequenceKind::Final));
    }

    #[test]
    fn detects_a_flipped_byte_by_the_merkle_root() {
        let genesis = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let mut raw = serialize(&genesis);
        let last = raw.len() - 30; // inside the output script's public key
        raw[last] ^= 1;
        let mut b = ParsedBlock::default();
        assert!(matches!(parse_block(&raw, false, &mut b), Err(DecodeError::MerkleMismatch { .. })));
    }
}
