//! Reading the index: status, blocks, transactions and addresses, as serializable records
//! with amounts in integer satoshis.

use std::collections::BTreeSet;

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Txid};
use serde::{Deserialize, Serialize};
use sleuth_chain::script::{AddressKey, ScriptKind};
use sleuth_chain::{Chain, Sat};

use crate::error::{IndexError, Lookup};
use crate::hashtable::{hash_bytes, hash_random_key};
use crate::schema::{AddrId, Height, InputNum, OutputNum, TxNum, NONE32, NONE64};
use crate::view::{partition_point, View};

/// What the index holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Chain name.
    pub chain: Chain,
    /// Height of the tip (`None` for an empty index).
    pub height: Option<u32>,
    /// Hash of the tip.
    pub tip_hash: Option<String>,
    /// Blocks indexed.
    pub blocks: u64,
    /// Transactions indexed.
    pub transactions: u64,
    /// Inputs indexed (coinbase inputs included).
    pub inputs: u64,
    /// Outputs indexed.
    pub outputs: u64,
    /// Distinct addresses.
    pub addresses: u64,
}

/// A block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Height in the best chain.
    pub height: u32,
    /// Block hash.
    pub hash: String,
    /// Hash of the parent (`None` for genesis).
    pub prev_hash: Option<String>,
    /// Header timestamp (Unix seconds).
    pub time: u32,
    /// Serialized size in bytes.
    pub size: u32,
    /// Number of transactions.
    pub tx_count: u64,
    /// Txids in block order.
    pub txids: Vec<String>,
}

/// The spender of an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpentBy {
    /// Spending transaction.
    pub txid: String,
    /// Its input index.
    pub vin: u32,
    /// Height of its block.
    pub height: u32,
}

/// An input of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxInput {
    /// Txid of the spent output (`None` for a coinbase).
    pub prev_txid: Option<String>,
    /// Index of the spent output.
    pub prev_vout: Option<u32>,
    /// Address the spent output paid.
    pub address: Option<String>,
    /// Value of the spent output in satoshis (0 for a coinbase).
    pub value_sat: Sat,
}

/// An output of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxOutput {
    /// Output index.
    pub n: u32,
    /// Address paid, if the script has one.
    pub address: Option<String>,
    /// Script kind.
    pub script_type: ScriptKind,
    /// Value in satoshis.
    pub value_sat: Sat,
    /// The input spending it, if any.
    pub spent_by: Option<SpentBy>,
}

/// A transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxInfo {
    /// Txid.
    pub txid: String,
    /// Height of its block.
    pub block_height: u32,
    /// Hash of its block.
    pub block_hash: String,
    /// Block timestamp.
    pub block_time: u32,
    /// Whether it is its block's coinbase.
    pub coinbase: bool,
    /// Transaction version.
    pub version: u8,
    /// Lock time.
    pub locktime: u32,
    /// Inputs minus outputs in satoshis (0 for a coinbase).
    pub fee_sat: Sat,
    /// Sum of inputs.
    pub input_sat: Sat,
    /// Sum of outputs.
    pub output_sat: Sat,
    /// Inputs.
    pub inputs: Vec<TxInput>,
    /// Outputs.
    pub outputs: Vec<TxOutput>,
}

/// An address and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressInfo {
    /// The address.
    pub address: String,
    /// Unspent value in satoshis.
    pub balance_sat: Sat,
    /// Everything ever paid to it.
    pub received_sat: Sat,
    /// Everything spent from it.
    pub sent_sat: Sat,
    /// Distinct transactions paying or spending it.
    pub tx_count: u64,
    /// Outputs paying it.
    pub output_count: u64,
    /// Of those, unspent.
    pub unspent_count: u64,
    /// Height of its first transaction.
    pub first_seen_height: u32,
    /// Height of its last transaction.
    pub last_seen_height: u32,
}

/// A query that names a block by height or hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockRef {
    /// By height.
    Height(u32),
    /// By hash.
    Hash(BlockHash),
}

