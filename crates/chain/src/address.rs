//! Address strings: rendering an [`AddressKey`] with a chain's own prefixes, and parsing what
//! a user types back into a key.

use bitcoin::base58;
use bitcoin::bech32::{self, Fe32, Hrp};

use crate::params::Chain;
use crate::script::{AddressKey, AddressPayload};

/// An address string that does not belong to the chain or does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// Neither valid base58check nor valid bech32/bech32m.
    #[error("{address:?} is not a valid address: {reason}")]
    Invalid {
        /// The string as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Valid, but with another chain's prefix.
    #[error("{address:?} is not a {chain} address (its prefix belongs to another chain); query an index of its chain")]
    WrongChain {
        /// The string as given.
        address: String,
        /// The chain of the index.
        chain: Chain,
    },
}

/// Renders `key` as `chain` writes it: base58 with the chain's version bytes, or bech32
/// (v0) / bech32m (v1+) with the chain's human-readable part.
pub fn encode(key: &AddressKey, chain: Chain) -> String {
    let p = chain.prefixes();
    match key.payload() {
        AddressPayload::PubkeyHash(h) => base58_check(p.p2pkh, h),
        AddressPayload::ScriptHash(h) => base58_check(p.p2sh, h),
        AddressPayload::Witness { version, program } => {
            let hrp = Hrp::parse(p.hrp).expect("chain hrps are valid");
            let v = Fe32::try_from(version).expect("witness versions are 0..=16");
            bech32::segwit::encode(hrp, v, program).expect("programs of 2..=32 bytes encode")
        }
    }
}

fn base58_check(version: u8, hash: &[u8; 20]) -> String {
    let mut data = [0u8; 21];
    data[0] = version;
    data[1..].copy_from_slice(hash);
    base58::encode_check(&data)
}

/// The longest string [`decode`] reads: a segwit address is at most 90 characters (BIP-173's
/// limit on bech32 strings), a base58check address of a 21-byte payload at most 35.
///
/// Checked first because base58 decoding is quadratic in the string's length: without the
/// bound a 131,071-character argument took 13.5 s to refuse.
pub const MAX_ADDRESS_LEN: usize = 90;

/// Parses an address of `chain` into its key.
///
/// # Errors
/// [`AddressError::Invalid`] for a string that is no address (including one longer than
/// [`MAX_ADDRESS_LEN`]), [`AddressError::WrongChain`] for one with another chain's prefix.
pub fn decode(address: &str, chain: Chain) -> Result<AddressKey, AddressError> {
    if address.len() > MAX_ADDRESS_LEN {
        let mut shown: String = address.chars().take(16).collect();
        shown.push('…');
        return Err(AddressError::Invalid {
            address: shown,
            reason: format!("{} characters, and no address has more than {MAX_ADDRESS_LEN}", address.len()),
        });
    }
    let invalid = |reason: String| AddressError::Invalid { address: address.to_owned(), reason };
    let wrong = || AddressError::WrongChain { address: address.to_owned(), chain };
    let p = chain.prefixes();
    let lower = address.to_ascii_lowercase();
    if lower.starts_with(&format!("{}1", p.hrp)) {
        let (hrp, version, program) = bech32::segwit::decode(address).map_err(|e| invalid(e.to_string()))?;
        if hrp.to_lowercase() != p.hrp {
            return Err(wrong());
        }
        return AddressKey::witness(version.to_u8(), &program)
            .ok_or_else(|| invalid("witness program longer than 32 bytes".into()));
    }
    match base58::decode_check(address) {
        Ok(data) if data.len() == 21 => {
            let hash: &[u8; 20] = data[1..].try_into().expect("21 bytes");
            if data[0] == p.p2pkh {
                Ok(AddressKey::pubkey_hash(hash))
            } else if data[0] == p.p2sh || chain.legacy_p2sh_versions().contains(&data[0]) {
                Ok(AddressKey::script_hash(hash))
            } else {
                Err(wrong())
            }
        }
        Ok(data) => Err(invalid(format!("base58 payload of {} bytes, expected 21", data.len()))),
        Err(e) => {
            if bech32::segwit::decode(address).is_ok() {
                Err(wrong())
            } else {
                Err(invalid(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::classify;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn genesis_p2pk_renders_as_satoshis_address() {
        let script = hex("4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac");
        let key = classify(&script).1.unwrap();
        assert_eq!(encode(&key, Chain::Bitcoin), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    }

    #[test]
    fn round_trips_with_each_chains_prefixes() {
        for (chain, addr) in [
            (Chain::Bitcoin, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            (Chain::Bitcoin, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
            (Chain::Bitcoin, "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"),
            (Chain::LitecoinRegtest, "rltc1q0gt4leqc5vh9jgaly2jpmtaxhpp0tyjh9yevd5"),
            (Chain::LitecoinRegtest, "QV8yZnjoVvE6cmu4eYTsDqykkyox6FvuKG"),
            (Chain::LitecoinRegtest, "mxkta9Vm5jPPCZYEGeSszsm24KDqc4saJV"),
        ] {
            let key = decode(addr, chain).unwrap();
            assert_eq!(encode(&key, chain), addr);
        }
    }

    #[test]
    fn rejects_other_chains_and_garbage() {
        assert!(matches!(
            decode("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Chain::Litecoin),
            Err(AddressError::WrongChain { .. })
        ));
        assert!(matches!(
            decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", Chain::Bitcoin),
            Err(AddressError::Invalid { .. })
        ));
    }

    #[test]
    fn a_long_string_is_refused_at_once_and_the_error_stays_short() {
        let long = "1".repeat(1 << 20);
        // Base58 decoding a megabyte would take hours; the bound refuses it before decoding.
        let err = decode(&long, Chain::Bitcoin).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("1048576 characters") && text.len() < 200, "{text}");
        // The longest real addresses still parse.
        let p2tr = "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297";
        assert!(decode(p2tr, Chain::Bitcoin).is_ok());
    }
}
