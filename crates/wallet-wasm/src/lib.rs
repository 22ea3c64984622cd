//! jjj-wallet-wasm: the browser wallet's Rust half. Keys, contract call encoding and transaction
//! signing run in the page with the very code the CLI runs (`jjj-crypto`, `jjj-primitives`,
//! `jjj-transcode`), compiled to one wasm module that plain JavaScript drives through a C-like
//! ABI: no wasm-bindgen, no imports.
//!
//! Build: `scripts/build-web.sh` (`cargo build --profile contract --target wasm32-unknown-unknown
//! -p jjj-wallet-wasm`, about 600 KB; `--release` works too, about 1 MB), which copies it to the
//! pages as `wallet.wasm`; the tests take it from `$JJJ_WALLET_WASM` or the release output.
//!
//! # ABI
//!
//! The module imports nothing and exports `memory` and three functions:
//!
//! - `jjj_alloc(len: u32) -> *mut u8`: `len` bytes of the module's memory for the caller to fill
//!   (0 when the memory cannot grow that far).
//! - `jjj_free(ptr: *mut u8, len: u32)`: gives back what `jjj_alloc` or `jjj_call` handed out,
//!   with the same length. Freeing 0 or a zero length does nothing.
//! - `jjj_call(ptr: *const u8, len: u32) -> u64`: runs one request, `len` UTF-8 bytes of JSON at
//!   `ptr`, `{"op": "...", …fields}`. The caller still owns (and frees) the request. Returns
//!   `(out_ptr << 32) | out_len`: a UTF-8 JSON response the caller reads, then frees with
//!   `jjj_free(out_ptr, out_len)`. A result of 0 means the response could not be allocated.
//!
//! A response is always `{"ok": <value>}` or `{"error": "<readable message>"}`; bad input of any
//! kind (not JSON, unknown op or field, bad hex, bad key text, arguments of the wrong type, a
//! request longer than [`MAX_REQUEST_BYTES`] or outside memory) is an error, never a trap.
//!
//! A call may grow the memory, which detaches every `Uint8Array` over the old `memory.buffer`:
//! take a new view after each `jjj_alloc` and `jjj_call`.
//!
//! # Requests
//!
//! Hex in answers is `0x`-prefixed lowercase; hex in requests may drop the `0x` and use either
//! case. Integers (`nonce`, `gas_limit`, `value`, `amount`, `issued_at_ms`) are JSON numbers or
//! decimal strings (past 2^53 a JavaScript number is not exact); answers give them as numbers up
//! to 2^53 and as decimal strings beyond, as `jjj-transcode` does. `text` is a key's text, what a
//! CLI key file holds: the 32-byte seed as hex, after `sm2:` for an SM2 key. A request field
//! an op does not know is an error (a misspelt optional field would otherwise be ignored).
//!
//! | op | fields | `ok` |
//! |---|---|---|
//! | `version` | | `{crate_version, scheme_list, suite_list, ops}` |
//! | `key_from_text` | `text` | `{scheme, account, seed}` |
//! | `key_from_seed` | `scheme` (`ed25519`/`sm2`), `seed` | `{scheme, account, text}` |
//! | `encode_call` | `metadata`, `message`, `args`? | `{input}` |
//! | `sign_call` | `text`, `network`, `nonce`, `gas_limit`, `contract`, `input`, `value`?, `sender`? | `{tx, hash}` |
//! | `sign_transfer` | `text`, `network`, `nonce`, `gas_limit`, `to`, `amount`, `sender`? | `{tx, hash}` |
//! | `sign_read` | `text`, `network`, `contract`, `input`, `issued_at_ms`, `nonce` | `{read}` |
//! | `decode_output` | `metadata`, `message`, `output` | the decoded value |
//! | `decode_event` | `metadata`, `data` | the decoded event |
//! | `decode_call` | `metadata`, `input` | `{message, args}` |
//! | `decode_tx` | `tx`, `suite`?, `verify`? (true), `metadata`? | a transaction (below) |
//! | `decode_block` | `block`, `suite`?, `verify`? (false) | `{hash, height, …, transactions}` |
//! | `verify_block` | `header`, `certificate`, `validators`, `suite`? | `{height, hash, view, suite, signers, quorum, verified}` |
//! | `hash` | `data`, `suite` | `{hash}` (the suite's hash of `data`: a code hash…) |
//!
//! - `metadata` is the contract's metadata JSON (`jjj contract build` writes it next to the
//!   wasm), as a string or as the parsed object. `args` is a JSON array (by position) or object
//!   (by name), in `jjj-transcode`'s JSON mapping; left out, no arguments.
//! - `sign_call` and `sign_transfer` sign a `Transaction` with the key (`sender` defaults to the
//!   key's account; another for an account whose key was rotated). `tx` is the SCALE
//!   `SignedTransaction`, exactly what RPC `tx_submit` takes; `hash` is the hash `tx_submit`
//!   answers, in the key's suite (an ed25519 key signs for ed25519+blake2b networks, an SM2 key
//!   for sm2+sm3 ones). `value` defaults to 0.
//! - `sign_read`'s `read` is the SCALE `SignedRead`, the `read` parameter of `contract_query`,
//!   `contract_dryRun`, `contract_events` and `state_getProof`; `nonce` must be new for the
//!   reader within the node's window (draw it at random), `issued_at_ms` is `Date.now()`.
//! - `decode_tx` reads a SCALE `SignedTransaction` (`tx_submit`'s parameter, or one of a raw
//!   block): `{hash, suite, network, sender, nonce, gas_limit, size, signatures: [{signer,
//!   signature}], call, verified?}`. `call` is `{kind, …}` by kind: `transfer {to, amount}`,
//!   `call {contract, input, value}` (with `metadata`, also `decoded: {message, args}` or
//!   `decode_error`), `instantiate {code_hash, input, value}`, `upload_code {code_hash,
//!   code_size}`, `create_multisig {members, threshold}`, `register_account {account, member,
//!   roles}`, `set_account_suspended {account, suspended}`, `rotate_key {account, new_key}`,
//!   `propose {action, expires_at, memo, approvals, detail}` (a multisig call: `action` is
//!   `multisig_call` with `account`, `gas_limit`, `call`), `approve {proposal, approvals}`,
//!   `anchor_access_log {seq, head}`. The hash needs the network's `suite` (`ed25519+blake2b` or
//!   `sm2+sm3`, or a scheme name); left out, it is the one the signatures verify under.
//!   `verified` says whether every signature verifies.
//! - `decode_block` reads the SCALE `Block` (`chain_getBlock` with `raw: true`, its
//!   `raw_block`): `{hash, suite, network, height, parent_hash, timestamp, proposer, tx_root,
//!   receipts_root, state_root, transactions: [decode_tx answers]}`. Without `suite`, the first
//!   transaction's signature tells it; a block without transactions then has `hash` and `suite`
//!   null. Signatures are checked only with `verify: true` (SM2 checks cost milliseconds each).
//! - `verify_block` checks that a finalised block is certified: `header` is the SCALE `Header`
//!   and `certificate` the SCALE `CommitCertificate` (`chain_getBlock` with `raw: true`, its
//!   `raw_header` and `raw_certificate`: the header and the certificate the node stored with the
//!   block), `validators` the account ids of the validator set in force at that height, in
//!   leader order. The check is the light client's (`jjj_light::SetHistory::verify_header`, which
//!   `LightClient::accept` and `jjj audit` call): the certificate is for this header (its height
//!   and its hash in the suite), signed by at least a quorum (n − f) of distinct validators of
//!   the set, each signature a valid COMMIT vote on the header's network. `suite` defaults to the
//!   one whose hash of the header is the certificate's block hash. The answer, only when all
//!   holds: `{height, hash, view, suite, signers: [account], quorum, verified: true}`; otherwise
//!   an error naming why: a certificate of another block, a signer outside the set, a signer
//!   listed twice, a bad signature (naming its signer), `n signatures, q needed`, bytes that
//!   do not decode.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod ops;
mod request;

