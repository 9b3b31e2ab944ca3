//! Output-script classification: what kind of script locks an output and which address, if
//! any, it pays.

use bitcoin::hashes::{hash160, Hash};
use bitcoin::Script;
use serde::{Deserialize, Serialize};

/// The kind of an output script, as Bitcoin Core's `Solver` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ScriptKind {
    /// Neither standard nor recognised.
    NonStandard = 0,
    /// Pay to a bare public key; indexed under the key's P2PKH address.
    P2pk = 1,
    /// Pay to public-key hash.
    P2pkh = 2,
    /// Pay to script hash.
    P2sh = 3,
    /// SegWit v0 key hash.
    P2wpkh = 4,
    /// SegWit v0 script hash.
    P2wsh = 5,
    /// Taproot (SegWit v1, 32-byte program).
    P2tr = 6,
    /// A witness program of a version without meaning yet (Litecoin's MWEB peg-ins use v9).
    WitnessUnknown = 7,
    /// Bare `m-of-n OP_CHECKMULTISIG`.
    Multisig = 8,
    /// `OP_RETURN` data carrier; unspendable.
    OpReturn = 9,
}

impl ScriptKind {
    /// The kind stored as byte `b` in the index.
    pub fn from_u8(b: u8) -> Option<ScriptKind> {
        use ScriptKind::*;
        Some(match b {
            0 => NonStandard,
            1 => P2pk,
            2 => P2pkh,
            3 => P2sh,
            4 => P2wpkh,
            5 => P2wsh,
            6 => P2tr,
            7 => WitnessUnknown,
            8 => Multisig,
            9 => OpReturn,
            _ => return None,
        })
    }
}

/// Length of an [`AddressKey`] in bytes.
pub const ADDRESS_KEY_LEN: usize = 34;

/// A chain-independent, fixed-width identity of an address: its kind, the payload length and
/// the payload (hash or witness program), zero-padded to 32 bytes. The same key renders as
/// `1…` on Bitcoin and `L…` on Litecoin.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressKey([u8; ADDRESS_KEY_LEN]);

/// What an [`AddressKey`] pays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPayload<'a> {
    /// Base58 pay-to-pubkey-hash (also the home of P2PK outputs).
    PubkeyHash(&'a [u8; 20]),
    /// Base58 pay-to-script-hash.
    ScriptHash(&'a [u8; 20]),
    /// A segwit program of the given version (0–16).
    Witness {
        /// Witness version.
        version: u8,
        /// Witness program, 2 to 32 bytes.
        program: &'a [u8],
    },
}

const KEY_PKH: u8 = 1;
const KEY_SH: u8 = 2;
/// Witness keys are `KEY_WITNESS_BASE + version`.
const KEY_WITNESS_BASE: u8 = 0x10;

impl AddressKey {
    fn new(kind: u8, payload: &[u8]) -> AddressKey {
        debug_assert!(payload.len() <= 32);
        let mut k = [0u8; ADDRESS_KEY_LEN];
        k[0] = kind;
        k[1] = payload.len() as u8;
        k[2..2 + payload.len()].copy_from_slice(payload);
        AddressKey(k)
    }

    /// A pay-to-pubkey-hash key.
    pub fn pubkey_hash(hash: &[u8; 20]) -> AddressKey {
        AddressKey::new(KEY_PKH, hash)
    }

    /// A pay-to-script-hash key.
    pub fn script_hash(hash: &[u8; 20]) -> AddressKey {
        AddressKey::new(KEY_SH, hash)
    }

    /// A segwit key; `None` when the program is longer than 32 bytes (no standard address
    /// of today's has one) or the version is above 16.
    pub fn witness(version: u8, program: &[u8]) -> Option<AddressKey> {
        (version <= 16 && (2..=32).contains(&program.len()))
            .then(|| AddressKey::new(KEY_WITNESS_BASE + version, program))
    }

    /// The key's raw bytes, as stored in the index.
    pub fn as_bytes(&self) -> &[u8; ADDRESS_KEY_LEN] {
        &self.0
    }

    /// A key from bytes stored by [`AddressKey::as_bytes`].
    pub fn from_bytes(bytes: [u8; ADDRESS_KEY_LEN]) -> AddressKey {
        AddressKey(bytes)
    }

    /// What the key pays to.
    pub fn payload(&self) -> AddressPayload<'_> {
        let len = self.0[1] as usize;
        match self.0[0] {
            KEY_PKH => AddressPayload::PubkeyHash(self.0[2..22].try_into().expect("20 bytes")),
            KEY_SH => AddressPayload::ScriptHash(self.0[2..22].try_into().expect("20 bytes")),
            k => AddressPayload::Witness {
                version: k.wrapping_sub(KEY_WITNESS_BASE),
                program: &self.0[2..2 + len.min(32)],
            },
        }
    }
}

impl std::fmt::Debug for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AddressKey({:?})", self.payload())
    }
}

