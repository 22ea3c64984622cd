//! Typed storage. Values are SCALE-encoded under byte keys of the running contract.
//!
//! `Item<T>` is one value under a fixed key; `Map<K, V>` keeps each entry under
//! `prefix ++ SCALE(key)` (hashed with blake2b-256 when that would exceed the key limit).
//! A stored value that no longer decodes (an upgrade changed its type) reverts the call with the
//! key named, instead of running on garbage.
use crate::backend;
use crate::error::hex;
use alloc::vec::Vec;
use core::marker::PhantomData;
use jjj_abi::limits::MAX_STORAGE_KEY_LEN;
use parity_scale_codec::{Decode, Encode};

fn load<T: Decode>(key: &[u8]) -> Option<T> {
    let bytes = backend::storage_get(key)?;
    match T::decode(&mut &bytes[..]) {
        Ok(v) => Some(v),
        Err(e) => backend::revert(&alloc::format!(
            "cannot decode the stored value at key 0x{} as {}: {e}",
            hex(key),
            core::any::type_name::<T>()
        )),
    }
}

pub struct Item<T> {
    key: &'static [u8],
    _value: PhantomData<fn() -> T>,
}

impl<T: Encode + Decode> Item<T> {
    pub const fn new(key: &'static [u8]) -> Self {
        Item { key, _value: PhantomData }
    }
    pub fn get(&self) -> Option<T> {
        load(self.key)
    }
    pub fn get_or(&self, default: T) -> T {
        self.get().unwrap_or(default)
    }
    pub fn set(&self, value: &T) {
        backend::storage_set(self.key, &value.encode())
    }
    pub fn remove(&self) {
        backend::storage_remove(self.key)
    }
    pub fn exists(&self) -> bool {
        backend::storage_contains(self.key)
    }
}

pub struct Map<K, V> {
    prefix: &'static [u8],
    _entry: PhantomData<fn() -> (K, V)>,
}

impl<K: Encode, V: Encode + Decode> Map<K, V> {
    pub const fn new(prefix: &'static [u8]) -> Self {
        Map { prefix, _entry: PhantomData }
    }

    fn key(&self, k: &K) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.prefix.len() + k.size_hint());
        key.extend_from_slice(self.prefix);
        k.encode_to(&mut key);
        if key.len() > MAX_STORAGE_KEY_LEN as usize {
            let digest = backend::hash_blake2_256(&key[self.prefix.len()..]);
            key.truncate(self.prefix.len());
            key.extend_from_slice(&digest.0);
        }
        key
    }

    pub fn get(&self, k: &K) -> Option<V> {
        load(&self.key(k))
    }
    pub fn set(&self, k: &K, value: &V) {
        backend::storage_set(&self.key(k), &value.encode())
    }
    pub fn remove(&self, k: &K) {
        backend::storage_remove(&self.key(k))
    }
    pub fn contains(&self, k: &K) -> bool {
        backend::storage_contains(&self.key(k))
    }
    /// Reads, changes and writes back one entry (starting from `V::default()` when absent).
    pub fn update<R>(&self, k: &K, f: impl FnOnce(&mut V) -> R) -> R
    where
        V: Default,
    {
        let key = self.key(k);
        let mut v = load(&key).unwrap_or_default();
        let r = f(&mut v);
        backend::storage_set(&key, &v.encode());
        r
    }
}
