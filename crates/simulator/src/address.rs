//! Synthetic keys and addresses.
//!
//! An address is a pure function of the seed, its owner and its index in the owner's wallet,
//! like an HD wallet's derivation path: nothing about addresses is stored besides the index,
//! and an address that is used again has the same script and the same public key. Public keys
//! hash to their addresses as on a real chain; signatures are random bytes of DER size.

use bitcoin::hashes::{hash160, sha256, Hash};
use bitcoin::{ScriptBuf, Witness};
use rand::Rng;
use sleuth_chain::AddressKey;

/// The script types wallets use, with the share of users that prefer each in [`AddrKind::pick`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum AddrKind {
    /// Legacy pay-to-pubkey-hash (`1…`).
    P2pkh = 0,
    /// Nested segwit: P2WPKH wrapped in P2SH (`3…`).
    P2shP2wpkh = 1,
    /// Native segwit v0 key hash (`bc1q…`).
    P2wpkh = 2,
    /// Taproot key path (`bc1p…`).
    P2tr = 3,
    /// 2-of-3 multisig in P2WSH, as exchange cold wallets use.
    P2wsh = 4,
}

impl AddrKind {
    /// A script type for a new wallet, in proportions close to what outputs on Bitcoin carried
    /// in 2023–2024: native segwit first, then legacy, nested segwit and taproot.
    pub fn pick(rng: &mut impl Rng) -> AddrKind {
        match rng.gen_range(0..100) {
            0..=44 => AddrKind::P2wpkh,
            45..=64 => AddrKind::P2pkh,
            65..=84 => AddrKind::P2shP2wpkh,
            _ => AddrKind::P2tr,
        }
    }

    /// Weight units of an output of this type.
    pub fn output_weight(self) -> u64 {
        4 * (8 + 1 + self.script_len() as u64)
    }

    /// Length of the output script.
    pub fn script_len(self) -> usize {
        match self {
            AddrKind::P2pkh => 25,
            AddrKind::P2shP2wpkh => 23,
            AddrKind::P2wpkh => 22,
            AddrKind::P2tr | AddrKind::P2wsh => 34,
        }
    }

    /// Upper bound of the weight units of an input spending this type (72-byte signatures).
    pub fn input_weight(self) -> u64 {
        // outpoint 36 + sequence 4 + script length 1 = 41 bytes, then script and witness.
        match self {
            AddrKind::P2pkh => 4 * (41 + 1 + 72 + 1 + 33),
            AddrKind::P2shP2wpkh => 4 * (41 + 23) + (1 + 1 + 72 + 1 + 33),
            AddrKind::P2wpkh => 4 * 41 + (1 + 1 + 72 + 1 + 33),
            AddrKind::P2tr => 4 * 41 + (1 + 1 + 64),
            AddrKind::P2wsh => 4 * 41 + (1 + 1 + 1 + 72 + 1 + 72 + 1 + 105),
        }
    }

    /// Smallest output value of this type that relays (Core's dust limit at 3 sat/vB).
    pub fn dust(self) -> u64 {
        match self {
            AddrKind::P2pkh => 546,
            AddrKind::P2shP2wpkh => 540,
            AddrKind::P2wpkh => 294,
            AddrKind::P2tr | AddrKind::P2wsh => 330,
        }
    }
}

/// An address: the `index`-th key of `entity`'s wallet, of script type `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addr {
    /// Owner, an index into the entity table.
    pub entity: u32,
    /// Position in the owner's key chain.
    pub index: u32,
    /// Script type.
    pub kind: AddrKind,
}

