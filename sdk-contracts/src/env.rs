//! The contract's view of the chain: who called, with what value, at which block; balances,
//! transfers, events, hashing and signature checks.
use crate::backend;
use crate::event::ContractEvent;
use crate::{AccountId, Error, Hash, Result};
use jjj_abi::ReturnCode;

/// The account (person or contract) that called the running contract.
pub fn caller() -> AccountId {
    backend::caller()
}

/// The running contract's own address.
pub fn self_address() -> AccountId {
    backend::self_address()
}

/// Fen transferred with this call (already credited to the contract).
pub fn value() -> u64 {
    backend::value_transferred()
}

/// Balance of any account, in fen.
pub fn balance(of: &AccountId) -> u64 {
    backend::balance(of)
}

/// The running contract's balance, in fen.
pub fn self_balance() -> u64 {
    backend::balance(&backend::self_address())
}

/// Pays `amount` fen from the contract to `to`.
pub fn transfer(to: &AccountId, amount: u64) -> Result<()> {
    match backend::transfer(to, amount) {
        ReturnCode::Success => Ok(()),
        code => Err(Error::new(alloc::format!("transfer of {amount} fen to {to} failed: {}", code.describe()))),
    }
}

/// Whether `account` holds `role` in the alliance's registry and may act (registered by a
/// member, neither it nor its member suspended, not frozen). Roles are granted by governance or
/// by the account's member, never by a contract: use this instead of an admin list of your own.
/// The built-in names are in the `roles` module (`roles::UTILITY_PROVIDER`…).
pub fn has_role(account: &AccountId, role: &str) -> bool {
    backend::has_role(account, role)
}

/// The id of the member organisation (`beijing`, `tianjin`…) that registered `account`, or
/// `None` for an account no member registered.
pub fn member_of(account: &AccountId) -> Option<alloc::string::String> {
    backend::member_of(account)
}

/// The region of the member that registered `account`, as a `regions` code (`BEIJING`,
/// `TIANJIN`, `HEBEI`: the order of the regions, so `region as u8` of a contract's own
/// `enum Region { Beijing, Tianjin, Hebei }` compares with it), or `None` for an account no
/// member registered. What a contract checks before it takes an account's word for its region.
pub fn member_region(account: &AccountId) -> Option<u8> {
    backend::member_region(account)
}

/// Verifies a transaction finalised on another network from its proof (the SCALE
/// `ReceiptProof` of `tx_getProof`, e.g. `jjj audit receipt TX --scale`): its block's certificate
/// against the validators this network's governance trusts for that network, the transaction
/// and its receipt against the block's roots. Returns what it proved, or why not (an unknown
/// network, a certificate of other validators, a tampered receipt…). Costs gas per proof byte and
/// per certificate signature.
pub fn verify_receipt(proof: &[u8]) -> Result<crate::ProvenReceipt, alloc::string::String> {
    use parity_scale_codec::Decode;
    match backend::verify_receipt(proof) {
        Ok(bytes) => crate::ProvenReceipt::decode(&mut &bytes[..])
            .map_err(|e| alloc::format!("the host's proven receipt does not decode: {e}")),
        Err(reason) => Err(alloc::string::String::from_utf8_lossy(&reason).into_owned()),
    }
}

/// Whether the caller may act for `account` in the alliance's eyes: it is `account` itself, or
/// it holds the `member-admin` role of the member that registered `account`. What a contract
/// checks instead of an admin of its own before registering someone in a role.
pub fn caller_acts_for(account: &AccountId) -> bool {
    let caller = caller();
    if caller == *account {
        return true;
    }
    has_role(&caller, crate::roles::MEMBER_ADMIN)
        && member_of(account).is_some_and(|member| member_of(&caller).as_ref() == Some(&member))
}

/// Height of the block being executed.
pub fn block_height() -> u64 {
    backend::block_height()
}

/// Block timestamp, milliseconds since the Unix epoch.
pub fn block_time() -> u64 {
    backend::block_time()
}

/// Emits a typed event; its topics are the event name's hash followed by its indexed fields.
pub fn emit<E: ContractEvent>(event: &E) {
    let mut topics = alloc::vec![crate::event::name_topic(event.name())];
    topics.extend(event.indexed());
    if event.protected() {
        topics.push(Hash(jjj_abi::PROTECTED_EVENT_TOPIC));
    }
    backend::emit_event(&topics, &event.encode());
}

/// Appends a line to the debug buffer (shown by dry runs only).
pub fn debug(message: &str) {
    backend::debug_message(message)
}

/// Ends the call now as reverted with this message.
pub fn revert(message: &str) -> ! {
    backend::revert(message)
}

pub fn blake2_256(data: &[u8]) -> Hash {
    backend::hash_blake2_256(data)
}

/// The selector `#[contract]` gives a message named `name` (blake2b-256 of the name, first four
/// bytes): what a contract compares another contract's call input against.
pub fn selector(name: &str) -> [u8; 4] {
    let h = blake2_256(name.as_bytes());
    [h.0[0], h.0[1], h.0[2], h.0[3]]
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    backend::hash_sha256(data)
}

/// Checks an ed25519 signature by `signer` over `message`.
pub fn ed25519_verify(signature: &[u8; 64], signer: &AccountId, message: &[u8]) -> bool {
    backend::ed25519_verify(signature, signer, message)
}

/// Gas left for this call.
pub fn gas_left() -> u64 {
    backend::gas_left()
}
