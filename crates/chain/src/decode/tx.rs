//! One transaction: outpoints, outputs and the txid, without copying scripts.

use bitcoin::hashes::{sha256d, Hash, HashEngine};
use bitcoin::Txid;

use super::cursor::Cursor;
use super::parsed::{ParsedInput, ParsedOutput, ParsedTx, SequenceKind};
use super::DecodeError;
use crate::script::classify;

/// Segwit flag bit: witness data follows the outputs.
const FLAG_WITNESS: u8 = 0x01;
/// Litecoin flag bit: an MWEB transaction body follows the witnesses.
const FLAG_MWEB: u8 = 0x08;

/// What the block decoder needs to know of a transaction beyond its records.
pub(crate) struct TxTail {
    /// The transaction set the MWEB flag (Litecoin's HogEx does).
    pub(crate) mweb: bool,
    /// Byte range of the first input's script in the block (the coinbase's, in the first tx).
    pub(crate) first_script: (usize, usize),
}

/// Decodes the transaction at the cursor, appending its inputs and outputs.
pub(crate) fn parse_tx(
    c: &mut Cursor<'_>,
    tx_index: usize,
    allow_mweb: bool,
    txs: &mut Vec<ParsedTx>,
    inputs: &mut Vec<ParsedInput>,
    outputs: &mut Vec<ParsedOutput>,
) -> Result<TxTail, DecodeError> {
    let version = c.take(4, "tx version")?;
    let mut flag = 0u8;
    if c.peek(0) == Some(0) && c.peek(1).is_some_and(|f| f != 0) {
        let at = c.pos + 1;
        c.take(1, "segwit marker")?;
        flag = c.u8("segwit flag")?;
        let known = FLAG_WITNESS | if allow_mweb { FLAG_MWEB } else { 0 };
        if flag & !known != 0 {
            return Err(DecodeError::BadFlag { tx_index, flag, at });
        }
    }
    // The txid covers version | inputs | outputs | locktime: no marker, flag or witness.
    let body_start = c.pos;
    let n_in = c.count("input count", 41)?;
    let mut sequences = None;
    // BIP69 ordering, a wallet fingerprint: inputs by previous txid (as displayed, i.e. the
    // reversed bytes) then index; outputs by value then script.
    let mut bip69 = true;
    let mut prev_outpoint: Option<&[u8]> = None;
    let mut first_script = (0, 0);
    for k in 0..n_in {
        let prev = c.take(36, "outpoint")?;
        if let Some(last) = prev_outpoint {
            bip69 &= outpoint_order(last, prev).is_le();
        }
        prev_outpoint = Some(prev);
        let script = c.bytes("input script")?;
        if k == 0 {
            first_script = (c.pos - script.len(), c.pos);
        }
        sequences = SequenceKind::fold(sequences, c.u32("sequence")?);
        inputs.push(ParsedInput {
            prev_txid: Txid::from_byte_array(prev[..32].try_into().expect("32 bytes")),
            prev_vout: u32::from_le_bytes(prev[32..36].try_into().expect("4 bytes")),
        });
    }
    let n_out = c.count("output count", 9)?;
    let mut prev_output: Option<(u64, &[u8])> = None;
    for _ in 0..n_out {
        let value = c.u64("output value")?;
        let script = c.bytes("output script")?;
        if let Some(last) = prev_output {
            bip69 &= last <= (value, script);
        }
        prev_output = Some((value, script));
        let (kind, address) = classify(script);
        outputs.push(ParsedOutput { value, kind, address });
    }
    let body_end = c.pos;
    if flag & FLAG_WITNESS != 0 {
        for _ in 0..n_in {
            let items = c.count("witness item count", 1)?;
            for _ in 0..items {
                c.bytes("witness item")?;
            }
        }
    }
    if flag & FLAG_MWEB != 0 {
        let at = c.pos;
        if c.u8("mweb tx presence")? != 0 {
            return Err(DecodeError::MwebBody { tx_index, at });
        }
    }
    let locktime = c.take(4, "locktime")?;

    let mut engine = sha256d::Hash::engine();
    engine.input(version);
    engine.input(&c.buf[body_start..body_end]);
    engine.input(locktime);
    let txid = Txid::from_raw_hash(sha256d::Hash::from_engine(engine));
    txs.push(ParsedTx {
        txid,
        n_inputs: n_in as u32,
        n_outputs: n_out as u32,
        segwit: flag & FLAG_WITNESS != 0,
        version: i32::from_le_bytes(version.try_into().expect("4 bytes")),
        locktime: u32::from_le_bytes(locktime.try_into().expect("4 bytes")),
        sequences: sequences.unwrap_or(SequenceKind::Final),
        bip69,
    });
    Ok(TxTail { mweb: flag & FLAG_MWEB != 0, first_script })
}

/// BIP69's order of two serialized outpoints: txid bytes reversed, then the index.
fn outpoint_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let vout = |o: &[u8]| u32::from_le_bytes(o[32..36].try_into().expect("4 bytes"));
    a[..32].iter().rev().cmp(b[..32].iter().rev()).then(vout(a).cmp(&vout(b)))
}
