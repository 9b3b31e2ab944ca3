//! Blocks and block files: collecting a block's transactions, the coinbase with its BIP34
//! height and witness commitment, the merkle root, grinding the header to its target, and
//! writing `blkNNNNN.dat` records (magic, little-endian length, block) into files of at most
//! 128 MiB, as Bitcoin Core and Litecoin Core lay them out.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::consensus::encode::VarInt;
use bitcoin::consensus::Encodable;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Target, Transaction, TxIn, TxMerkleNode,
    TxOut, Txid, Witness, Wtxid,
};

use crate::SimError;

/// Largest `blk*.dat` file: Core's `MAX_BLOCKFILE_SIZE`.
pub(crate) const MAX_BLOCKFILE_SIZE: u64 = 128 << 20;

/// Largest block weight (consensus).
pub(crate) const MAX_BLOCK_WEIGHT: u64 = 4_000_000;

/// Weight kept free for the coinbase and header.
pub(crate) const COINBASE_RESERVE: u64 = 4_000;

/// Compact target of regtest, which every simulated block uses: half of all hashes meet it.
pub(crate) const REGTEST_BITS: u32 = 0x207f_ffff;

/// The block subsidy (constant: halvings are not simulated).
pub(crate) const SUBSIDY: u64 = 50 * 100_000_000;

/// The transactions of the block being built, already serialized.
#[derive(Debug, Default)]
pub(crate) struct BlockBuilder {
    body: Vec<u8>,
    txids: Vec<Txid>,
    wtxids: Vec<Wtxid>,
    /// Weight of the transactions.
    pub weight: u64,
    /// Fees of the transactions.
    pub fees: u64,
    /// Inputs of the transactions.
    pub inputs: u64,
    /// Outputs of the transactions.
    pub outputs: u64,
}

impl BlockBuilder {
    /// Appends a transaction.
    pub fn push(&mut self, tx: &Transaction, txid: Txid, weight: u64, fee: u64) {
        tx.consensus_encode(&mut self.body).expect("writing to a Vec cannot fail");
        let has_witness = tx.input.iter().any(|i| !i.witness.is_empty());
        self.wtxids.push(if has_witness { tx.compute_wtxid() } else { Wtxid::from_raw_hash(txid.to_raw_hash()) });
        self.txids.push(txid);
        self.weight += weight;
        self.fees += fee;
        self.inputs += tx.input.len() as u64;
        self.outputs += tx.output.len() as u64;
    }

    /// Number of transactions, the coinbase not counted.
    pub fn len(&self) -> usize {
        self.txids.len()
    }

    /// Whether another transaction of `weight` fits.
    pub fn fits(&self, weight: u64) -> bool {
        self.weight + weight <= MAX_BLOCK_WEIGHT - COINBASE_RESERVE
    }

    /// Serializes the block with `coinbase` first, grinding `header` (whose merkle root is
    /// set here) to its target. Returns the block's bytes and hash, and leaves the builder
    /// empty for the next block.
    pub fn finish(&mut self, coinbase: &Transaction, header: &mut Header) -> (Vec<u8>, BlockHash) {
        let cb_txid = coinbase.compute_txid();
        let root = bitcoin::merkle_tree::calculate_root(
            std::iter::once(cb_txid.to_raw_hash()).chain(self.txids.iter().map(|t| t.to_raw_hash())),
        )
        .expect("a block has a coinbase");
        header.merkle_root = TxMerkleNode::from_raw_hash(root);
        let hash = grind(header);
        let mut raw = Vec::with_capacity(80 + 9 + 300 + self.body.len());
        header.consensus_encode(&mut raw).expect("writing to a Vec cannot fail");
        VarInt(self.txids.len() as u64 + 1).consensus_encode(&mut raw).expect("writing to a Vec cannot fail");
        coinbase.consensus_encode(&mut raw).expect("writing to a Vec cannot fail");
        raw.extend_from_slice(&self.body);
        self.body.clear();
        self.txids.clear();
        self.wtxids.clear();
        self.weight = 0;
        self.fees = 0;
        self.inputs = 0;
        self.outputs = 0;
        (raw, hash)
    }

    /// The BIP141 witness commitment of the block's transactions, the coinbase's wtxid being
    /// all zeros and its witness reserved value all zeros.
    pub fn witness_commitment(&self) -> [u8; 32] {
        let root = bitcoin::merkle_tree::calculate_root(
            std::iter::once(sha256d::Hash::all_zeros()).chain(self.wtxids.iter().map(|w| w.to_raw_hash())),
        )
        .expect("at least the coinbase");
        let mut data = [0u8; 64];
        data[..32].copy_from_slice(root.as_byte_array());
        sha256d::Hash::hash(&data).to_byte_array()
    }
}