/// Derives keys, scripts and spending data from the seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    seed: u64,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Keys {
    /// Keys of the run with this seed.
    pub fn new(seed: u64) -> Keys {
        Keys { seed: splitmix(seed ^ 0x5eed_5eed) }
    }

    /// 32 pseudo-random bytes for key number `n` of `addr`.
    fn material(&self, addr: &Addr, n: u64) -> [u8; 32] {
        let mut s = self.seed
            ^ splitmix((addr.entity as u64) << 32 | addr.index as u64)
            ^ splitmix((addr.kind as u64) << 8 | n);
        let mut out = [0u8; 32];
        for chunk in out.chunks_exact_mut(8) {
            s = splitmix(s);
            chunk.copy_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Compressed public key number `n` of `addr`.
    fn pubkey(&self, addr: &Addr, n: u64) -> [u8; 33] {
        let m = self.material(addr, n);
        let mut pk = [0u8; 33];
        pk[0] = 2 | (m[31] & 1);
        pk[1..].copy_from_slice(&m);
        pk
    }

    /// The 2-of-3 witness script of a P2WSH address.
    fn multisig_script(&self, addr: &Addr) -> Vec<u8> {
        let mut s = Vec::with_capacity(105);
        s.push(0x52);
        for n in 0..3 {
            s.push(33);
            s.extend_from_slice(&self.pubkey(addr, n));
        }
        s.extend_from_slice(&[0x53, 0xae]);
        s
    }

    /// The witness program or hash an output script of `addr` carries.
    fn payload(&self, addr: &Addr) -> ([u8; 32], usize) {
        let mut out = [0u8; 32];
        match addr.kind {
            AddrKind::P2pkh | AddrKind::P2wpkh => {
                out[..20].copy_from_slice(&hash160::Hash::hash(&self.pubkey(addr, 0)).to_byte_array());
                (out, 20)
            }
            AddrKind::P2shP2wpkh => {
                out[..20].copy_from_slice(&hash160::Hash::hash(&self.redeem_script(addr)).to_byte_array());
                (out, 20)
            }
            AddrKind::P2tr => {
                out.copy_from_slice(&self.pubkey(addr, 0)[1..]);
                (out, 32)
            }
            AddrKind::P2wsh => {
                out.copy_from_slice(&sha256::Hash::hash(&self.multisig_script(addr)).to_byte_array());
                (out, 32)
            }
        }
    }

    /// `OP_0 <20-byte key hash>`, the redeem script of a nested-segwit address.
    fn redeem_script(&self, addr: &Addr) -> [u8; 22] {
        let mut r = [0u8; 22];
        r[0] = 0x00;
        r[1] = 20;
        r[2..].copy_from_slice(&hash160::Hash::hash(&self.pubkey(addr, 0)).to_byte_array());
        r
    }

    /// The output script paying `addr`.
    pub fn script_pubkey(&self, addr: &Addr) -> ScriptBuf {
        self.output(addr).0
    }

    /// The chain-independent key of `addr`, as `sleuth_chain::script::classify` derives it.
    pub fn address_key(&self, addr: &Addr) -> AddressKey {
        self.output(addr).1
    }

    /// The output script paying `addr` and its address key, hashing the key once.
    pub fn output(&self, addr: &Addr) -> (ScriptBuf, AddressKey) {
        let (p, len) = self.payload(addr);
        let program = &p[..len];
        let h20: &[u8; 20] = p[..20].try_into().expect("20 bytes");
        let mut s = Vec::with_capacity(addr.kind.script_len());
        let key = match addr.kind {
            AddrKind::P2pkh => {
                s.extend_from_slice(&[0x76, 0xa9, 20]);
                s.extend_from_slice(program);
                s.extend_from_slice(&[0x88, 0xac]);
                AddressKey::pubkey_hash(h20)
            }
            AddrKind::P2shP2wpkh => {
                s.extend_from_slice(&[0xa9, 20]);
                s.extend_from_slice(program);
                s.push(0x87);
                AddressKey::script_hash(h20)
            }
            AddrKind::P2wpkh | AddrKind::P2wsh => {
                s.extend_from_slice(&[0x00, len as u8]);
                s.extend_from_slice(program);
                AddressKey::witness(0, program).expect("v0 programs of 20 or 32 bytes")
            }
            AddrKind::P2tr => {
                s.extend_from_slice(&[0x51, 32]);
                s.extend_from_slice(program);
                AddressKey::witness(1, program).expect("v1 program of 32 bytes")
            }
        };
        (ScriptBuf::from_bytes(s), key)
    }

    /// The script signature and witness that spend an output of `addr`. `low_r` gives the
    /// 71-byte signatures of wallets that grind for a low R value, as Bitcoin Core does.
    pub fn spend(&self, addr: &Addr, low_r: bool, rng: &mut impl Rng) -> (ScriptBuf, Witness) {
        match addr.kind {
            AddrKind::P2pkh => {
                let sig = der_signature(low_r, rng);
                let pk = self.pubkey(addr, 0);
                let mut s = Vec::with_capacity(2 + sig.len() + 33);
                s.push(sig.len() as u8);
                s.extend_from_slice(&sig);
                s.push(33);
                s.extend_from_slice(&pk);
                (ScriptBuf::from_bytes(s), Witness::new())
            }
            AddrKind::P2shP2wpkh => {
                let redeem = self.redeem_script(addr);
                let mut s = Vec::with_capacity(23);
                s.push(22);
                s.extend_from_slice(&redeem);
                let w = Witness::from_slice(&[&der_signature(low_r, rng)[..], &self.pubkey(addr, 0)[..]]);
                (ScriptBuf::from_bytes(s), w)
            }
            AddrKind::P2wpkh => {
                let w = Witness::from_slice(&[&der_signature(low_r, rng)[..], &self.pubkey(addr, 0)[..]]);
                (ScriptBuf::new(), w)
            }
            AddrKind::P2tr => {
                let mut sig = [0u8; 64];
                rng.fill(&mut sig[..]);
                (ScriptBuf::new(), Witness::from_slice(&[&sig[..]]))
            }
            AddrKind::P2wsh => {
                let w = Witness::from_slice(&[
                    &[][..],
                    &der_signature(low_r, rng)[..],
                    &der_signature(low_r, rng)[..],
                    &self.multisig_script(addr)[..],
                ]);
                (ScriptBuf::new(), w)
            }
        }
    }
}

/// A DER-encoded ECDSA signature with `SIGHASH_ALL`: 71 bytes with a low R, else 71 or 72.
fn der_signature(low_r: bool, rng: &mut impl Rng) -> Vec<u8> {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    rng.fill(&mut r);
    rng.fill(&mut s);
    // Low S (BIP62/BIP146), and no leading zero byte so that the lengths are exact.
    s[0] = (s[0] & 0x7f).max(1);
    r[0] = r[0].max(1);
    if low_r {
        r[0] &= 0x7f;
        r[0] = r[0].max(1);
    }
    let r_pad = r[0] >= 0x80;
    let r_len = 32 + r_pad as usize;
    let mut sig = Vec::with_capacity(72);
    sig.extend_from_slice(&[0x30, (4 + r_len + 32) as u8, 0x02, r_len as u8]);
    if r_pad {
        sig.push(0);
    }
    sig.extend_from_slice(&r);
    sig.extend_from_slice(&[0x02, 32]);
    sig.extend_from_slice(&s);
    sig.push(0x01);
    sig
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use sleuth_chain::script::classify;

    const KINDS: [AddrKind; 5] =
        [AddrKind::P2pkh, AddrKind::P2shP2wpkh, AddrKind::P2wpkh, AddrKind::P2tr, AddrKind::P2wsh];

    #[test]
    fn scripts_classify_to_the_derived_key() {
        let keys = Keys::new(7);
        for kind in KINDS {
            let a = Addr { entity: 3, index: 9, kind };
            let spk = keys.script_pubkey(&a);
            assert_eq!(spk.len(), kind.script_len());
            assert_eq!(classify(spk.as_bytes()).1, Some(keys.address_key(&a)), "{kind:?}");
            assert_eq!(keys.script_pubkey(&a), spk, "deterministic");
        }
        let a = Addr { entity: 3, index: 9, kind: AddrKind::P2wpkh };
        let b = Addr { index: 10, ..a };
        assert_ne!(keys.script_pubkey(&a), keys.script_pubkey(&b));
        assert_ne!(Keys::new(8).script_pubkey(&a), keys.script_pubkey(&a));
    }

    #[test]
    fn public_keys_hash_to_their_address() {
        let keys = Keys::new(1);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = Addr { entity: 1, index: 2, kind: AddrKind::P2wpkh };
        let (_, w) = keys.spend(&a, true, &mut rng);
        let pk = w.nth(1).unwrap();
        assert_eq!(&keys.script_pubkey(&a).as_bytes()[2..], hash160::Hash::hash(pk).as_byte_array());
        let a = Addr { kind: AddrKind::P2pkh, ..a };
        let (sig, _) = keys.spend(&a, true, &mut rng);
        assert_eq!(
            &keys.script_pubkey(&a).as_bytes()[3..23],
            hash160::Hash::hash(&sig.as_bytes()[73..]).as_byte_array()
        );
    }

    #[test]
    fn input_weights_are_upper_bounds() {
        let keys = Keys::new(1);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for kind in KINDS {
            for low_r in [true, false] {
                let a = Addr { entity: 0, index: 0, kind };
                let (script, witness) = keys.spend(&a, low_r, &mut rng);
                let base = 41 + script.len() as u64;
                let wit = if witness.is_empty() { 0 } else { witness.size() as u64 };
                assert!(4 * base + wit <= kind.input_weight(), "{kind:?}");
                assert!(4 * base + wit + 8 >= kind.input_weight(), "{kind:?} estimate is tight");
            }
        }
    }

    #[test]
    fn signatures_are_der_sized() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for _ in 0..100 {
            assert_eq!(der_signature(true, &mut rng).len(), 71);
            let l = der_signature(false, &mut rng).len();
            assert!(l == 71 || l == 72);
        }
    }
}