use serde_json::{json, Value};

/// Longest request `jjj_call` reads: room for the hex of the largest peer message (a block).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Runs one request (UTF-8 JSON) and answers with the response JSON: what `jjj_call` does, for
/// native callers and tests.
pub fn call(request: &[u8]) -> String {
    respond(ops::dispatch(request))
}

/// `{"ok": value}` or `{"error": message}` as JSON text.
pub fn respond(result: Result<Value, String>) -> String {
    let response = match result {
        Ok(value) => json!({ "ok": value }),
        Err(message) => json!({ "error": message }),
    };
    serde_json::to_string(&response).unwrap_or_else(|_| r#"{"error":"the response could not be written"}"#.into())
}

#[cfg(target_arch = "wasm32")]
mod abi {
    use crate::MAX_REQUEST_BYTES;
    use std::alloc::{alloc, dealloc, Layout};

    /// `len` bytes for the caller to fill; 0 (null) when memory cannot grow that far. A zero
    /// length gives a non-null pointer that needs no freeing.
    #[no_mangle]
    pub extern "C" fn jjj_alloc(len: u32) -> *mut u8 {
        if len == 0 {
            return std::ptr::NonNull::<u8>::dangling().as_ptr();
        }
        match Layout::from_size_align(len as usize, 1) {
            // SAFETY: the layout's size is not zero.
            Ok(layout) => unsafe { alloc(layout) },
            Err(_) => std::ptr::null_mut(),
        }
    }

    /// Gives back `len` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr` and `len` are exactly what one `jjj_alloc` returned and was given, or one
    /// `jjj_call` returned, not freed before; or `ptr` is null, or `len` zero (then nothing
    /// happens).
    #[no_mangle]
    pub unsafe extern "C" fn jjj_free(ptr: *mut u8, len: u32) {
        if ptr.is_null() || len == 0 {
            return;
        }
        if let Ok(layout) = Layout::from_size_align(len as usize, 1) {
            // SAFETY: allocated with this layout (by `jjj_alloc`, or as a boxed byte slice of
            // `len` bytes by `jjj_call`), as the caller promises.
            unsafe { dealloc(ptr, layout) }
        }
    }

    /// Runs the request of `len` bytes at `ptr`; returns `(out_ptr << 32) | out_len` of the
    /// response, which the caller frees with `jjj_free(out_ptr, out_len)`.
    ///
    /// # Safety
    /// `ptr .. ptr + len` is not written to during the call (it is read only). Any other
    /// pointer, even outside memory, is answered with an error.
    #[no_mangle]
    pub unsafe extern "C" fn jjj_call(ptr: *const u8, len: u32) -> u64 {
        // SAFETY: as the caller promises.
        let response = match unsafe { request_bytes(ptr, len) } {
            Ok(request) => crate::call(request),
            Err(message) => crate::respond(Err(message)),
        };
        let bytes = response.into_bytes().into_boxed_slice();
        let out_len = bytes.len() as u64;
        let out_ptr = Box::into_raw(bytes) as *mut u8 as usize as u64;
        (out_ptr << 32) | out_len
    }

    /// The request at `ptr .. ptr + len`, once it is known to lie in the memory.
    ///
    /// # Safety
    /// As `jjj_call`'s.
    unsafe fn request_bytes<'a>(ptr: *const u8, len: u32) -> Result<&'a [u8], String> {
        let len = len as usize;
        if len > MAX_REQUEST_BYTES {
            return Err(format!("the request is {len} bytes, over the limit of {MAX_REQUEST_BYTES}"));
        }
        if len == 0 {
            return Ok(&[]);
        }
        if ptr.is_null() {
            return Err("the request pointer is null".into());
        }
        let memory = core::arch::wasm32::memory_size(0) as u64 * 65_536;
        if ptr as usize as u64 + len as u64 > memory {
            return Err(format!("the request ({len} bytes at {}) lies outside the module's memory", ptr as usize));
        }
        // SAFETY: non-null and inside the linear memory, and not written during the call.
        Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
    }

    /// Keys are drawn by the page (crypto.getRandomValues), never here: `Keypair::generate`
    /// and anything else asking getrandom fails.
    fn no_entropy(_: &mut [u8]) -> Result<(), getrandom::Error> {
        Err(getrandom::Error::UNSUPPORTED)
    }
    getrandom::register_custom_getrandom!(no_entropy);
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_crypto::{Keypair, Scheme};

    fn answer(request: Value) -> Value {
        serde_json::from_str(&call(request.to_string().as_bytes())).expect("JSON")
    }

    #[test]
    fn keys_go_from_seed_to_text_and_back() {
        for scheme in Scheme::ALL {
            let key = Keypair::named(scheme, "unit");
            let seed = format!("0x{}", hex::encode(key.seed()));
            let made = answer(json!({"op": "key_from_seed", "scheme": scheme.name(), "seed": seed}));
            assert_eq!(made["ok"]["account"], key.account().to_string());
            assert_eq!(made["ok"]["text"], key.key_text());
            let read = answer(json!({"op": "key_from_text", "text": made["ok"]["text"]}));
            assert_eq!(
                read,
                json!({"ok": {"scheme": scheme.name(), "account": key.account().to_string(), "seed": seed}})
            );
        }
    }

    #[test]
    fn every_answer_is_ok_or_error_alone() {
        let version = answer(json!({"op": "version"}));
        assert_eq!(version["ok"]["crate_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(version["ok"]["ops"].as_array().map(Vec::len), Some(ops::OPS.len()));
        for bad in [&b"{"[..], b"null", b"{\"op\": \"version\", \"x\": 1}", b"{\"op\": \"hash\", \"data\": \"0x\"}"] {
            let v: Value = serde_json::from_str(&call(bad)).expect("JSON");
            let obj = v.as_object().expect("object");
            assert!(obj.len() == 1 && obj["error"].is_string(), "{v}");
        }
        let h = answer(json!({"op": "hash", "data": "0x", "suite": "sm2+sm3"}));
        assert_eq!(h["ok"]["hash"], jjj_crypto::sm3(b"").to_string());
    }

    #[test]
    fn large_integers_answer_as_decimal_strings() {
        assert_eq!(request::u64_json(1 << 53), json!(9_007_199_254_740_992u64));
        assert_eq!(request::u64_json((1 << 53) + 1), json!("9007199254740993"));
    }
}
