//! The safe interface to the host, implemented twice: on wasm32 through the imports of
//! `jjj_abi::sys`, natively through [`crate::testing::NativeHost`] (the mock host of
//! `TestEnv`, or a host lent to `testing::with_native_host`). Everything else in the
//! SDK calls these functions, so contract code is the same in both worlds.
use crate::{AccountId, Hash};
use alloc::string::String;
use alloc::vec::Vec;
use jjj_abi::ReturnCode;

pub use imp::*;

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;
    use jjj_abi::{sys, NOT_FOUND};

    fn ptr<T>(p: *const T) -> u32 {
        p as usize as u32
    }

    /// Calls a `(out_ptr, out_cap) -> len` host function, growing the buffer once if needed.
    fn read_with(initial: usize, f: impl Fn(u32, u32) -> u32) -> Option<Vec<u8>> {
        let mut buf: Vec<u8> = Vec::with_capacity(initial);
        let len = f(ptr(buf.as_mut_ptr()), buf.capacity() as u32);
        if len == NOT_FOUND {
            return None;
        }
        let len = len as usize;
        if len > buf.capacity() {
            buf = Vec::with_capacity(len);
            f(ptr(buf.as_mut_ptr()), buf.capacity() as u32);
        }
        // SAFETY: the host wrote `len` bytes (≤ capacity) into the buffer.
        unsafe { buf.set_len(len) };
        Some(buf)
    }

    fn read32(f: unsafe extern "C" fn(u32)) -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { f(ptr(out.as_mut_ptr())) };
        out
    }

    pub fn input() -> Vec<u8> {
        read_with(256, |p, c| unsafe { sys::input(p, c) }).unwrap_or_default()
    }
    pub fn set_output(data: &[u8]) {
        unsafe { sys::set_output(ptr(data.as_ptr()), data.len() as u32) }
    }
    pub fn revert(message: &str) -> ! {
        unsafe { sys::revert(ptr(message.as_ptr()), message.len() as u32) };
        // The host never returns from `revert`.
        core::arch::wasm32::unreachable()
    }
    pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
        read_with(256, |p, c| unsafe { sys::storage_get(ptr(key.as_ptr()), key.len() as u32, p, c) })
    }
    pub fn storage_set(key: &[u8], value: &[u8]) {
        unsafe { sys::storage_set(ptr(key.as_ptr()), key.len() as u32, ptr(value.as_ptr()), value.len() as u32) }
    }
    pub fn storage_remove(key: &[u8]) {
        unsafe { sys::storage_remove(ptr(key.as_ptr()), key.len() as u32) }
    }
    pub fn storage_contains(key: &[u8]) -> bool {
        unsafe { sys::storage_contains(ptr(key.as_ptr()), key.len() as u32) == 1 }
    }
    pub fn caller() -> AccountId {
        AccountId(read32(sys::caller))
    }
    pub fn self_address() -> AccountId {
        AccountId(read32(sys::self_address))
    }
    pub fn value_transferred() -> u64 {
        unsafe { sys::value_transferred() }
    }
    pub fn balance(of: &AccountId) -> u64 {
        unsafe { sys::balance(ptr(of.0.as_ptr())) }
    }
    pub fn transfer(to: &AccountId, amount: u64) -> ReturnCode {
        let code = unsafe { sys::transfer(ptr(to.0.as_ptr()), amount) };
        ReturnCode::from_u32(code).unwrap_or(ReturnCode::CalleeFailed)
    }
    pub fn block_height() -> u64 {
        unsafe { sys::block_height() }
    }
    pub fn block_time() -> u64 {
        unsafe { sys::block_time() }
    }
    pub fn emit_event(topics: &[Hash], data: &[u8]) {
        unsafe { sys::emit_event(ptr(topics.as_ptr()), topics.len() as u32, ptr(data.as_ptr()), data.len() as u32) }
    }
    pub fn call_contract(to: &AccountId, input: &[u8], value: u64, gas_limit: u64) -> ReturnCode {
        let code = unsafe {
            sys::call_contract(ptr(to.0.as_ptr()), ptr(input.as_ptr()), input.len() as u32, value, gas_limit)
        };
        ReturnCode::from_u32(code).unwrap_or(ReturnCode::CalleeFailed)
    }
    pub fn return_data() -> Vec<u8> {
        read_with(256, |p, c| unsafe { sys::return_data(p, c) }).unwrap_or_default()
    }
    pub fn hash_blake2_256(data: &[u8]) -> Hash {
        let mut out = [0u8; 32];
        unsafe { sys::hash_blake2_256(ptr(data.as_ptr()), data.len() as u32, ptr(out.as_mut_ptr())) };
        Hash(out)
    }
    pub fn hash_sha256(data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { sys::hash_sha256(ptr(data.as_ptr()), data.len() as u32, ptr(out.as_mut_ptr())) };
        out
    }
    pub fn ed25519_verify(signature: &[u8; 64], signer: &AccountId, message: &[u8]) -> bool {
        unsafe {
            sys::ed25519_verify(
                ptr(signature.as_ptr()),
                ptr(signer.0.as_ptr()),
                ptr(message.as_ptr()),
                message.len() as u32,
            ) == 1
        }
    }
    pub fn debug_message(message: &str) {
        unsafe { sys::debug_message(ptr(message.as_ptr()), message.len() as u32) }
    }
    pub fn gas_left() -> u64 {
        unsafe { sys::gas_left() }
    }
    pub fn has_role(account: &AccountId, role: &str) -> bool {
        unsafe { sys::has_role(ptr(account.0.as_ptr()), ptr(role.as_ptr()), role.len() as u32) == 1 }
    }
    pub fn member_of(account: &AccountId) -> Option<String> {
        let bytes = read_with(32, |p, c| unsafe { sys::member_of(ptr(account.0.as_ptr()), p, c) })?;
        String::from_utf8(bytes).ok()
    }
    pub fn protected_read() {
        unsafe { sys::protected_read() }
    }
    pub fn verify_receipt(proof: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let code = unsafe { sys::verify_receipt(ptr(proof.as_ptr()), proof.len() as u32) };
        if code == 0 {
            Ok(return_data())
        } else {
            Err(return_data())
        }
    }
    pub fn member_region(account: &AccountId) -> Option<u8> {
        let code = unsafe { sys::member_region(ptr(account.0.as_ptr())) };
        u8::try_from(code).ok()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;
    use crate::testing::with_native;

    /// A host call that failed (a refused write, a host error) ends the call as reverted.
    fn or_revert<T>(result: Result<T, String>) -> T {
        result.unwrap_or_else(|e| revert(&e))
    }

    pub fn input() -> Vec<u8> {
        with_native(|h| h.input())
    }
    pub fn set_output(data: &[u8]) {
        with_native(|h| h.set_output(data))
    }
    pub fn revert(message: &str) -> ! {
        crate::testing::revert_native(message)
    }
    pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
        or_revert(with_native(|h| h.storage_get(key)))
    }
    pub fn storage_set(key: &[u8], value: &[u8]) {
        or_revert(with_native(|h| h.storage_set(key, value)))
    }
    pub fn storage_remove(key: &[u8]) {
        or_revert(with_native(|h| h.storage_remove(key)))
    }
    pub fn storage_contains(key: &[u8]) -> bool {
        or_revert(with_native(|h| h.storage_contains(key)))
    }
    pub fn caller() -> AccountId {
        with_native(|h| h.caller())
    }
    pub fn self_address() -> AccountId {
        with_native(|h| h.self_address())
    }
    pub fn value_transferred() -> u64 {
        with_native(|h| h.value_transferred())
    }
    pub fn balance(of: &AccountId) -> u64 {
        or_revert(with_native(|h| h.balance(of)))
    }
    pub fn transfer(to: &AccountId, amount: u64) -> ReturnCode {
        or_revert(with_native(|h| h.transfer(to, amount)))
    }
    pub fn block_height() -> u64 {
        with_native(|h| h.block_height())
    }
    pub fn block_time() -> u64 {
        with_native(|h| h.block_time())
    }
    pub fn emit_event(topics: &[Hash], data: &[u8]) {
        or_revert(with_native(|h| h.emit_event(topics, data)))
    }
    pub fn call_contract(to: &AccountId, input: &[u8], value: u64, gas_limit: u64) -> ReturnCode {
        or_revert(crate::testing::call_contract(to, input, value, gas_limit))
    }
    pub fn return_data() -> Vec<u8> {
        with_native(|h| h.return_data())
    }
    pub fn hash_blake2_256(data: &[u8]) -> Hash {
        Hash(crate::testing::blake2_256(data))
    }
    pub fn hash_sha256(data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(data).into()
    }
    pub fn ed25519_verify(signature: &[u8; 64], signer: &AccountId, message: &[u8]) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&signer.0) else { return false };
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
    }
    pub fn debug_message(message: &str) {
        with_native(|h| h.debug_message(message))
    }
    pub fn gas_left() -> u64 {
        with_native(|h| h.gas_left())
    }
    pub fn has_role(account: &AccountId, role: &str) -> bool {
        or_revert(with_native(|h| h.has_role(account, role)))
    }
    pub fn member_of(account: &AccountId) -> Option<String> {
        or_revert(with_native(|h| h.member_of(account)))
    }
    pub fn member_region(account: &AccountId) -> Option<u8> {
        or_revert(with_native(|h| h.member_region(account)))
    }
    pub fn protected_read() {
        or_revert(with_native(|h| h.protected_read()))
    }
    pub fn verify_receipt(proof: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        with_native(|h| h.verify_receipt(proof)).map_err(String::into_bytes)
    }
}
