//! 256-bit targets with the arithmetic of Core's `arith_uint256`: compact `bits` decoding and
//! encoding, and the multiply and divide of a difficulty retarget, without overflow (five
//! 64-bit limbs hold the 256-bit target times a timespan).

use std::cmp::Ordering;

/// An unsigned integer of up to 320 bits, little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct U256([u64; 5]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 5]);

    /// From 32 bytes in little-endian order (a block hash as stored, a `uint256`).
    pub fn from_le_bytes(b: &[u8; 32]) -> U256 {
        let mut l = [0u64; 5];
        for (i, limb) in l.iter_mut().take(4).enumerate() {
            *limb = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        }
        U256(l)
    }

    /// From a big-endian hex string of up to 64 digits (constants).
    pub fn from_hex(s: &str) -> U256 {
        let mut v = U256::ZERO;
        for c in s.chars() {
            let d = c.to_digit(16).expect("hex digit") as u64;
            v = v.shl_bits(4);
            v.0[0] |= d;
        }
        v
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 5]
    }

    /// Number of significant bits (Core's `bits()`).
    pub fn bits(&self) -> u32 {
        for i in (0..5).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + 64 - self.0[i].leading_zeros();
            }
        }
        0
    }

    /// Shifted left by `n` bits (bits past 320 are lost).
    pub fn shl_bits(self, n: u32) -> U256 {
        let mut r = [0u64; 5];
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        for i in (0..5).rev() {
            if i < limbs {
                break;
            }
            let mut v = self.0[i - limbs] << bits;
            if bits > 0 && i > limbs {
                v |= self.0[i - limbs - 1] >> (64 - bits);
            }
            r[i] = v;
        }
        U256(r)
    }

    /// Shifted right by `n` bits.
    pub fn shr_bits(self, n: u32) -> U256 {
        let mut r = [0u64; 5];
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        for (i, out) in r.iter_mut().enumerate() {
            if i + limbs >= 5 {
                break;
            }
            let mut v = self.0[i + limbs] >> bits;
            if bits > 0 && i + limbs + 1 < 5 {
                v |= self.0[i + limbs + 1] << (64 - bits);
            }
            *out = v;
        }
        U256(r)
    }

    /// Multiplied by `m` (the top limb absorbs the carry of a 256-bit value).
    pub fn mul_u64(self, m: u64) -> U256 {
        let mut r = [0u64; 5];
        let mut carry = 0u128;
        for (i, out) in r.iter_mut().enumerate() {
            let v = self.0[i] as u128 * m as u128 + carry;
            *out = v as u64;
            carry = v >> 64;
        }
        U256(r)
    }

    /// Divided by `d`, rounding down.
    pub fn div_u64(self, d: u64) -> U256 {
        let mut r = [0u64; 5];
        let mut rem = 0u128;
        for i in (0..5).rev() {
            let v = (rem << 64) | self.0[i] as u128;
            r[i] = (v / d as u128) as u64;
            rem = v % d as u128;
        }
        U256(r)
    }

    /// Decodes compact `bits` as Core's `SetCompact`: the value, and whether the encoding is
    /// negative or overflows 256 bits (both make a header invalid).
    pub fn from_compact(bits: u32) -> (U256, bool, bool) {
        let size = bits >> 24;
        let mut word = (bits & 0x007f_ffff) as u64;
        let value = if size <= 3 {
            word >>= 8 * (3 - size);
            U256([word, 0, 0, 0, 0])
        } else {
            U256([word, 0, 0, 0, 0]).shl_bits(8 * (size - 3))
        };
        let negative = word != 0 && bits & 0x0080_0000 != 0;
        let overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
        (value, negative, overflow)
    }

    /// Encodes as compact `bits`, as Core's `GetCompact` (positive values).
    pub fn to_compact(&self) -> u32 {
        let mut size = self.bits().div_ceil(8);
        let mut compact =
            if size <= 3 { self.0[0] << (8 * (3 - size)) } else { self.shr_bits(8 * (size - 3)).0[0] } as u32;
        if compact & 0x0080_0000 != 0 {
            compact >>= 8;
            size += 1;
        }
        compact | (size << 24)
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &U256) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &U256) -> Ordering {
        for i in (0..5).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_round_trips_like_core() {
        // Values from Core's arith_uint256 tests (src/test/arith_uint256_tests.cpp).
        for (bits, norm) in [
            (0x1d00ffffu32, 0x1d00ffffu32),
            (0x1e0fffff, 0x1e0fffff),
            (0x207fffff, 0x207fffff),
            (0x01123456, 0x01120000),
            (0x02123456, 0x02123400),
            (0x05009234, 0x05009234),
            (0x20123456, 0x20123456),
        ] {
            let (v, neg, over) = U256::from_compact(bits);
            assert!(!neg && !over, "{bits:#x}");
            assert_eq!(v.to_compact(), norm, "{bits:#x}");
        }
        assert!(U256::from_compact(0x04923456).1, "negative");
        assert!(U256::from_compact(0xff123456).2, "overflow");
        assert!(U256::from_compact(0x00923456).0.is_zero());
    }

    #[test]
    fn arithmetic_matches_u128_where_it_fits() {
        let a = U256([0x1234_5678_9abc_def0, 0x0fed_cba9, 0, 0, 0]);
        let wide = (0x0fed_cba9u128 << 64) | 0x1234_5678_9abc_def0;
        assert_eq!(
            a.mul_u64(1000).div_u64(7),
            U256([((wide * 1000 / 7) as u64), ((wide * 1000 / 7) >> 64) as u64, 0, 0, 0])
        );
        assert_eq!(a.shl_bits(68).shr_bits(68), a);
        assert_eq!(
            U256::from_hex("00000000ffff0000000000000000000000000000000000000000000000000000").to_compact(),
            0x1d00ffff
        );
        assert_eq!(a.bits(), 64 + 28);
    }
}