/// Classifies an output script and derives the address it pays, if any.
///
/// P2PK outputs get the P2PKH address of their public key, as block explorers show them;
/// bare multisig, `OP_RETURN` and non-standard scripts get none.
pub fn classify(script: &[u8]) -> (ScriptKind, Option<AddressKey>) {
    let s = Script::from_bytes(script);
    if s.is_p2pkh() {
        let h: &[u8; 20] = script[3..23].try_into().expect("p2pkh has a 20-byte hash");
        return (ScriptKind::P2pkh, Some(AddressKey::pubkey_hash(h)));
    }
    if s.is_p2wpkh() {
        return (ScriptKind::P2wpkh, AddressKey::witness(0, &script[2..]));
    }
    if s.is_p2sh() {
        let h: &[u8; 20] = script[2..22].try_into().expect("p2sh has a 20-byte hash");
        return (ScriptKind::P2sh, Some(AddressKey::script_hash(h)));
    }
    if s.is_p2wsh() {
        return (ScriptKind::P2wsh, AddressKey::witness(0, &script[2..]));
    }
    if s.is_p2tr() {
        return (ScriptKind::P2tr, AddressKey::witness(1, &script[2..]));
    }
    if let Some(key) = p2pk_key(script) {
        let h = hash160::Hash::hash(key).to_byte_array();
        return (ScriptKind::P2pk, Some(AddressKey::pubkey_hash(&h)));
    }
    if s.is_op_return() {
        return (ScriptKind::OpReturn, None);
    }
    if let Some(v) = s.witness_version() {
        // Any other valid witness program: v0 of an odd length is invalid and stays
        // non-standard, as Core's Solver has it.
        let version = v.to_num();
        if version != 0 {
            return match AddressKey::witness(version, &script[2..]) {
                Some(k) => (ScriptKind::WitnessUnknown, Some(k)),
                None => (ScriptKind::WitnessUnknown, None),
            };
        }
    }
    if is_bare_multisig(script) {
        return (ScriptKind::Multisig, None);
    }
    (ScriptKind::NonStandard, None)
}

/// The public key of `<33 or 65 byte key> OP_CHECKSIG`, with Core's `CPubKey::ValidSize` check
/// on the first byte.
fn p2pk_key(script: &[u8]) -> Option<&[u8]> {
    match script {
        [33, key @ .., 0xac] if key.len() == 33 && matches!(key[0], 2 | 3) => Some(key),
        [65, key @ .., 0xac] if key.len() == 65 && matches!(key[0], 4 | 6 | 7) => Some(key),
        _ => None,
    }
}

/// `OP_m <pubkey>... OP_n OP_CHECKMULTISIG` with 1 ≤ m ≤ n ≤ 16 and n keys of valid size.
fn is_bare_multisig(script: &[u8]) -> bool {
    let (Some(&first), Some(&[n_op, 0xae])) = (script.first(), script.len().checked_sub(2).map(|i| &script[i..]))
    else {
        return false;
    };
    let small = |op: u8| (0x51..=0x60).contains(&op).then(|| op - 0x50);
    let (Some(m), Some(n)) = (small(first), small(n_op)) else {
        return false;
    };
    if m > n {
        return false;
    }
    let mut keys = 0;
    let mut i = 1;
    let end = script.len() - 2;
    while i < end {
        let len = script[i] as usize;
        if !(len == 33 || len == 65) || i + 1 + len > end {
            return false;
        }
        i += 1 + len;
        keys += 1;
    }
    i == end && keys == n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn classifies_standard_scripts() {
        let pkh = hex("76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac");
        assert_eq!(classify(&pkh).0, ScriptKind::P2pkh);
        let sh = hex("a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87");
        assert_eq!(classify(&sh).0, ScriptKind::P2sh);
        let wpkh = hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        assert_eq!(classify(&wpkh).0, ScriptKind::P2wpkh);
        let tr = hex("5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c");
        assert_eq!(classify(&tr).0, ScriptKind::P2tr);
        let ret = hex("6a0568656c6c6f");
        assert_eq!(classify(&ret), (ScriptKind::OpReturn, None));
        let v9 = hex("5920").into_iter().chain([7u8; 32]).collect::<Vec<_>>();
        assert_eq!(classify(&v9).0, ScriptKind::WitnessUnknown);
        assert_eq!(classify(&[0x51]).0, ScriptKind::NonStandard);
    }

    #[test]
    fn p2pk_is_keyed_by_its_pubkey_hash() {
        // The genesis coinbase output.
        let script = hex("4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac");
        let (kind, key) = classify(&script);
        assert_eq!(kind, ScriptKind::P2pk);
        let key = key.unwrap();
        let AddressPayload::PubkeyHash(h) = key.payload() else { panic!() };
        assert_eq!(h, &hash160::Hash::hash(&script[1..66]).to_byte_array());
    }

    #[test]
    fn bare_multisig() {
        let mut s = vec![0x51, 33];
        s.extend([2u8; 33]);
        s.extend([0x51, 0xae]);
        assert_eq!(classify(&s), (ScriptKind::Multisig, None));
        s[0] = 0x52; // 2-of-1 is not multisig
        assert_eq!(classify(&s).0, ScriptKind::NonStandard);
    }
}
