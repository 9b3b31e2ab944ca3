//! The fixed little layouts the store's records are written in: big-endian integers and raw
//! hashes, addresses and 256-bit amounts, read back in the same order. A record that ends
//! early reads as `None`, which the store reports as a damaged index.

use alloy::primitives::{Address, B256, U256};

/// Appends fields to a record.
#[derive(Default)]
pub struct Put(pub Vec<u8>);

impl Put {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u128(&mut self, v: u128) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn addr(&mut self, a: &Address) -> &mut Self {
        self.0.extend_from_slice(a.as_slice());
        self
    }
    pub fn b256(&mut self, h: &B256) -> &mut Self {
        self.0.extend_from_slice(h.as_slice());
        self
    }
    pub fn u256(&mut self, v: &U256) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes::<32>());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        self
    }
    /// An optional address: a presence byte, then the address (zero when absent).
    pub fn opt_addr(&mut self, a: &Option<Address>) -> &mut Self {
        self.u8(a.is_some() as u8).addr(&a.unwrap_or(Address::ZERO))
    }
}

/// Reads fields back in the order they were put.
pub struct Get<'a>(pub &'a [u8]);

impl<'a> Get<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Some(h)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes(b.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_be_bytes(b.try_into().unwrap()))
    }
    pub fn u128(&mut self) -> Option<u128> {
        self.take(16).map(|b| u128::from_be_bytes(b.try_into().unwrap()))
    }
    pub fn addr(&mut self) -> Option<Address> {
        self.take(20).map(Address::from_slice)
    }
    pub fn b256(&mut self) -> Option<B256> {
        self.take(32).map(B256::from_slice)
    }
    pub fn u256(&mut self) -> Option<U256> {
        self.take(32).map(|b| U256::from_be_slice(b))
    }
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn opt_addr(&mut self) -> Option<Option<Address>> {
        let present = self.u8()? != 0;
        let a = self.addr()?;
        Some(present.then_some(a))
    }
}