/// The coinbase of a block at `height` paying `value` to `payout`, with the pool's `tag` in
/// its script and the witness commitment of the block's other transactions.
pub(crate) fn coinbase(
    height: u32,
    value: u64,
    payout: ScriptBuf,
    tag: &[u8],
    extranonce: u64,
    commitment: [u8; 32],
) -> Transaction {
    let mut tag_push = bitcoin::script::PushBytesBuf::new();
    tag_push.extend_from_slice(tag).expect("pool tags are short");
    let script_sig = bitcoin::script::Builder::new()
        .push_int(height as i64)
        .push_slice(extranonce.to_le_bytes())
        .push_slice(tag_push)
        .into_script();
    let mut commit_script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    commit_script.extend_from_slice(&commitment);
    Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[0u8; 32]]),
        }],
        output: vec![
            TxOut { value: Amount::from_sat(value), script_pubkey: payout },
            TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::from_bytes(commit_script) },
        ],
    }
}

/// A header for the block after `prev`, ground to the regtest target.
pub(crate) fn header(prev: BlockHash, time: u32, version: i32) -> Header {
    Header {
        version: BlockVersion::from_consensus(version),
        prev_blockhash: prev,
        merkle_root: TxMerkleNode::all_zeros(),
        time,
        bits: CompactTarget::from_consensus(REGTEST_BITS),
        nonce: 0,
    }
}

/// Tries nonces until the header's hash meets its target (about two tries at regtest's).
pub(crate) fn grind(header: &mut Header) -> BlockHash {
    let target = Target::from_compact(header.bits);
    loop {
        let hash = header.block_hash();
        if target.is_met_by(hash) {
            return hash;
        }
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            header.time += 1;
        }
    }
}

/// Writes records to `blk00000.dat`, `blk00001.dat`, …, starting a new file when the next
/// record would make the current one exceed the size limit.
pub(crate) struct BlockWriter {
    dir: PathBuf,
    magic: [u8; 4],
    max_file: u64,
    file_no: u32,
    file: Option<(PathBuf, BufWriter<File>)>,
    file_len: u64,
    /// Bytes written to all files.
    pub bytes: u64,
}

