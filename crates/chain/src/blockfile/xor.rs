//! The obfuscation key Bitcoin Core 28+ keeps in `blocks/xor.dat`.

use std::path::Path;

use super::BlockFileError;

/// An 8-byte XOR key: byte `i` of a block file is stored XOR `key[i % 8]`. All zeros (or no
/// `xor.dat`, as with Litecoin Core and Bitcoin Core before 28) means plain files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XorKey(pub [u8; 8]);

impl XorKey {
    /// Reads `dir/xor.dat` if it exists.
    ///
    /// # Errors
    /// [`BlockFileError::Io`] if the file cannot be read, [`BlockFileError::BadXorKey`] if it
    /// does not hold exactly 8 bytes.
    pub fn load(dir: &Path) -> Result<XorKey, BlockFileError> {
        let path = dir.join("xor.dat");
        match std::fs::read(&path) {
            Ok(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                Ok(k) => Ok(XorKey(k)),
                Err(_) => Err(BlockFileError::BadXorKey { path, len: bytes.len() }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(XorKey::default()),
            Err(source) => Err(BlockFileError::Io { path, source }),
        }
    }

    /// Whether the key changes nothing.
    pub fn is_identity(&self) -> bool {
        self.0 == [0; 8]
    }

    /// Undoes (or applies) the obfuscation of `buf`, which starts at byte `offset` of its file.
    #[inline]
    pub fn apply(&self, offset: u64, buf: &mut [u8]) {
        if self.is_identity() {
            return;
        }
        let start = (offset % 8) as usize;
        // Rotate the key so that it lines up with the buffer, then XOR 8 bytes at a time.
        let mut k = [0u8; 8];
        for (i, b) in k.iter_mut().enumerate() {
            *b = self.0[(start + i) % 8];
        }
        let key = u64::from_ne_bytes(k);
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            let v = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ key;
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
            *b ^= k[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_matches_bytewise_xor_at_any_offset() {
        let key = XorKey([1, 2, 3, 4, 5, 6, 7, 8]);
        let data: Vec<u8> = (0..37).collect();
        for offset in 0..9u64 {
            let mut buf = data.clone();
            key.apply(offset, &mut buf);
            for (i, b) in buf.iter().enumerate() {
                assert_eq!(*b, data[i] ^ key.0[((offset as usize) + i) % 8]);
            }
            key.apply(offset, &mut buf);
            assert_eq!(buf, data);
        }
    }
}
