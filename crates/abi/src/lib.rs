//! The jjj host ABI: the contract between a wasm contract and the node that runs it.
//!
//! This crate is the ONE definition of host function names and signatures, return codes, the
//! data limits a contract can observe, and the codec types both sides exchange. The SDK imports
//! the functions declared here (`sys`, wasm32 only); the runtime validates a module's imports
//! against [`HOST_FUNCTIONS`] and links exactly those names. A test in the runtime checks that
//! every function listed here is linked, so the two sides cannot drift apart.
//!
//! Conventions:
//! - Pointers and lengths are `u32` offsets into the contract's linear memory.
//! - Functions that hand data back take `(out_ptr, out_cap)`, copy at most `out_cap` bytes and
//!   return the full length; a caller whose buffer was too small calls again with a larger one.
//!   [`NOT_FOUND`] means there is no value at all.
//! - Amounts are `u64` fen (1/100 yuan); times are milliseconds since the Unix epoch.
#![no_std]

extern crate alloc;

use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};

/// The import module every host function lives in.
pub const HOST_MODULE: &str = "jjj";

/// Names of the exports every contract module must have.
pub mod exports {
    /// `fn deploy()`: runs once, at instantiation, with the constructor message as input.
    pub const DEPLOY: &str = "deploy";
    /// `fn call()`: runs for every call, with the message as input.
    pub const CALL: &str = "call";
    /// The contract's single linear memory.
    pub const MEMORY: &str = "memory";
    /// Optional marker export (any kind): present means the contract accepts re-entrant calls
    /// (a call into it while it is already on the call stack). Absent, such calls are refused.
    pub const REENTRANT: &str = "jjj_reentrant";
}

/// The last topic of a protected event (`#[event(protected)]`): a node serves it through
/// `contract_events` only to a signed reader whose account is one of its topics, or to an
/// auditor, and never to subscribers. Added by the SDK after the event's own topics.
pub const PROTECTED_EVENT_TOPIC: [u8; 32] = *b"jjj/protected-event/v1\0\0\0\0\0\0\0\0\0\0";

/// Why `protected_read` fails a query or dry run no reader signed for (the node and the SDK's
/// test host say the same).
pub const PROTECTED_READ_REFUSAL: &str =
    "protected data: only a signed read request may read it (jjj contract query --key KEYFILE)";

/// Returned by functions that hand data back when there is no value at all.
pub const NOT_FOUND: u32 = u32::MAX;

/// Limits a contract can run into through the ABI. Engine limits (code size, memory, stack) live
/// in the runtime; these are the ones the SDK checks too, so authors get the error early.
pub mod limits {
    /// Longest storage key, in bytes.
    pub const MAX_STORAGE_KEY_LEN: u32 = 128;
    /// Largest storage value, in bytes.
    pub const MAX_STORAGE_VALUE_LEN: u32 = 16 * 1024;
    /// Most topics on one event: its name, three fields, and the mark of a protected event
    /// ([`crate::PROTECTED_EVENT_TOPIC`]).
    pub const MAX_EVENT_TOPICS: u32 = 5;
    /// Largest event payload, in bytes.
    pub const MAX_EVENT_DATA_LEN: u32 = 4 * 1024;
    /// Most events one transaction may emit, across all its calls.
    pub const MAX_EVENTS_PER_TX: u32 = 256;
    /// Largest call input (message), in bytes.
    pub const MAX_INPUT_LEN: u32 = 64 * 1024;
    /// Largest output or revert message a call may return, in bytes.
    pub const MAX_OUTPUT_LEN: u32 = 16 * 1024;
    /// Largest total of debug messages kept for one dry run, in bytes (more is dropped).
    pub const MAX_DEBUG_BUFFER_LEN: u32 = 16 * 1024;
    /// Deepest chain of contract calls: the transaction's own call is depth 1.
    pub const MAX_CALL_DEPTH: u32 = 8;
    /// Largest message `ed25519_verify` and the hash functions accept, in bytes.
    pub const MAX_CRYPTO_INPUT_LEN: u32 = 64 * 1024;
    /// Largest receipt proof `verify_receipt` takes, in bytes (a block's header and certificate,
    /// one transaction, its receipt and two Merkle branches).
    pub const MAX_RECEIPT_PROOF_LEN: u32 = 64 * 1024;
}