impl View<'_> {
    /// Counts and tip.
    pub fn status(&self) -> Status {
        let c = self.top;
        let tip = c.blocks.checked_sub(1);
        Status {
            chain: self.chain,
            height: tip.map(|h| h as u32),
            tip_hash: tip.map(|h| self.block_hash(Height::new(h as u32)).to_string()),
            blocks: c.blocks,
            transactions: c.txs,
            inputs: c.inputs,
            outputs: c.outputs,
            addresses: c.addrs,
        }
    }

    /// Hash of the block at `h` (which must be indexed).
    pub fn block_hash(&self, h: Height) -> BlockHash {
        BlockHash::from_byte_array(self.block_rec(h.pos()).hash)
    }

    /// Timestamp of the block at `h` (which must be indexed).
    pub fn block_time(&self, h: Height) -> u32 {
        self.block_rec(h.pos()).time
    }

    /// Height of a block by hash.
    pub fn height_of(&self, hash: &BlockHash) -> Option<Height> {
        let k = hash.to_byte_array();
        self.find_block(&k, hash_random_key(&k)).map(|h| Height::new(h as u32))
    }

    /// The transaction with this txid.
    pub fn tx_num(&self, txid: &Txid) -> Option<TxNum> {
        let k = txid.to_byte_array();
        self.find_tx(&k, hash_random_key(&k)).map(|t| TxNum::new(t as u32))
    }

    /// The address with this key.
    pub fn addr_id(&self, key: &AddressKey) -> Option<AddrId> {
        let k = key.as_bytes();
        self.find_addr(k, hash_bytes(k)).map(|a| AddrId::new(a as u32))
    }

    /// The key of address `a`.
    pub fn address_key(&self, a: AddrId) -> AddressKey {
        AddressKey::from_bytes(self.addr_key_rec(a.pos()))
    }

    /// Txid of a transaction.
    pub fn txid(&self, t: TxNum) -> Txid {
        Txid::from_byte_array(self.tx_rec(t.pos()).txid)
    }

    /// The block holding transaction `t`.
    pub fn height_of_tx(&self, t: TxNum) -> Height {
        let n = partition_point(self.top.blocks, |h| self.block_rec(h).first_tx <= t.get());
        Height::new(n as u32 - 1)
    }

    /// The transaction holding output `o`: one read of `output_tx.col`.
    #[inline]
    pub fn tx_of_output(&self, o: OutputNum) -> TxNum {
        TxNum::new(self.output_tx_rec(o.get()))
    }

    /// The transaction holding input `i`: one read of `input_tx.col`.
    #[inline]
    pub fn tx_of_input(&self, i: InputNum) -> TxNum {
        TxNum::new(self.input_tx_rec(i.get()))
    }

    /// The input spending output `o`, if one is committed in this view.
    pub fn spender(&self, o: OutputNum) -> Option<InputNum> {
        self.spender_of(o.get()).map(InputNum::new)
    }

    fn address_string(&self, addr: u32) -> Option<String> {
        (addr != NONE32).then(|| self.address_of(AddrId::new(addr)))
    }

    /// Address `a` as the chain writes it.
    pub fn address_of(&self, a: AddrId) -> String {
        sleuth_chain::address::encode(&self.address_key(a), self.chain)
    }

    /// A block with its txids.
    ///
    /// # Errors
    /// [`IndexError::NotFound`] if the index holds no such block.
    pub fn block(&self, r: BlockRef) -> Result<BlockInfo, IndexError> {
        let h = match r {
            BlockRef::Height(h) if (h as u64) < self.top.blocks => Height::new(h),
            BlockRef::Height(h) => {
                return Err(IndexError::NotFound {
                    lookup: Lookup::Height(h),
                    message: match self.top.blocks.checked_sub(1) {
                        Some(tip) => format!("no block at height {h}: the index ends at height {tip}"),
                        None => format!("no block at height {h}: the index is empty"),
                    },
                })
            }
            BlockRef::Hash(hash) => self.height_of(&hash).ok_or_else(|| IndexError::NotFound {
                lookup: Lookup::Block(hash),
                message: format!("block {hash} is not in the indexed best chain"),
            })?,
        };
        let n = h.pos();
        let b = self.block_rec(n);
        let end = if n + 1 < self.top.blocks { self.block_rec(n + 1).first_tx as u64 } else { self.top.txs };
        let txids = (b.first_tx as u64..end).map(|t| self.txid(TxNum::new(t as u32)).to_string()).collect::<Vec<_>>();
        Ok(BlockInfo {
            height: h.get(),
            hash: self.block_hash(h).to_string(),
            prev_hash: h.get().checked_sub(1).map(|p| self.block_hash(Height::new(p)).to_string()),
            time: b.time,
            size: b.size,
            tx_count: txids.len() as u64,
            txids,
        })
    }

    /// A transaction with its inputs, outputs, fee and spenders.
    ///
    /// # Errors
    /// [`IndexError::NotFound`] if the index holds no such transaction;
    /// [`IndexError::Overflow`] if its values do not add up in 64 bits.
    pub fn tx(&self, txid: &Txid) -> Result<TxInfo, IndexError> {
        let t = self.tx_num(txid).ok_or_else(|| IndexError::NotFound {
            lookup: Lookup::Tx(*txid),
            message: format!("transaction {txid} is not in the index"),
        })?;
        let h = self.height_of_tx(t);
        let (ins, outs) = (self.tx_input_range(t), self.tx_output_range(t));
        let mut inputs = Vec::with_capacity(ins.clone().count());
        let mut coinbase = false;
        for i in ins {
            let o = self.input_rec(i);
            if o == NONE64 {
                coinbase = true;
                inputs.push(TxInput { prev_txid: None, prev_vout: None, address: None, value_sat: Sat::ZERO });
                continue;
            }
            let rec = self.output_rec(o);
            // The input's copy of what it spends must be the output's own record: both are
            // read here, so every transaction shown checks the copy.
            let spent = self.input_spent_rec(i);
            if spent != crate::schema::SpentRec::of(&rec) {
                crate::Damaged::raise(
                    self.dir,
                    format!(
                        "input_spent.col: input {i} holds value {} address {} kind {}, and the output it spends, \
                         {o}, holds value {} address {} kind {}",
                        spent.value, spent.addr, spent.kind, rec.value, rec.addr, rec.kind
                    ),
                    "delete the data dir and ingest again",
                );
            }
            let pt = self.tx_of_output(OutputNum::new(o));
            inputs.push(TxInput {
                prev_txid: Some(self.txid(pt).to_string()),
                prev_vout: Some((o - self.tx_rec(pt.pos()).first_output) as u32),
                address: self.address_string(rec.addr),
                value_sat: Sat::new(rec.value),
            });
        }
        let first_out = outs.start;
        let outputs: Vec<TxOutput> = outs
            .map(|o| {
                let rec = self.output_rec(o);
                let spent_by = self.spender(OutputNum::new(o)).map(|i| {
                    let st = self.tx_of_input(i);
                    SpentBy {
                        txid: self.txid(st).to_string(),
                        vin: (i.get() - self.tx_rec(st.pos()).first_input) as u32,
                        height: self.height_of_tx(st).get(),
                    }
                });
                TxOutput {
                    n: (o - first_out) as u32,
                    address: self.address_string(rec.addr),
                    script_type: ScriptKind::from_u8(rec.kind).unwrap_or(ScriptKind::NonStandard),
                    value_sat: Sat::new(rec.value),
                    spent_by,
                }
            })
            .collect();
        let overflow = |what: &str| IndexError::Overflow { what: format!("the {what} of transaction {txid}") };
        let input_sat = Sat::checked_sum(inputs.iter().map(|i| i.value_sat)).ok_or_else(|| overflow("inputs"))?;
        let output_sat = Sat::checked_sum(outputs.iter().map(|o| o.value_sat)).ok_or_else(|| overflow("outputs"))?;
        let b = self.block_rec(h.pos());
        let fingerprint = self.tx_fingerprint(t);
        Ok(TxInfo {
            txid: txid.to_string(),
            block_height: h.get(),
            block_hash: self.block_hash(h).to_string(),
            block_time: b.time,
            coinbase,
            version: fingerprint.version,
            locktime: fingerprint.locktime,
            fee_sat: if coinbase { Sat::ZERO } else { input_sat.saturating_sub(output_sat) },
            input_sat,
            output_sat,
            inputs,
            outputs,
        })
    }

    /// Outputs paying address `a`, newest first, as of this view's commit.
    pub fn address_outputs(&self, a: AddrId) -> impl Iterator<Item = OutputNum> + '_ {
        let mut next = self.head_of(a.pos());
        std::iter::from_fn(move || {
            (next != NONE64).then(|| {
                let o = next;
                next = self.output_rec(o).prev_same_addr;
                OutputNum::new(o)
            })
        })
    }

    /// Balance and history of an address.
    ///
    /// # Errors
    /// [`IndexError::NotFound`] if no indexed output pays it; [`IndexError::Overflow`] if
    /// its values do not add up in 64 bits.
    pub fn address(&self, key: &AddressKey) -> Result<AddressInfo, IndexError> {
        let address = sleuth_chain::address::encode(key, self.chain);
        let a = self.addr_id(key).ok_or_else(|| IndexError::not_found_address(&address))?;
        let overflow = || IndexError::Overflow { what: format!("the outputs of address {address}") };
        let (mut received, mut sent, mut balance) = (Sat::ZERO, Sat::ZERO, Sat::ZERO);
        let (mut output_count, mut unspent_count) = (0, 0);
        let mut txs = BTreeSet::new();
        for o in self.address_outputs(a) {
            let v = Sat::new(self.output_rec(o.get()).value);
            received = received.checked_add(v).ok_or_else(overflow)?;
            output_count += 1;
            txs.insert(self.tx_of_output(o));
            match self.spender(o) {
                Some(i) => {
                    sent = sent.checked_add(v).ok_or_else(overflow)?;
                    txs.insert(self.tx_of_input(i));
                }
                None => {
                    balance = balance.checked_add(v).ok_or_else(overflow)?;
                    unspent_count += 1;
                }
            }
        }
        Ok(AddressInfo {
            balance_sat: balance,
            received_sat: received,
            sent_sat: sent,
            tx_count: txs.len() as u64,
            output_count,
            unspent_count,
            first_seen_height: txs.first().map_or(0, |&t| self.height_of_tx(t).get()),
            last_seen_height: txs.last().map_or(0, |&t| self.height_of_tx(t).get()),
            address,
        })
    }
}
