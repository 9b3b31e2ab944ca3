//! [`check_block`]: the rules of one decoded block that need no other block (the coinbase's
//! place and script, amounts within the money supply, the BIP34 height).

use std::path::Path;

use super::{Rule, Rules, ValidationError};
use crate::decode::ParsedBlock;

/// The script `CScript() << height` that BIP34 requires a coinbase to start with.
fn height_push(height: u32) -> ([u8; 6], usize) {
    let mut out = [0u8; 6];
    if height == 0 {
        return (out, 1); // OP_0
    }
    if height <= 16 {
        out[0] = 0x50 + height as u8; // OP_1 .. OP_16
        return (out, 1);
    }
    // A minimal little-endian number with a sign bit kept clear.
    let mut n = 0;
    let mut v = height;
    while v > 0 {
        out[1 + n] = v as u8;
        v >>= 8;
        n += 1;
    }
    if out[n] & 0x80 != 0 {
        n += 1;
    }
    out[0] = n as u8;
    (out, n + 1)
}

/// The height a coinbase script states (BIP34), if it starts with a number push.
pub fn bip34_height(script_head: &[u8]) -> Option<u32> {
    let op = *script_head.first()?;
    match op {
        0x00 => Some(0),
        0x51..=0x60 => Some(u32::from(op - 0x50)),
        1..=4 => {
            let bytes = script_head.get(1..1 + op as usize)?;
            if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                return None;
            }
            Some(bytes.iter().rev().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
        }
        _ => None,
    }
}

/// Checks the block at `height` of the chain against the rules that need no other block.
///
/// # Errors
/// [`ValidationError::Block`] naming the file (`path`), the record's `offset`, the hash and
/// the rule: a first transaction that is not a coinbase, a second coinbase, a coinbase
/// script outside 2..=100 bytes, an amount outside the money supply, or (from the chain's
/// BIP34 height on) a coinbase that does not start with the height.
pub fn check_block(
    b: &ParsedBlock,
    height: u32,
    rules: &Rules,
    path: &Path,
    offset: u64,
) -> Result<(), ValidationError> {
    let fail = |rule, detail: String| ValidationError::Block {
        path: path.to_owned(),
        offset,
        hash: b.hash.to_string(),
        height,
        rule,
        detail,
    };
    let Some(first) = b.txs.first() else {
        return Err(fail(Rule::Coinbase, "the block has no transactions".into()));
    };
    if first.n_inputs != 1 || !b.inputs[0].is_null() {
        return Err(fail(Rule::Coinbase, "the first transaction is not a coinbase".into()));
    }
    if !(2..=100).contains(&b.coinbase_script_len) {
        return Err(fail(Rule::Coinbase, format!("the coinbase script has {} bytes", b.coinbase_script_len)));
    }
    if let Some(i) = b.inputs[1..].iter().position(|i| i.is_null()) {
        return Err(fail(
            Rule::Coinbase,
            format!("input {} of the block spends the null outpoint (a second coinbase)", i + 1),
        ));
    }
    let mut outs = b.outputs.iter();
    for (t, tx) in b.txs.iter().enumerate() {
        let mut total = 0u64;
        for o in outs.by_ref().take(tx.n_outputs as usize) {
            total = total.saturating_add(o.value);
            if o.value > rules.max_money || total > rules.max_money {
                return Err(fail(
                    Rule::MoneyRange,
                    format!(
                        "transaction {} ({}) pays more than the {} base units there can be",
                        t, tx.txid, rules.max_money
                    ),
                ));
            }
        }
    }
    if height >= rules.bip34_height {
        let (push, n) = height_push(height);
        let head = &b.coinbase_script_head[..b.coinbase_script_len.min(b.coinbase_script_head.len())];
        if head.len() < n || head[..n] != push[..n] {
            return Err(fail(
                Rule::Bip34,
                format!("the coinbase does not start with the height {height} (it states {:?})", bip34_height(head)),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_pushes_are_cscript_numbers() {
        // CScript() << n as Core serializes it, and the coinbase of mainnet block 227,931.
        assert_eq!(height_push(1), ([0x51, 0, 0, 0, 0, 0], 1));
        assert_eq!(height_push(17), ([1, 17, 0, 0, 0, 0], 2));
        assert_eq!(height_push(128), ([2, 0x80, 0, 0, 0, 0], 3));
        assert_eq!(height_push(227_931), ([3, 0x5b, 0x7a, 0x03, 0, 0], 4));
        for h in [0, 1, 16, 17, 127, 128, 255, 256, 32_767, 32_768, 227_931, 8_388_608, 2_265_985] {
            let (p, n) = height_push(h);
            assert_eq!(bip34_height(&p[..n]), Some(h), "{h}");
        }
    }
}