/// Outcome codes of host functions that can fail without ending the call.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnCode {
    Success = 0,
    /// The paying account has less than the amount.
    InsufficientBalance = 1,
    /// The callee reverted; `return_data` holds its message.
    CalleeReverted = 2,
    /// The callee trapped or ran out of gas; `return_data` holds the reason.
    CalleeFailed = 3,
    /// The address has no contract.
    NotAContract = 4,
    /// The callee is already on the call stack and does not accept re-entrant calls.
    ReentrancyDenied = 5,
    /// The call would exceed [`limits::MAX_CALL_DEPTH`].
    CallDepthExceeded = 6,
}

impl ReturnCode {
    pub fn from_u32(code: u32) -> Option<ReturnCode> {
        Some(match code {
            0 => ReturnCode::Success,
            1 => ReturnCode::InsufficientBalance,
            2 => ReturnCode::CalleeReverted,
            3 => ReturnCode::CalleeFailed,
            4 => ReturnCode::NotAContract,
            5 => ReturnCode::ReentrancyDenied,
            6 => ReturnCode::CallDepthExceeded,
            _ => return None,
        })
    }

    pub fn describe(self) -> &'static str {
        match self {
            ReturnCode::Success => "success",
            ReturnCode::InsufficientBalance => "insufficient balance",
            ReturnCode::CalleeReverted => "callee reverted",
            ReturnCode::CalleeFailed => "callee failed",
            ReturnCode::NotAContract => "no contract at that address",
            ReturnCode::ReentrancyDenied => "re-entrant call refused",
            ReturnCode::CallDepthExceeded => "call depth limit exceeded",
        }
    }
}

/// A wasm value type used in host function signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiType {
    I32,
    I64,
}

/// One host function: its import name and wasm signature.
#[derive(Clone, Copy, Debug)]
pub struct HostFunction {
    pub name: &'static str,
    pub params: &'static [AbiType],
    pub results: &'static [AbiType],
}

macro_rules! abi_type {
    (u32) => {
        AbiType::I32
    };
    (u64) => {
        AbiType::I64
    };
}

