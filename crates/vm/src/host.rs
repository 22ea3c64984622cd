//! What the VM sees of the chain: the [`Host`] trait. The VM knows nothing of accounts, records
//! or the state tree; the state transition (`jjj_executive`) implements this over its overlay,
//! and the VM's own tests implement it over a map.
use jjj_abi::ProvenReceipt;
use jjj_primitives::{AccountId, Hash};

/// A failure of the host's storage (a backend error, a corrupt record). It fails the frame that
/// met it with `state: <message>`; it is never the contract's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// The code a contract runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractCode {
    pub code_hash: Hash,
    /// The module exports the re-entrancy marker: calls into it while it is on the stack are allowed.
    pub reentrant: bool,
}

/// The chain, as one execution sees it. Every write goes to the innermost checkpoint; a frame
/// that fails reverts its checkpoint, one that succeeds commits it into the one below.
pub trait Host: Send + 'static {
    /// A contract's storage value under `key`.
    fn storage_get(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, HostError>;
    fn storage_set(&mut self, contract: &AccountId, key: &[u8], value: Vec<u8>);
    fn storage_remove(&mut self, contract: &AccountId, key: &[u8]);
    /// An account's balance in fen (0 for an account never seen).
    fn balance(&self, account: &AccountId) -> Result<u64, HostError>;
    /// Moves `amount` fen; `Ok(false)` when `from` has too little, and then nothing moved.
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: u64) -> Result<bool, HostError>;
    /// The code of the contract at `address`, or `None` when no contract lives there.
    fn contract(&self, address: &AccountId) -> Result<Option<ContractCode>, HostError>;
    /// Uploaded wasm by its hash, compiled when the VM's module cache misses.
    fn code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, HostError>;
    /// Whether `account` holds `role` and may act: registered by a member, neither it nor its
    /// member suspended, not frozen. A host without an alliance registry answers no.
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, HostError> {
        let _ = (account, role);
        Ok(false)
    }
    /// The id of the member organisation that registered `account`. A host without an alliance
    /// registry answers none.
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, HostError> {
        let _ = account;
        Ok(None)
    }
    /// The region code (`jjj_abi::regions`) of the member that registered `account`.
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, HostError> {
        let _ = account;
        Ok(None)
    }
    /// Verifies a receipt proof of another network (SCALE `ReceiptProof`) against the chain's
    /// light-client record of it: the receipt and how many signatures that took, or why not.
    /// A host without records answers no.
    fn verify_receipt(&self, proof: &[u8]) -> Result<Result<(ProvenReceipt, usize), String>, HostError> {
        let _ = proof;
        Ok(Err("this chain keeps no record of other networks".into()))
    }
    fn checkpoint(&mut self);
    fn commit_checkpoint(&mut self);
    fn revert_checkpoint(&mut self);
}
