//! What an address string is: the chain it parses as, and the key tags are looked up by.
//!
//! Sources file addresses under a currency, and sometimes the wrong one: OFAC's XBT list
//! holds a TRON address. Tags keep the source's currency and add the chain the string
//! actually parses as, so such an entry is kept, and visible, rather than dropped.

use std::borrow::Cow;
use std::path::Path;

use bitcoin::base58;
use sleuth_chain::address::decode;
use sleuth_chain::Chain;

use crate::error::TagError;

/// Chains tried in this order; the first that decodes the string names it. Bitcoin comes
/// before Litecoin because Litecoin still accepts Bitcoin's `3…` P2SH prefix; testnet,
/// testnet4 and signet share their prefixes, so `testnet` stands for all three.
const CHAINS: [Chain; 6] =
    [Chain::Bitcoin, Chain::Litecoin, Chain::Testnet, Chain::Regtest, Chain::LitecoinTestnet, Chain::LitecoinRegtest];

/// `chain` of an `0x` + 40 hex digit address: Ethereum and every EVM chain (BSC, Arbitrum,
/// Ethereum Classic, ERC-20 tokens) share the format, so the string cannot tell them apart.
pub const EVM: &str = "evm";
/// `chain` of a TRON address: base58check with version byte `0x41` (`T…`).
pub const TRON: &str = "tron";
/// `chain` of a string none of the known formats parses.
pub const UNKNOWN: &str = "unknown";

/// The chain `address` parses as: a [`Chain`] name (`bitcoin`, `litecoin`, `testnet`,
/// `regtest`, `litecoin-testnet`, `litecoin-regtest`), [`EVM`], [`TRON`] or [`UNKNOWN`].
///
/// Only the formats Sleuth can check are recognised; a valid Monero or XRP address is
/// `unknown` here, as is a Bitcoin Cash cashaddr. A legacy Bitcoin Cash or Bitcoin SV
/// address is `bitcoin`, since it is the same string.
pub fn chain_of(address: &str) -> &'static str {
    if let Some(chain) = CHAINS.into_iter().find(|&c| decode(address, c).is_ok()) {
        return chain.name();
    }
    if is_evm(address) {
        EVM
    } else if is_tron(address) {
        TRON
    } else {
        UNKNOWN
    }
}

/// The longest address a tag may carry. Longer than any address format Sleuth knows (a
/// Monero integrated address has 106 characters, a segwit address at most 90), and short
/// enough that no decoder takes long over it.
pub const MAX_TAG_ADDRESS_LEN: usize = 128;

/// Networks whose address formats Sleuth checks, with the chains a string listed under them
/// may parse as. A tag filed under one of them whose address parses as none of the known
/// formats is refused; under any other network (`XMR`, `XRP`, `BCH`'s cashaddr, …) such an
/// address is kept with chain [`UNKNOWN`], since Sleuth cannot tell right from wrong there.
const CHECKED_NETWORKS: [&str; 4] = ["BTC", "LTC", "ETH", "TRX"];

/// Checks one address of a tag file and says what chain it parses as, or why the tag is
/// left out.
///
/// `network` is the network the source files the address under (upper-case), or `None` for
/// sources that name none (CSV), where an address must parse as some known chain.
///
/// Returns `Ok(Err(reason))` for an address that is well-formed text but parses as no chain
/// although its network is one Sleuth checks: published packs hold such typos (GraphSense's
/// `plustoken.yaml` lists a Bitcoin address with one character too many), so the import
/// leaves that tag out and reports it with its line rather than refusing the whole file.
///
/// # Errors
/// [`TagError::Invalid`] naming `path` and `line` for an empty or over-long address, or one
/// with characters no address has: a line of another kind of file, which fails the import.
pub fn checked_chain(
    path: &Path,
    line: u64,
    address: &str,
    network: Option<&str>,
) -> Result<Result<&'static str, String>, TagError> {
    let invalid = |message: String| TagError::Invalid { path: path.to_owned(), line, message };
    if address.len() > MAX_TAG_ADDRESS_LEN {
        let start: String = address.chars().take(16).collect();
        return Err(invalid(format!(
            "the address starting {start:?} has {} characters; no address has more than {MAX_TAG_ADDRESS_LEN}",
            address.len()
        )));
    }
    if address.is_empty() || !address.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':') {
        return Err(invalid(format!(
            "{address:?} is not an address: expected letters and digits only, one address a line"
        )));
    }
    let chain = chain_of(address);
    if chain != UNKNOWN {
        return Ok(Ok(chain));
    }
    Ok(match network {
        None => Err(format!(
            "{address:?} is no address of a chain Sleuth knows (Bitcoin, Litecoin and their test networks, EVM 0x \
             addresses, TRON)"
        )),
        Some(n) if CHECKED_NETWORKS.contains(&n) => Err(format!(
            "{address:?} is listed under {n} but is no {n} address (nor one of another chain Sleuth knows)"
        )),
        Some(_) => Ok(chain),
    })
}

/// The key tags are indexed and looked up by: the address as written, except that bech32
/// addresses (case-insensitive by definition) and `0x` hex addresses (whose mixed case is
/// only an EIP-55 checksum) are lower-cased.
pub fn lookup_key(address: &str) -> Cow<'_, str> {
    if is_evm(address) || looks_bech32(address) {
        Cow::Owned(address.to_ascii_lowercase())
    } else {
        Cow::Borrowed(address)
    }
}

fn is_evm(address: &str) -> bool {
    let hex = address.strip_prefix("0x").or_else(|| address.strip_prefix("0X"));
    hex.is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_tron(address: &str) -> bool {
    address.starts_with('T') && matches!(base58::decode_check(address), Ok(data) if data.len() == 21 && data[0] == 0x41)
}

/// A string with a known human-readable part, the `1` separator and only bech32 characters
/// after it, in one case (bech32 forbids mixed case).
fn looks_bech32(address: &str) -> bool {
    const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let lower = address.to_ascii_lowercase();
    let one_case = lower == address || address.to_ascii_uppercase() == address;
    let Some((hrp, data)) = lower.rsplit_once('1') else { return false };
    one_case
        && data.len() >= 6
        && Chain::ALL.iter().any(|c| c.prefixes().hrp == hrp)
        && data.chars().all(|ch| CHARSET.contains(ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format() {
        assert_eq!(chain_of("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), "bitcoin");
        assert_eq!(chain_of("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"), "bitcoin");
        assert_eq!(chain_of("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"), "bitcoin");
        assert_eq!(chain_of("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"), "bitcoin");
        assert_eq!(chain_of("LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd"), "litecoin");
        assert_eq!(chain_of("0x098B716B8Aaf21512996dC57EB0615e2383E2f96"), EVM);
        assert_eq!(chain_of("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"), TRON);
        assert_eq!(chain_of("rGeyCsqc6vKXuyTGF39WJxmTRemoV3c97h"), UNKNOWN);
        assert_eq!(chain_of("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"), UNKNOWN, "bad checksum");
        assert_eq!(chain_of(""), UNKNOWN);
    }

    #[test]
    fn lookup_key_folds_case_only_where_case_means_nothing() {
        assert_eq!(
            lookup_key("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"),
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
        );
        assert_eq!(
            lookup_key("0x098B716B8Aaf21512996dC57EB0615e2383E2f96"),
            "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
        );
        assert_eq!(lookup_key("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
        assert_eq!(lookup_key("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"), "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq");
        // Mixed case is no bech32, so it stays as written (and matches nothing).
        assert_eq!(
            lookup_key("bc1qAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            "bc1qAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
        );
    }
}