macro_rules! host_functions {
    ($( $(#[doc = $doc:expr])* fn $name:ident ( $($arg:ident : $ty:ident),* ) $(-> $ret:ident)? ; )*) => {
        /// The raw imports. Only a wasm32 build links them; natively the SDK routes to its test host.
        pub mod sys {
            #[cfg(target_arch = "wasm32")]
            #[link(wasm_import_module = "jjj")]
            extern "C" {
                $( $(#[doc = $doc])* pub fn $name($($arg: $ty),*) $(-> $ret)?; )*
            }
        }

        /// Every host function, in declaration order. The runtime links exactly these.
        pub const HOST_FUNCTIONS: &[HostFunction] = &[
            $( HostFunction {
                name: stringify!($name),
                params: &[$(abi_type!($ty)),*],
                results: &[$(abi_type!($ret))?],
            }, )*
        ];

        /// Host function names as constants, so the runtime spells each once.
        #[allow(non_upper_case_globals)]
        pub mod names {
            $( pub const $name: &str = stringify!($name); )*
        }
    };
}

host_functions! {
    /// Copies the call's input (the SCALE-encoded message); returns its full length.
    fn input(out_ptr: u32, out_cap: u32) -> u32;
    /// Sets the call's output (replacing any earlier one).
    fn set_output(ptr: u32, len: u32);
    /// Ends the call as reverted with a UTF-8 message; all its writes are undone. Never returns.
    fn revert(ptr: u32, len: u32);
    /// Reads a storage value of the running contract; returns its length or `NOT_FOUND`.
    fn storage_get(key_ptr: u32, key_len: u32, out_ptr: u32, out_cap: u32) -> u32;
    /// Writes a storage value of the running contract.
    fn storage_set(key_ptr: u32, key_len: u32, value_ptr: u32, value_len: u32);
    /// Removes a storage value of the running contract.
    fn storage_remove(key_ptr: u32, key_len: u32);
    /// Returns 1 if the key holds a value, else 0.
    fn storage_contains(key_ptr: u32, key_len: u32) -> u32;
    /// Writes the 32-byte account that called this contract.
    fn caller(out_ptr: u32);
    /// Writes the 32-byte address of the running contract.
    fn self_address(out_ptr: u32);
    /// The value (fen) transferred with this call.
    fn value_transferred() -> u64;
    /// Balance (fen) of any account.
    fn balance(account_ptr: u32) -> u64;
    /// Pays `amount` fen from the running contract to an account; returns a `ReturnCode`.
    fn transfer(to_ptr: u32, amount: u64) -> u32;
    /// Height of the block being executed.
    fn block_height() -> u64;
    /// Timestamp of the block being executed, in milliseconds since the Unix epoch.
    fn block_time() -> u64;
    /// Emits an event: `topics_count` 32-byte topics at `topics_ptr`, and a payload.
    fn emit_event(topics_ptr: u32, topics_count: u32, data_ptr: u32, data_len: u32);
    /// Calls another contract with its own gas limit (0 = all that is left) and value;
    /// returns a `ReturnCode`; the callee's output or failure reason is then in `return_data`.
    fn call_contract(address_ptr: u32, input_ptr: u32, input_len: u32, value: u64, gas_limit: u64) -> u32;
    /// Copies the output of the last `call_contract`; returns its full length.
    fn return_data(out_ptr: u32, out_cap: u32) -> u32;
    /// Writes the 32-byte blake2b-256 hash of the input.
    fn hash_blake2_256(ptr: u32, len: u32, out_ptr: u32);
    /// Writes the 32-byte SHA-256 hash of the input.
    fn hash_sha256(ptr: u32, len: u32, out_ptr: u32);
    /// Returns 1 if the 64-byte signature over the message is valid for the 32-byte ed25519 key.
    fn ed25519_verify(signature_ptr: u32, public_key_ptr: u32, msg_ptr: u32, msg_len: u32) -> u32;
    /// Appends a UTF-8 line to the debug buffer. Kept only in dry runs; costs gas always.
    fn debug_message(ptr: u32, len: u32);
    /// Gas left for the running call.
    fn gas_left() -> u64;
    /// Returns 1 if the 32-byte account is registered by an alliance member, holds the role
    /// named by the UTF-8 string, and may act (neither it, nor its member, is suspended, and it
    /// is not frozen); else 0.
    fn has_role(account_ptr: u32, role_ptr: u32, role_len: u32) -> u32;
    /// Copies the id of the member organisation that registered the 32-byte account (UTF-8);
    /// returns its full length, or `NOT_FOUND` for an account no member registered.
    fn member_of(account_ptr: u32, out_ptr: u32, out_cap: u32) -> u32;
    /// The region of the member that registered the 32-byte account, as a [`regions`] code, or
    /// `NOT_FOUND` for an account no member registered.
    fn member_region(account_ptr: u32) -> u32;
    /// Marks the running message as a read of protected data (`#[message(query, protected)]`
    /// calls it first). In a query or dry run that no reader signed for, the call fails here;
    /// otherwise (a signed read, a transaction) the node records the read in its access log.
    fn protected_read();
    /// Verifies a finalised receipt of another network: the SCALE `ReceiptProof` at `proof_ptr`
    /// (what `tx_getProof` gives; `jjj audit receipt --scale` prints it), against this network's
    /// light-client record of that network (its validators, set by governance). Returns 0 and
    /// puts the SCALE [`ProvenReceipt`] in `return_data`, or 1 and the reason, UTF-8.
    fn verify_receipt(proof_ptr: u32, proof_len: u32) -> u32;
}

/// What `verify_receipt` proved: a transaction finalised on another network, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProvenReceipt {
    /// The source network's id (ASCII).
    pub network: alloc::vec::Vec<u8>,
    pub height: u64,
    pub tx_hash: Hash,
    /// Who sent it (a key or multisig account of that network).
    pub sender: AccountId,
    /// The contract call it made; `None` for other kinds of transaction.
    pub call: Option<ProvenCall>,
    pub success: bool,
    pub output: alloc::vec::Vec<u8>,
    pub events: alloc::vec::Vec<ProvenEvent>,
}

/// The contract call of a [`ProvenReceipt`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProvenCall {
    pub contract: AccountId,
    pub input: alloc::vec::Vec<u8>,
    pub value: u64,
}

/// An event of a [`ProvenReceipt`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProvenEvent {
    pub contract: AccountId,
    pub topics: alloc::vec::Vec<Hash>,
    pub data: alloc::vec::Vec<u8>,
}

/// The region codes `member_region` answers: the order of the members' region
/// (`jjj_primitives::gov::Region`), which contracts' own region enums follow too.
pub mod regions {
    /// 京
    pub const BEIJING: u8 = 0;
    /// 津
    pub const TIANJIN: u8 = 1;
    /// 冀
    pub const HEBEI: u8 = 2;
}

/// The roles the chain itself consults. Roles are data: governance may grant any other name,
/// and contracts ask for them with the `has_role` host function.
pub mod roles {
    /// Acts for its member: registers accounts, rotates their keys (admin keys hold it).
    pub const MEMBER_ADMIN: &str = "member-admin";
    /// Registers and suspends its member's accounts.
    pub const REGISTRAR: &str = "registrar";
    /// May upload and instantiate contract code (the default policy of both).
    pub const DEPLOYER: &str = "deployer";
    /// May be issued settlement money.
    pub const BANK: &str = "bank";
    pub const VALIDATOR: &str = "validator";
    pub const AUDITOR: &str = "auditor";
    pub const UTILITY_PROVIDER: &str = "utility-provider";
    pub const TRANSPORTER: &str = "transporter";
    pub const FACILITY: &str = "facility";
    pub const ENVIRONMENT_AGENCY: &str = "environment-agency";
    pub const ARBITRATOR: &str = "arbitrator";
    pub const RESIDENT: &str = "resident";
    /// Every role named here, for `--help` and listings.
    pub const KNOWN: [&str; 12] = [
        MEMBER_ADMIN,
        REGISTRAR,
        DEPLOYER,
        BANK,
        VALIDATOR,
        AUDITOR,
        UTILITY_PROVIDER,
        TRANSPORTER,
        FACILITY,
        ENVIRONMENT_AGENCY,
        ARBITRATOR,
        RESIDENT,
    ];
}

/// Looks a host function up by name.
pub fn host_function(name: &str) -> Option<&'static HostFunction> {
    HOST_FUNCTIONS.iter().find(|f| f.name == name)
}

