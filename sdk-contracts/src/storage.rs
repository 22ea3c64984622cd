//! Typed storage. Values are SCALE-encoded under byte keys of the running contract.
//!
//! Every storage item lives in its own **namespace** (1 to 32 bytes, e.g. `b"bills"`), and every
//! key starts with the namespace's length byte and the namespace itself:
//!
//! ```text
//! Item<T>        len ++ namespace
//! Map<K, V>      len ++ namespace ++ SCALE(key)
//! List<T>        len ++ namespace                       → its length (u32)
//!                len ++ namespace ++ SCALE(index: u32)  → element
//! ListMap<K, T>  len ++ namespace ++ SCALE(key)                       → that list's length
//!                len ++ namespace ++ SCALE(key) ++ SCALE(index: u32)  → element
//! ```
//!
//! The length byte is what keeps namespaces apart: with raw prefixes, `b"a"` + key `b"bc"` and
//! `b"ab"` + key `b"c"` were the same storage key; with it, two different namespaces never share
//! a key. Within a namespace a SCALE encoding is never a proper prefix of another encoding of the
//! same type (a decoder knows where a value ends), so a list's length key and its elements' keys
//! cannot meet either. When a key would exceed the host's 128-byte limit, the part after the
//! namespace is replaced by its blake2b-256 hash.
//!
//! Two items with the *same* namespace would still share keys: declare a contract's storage in
//! one [`storage!`](crate::storage!) block, which refuses to compile when two namespaces are
//! equal.
//!
//! A stored value that no longer decodes (an upgrade changed its type) reverts the call with the
//! key named, instead of running on garbage.
use crate::backend;
use crate::error::hex;
use crate::{Error, Result};
use alloc::vec::Vec;
use core::marker::PhantomData;
use jjj_abi::limits::MAX_STORAGE_KEY_LEN;
use parity_scale_codec::{Decode, Encode};

/// Longest namespace, in bytes: short, so a map key keeps most of the 128-byte key limit.
pub const MAX_NAMESPACE_LEN: usize = 32;

