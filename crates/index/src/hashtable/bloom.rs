//! A blocked Bloom filter over the keys of a frozen table segment, so that a lookup skips
//! the segments that cannot hold its key without reading their pages.
//!
//! The layout is Apache Parquet's split block Bloom filter ("Bloom Filter Format" in the
//! Parquet specification; Putze, Sanders & Singler, "Cache-, Hash- and Space-Efficient Bloom
//! Filters", 2007) widened to 64-bit words: a key picks one block of eight words (512 bits,
//! one cache line) and sets one bit in each word, the bit chosen by multiplying 32 bits of its
//! hash by the word's odd salt and keeping the top six bits. A lookup is one cache line,
//! and a miss is certain. At [`BITS_PER_KEY`] the false-positive rate is 0.42 % (200,000
//! random keys, the unit test's set-up; the test bounds it).

/// Bits of filter per key: 0.42 % false positives at 1.5 bytes a key.
pub const BITS_PER_KEY: u64 = 12;
const WORDS_PER_BLOCK: usize = 8;

/// Parquet's salts (`SALT` in its specification).
const SALT: [u32; WORDS_PER_BLOCK] =
    [0x47b6_137b, 0x4497_4d91, 0x8824_ad5b, 0xa2b7_289d, 0x7054_95c7, 0x2df1_424b, 0x9efc_4947, 0x5c6b_fb31];

/// The words of a filter for `keys` keys (at least one block).
pub fn words_for(keys: u64) -> usize {
    let blocks = (keys * BITS_PER_KEY).div_ceil(64 * WORDS_PER_BLOCK as u64).max(1);
    blocks as usize * WORDS_PER_BLOCK
}

/// The table's hash mixed again: the table already uses its low bits for the slot and its top
/// 24 bits as the tag, and a txid's hash is its first 8 bytes as they are.
#[inline]
fn mix(hash: u64) -> u64 {
    let mut z = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The block (first word) and the eight bits of `hash` in a filter of `words` words.
#[inline]
fn place(words: usize, hash: u64) -> (usize, [u64; WORDS_PER_BLOCK]) {
    let h = mix(hash);
    let blocks = (words / WORDS_PER_BLOCK) as u64;
    let block = (((h >> 32) * blocks) >> 32) as usize;
    let key = h as u32;
    let mut bits = [0u64; WORDS_PER_BLOCK];
    for (b, salt) in bits.iter_mut().zip(SALT) {
        *b = 1 << (key.wrapping_mul(salt) >> 26);
    }
    (block * WORDS_PER_BLOCK, bits)
}

/// Adds the key of `hash` to the filter `words` (a length from [`words_for`]).
pub fn insert(words: &mut [u64], hash: u64) {
    let (at, bits) = place(words.len(), hash);
    for (w, b) in words[at..at + WORDS_PER_BLOCK].iter_mut().zip(bits) {
        *w |= b;
    }
}

/// Whether the key of `hash` may be in the filter `words`: `false` is certain. An empty
/// slice (no filter) may hold anything.
#[inline]
pub fn may_contain(words: &[u64], hash: u64) -> bool {
    if words.len() < WORDS_PER_BLOCK {
        return true;
    }
    let (at, bits) = place(words.len(), hash);
    words[at..at + WORDS_PER_BLOCK].iter().zip(bits).all(|(w, b)| w & b == b)
}

/// Asks the CPU to load the block of `hash`.
#[inline]
pub fn prefetch(words: &[u64], hash: u64) {
    if words.len() >= WORDS_PER_BLOCK {
        super::prefetch(words, place(words.len(), hash).0);
    }
}

/// Whether `words` words can be a filter.
pub fn valid_len(words: usize) -> bool {
    words > 0 && words.is_multiple_of(WORDS_PER_BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(*state)
    }

    #[test]
    fn every_inserted_key_is_found_and_few_others_are() {
        let n = 200_000u64;
        let mut words = vec![0u64; words_for(n)];
        let mut s = 7;
        let keys: Vec<u64> = (0..n).map(|_| splitmix(&mut s)).collect();
        for &k in &keys {
            insert(&mut words, k);
        }
        assert!(keys.iter().all(|&k| may_contain(&words, k)), "a Bloom filter never misses a key it holds");
        let trials = 1_000_000u64;
        let false_positives = (0..trials).filter(|_| may_contain(&words, splitmix(&mut s))).count() as f64;
        let rate = false_positives / trials as f64;
        assert!(rate < 0.008, "false-positive rate {rate} at {BITS_PER_KEY} bits a key");
        assert!(
            rate > 0.0005,
            "rate {rate}: the filter answers 'maybe' too rarely to be holding 200k keys in so few bits"
        );
    }

    #[test]
    fn no_filter_may_hold_anything_and_sizes_are_whole_blocks() {
        assert!(may_contain(&[], 42));
        assert_eq!(words_for(0), 8);
        assert_eq!(words_for(42), 8);
        assert_eq!(words_for(43), 16);
        assert!(valid_len(16) && !valid_len(12) && !valid_len(0));
    }
}