macro_rules! bytes32 {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
        #[cfg_attr(feature = "scale-info", derive(scale_info::TypeInfo))]
        pub struct $name(pub [u8; 32]);

        impl $name {
            pub const fn new(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("0x")?;
                for b in self.0 {
                    write!(f, "{:02x}", b)?;
                }
                Ok(())
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                // Short form keeps test failures and logs readable.
                write!(f, "{}(0x", stringify!($name))?;
                for b in &self.0[..4] {
                    write!(f, "{:02x}", b)?;
                }
                f.write_str("…)")
            }
        }
    };
}

bytes32!(
    /// An account: an ed25519 public key, a multisig account id, or a contract address.
    AccountId
);
bytes32!(
    /// A blake2b-256 hash: code hashes, block and transaction hashes, event topics, roots.
    Hash
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_function_names_are_unique_and_found() {
        for (i, f) in HOST_FUNCTIONS.iter().enumerate() {
            assert!(HOST_FUNCTIONS[i + 1..].iter().all(|g| g.name != f.name), "{} twice", f.name);
            assert_eq!(host_function(f.name).map(|g| g.name), Some(f.name));
        }
        assert!(host_function("no_such_function").is_none());
        let call = host_function(names::call_contract).map(|f| f.params.len());
        assert_eq!(call, Some(5));
    }

    #[test]
    fn return_codes_round_trip() {
        for code in 0..7 {
            let rc = ReturnCode::from_u32(code).map(|c| c as u32);
            assert_eq!(rc, Some(code));
        }
        assert_eq!(ReturnCode::from_u32(7), None);
    }
}