/// Checks a namespace's length. Storage items are `static`s, so this runs at compile time and a
/// bad namespace is a compile error, never a runtime panic.
const fn checked(namespace: &'static [u8]) -> &'static [u8] {
    assert!(!namespace.is_empty() && namespace.len() <= MAX_NAMESPACE_LEN, "a storage namespace is 1 to 32 bytes long");
    namespace
}

/// The namespace as a slice, so [`storage!`](crate::storage!) can list byte strings of different
/// lengths together.
#[doc(hidden)]
pub const fn namespace(namespace: &'static [u8]) -> &'static [u8] {
    namespace
}

/// Fails compilation (it runs in a `const`) when two namespaces in the list are equal.
#[doc(hidden)]
pub const fn assert_distinct(namespaces: &[&[u8]]) {
    let mut i = 0;
    while i < namespaces.len() {
        let mut j = i + 1;
        while j < namespaces.len() {
            // A const panic cannot format the name; the error points at the storage! block.
            assert!(
                !bytes_eq(namespaces[i], namespaces[j]),
                "two storage items in this storage! block share a namespace"
            );
            j += 1;
        }
        i += 1;
    }
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a contract's storage items and checks, at compile time, that no two of them share a
/// namespace:
///
/// ```ignore
/// jjj_sdk::storage! {
///     /// The admin account.
///     static ADMIN: Item<AccountId> = b"admin";
///     static BILLS: Map<u64, Bill> = b"bills";
///     static BILLS_OF: ListMap<AccountId, u64> = b"bills_of";
/// }
/// ```
///
/// Each line becomes `static NAME: Type = Type::new(namespace);`. Put every item of the contract
/// in one block, in the module of its `#[contract]`: items declared elsewhere are not compared,
/// and are missing from the contract's storage layout.
///
/// Natively, the block also records each item's name, namespace, kind and key/value types
/// (a hidden `__jjj_storage_items()` in the module, so at most one block per module): they make
/// `Contract::storage_layout()` and the `storage` part of the metadata, and the build embeds the
/// layout in the wasm, where the chain checks that an upgrade keeps every item's type.
#[macro_export]
macro_rules! storage {
    ($($(#[$attr:meta])* $vis:vis static $name:ident : $ty:ty = $ns:literal ;)*) => {
        $($(#[$attr])* $vis static $name: $ty = <$ty>::new($ns);)*
        const _: () = $crate::storage::assert_distinct(&[$($crate::storage::namespace($ns)),*]);

        /// The items of this module's `storage!` block, for its contract's storage layout.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        #[allow(dead_code)]
        fn __jjj_storage_items() -> ::core::option::Option<$crate::__private::Vec<$crate::layout::StorageItemSpec>> {
            ::core::option::Option::Some($crate::__private::Vec::from([
                $($crate::layout::StorageItemSpec::of::<$ty>(::core::stringify!($name), $ns)),*
            ]))
        }
    };
}

/// `len ++ namespace ++ rest`, with `rest` hashed when the whole would exceed the key limit.
fn key(namespace: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + namespace.len() + rest.len().min(32));
    // The namespace is at most 32 bytes (checked when the item was made), so its length fits.
    key.push(namespace.len() as u8);
    key.extend_from_slice(namespace);
    if key.len() + rest.len() > MAX_STORAGE_KEY_LEN as usize {
        key.extend_from_slice(&backend::hash_blake2_256(rest).0);
    } else {
        key.extend_from_slice(rest);
    }
    key
}

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

/// One value.
pub struct Item<T> {
    namespace: &'static [u8],
    _value: PhantomData<fn() -> T>,
}

impl<T: Encode + Decode> Item<T> {
    pub const fn new(namespace: &'static [u8]) -> Self {
        Item { namespace: checked(namespace), _value: PhantomData }
    }
    pub const fn namespace(&self) -> &'static [u8] {
        self.namespace
    }
    fn key(&self) -> Vec<u8> {
        key(self.namespace, &[])
    }
    pub fn get(&self) -> Option<T> {
        load(&self.key())
    }
    pub fn get_or(&self, default: T) -> T {
        self.get().unwrap_or(default)
    }
    pub fn set(&self, value: &T) {
        backend::storage_set(&self.key(), &value.encode())
    }
    pub fn remove(&self) {
        backend::storage_remove(&self.key())
    }
    pub fn exists(&self) -> bool {
        backend::storage_contains(&self.key())
    }
}

/// A value per key.
pub struct Map<K, V> {
    namespace: &'static [u8],
    _entry: PhantomData<fn() -> (K, V)>,
}

impl<K: Encode, V: Encode + Decode> Map<K, V> {
    pub const fn new(namespace: &'static [u8]) -> Self {
        Map { namespace: checked(namespace), _entry: PhantomData }
    }
    pub const fn namespace(&self) -> &'static [u8] {
        self.namespace
    }

    fn key(&self, k: &K) -> Vec<u8> {
        key(self.namespace, &k.encode())
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

/// The keys of one list: its length lives under `base`, element `i` under `base ++ SCALE(i)`.
/// Shared by [`List`] (base = the namespace) and [`ListMap`] (base = namespace ++ SCALE(key)).
struct ListKeys<'a> {
    namespace: &'static [u8],
    base: &'a [u8],
}

impl ListKeys<'_> {
    fn len_key(&self) -> Vec<u8> {
        key(self.namespace, self.base)
    }
    fn element_key(&self, i: u32) -> Vec<u8> {
        let mut rest = Vec::with_capacity(self.base.len() + 4);
        rest.extend_from_slice(self.base);
        i.encode_to(&mut rest);
        key(self.namespace, &rest)
    }
    fn len(&self) -> u32 {
        load(&self.len_key()).unwrap_or(0)
    }
    fn push<T: Encode>(&self, value: &T) -> Result<u32> {
        let n = self.len();
        let next = n.checked_add(1).ok_or_else(|| self.full())?;
        backend::storage_set(&self.element_key(n), &value.encode());
        backend::storage_set(&self.len_key(), &next.encode());
        Ok(n)
    }
    fn full(&self) -> Error {
        Error::new(alloc::format!("the list in storage namespace 0x{} is full", hex(self.namespace)))
    }
    fn get<T: Decode>(&self, i: u32) -> Option<T> {
        load(&self.element_key(i))
    }
    /// Element `i`, known to be below the length: its absence means storage was damaged, which
    /// reverts (like an undecodable value) rather than returning a silently shorter list.
    fn expect_element<T: Decode>(&self, i: u32) -> T {
        match self.get(i) {
            Some(v) => v,
            None => backend::revert(&alloc::format!(
                "element {i} of the list in storage namespace 0x{} is missing",
                hex(self.namespace)
            )),
        }
    }
    fn page<T: Decode>(&self, start: u32, limit: u32) -> Vec<T> {
        let n = self.len();
        let from = start.min(n);
        let to = from.saturating_add(limit).min(n);
        (from..to).map(|i| self.expect_element(i)).collect()
    }
}

/// An append-only list: elements are pushed at the end and never removed, each under its own
/// key (so a long list never hits the storage value limit, and reading one element costs one
/// read). Indexes are `u32`, from 0.
pub struct List<T> {
    namespace: &'static [u8],
    _element: PhantomData<fn() -> T>,
}

impl<T: Encode + Decode> List<T> {
    pub const fn new(namespace: &'static [u8]) -> Self {
        List { namespace: checked(namespace), _element: PhantomData }
    }
    pub const fn namespace(&self) -> &'static [u8] {
        self.namespace
    }
    fn keys(&self) -> ListKeys<'static> {
        ListKeys { namespace: self.namespace, base: &[] }
    }
    /// How many elements were pushed.
    pub fn len(&self) -> u32 {
        self.keys().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends `value`; returns its index. Fails only when the list holds `u32::MAX` elements.
    pub fn push(&self, value: &T) -> Result<u32> {
        self.keys().push(value)
    }
    /// Element `i`, if `i < len()`.
    pub fn get(&self, i: u32) -> Option<T> {
        self.keys().get(i)
    }
    /// Up to `limit` elements from index `start`, in order (empty past the end).
    pub fn page(&self, start: u32, limit: u32) -> Vec<T> {
        self.keys().page(start, limit)
    }
    /// Every element, in order, read one by one as the iterator advances.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let keys = self.keys();
        (0..keys.len()).map(move |i| keys.expect_element(i))
    }
}

/// One append-only [`List`] per key, e.g. the bills of each resident.
pub struct ListMap<K, T> {
    namespace: &'static [u8],
    _entry: PhantomData<fn() -> (K, T)>,
}

impl<K: Encode, T: Encode + Decode> ListMap<K, T> {
    pub const fn new(namespace: &'static [u8]) -> Self {
        ListMap { namespace: checked(namespace), _entry: PhantomData }
    }
    pub const fn namespace(&self) -> &'static [u8] {
        self.namespace
    }
    fn keys<'a>(&self, base: &'a [u8]) -> ListKeys<'a> {
        ListKeys { namespace: self.namespace, base }
    }
    /// How many elements were pushed to `k`'s list.
    pub fn len(&self, k: &K) -> u32 {
        self.keys(&k.encode()).len()
    }
    pub fn is_empty(&self, k: &K) -> bool {
        self.len(k) == 0
    }
    /// Appends `value` to `k`'s list; returns its index there.
    pub fn push(&self, k: &K, value: &T) -> Result<u32> {
        self.keys(&k.encode()).push(value)
    }
    /// Element `i` of `k`'s list, if `i` is below its length.
    pub fn get(&self, k: &K, i: u32) -> Option<T> {
        self.keys(&k.encode()).get(i)
    }
    /// Up to `limit` elements of `k`'s list from index `start`, in order.
    pub fn page(&self, k: &K, start: u32, limit: u32) -> Vec<T> {
        self.keys(&k.encode()).page(start, limit)
    }
    /// Every element of `k`'s list, in order, read one by one as the iterator advances.
    pub fn iter(&self, k: &K) -> impl Iterator<Item = T> {
        let namespace = self.namespace;
        let base = k.encode();
        let n = self.keys(&base).len();
        (0..n).map(move |i| ListKeys { namespace, base: &base }.expect_element(i))
    }
}