impl BlockWriter {
    /// A writer into `dir`, which must hold no block files yet.
    pub fn create(dir: &Path, magic: [u8; 4], max_file: u64) -> Result<BlockWriter, SimError> {
        let io = |source| SimError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("blk") && name.ends_with(".dat") {
                return Err(SimError::OutputNotEmpty { path: dir.to_owned() });
            }
        }
        Ok(BlockWriter { dir: dir.to_owned(), magic, max_file, file_no: 0, file: None, file_len: 0, bytes: 0 })
    }

    /// Appends one block's record.
    pub fn write_block(&mut self, raw: &[u8]) -> Result<(), SimError> {
        let record = 8 + raw.len() as u64;
        if self.file.is_some() && self.file_len + record > self.max_file {
            self.close_file()?;
            self.file_no += 1;
        }
        if self.file.is_none() {
            let path = self.dir.join(format!("blk{:05}.dat", self.file_no));
            let f = File::create(&path).map_err(|source| SimError::Io { path: path.clone(), source })?;
            self.file = Some((path, BufWriter::with_capacity(1 << 20, f)));
            self.file_len = 0;
        }
        let (path, w) = self.file.as_mut().expect("opened above");
        let io = |source| SimError::Io { path: path.clone(), source };
        w.write_all(&self.magic).map_err(io)?;
        w.write_all(&(raw.len() as u32).to_le_bytes()).map_err(io)?;
        w.write_all(raw).map_err(io)?;
        self.file_len += record;
        self.bytes += record;
        Ok(())
    }

    fn close_file(&mut self) -> Result<(), SimError> {
        if let Some((path, mut w)) = self.file.take() {
            w.flush().map_err(|source| SimError::Io { path: path.clone(), source })?;
        }
        Ok(())
    }

    /// Flushes the last file; returns the number of files written.
    pub fn finish(mut self) -> Result<u32, SimError> {
        let files = self.file_no + self.file.is_some() as u32;
        self.close_file()?;
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sleuth_chain::blockfile::{best_chain, BlockFileReader};
    use sleuth_chain::decode::{parse_block, ParsedBlock};

    fn coinbase_block(prev: BlockHash, height: u32, b: &mut BlockBuilder) -> (Vec<u8>, BlockHash) {
        let payout = ScriptBuf::from_bytes(vec![0x00, 20, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
        let cb = coinbase(height, SUBSIDY, payout, b"/test/", height as u64, b.witness_commitment());
        let mut h = header(prev, 1_700_000_000 + height * 600, 0x2000_0000);
        b.finish(&cb, &mut h)
    }

    #[test]
    fn ground_headers_meet_the_target() {
        let mut h = header(BlockHash::all_zeros(), 1, 0x2000_0000);
        let hash = grind(&mut h);
        assert!(Target::from_compact(h.bits).is_met_by(hash));
        assert_eq!(hash, h.block_hash());
    }

    #[test]
    fn coinbase_carries_the_bip34_height() {
        let b = BlockBuilder::default();
        for height in [1u32, 16, 17, 1000, 70_000] {
            let cb = coinbase(height, SUBSIDY, ScriptBuf::new(), b"/x/", 0, b.witness_commitment());
            // Core's check: the script starts with `CScript() << height` (OP_1..OP_16 below 17).
            let expect = bitcoin::script::Builder::new().push_int(height as i64).into_script();
            assert!(cb.input[0].script_sig.as_bytes().starts_with(expect.as_bytes()));
            assert!((2..=100).contains(&cb.input[0].script_sig.len()));
            if height > 16 {
                let block = bitcoin::Block { header: header(BlockHash::all_zeros(), 0, 0x2000_0000), txdata: vec![cb] };
                assert_eq!(block.bip34_block_height().unwrap(), height as u64);
            }
        }
    }

    #[test]
    fn witness_commitment_matches_rust_bitcoin() {
        let mut b = BlockBuilder::default();
        let tx = Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: Txid::all_zeros(), vout: 3 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[[1u8; 64]]),
            }],
            output: vec![TxOut { value: Amount::from_sat(1000), script_pubkey: ScriptBuf::new() }],
        };
        b.push(&tx, tx.compute_txid(), tx.weight().to_wu(), 0);
        let commitment = b.witness_commitment();
        let cb = coinbase(5, SUBSIDY, ScriptBuf::new(), b"/x/", 0, commitment);
        let block = bitcoin::Block { header: header(BlockHash::all_zeros(), 0, 0x2000_0000), txdata: vec![cb, tx] };
        let root = block.witness_root().unwrap();
        let expected = bitcoin::Block::compute_witness_commitment(&root, &[0u8; 32]);
        assert_eq!(commitment, expected.to_byte_array());
        let mut raw = Vec::new();
        let mut h = block.header;
        let (bytes, _) = b.finish(&block.txdata[0], &mut h);
        raw.extend_from_slice(&bytes);
        let decoded: bitcoin::Block = bitcoin::consensus::deserialize(&raw).unwrap();
        assert!(decoded.check_merkle_root());
        assert!(decoded.check_witness_commitment());
    }

    #[test]
    fn files_roll_over_before_exceeding_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let magic = sleuth_chain::Chain::Regtest.magic();
        let limit = 1000;
        let mut w = BlockWriter::create(dir.path(), magic, limit).unwrap();
        let genesis = crate::genesis_block(sleuth_chain::Chain::Regtest);
        let raw = bitcoin::consensus::serialize(&genesis);
        w.write_block(&raw).unwrap();
        let mut prev = genesis.block_hash();
        let mut b = BlockBuilder::default();
        for height in 1..=20 {
            let (raw, hash) = coinbase_block(prev, height, &mut b);
            w.write_block(&raw).unwrap();
            prev = hash;
        }
        let files = w.finish().unwrap();
        assert!(files > 3, "{files} files");
        for n in 0..files {
            let len = std::fs::metadata(dir.path().join(format!("blk{n:05}.dat"))).unwrap().len();
            assert!(len <= limit && len > limit / 2, "blk{n:05}.dat has {len} bytes");
        }
        let mut reader = BlockFileReader::open(dir.path()).unwrap();
        let scan = reader.scan_headers(Some(magic)).unwrap();
        let chain = best_chain(&scan.records, sleuth_chain::Chain::Regtest.genesis_hash()).unwrap();
        assert_eq!(chain.len(), 21);
        let mut buf = Vec::new();
        let mut parsed = ParsedBlock::default();
        for &i in &chain {
            reader.read_block(&scan.records[i].loc, &mut buf).unwrap();
            parse_block(&buf, false, &mut parsed).unwrap();
        }
        assert_eq!(parsed.hash, prev);
        assert!(matches!(BlockWriter::create(dir.path(), magic, limit), Err(SimError::OutputNotEmpty { .. })));
    }
}
