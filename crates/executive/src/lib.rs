//! jjj-executive: the state transition. Checking and applying transactions and blocks.
//!
//! `apply_transaction` either refuses a transaction ([`TxError`]: it cannot be in a block) or
//! applies it and returns a receipt: a failed call still bumps the nonce, uses gas and yields a
//! failed receipt; the block goes on. `build_block` is the proposer's side (skips what it must
//! refuse), `apply_block` the replica's (refuses a block that holds such a transaction or whose
//! roots differ from what re-execution gives).
//!
//! No IO, no clock, no environment: block time comes in the header, state through
//! [`StateReader`]. Contract code runs in [`jjj_vm`] over [`ChainHost`].
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
pub mod gov;
mod host;
mod layout;

pub use host::{has_role, ChainHost};

use jjj_crypto::{verify, Suite};
use jjj_primitives::access::{AccessAnchor, SignedRead};
use jjj_primitives::gov::{self as gov_types, ProposalBody};
use jjj_primitives::params::{
    DEFAULT_BLOCK_GAS_LIMIT, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_BLOCK_TXS, MAX_CODE_SIZE, MAX_MULTISIG_MEMBERS,
    MAX_TX_GAS, MAX_TX_SIZE,
};
use jjj_primitives::*;
use jjj_state::gov::ProposalStatus;
use jjj_state::{
    decode_record, keys, load_account, load_contract, move_balance, store_account, ChangeSet, CodeInfo, ContractInfo,
    Multisig, Overlay, StateCommitment, StateError, StateReader,
};
use jjj_vm::limits::gas;
use jjj_vm::{Entry, FrameEnd, Invocation, Vm, VmError};

pub use jjj_vm::trace::MAX_TRACE_STEPS;
pub use jjj_vm::{limits::MAX_INSTANCES_PER_TX, ReadAccess, TraceStep, VmConfig};
use parity_scale_codec::Encode;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// The VM as the state transition uses it: over the state overlay.
pub type ChainVm = Vm<ChainHost>;

/// Why a transaction cannot be included in a block. Nothing about it reaches the ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("transaction is for network {got}, this is {expected}")]
    WrongNetwork { expected: NetworkId, got: NetworkId },
    #[error("transaction of {size} bytes is over the limit of {MAX_TX_SIZE}")]
    TooLarge { size: usize },
    #[error("gas limit {gas_limit} is over the per-transaction maximum of {MAX_TX_GAS}")]
    GasLimitTooHigh { gas_limit: u64 },
    #[error("gas limit {gas_limit} does not cover the transaction's intrinsic cost of {intrinsic}")]
    GasLimitTooLow { gas_limit: u64, intrinsic: u64 },
    #[error("bad signature: {0}")]
    BadSignature(String),
    #[error("account {account} is not registered: a registrar of its member organisation must register it first")]
    NotRegistered { account: AccountId },
    /// Suspended by its member, frozen by governance, or its member suspended.
    #[error("{0}")]
    Blocked(String),
    #[error("nonce {got} is not the sender's next nonce {expected}")]
    BadNonce { expected: u64, got: u64 },
    /// This node could not finish executing it (the wall-clock backstop, an exhausted instance
    /// pool): says nothing about the transaction, and never becomes a receipt.
    #[error("execution aborted: {0}")]
    Aborted(String),
    /// It can never fit in a block of this network (larger than a whole block allows).
    #[error("{0}")]
    OverBlockLimit(String),
    #[error("state: {0}")]
    State(String),
}

impl From<StateError> for TxError {
    fn from(e: StateError) -> Self {
        TxError::State(e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("transaction {index} ({hash}) is invalid: {error}")]
    InvalidTransaction { index: usize, hash: Hash, error: TxError },
    #[error("the block holds {count} transactions, over the limit of {limit}")]
    TooManyTransactions { count: usize, limit: usize },
    #[error("the block's transactions take {bytes} bytes, over the limit of {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error(
        "transaction {index}'s gas limit {gas_limit} is over the gas left in the block ({left} of the block gas limit {limit})"
    )]
    GasLimitExceeded { index: usize, gas_limit: u64, left: u64, limit: u64 },
    /// This node could not execute the block (see [`TxError::Aborted`]): not a verdict on it.
    #[error("execution of transaction {index} ({hash}) aborted on this node: {reason}")]
    Aborted { index: usize, hash: Hash, reason: String },
    #[error("{which} mismatch: the header says {expected}, execution gives {got}")]
    RootMismatch { which: &'static str, expected: Hash, got: Hash },
    #[error("state: {0}")]
    State(String),
}

/// The result of executing a block's transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockExecution {
    pub receipts: Vec<Receipt>,
    pub changes: ChangeSet,
    pub tx_root: Hash,
    pub receipts_root: Hash,
    pub state_root: Hash,
}

/// A transaction applied with its host-call log ([`Runtime::trace_transaction`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedTransaction {
    pub receipt: Receipt,
    pub steps: Vec<TraceStep>,
    pub debug: Vec<String>,
}

/// What a traced dispatch kept besides its receipt.
struct Traced {
    trace: Vec<TraceStep>,
    debug: Vec<String>,
}

/// A read-only execution's result, with the gas it took and the debug lines it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    pub receipt: Receipt,
    pub debug: Vec<String>,
    /// A protected message ran, or was refused for want of a signed reader.
    pub protected: bool,
}

/// What the proposer needs to start a block.
#[derive(Debug, Clone)]
pub struct BlockTemplate {
    pub network: NetworkId,
    pub height: u64,
    pub parent_hash: Hash,
    pub timestamp: u64,
    pub proposer: AccountId,
}

/// What the proposer gets: the block, its execution, and the candidates left out with why.
pub type BuiltBlock = (Block, BlockExecution, Vec<(SignedTransaction, TxError)>);

/// What one block may hold: consensus rules from the genesis, enforced by the proposer
/// (`build_block` stops short of them) and by replicas (`apply_block` refuses a block over them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    pub max_txs: usize,
    /// Bytes of the block's encoded signed transactions.
    pub max_bytes: usize,
    /// Gas the block's receipts may use together.
    pub max_gas: u64,
}

impl Default for BlockLimits {
    fn default() -> Self {
        BlockLimits {
            max_txs: DEFAULT_MAX_BLOCK_TXS,
            max_bytes: DEFAULT_MAX_BLOCK_BYTES,
            max_gas: DEFAULT_BLOCK_GAS_LIMIT,
        }
    }
}

/// The deterministic state transition. Cheap to clone; share one per network (the VM inside is
/// shared by the clones; the block limits and the crypto suite are the network's).
#[derive(Clone)]
pub struct Runtime {
    vm: ChainVm,
    limits: BlockLimits,
    suite: Suite,
    /// Shared by the clones of one suite.
    verified: Arc<Mutex<VerifiedTransactions>>,
    /// Shared by all clones.
    times: Arc<BlockPhaseTimes>,
    /// The network's genesis validators: who may anchor an access log until governance
    /// schedules another set.
    genesis_validators: Arc<Vec<AccountId>>,
}

/// Where block execution's time went, summed over the blocks this runtime (and its clones)
/// built or checked: what `jjj bench` divides by the blocks to print per-block phase times.
#[derive(Default, Debug)]
pub struct BlockPhaseTimes {
    pub blocks: std::sync::atomic::AtomicU64,
    /// Signature checks before the transactions run (batched; verified ones are lookups).
    pub verify_ns: std::sync::atomic::AtomicU64,
    /// Running the transactions.
    pub execute_ns: std::sync::atomic::AtomicU64,
    /// The state root after the block, and the tx and receipts roots.
    pub root_ns: std::sync::atomic::AtomicU64,
}

impl BlockPhaseTimes {
    fn add(&self, verify: std::time::Duration, execute: std::time::Duration, root: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.blocks.fetch_add(1, Relaxed);
        self.verify_ns.fetch_add(verify.as_nanos() as u64, Relaxed);
        self.execute_ns.fetch_add(execute.as_nanos() as u64, Relaxed);
        self.root_ns.fetch_add(root.as_nanos() as u64, Relaxed);
    }
}

/// Transactions whose signatures this runtime verified, by hash (which covers the signatures):
/// a node checks a transaction when it admits it to its mempool and again in the block that
/// includes it, when it builds or validates that block; the second check is a lookup. Only
/// successes are kept, so the verdict is the same as verifying again. Bounded, oldest out first.
#[derive(Default)]
struct VerifiedTransactions {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
}

/// Verified transactions remembered (64 bytes each with the index): several full blocks and a
/// full mempool.
const VERIFIED_TRANSACTIONS: usize = 200_000;

impl VerifiedTransactions {
    fn insert(&mut self, hash: Hash) {
        if self.set.insert(hash) {
            self.order.push_back(hash);
            if self.order.len() > VERIFIED_TRANSACTIONS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The address a contract gets: from its deployer and the deployer's nonce at instantiation,
/// hashed with the network's hash.
pub fn contract_address(algo: HashAlgo, deployer: &AccountId, nonce: u64) -> AccountId {
    let mut b = b"jjj/contract".to_vec();
    b.extend_from_slice(&deployer.0);
    b.extend_from_slice(&nonce.to_le_bytes());
    AccountId(algo.hash(&b).0)
}

/// The id of a multisig account: from its sorted members and threshold.
pub fn multisig_address(algo: HashAlgo, members: &[AccountId], threshold: u32) -> AccountId {
    let mut sorted = members.to_vec();
    sorted.sort();
    let mut b = b"jjj/multisig".to_vec();
    for m in &sorted {
        b.extend_from_slice(&m.0);
    }
    b.extend_from_slice(&threshold.to_le_bytes());
    AccountId(algo.hash(&b).0)
}

/// An account in the genesis: its member, roles and balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisAccountSpec {
    pub account: AccountId,
    pub member: String,
    pub roles: Vec<String>,
    pub balance: u64,
}

/// The genesis state of the consortium layer and the balances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenesisSpec {
    pub members: Vec<gov_types::MemberSpec>,
    pub accounts: Vec<GenesisAccountSpec>,
    /// Thresholds per governance action kind (MAJORITY where not named).
    pub thresholds: Vec<(String, gov_types::Threshold)>,
    /// Roles a member's admins may give their own accounts at registration.
    pub member_grantable: Vec<String>,
}

/// The member [`genesis_changes`] registers test accounts with.
pub const DEV_MEMBER: &str = "dev";

impl GenesisSpec {
    /// For tests and devnets: one member, `dev` (its admin the first account), every account
    /// registered by it with the deployer role; residents registrable by its admins.
    pub fn dev(balances: &[(AccountId, u64)]) -> Self {
        let admins = balances.first().map(|(a, _)| vec![*a]).unwrap_or_else(|| vec![AccountId([0xad; 32])]);
        GenesisSpec {
            members: vec![gov_types::MemberSpec {
                id: DEV_MEMBER.into(),
                name: "开发网".into(),
                region: gov_types::Region::Beijing,
                admins,
                admin_threshold: 1,
            }],
            accounts: balances
                .iter()
                .map(|(a, b)| GenesisAccountSpec {
                    account: *a,
                    member: DEV_MEMBER.into(),
                    roles: vec![gov_types::roles::DEPLOYER.into()],
                    balance: *b,
                })
                .collect(),
            thresholds: vec![],
            member_grantable: vec![gov_types::roles::RESIDENT.into()],
        }
    }

    /// The genesis state, or what is wrong with the spec.
    pub fn changes(&self) -> Result<ChangeSet, String> {
        // Registrations only read what they wrote: the empty base's hash never comes into play.
        let mut o = Overlay::new(Arc::new(jjj_state::MemoryState::new(HashAlgo::Blake2b256)));
        let err = |e: TxError| e.to_string();
        if self.members.is_empty() {
            return Err("the genesis names no member organisation".into());
        }
        for m in &self.members {
            gov::add_member(&mut o, m.clone(), 0).map_err(err)??;
        }
        let mut total: u64 = 0;
        for a in &self.accounts {
            match jjj_state::gov::load_registration(&o, &a.account).map_err(|e| e.to_string())? {
                Some(mut r) if r.member == a.member => {
                    r.roles.extend(a.roles.iter().cloned());
                    r.roles.sort();
                    r.roles.dedup();
                    jjj_state::gov::store(&mut o, jjj_state::gov::keys::registration(&a.account), &r);
                }
                Some(r) => return Err(format!("account {} is listed under {} and {}", a.account, r.member, a.member)),
                None => {
                    if !self.members.iter().any(|m| m.id == a.member) {
                        return Err(format!("account {} names unknown member {}", a.account, a.member));
                    }
                    gov::register(&mut o, &a.account, &a.member, a.roles.clone(), 0)
                }
            }
            for role in &a.roles {
                gov_types::check_name("role", role)?;
            }
            total = total.checked_add(a.balance).ok_or("total genesis balance overflows")?;
            let mut acct = load_account(&o, &a.account).map_err(|e| e.to_string())?;
            acct.balance = acct.balance.checked_add(a.balance).ok_or("balance overflows")?;
            store_account(&mut o, &a.account, &acct);
        }
        for (kind, t) in &self.thresholds {
            if !gov_types::GovAction::KINDS.contains(&kind.as_str()) {
                return Err(format!("unknown action kind {kind}: one of {}", gov_types::GovAction::KINDS.join(", ")));
            }
            jjj_state::gov::store(&mut o, jjj_state::gov::keys::threshold(kind), t);
        }
        for role in &self.member_grantable {
            gov_types::check_name("role", role)?;
            o.set(jjj_state::gov::keys::grantable(role), vec![1]);
        }
        Ok(o.into_changes())
    }
}

/// Genesis state for tests: [`GenesisSpec::dev`] of these balances.
pub fn genesis_changes(balances: &[(AccountId, u64)]) -> ChangeSet {
    GenesisSpec::dev(balances).changes().unwrap_or_default()
}

/// The base gas of a consortium call (`None` for other calls): per byte of the call, plus one
/// signature check per approval it carries.
fn governance_cost(call: &Call) -> Option<u64> {
    let approvals = match call {
        Call::Propose { approvals, .. } | Call::Approve { approvals, .. } => approvals.len() as u64,
        Call::RegisterAccount { .. } | Call::SetAccountSuspended { .. } | Call::RotateKey { .. } => 0,
        _ => return None,
    };
    Some(gas::GOVERNANCE.of(call.encoded_size()).saturating_add(gas::EXTRA_SIGNATURE.saturating_mul(approvals)))
}

/// Encoded size of one signature list entry, with its length prefix.
const SINGLE_SIGNATURE_BYTES: usize = 1 + 32 + 64;

impl Runtime {
    pub fn new() -> Result<Self, VmError> {
        Self::with_config(VmConfig::default())
    }

    /// A runtime with its own VM (engine, instance pool, module cache): a node gives RPC dry
    /// runs and queries a second, smaller one, so they cannot starve block execution.
    pub fn with_config(config: VmConfig) -> Result<Self, VmError> {
        Ok(Runtime {
            vm: Vm::with_config(config)?,
            limits: BlockLimits::default(),
            suite: Suite::Ed25519Blake2b,
            verified: Arc::default(),
            times: Arc::default(),
            genesis_validators: Arc::default(),
        })
    }

    /// The same runtime (sharing its VM) with a network's block limits.
    pub fn with_block_limits(&self, limits: BlockLimits) -> Self {
        Runtime { limits, ..self.clone() }
    }

    /// The same runtime (sharing its VM) knowing the network's genesis validators.
    pub fn with_genesis_validators(&self, validators: Vec<AccountId>) -> Self {
        Runtime { genesis_validators: Arc::new(validators), ..self.clone() }
    }

    /// The validator set deciding height `height`: the last set governance scheduled from a
    /// height at or below it, else the genesis set.
    pub fn validators_at(&self, overlay: &Overlay, height: u64) -> Result<Vec<AccountId>, TxError> {
        gov::validators_at(&self.genesis_validators, overlay, height)
    }

    /// The same runtime (sharing its VM) for a network of `suite`: its signatures are verified
    /// with the suite's scheme, and every hash that enters a root is the suite's.
    pub fn with_suite(&self, suite: Suite) -> Self {
        // What one suite verified says nothing under the other.
        let verified = if suite == self.suite { self.verified.clone() } else { Arc::default() };
        Runtime { suite, verified, ..self.clone() }
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Time spent per block phase so far (see [`BlockPhaseTimes`]).
    pub fn phase_times(&self) -> &BlockPhaseTimes {
        &self.times
    }

    /// The network's hash.
    pub fn hash_algo(&self) -> HashAlgo {
        self.suite.hash_algo()
    }

    pub fn block_limits(&self) -> BlockLimits {
        self.limits
    }

    /// The limits of a block built on `state`: what governance set last, else the genesis
    /// values this runtime was given. Read from the parent's state, so proposer and replicas
    /// agree, and a change applies from the block after the one that executed it.
    pub fn block_limits_at(&self, state: &Overlay) -> Result<BlockLimits, StateError> {
        Ok(match jjj_state::gov::load_block_limits(state)? {
            Some(l) => BlockLimits { max_txs: l.max_txs as usize, max_bytes: l.max_bytes as usize, max_gas: l.max_gas },
            None => self.limits,
        })
    }

    pub fn vm(&self) -> &ChainVm {
        &self.vm
    }

    /// Checks everything about a transaction that does not need execution: network, size, gas
    /// limit, signatures and nonce against `overlay`. The mempool calls the parts separately
    /// ([`Runtime::check_structure`], [`Runtime::verify_signatures`]) to keep the expensive one last.
    pub fn check_transaction(
        &self,
        overlay: &Overlay,
        network: &NetworkId,
        stx: &SignedTransaction,
    ) -> Result<u64, TxError> {
        self.check_hashed_transaction(overlay, network, stx, &stx.hash(self.hash_algo()))
    }

    /// [`Runtime::check_transaction`] with the transaction's hash already computed (once per
    /// transaction per block, not once per check).
    fn check_hashed_transaction(
        &self,
        overlay: &Overlay,
        network: &NetworkId,
        stx: &SignedTransaction,
        hash: &Hash,
    ) -> Result<u64, TxError> {
        let intrinsic = self.check_structure(overlay, network, stx)?;
        self.verify_hashed_signatures(stx, hash)?;
        let account = load_account(overlay, &stx.tx.sender)?;
        if stx.tx.nonce != account.nonce {
            return Err(TxError::BadNonce { expected: account.nonce, got: stx.tx.nonce });
        }
        Ok(intrinsic)
    }

    /// Every check that costs no signature verification: network, size, gas limit, and who
    /// signed (count, distinctness, the sender or its multisig members). Returns the intrinsic
    /// gas. Run before [`Runtime::verify_signatures`] so a malformed transaction is refused for the
    /// price of a state read, however many signatures it carries.
    pub fn check_structure(
        &self,
        overlay: &Overlay,
        network: &NetworkId,
        stx: &SignedTransaction,
    ) -> Result<u64, TxError> {
        let tx = &stx.tx;
        if &tx.network != network {
            return Err(TxError::WrongNetwork { expected: network.clone(), got: tx.network.clone() });
        }
        let size = stx.encoded_size();
        if size > MAX_TX_SIZE {
            return Err(TxError::TooLarge { size });
        }
        if tx.gas_limit > MAX_TX_GAS {
            return Err(TxError::GasLimitTooHigh { gas_limit: tx.gas_limit });
        }
        let intrinsic = gas::TX.of(size) + gas::EXTRA_SIGNATURE * stx.signatures.len().saturating_sub(1) as u64;
        if tx.gas_limit < intrinsic {
            return Err(TxError::GasLimitTooLow { gas_limit: tx.gas_limit, intrinsic });
        }
        self.check_signatures(overlay, stx)?;
        Ok(intrinsic)
    }

    /// Whether `tx`'s sender is one the chain knows without a signature check: an account a
    /// member registered, or — for an access-log anchor — a node key, which is never registered
    /// ([`Runtime::check_structure`] then asks for a validator).
    pub fn sender_known(&self, overlay: &Overlay, tx: &Transaction) -> Result<bool, TxError> {
        if let Call::AnchorAccessLog { .. } = tx.call {
            return Ok(true);
        }
        Ok(overlay.get(&jjj_state::gov::keys::registration(&tx.sender))?.is_some())
    }

    /// Who signed, without verifying any signature: a key account's transaction carries exactly
    /// its own signature; a multisig's carries distinct members' signatures, at least its
    /// threshold and at most its member count.
    fn check_signatures(&self, overlay: &Overlay, stx: &SignedTransaction) -> Result<(), TxError> {
        let sender = &stx.tx.sender;
        let count = stx.signatures.len();
        if count == 0 {
            return Err(TxError::BadSignature("the transaction is not signed".into()));
        }
        // A node key, not a registered account: signed by itself, and a validator of some set
        // (execution checks the set of its height).
        if let Call::AnchorAccessLog { .. } = &stx.tx.call {
            if count != 1 || stx.signatures[0].signer != *sender {
                return Err(TxError::BadSignature(format!(
                    "an access-log anchor is signed by its node key ({sender}) alone"
                )));
            }
            let scheduled = jjj_state::gov::load_validator_schedule(overlay)?;
            if !self.genesis_validators.contains(sender) && !scheduled.iter().any(|(_, set)| set.contains(sender)) {
                return Err(TxError::NotRegistered { account: *sender });
            }
            return Ok(());
        }
        // No account can use more: refused before even the state read.
        if count > MAX_MULTISIG_MEMBERS {
            return Err(TxError::BadSignature(format!(
                "{count} signatures: no account takes more than {MAX_MULTISIG_MEMBERS}"
            )));
        }
        let mkey = keys::multisig(sender);
        match overlay.get(&mkey)? {
            None => {
                if count != 1 {
                    return Err(TxError::BadSignature(format!(
                        "a key account's transaction carries exactly its own signature ({sender})"
                    )));
                }
                gov::check_sender(overlay, sender, Some(&stx.signatures[0].signer))?;
            }
            Some(bytes) => {
                gov::check_sender(overlay, sender, None)?;
                let ms: Multisig = decode_record(&mkey, &bytes)?;
                let mut signers = BTreeSet::new();
                for s in &stx.signatures {
                    if !ms.members.contains(&s.signer) {
                        return Err(TxError::BadSignature(format!(
                            "{} is not a member of multisig {sender}",
                            s.signer
                        )));
                    }
                    if !signers.insert(s.signer) {
                        return Err(TxError::BadSignature(format!("{} signed twice", s.signer)));
                    }
                }
                if (signers.len() as u32) < ms.threshold {
                    return Err(TxError::BadSignature(format!(
                        "multisig {sender} needs {} signatures, got {}",
                        ms.threshold,
                        signers.len()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Verifies every signature of a transaction with the network's scheme (the costly part of
    /// admission), once: a transaction this runtime verified before passes by its hash. Whether
    /// the signers are the right ones is [`Runtime::check_structure`]'s question.
    pub fn verify_signatures(&self, stx: &SignedTransaction) -> Result<(), TxError> {
        self.verify_hashed_signatures(stx, &stx.hash(self.hash_algo()))
    }

    /// [`Runtime::verify_signatures`] of a transaction whose hash (`stx.hash(algo)`) the caller
    /// already has.
    pub fn verify_hashed_signatures(&self, stx: &SignedTransaction, hash: &Hash) -> Result<(), TxError> {
        if self.verified.lock().unwrap_or_else(PoisonError::into_inner).set.contains(hash) {
            return Ok(());
        }
        let payload = stx.tx.signing_payload();
        let scheme = self.suite.scheme();
        for s in &stx.signatures {
            Self::verified_counter().with(|c| c.set(c.get() + 1));
            if !verify(scheme, &s.signer, &payload, &s.signature) {
                return Err(TxError::BadSignature(format!(
                    "the signature of {} does not verify ({} network: sign with an {scheme} key)",
                    s.signer, self.suite
                )));
            }
        }
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).insert(*hash);
        Ok(())
    }

    /// Verifies the signatures of many single-signer transactions together (one ed25519 batch:
    /// about half the work of one at a time) and remembers those that pass, so that
    /// [`Runtime::verify_signatures`] finds them verified. When the batch fails nothing is
    /// remembered: each transaction's own check then finds the bad ones and says why. The
    /// verdict per transaction is the same either way (see `jjj_crypto::ed25519`). Returns the
    /// transactions' hashes, in order, for the caller's next steps (admission keys the pool by
    /// them).
    pub fn verify_many(&self, txs: &[SignedTransaction]) -> Vec<Hash> {
        let algo = self.hash_algo();
        let hashes: Vec<Hash> = txs.iter().map(|stx| stx.hash(algo)).collect();
        self.verify_many_hashed(hashes.iter().copied().zip(txs));
        hashes
    }

    /// [`Runtime::verify_many`] of transactions paired with their hashes.
    pub fn verify_many_hashed<'a>(&self, txs: impl IntoIterator<Item = (Hash, &'a SignedTransaction)>) {
        let pending: Vec<(Hash, &SignedTransaction, Vec<u8>)> = {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            txs.into_iter()
                // Only the common shape, one signature by the sender itself: anything else (a
                // multisig, or a forgery with many signatures) keeps the single path, where who
                // signed is checked before any signature is verified.
                .filter(|(_, stx)| matches!(&stx.signatures[..], [only] if only.signer == stx.tx.sender))
                .filter(|(hash, _)| !verified.set.contains(hash))
                .map(|(hash, stx)| (hash, stx, stx.tx.signing_payload()))
                .collect()
        };
        if pending.len() < 2 {
            return;
        }
        let items: Vec<jjj_crypto::BatchItem> = pending
            .iter()
            .flat_map(|(_, stx, payload)| stx.signatures.iter().map(move |s| (&s.signer, &payload[..], &s.signature)))
            .collect();
        Self::verified_counter().with(|c| c.set(c.get() + items.len() as u64));
        if jjj_crypto::verify_batch(self.suite.scheme(), &items) {
            let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            for (hash, _, _) in &pending {
                verified.insert(*hash);
            }
        }
    }

    /// How many signatures the calling thread has verified so far: lets tests show that a
    /// refusal came before any verification.
    pub fn signatures_verified_on_this_thread() -> u64 {
        Self::verified_counter().with(|c| c.get())
    }

    fn verified_counter() -> &'static std::thread::LocalKey<std::cell::Cell<u64>> {
        thread_local!(static VERIFIED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) });
        &VERIFIED
    }

    /// Applies one transaction on top of `overlay`.
    pub fn apply_transaction(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        stx: &SignedTransaction,
    ) -> Result<Receipt, TxError> {
        self.apply_hashed_transaction(overlay, ctx, stx, stx.hash(self.hash_algo()))
    }

    /// Auditor: applies one transaction exactly as a block does (the same receipt and state
    /// changes) and returns its host-call log and debug lines as well.
    pub fn trace_transaction(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        stx: &SignedTransaction,
    ) -> Result<TracedTransaction, TxError> {
        let (receipt, traced) = self.apply_in_mode(overlay, ctx, stx, stx.hash(self.hash_algo()), Mode::Trace)?;
        Ok(TracedTransaction { receipt, steps: traced.trace, debug: traced.debug })
    }

    /// [`Runtime::apply_transaction`] with the transaction's hash already computed.
    fn apply_hashed_transaction(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        stx: &SignedTransaction,
        hash: Hash,
    ) -> Result<Receipt, TxError> {
        self.apply_in_mode(overlay, ctx, stx, hash, Mode::Block).map(|(r, _)| r)
    }

    fn apply_in_mode(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        stx: &SignedTransaction,
        hash: Hash,
        mode: Mode,
    ) -> Result<(Receipt, Traced), TxError> {
        let intrinsic = self.check_hashed_transaction(overlay, &ctx.network, stx, &hash)?;
        let tx = &stx.tx;
        let mut sender = load_account(overlay, &tx.sender)?;
        sender.nonce += 1;
        store_account(overlay, &tx.sender, &sender);

        overlay.checkpoint();
        let budget = tx.gas_limit - intrinsic;
        let mut dispatched = match self.dispatch(overlay, ctx, tx, budget, mode) {
            Ok(d) => d,
            Err(e) => {
                // Leave the overlay as balanced as it came: the caller undoes the nonce bump.
                overlay.revert_checkpoint();
                return Err(e);
            }
        };
        let traced =
            Traced { trace: std::mem::take(&mut dispatched.trace), debug: std::mem::take(&mut dispatched.debug) };
        let (end, used, events) = dispatched.into_parts();
        match end {
            FrameEnd::Success(_) => overlay.commit_checkpoint(),
            _ => overlay.revert_checkpoint(),
        }
        Ok((make_receipt(hash, end, intrinsic + used, events), traced))
    }

    /// Runs a call without signatures, nonce or persistence, with the debug buffer on: what a
    /// node answers to `contract_dryRun`. `reads` says whether `sender` signed a read request
    /// (protected messages fail otherwise).
    pub fn dry_run(
        &self,
        state: Arc<dyn StateReader>,
        ctx: &BlockContext,
        sender: AccountId,
        call: Call,
        gas_limit: u64,
        reads: ReadAccess,
    ) -> Result<DryRun, TxError> {
        self.run_unsigned(state, ctx, sender, call, gas_limit, Mode::DryRun(reads))
    }

    /// A dry run that may not change state: a message that writes storage, transfers or sends
    /// value fails with a reason saying so. What a node answers to `contract_query`.
    pub fn query(
        &self,
        state: Arc<dyn StateReader>,
        ctx: &BlockContext,
        sender: AccountId,
        call: Call,
        gas_limit: u64,
        reads: ReadAccess,
    ) -> Result<DryRun, TxError> {
        self.run_unsigned(state, ctx, sender, call, gas_limit, Mode::Query(reads))
    }

    /// Checks a signed read request against the state: the reader is a key account that may
    /// act (registered, neither it nor its member suspended, not frozen), the signature is its
    /// current key's, in this network's scheme. Time, nonce and what was asked are the node's
    /// to check against the call.
    pub fn check_reader(&self, state: Arc<dyn StateReader>, read: &SignedRead) -> Result<(), TxError> {
        let overlay = Overlay::new(state);
        let reader = &read.request.reader;
        if overlay.get(&keys::multisig(reader))?.is_some() {
            return Err(TxError::BadSignature(format!(
                "{reader} is a multisig account: a read is signed by one key account"
            )));
        }
        gov::check_sender(&overlay, reader, Some(&read.signature.signer))?;
        let scheme = self.suite.scheme();
        if !verify(scheme, &read.signature.signer, &read.request.signing_payload(), &read.signature.signature) {
            return Err(TxError::BadSignature(format!(
                "the read request's signature of {} does not verify ({} network: sign with an {scheme} key)",
                read.signature.signer, self.suite
            )));
        }
        Ok(())
    }

    fn run_unsigned(
        &self,
        state: Arc<dyn StateReader>,
        ctx: &BlockContext,
        sender: AccountId,
        call: Call,
        gas_limit: u64,
        mode: Mode,
    ) -> Result<DryRun, TxError> {
        let mut overlay = Overlay::new(state);
        let tx = Transaction { network: ctx.network.clone(), sender, nonce: 0, gas_limit, call };
        // As if signed by one key: compact length (1) + signer (32) + signature (64).
        let intrinsic = gas::TX.of(tx.encoded_size() + SINGLE_SIGNATURE_BYTES);
        let budget = gas_limit.min(MAX_TX_GAS).saturating_sub(intrinsic);
        let outcome = self.dispatch(&mut overlay, ctx, &tx, budget, mode)?;
        let (debug, protected) = (outcome.debug.clone(), outcome.protected);
        let (end, used, events) = outcome.into_parts();
        Ok(DryRun { receipt: make_receipt(Hash::default(), end, intrinsic + used, events), debug, protected })
    }

    fn dispatch(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        tx: &Transaction,
        budget: u64,
        mode: Mode,
    ) -> Result<Dispatched, TxError> {
        let plain = |end: FrameEnd, used: u64| {
            Ok(Dispatched { end, used, events: vec![], debug: vec![], trace: vec![], protected: false })
        };
        // Function permissions and freezes, before any contract code runs.
        if let Some(action) = gov::action_of(&tx.call) {
            if let Err(denied) = gov::check_permission(overlay, &tx.sender, &action)? {
                return plain(FrameEnd::Failed(denied), 0);
            }
        }
        if let Call::Call { contract, .. } = &tx.call {
            if gov::contract_frozen(overlay, contract)? {
                return plain(FrameEnd::Failed(format!("contract {contract} is frozen by governance")), 0);
            }
        }
        if let Some(cost) = governance_cost(&tx.call) {
            if cost > budget {
                return plain(FrameEnd::Failed("out of gas".into()), budget);
            }
            let end = match self.dispatch_governance(overlay, ctx, tx, budget - cost, mode)? {
                Ok((output, used)) => return plain(FrameEnd::Success(output), cost + used),
                Err(reason) => FrameEnd::Failed(reason),
            };
            return plain(end, cost);
        }
        match &tx.call {
            Call::Transfer { to, amount } => {
                if move_balance(overlay, &tx.sender, to, *amount)? {
                    plain(FrameEnd::Success(vec![]), 0)
                } else {
                    let have = load_account(overlay, &tx.sender)?.balance;
                    plain(FrameEnd::Failed(format!("insufficient balance: has {have} fen, sends {amount}")), 0)
                }
            }
            Call::UploadCode { code } => {
                let cost = gas::UPLOAD_CODE.of(code.len());
                if cost > budget {
                    return plain(FrameEnd::Failed("out of gas".into()), budget);
                }
                if code.len() > MAX_CODE_SIZE {
                    return plain(
                        FrameEnd::Failed(format!("code is {} bytes, over the limit of {MAX_CODE_SIZE}", code.len())),
                        cost,
                    );
                }
                let hash = self.hash_algo().hash(code);
                if overlay.get(&keys::code_info(&hash))?.is_some() {
                    return plain(
                        FrameEnd::Failed(format!("code {hash} is already uploaded; instantiate it by its hash")),
                        cost,
                    );
                }
                let compiled = match self.vm.compile(code) {
                    Ok(c) => c,
                    Err(e) => return plain(FrameEnd::Failed(format!("code refused: {e}")), cost),
                };
                self.vm.insert(hash, &compiled);
                let info = CodeInfo {
                    uploader: tx.sender,
                    size: code.len() as u32,
                    reentrant: compiled.summary.reentrant,
                    uploaded_at: ctx.height,
                };
                overlay.set(keys::code(&hash), code.clone());
                overlay.set(keys::code_info(&hash), info.encode());
                plain(FrameEnd::Success(hash.encode()), cost)
            }
            Call::Instantiate { code_hash, input, value } => {
                if overlay.get(&keys::code_info(code_hash))?.is_none() {
                    return plain(FrameEnd::Failed(format!("no code with hash {code_hash}: upload it first")), 0);
                }
                let address = contract_address(self.hash_algo(), &tx.sender, tx.nonce);
                if load_contract(overlay, &address)?.is_some() {
                    return plain(FrameEnd::Failed(format!("a contract already lives at {address}")), 0);
                }
                let info = ContractInfo { code_hash: *code_hash, deployer: tx.sender, instantiated_at: ctx.height };
                overlay.set(keys::contract(&address), info.encode());
                let mut d = self.run_contract(
                    overlay,
                    ctx,
                    Entry::Deploy,
                    address,
                    tx.sender,
                    *value,
                    input.clone(),
                    budget,
                    mode,
                )?;
                if let FrameEnd::Success(_) = d.end {
                    d.end = FrameEnd::Success(address.encode());
                }
                Ok(d)
            }
            Call::Call { contract, input, value } => {
                if load_contract(overlay, contract)?.is_none() {
                    return plain(FrameEnd::Failed(format!("no contract at {contract}")), 0);
                }
                self.run_contract(overlay, ctx, Entry::Call, *contract, tx.sender, *value, input.clone(), budget, mode)
            }
            Call::CreateMultisig { members, threshold } => {
                let cost = gas::CREATE_MULTISIG.of(members.len() * 32);
                if cost > budget {
                    return plain(FrameEnd::Failed("out of gas".into()), budget);
                }
                let distinct: BTreeSet<_> = members.iter().collect();
                if members.len() < 2 || members.len() > MAX_MULTISIG_MEMBERS || distinct.len() != members.len() {
                    return plain(
                        FrameEnd::Failed(format!("a multisig has 2 to {MAX_MULTISIG_MEMBERS} distinct members")),
                        cost,
                    );
                }
                if *threshold == 0 || *threshold as usize > members.len() {
                    return plain(
                        FrameEnd::Failed(format!("threshold {threshold} must be between 1 and {}", members.len())),
                        cost,
                    );
                }
                let id = multisig_address(self.hash_algo(), members, *threshold);
                let key = keys::multisig(&id);
                if overlay.get(&key)?.is_some() {
                    return plain(FrameEnd::Failed(format!("multisig {id} exists already")), cost);
                }
                overlay.set(key, Multisig { members: members.clone(), threshold: *threshold }.encode());
                // Registered by its creator's member: it may send transactions like any account.
                let member = jjj_state::gov::load_registration(overlay, &tx.sender)?.map(|r| r.member);
                if let Some(member) = member {
                    gov::register(overlay, &id, &member, vec![], ctx.height);
                }
                plain(FrameEnd::Success(id.encode()), cost)
            }
            Call::AnchorAccessLog { seq, head } => {
                let cost = gas::ANCHOR_ACCESS_LOG.of(0);
                if cost > budget {
                    return plain(FrameEnd::Failed("out of gas".into()), budget);
                }
                if !self.validators_at(overlay, ctx.height)?.contains(&tx.sender) {
                    return plain(
                        FrameEnd::Failed(format!(
                            "{} is not a validator at height {}: only a validator's node anchors its access log",
                            tx.sender, ctx.height
                        )),
                        cost,
                    );
                }
                let key = keys::access_anchor(&tx.sender);
                if let Some(bytes) = overlay.get(&key)? {
                    let before: AccessAnchor = decode_record(&key, &bytes)?;
                    if *seq <= before.seq {
                        return plain(
                            FrameEnd::Failed(format!(
                                "the access log of {} is anchored up to entry {} already",
                                tx.sender, before.seq
                            )),
                            cost,
                        );
                    }
                }
                overlay.set(key, AccessAnchor { seq: *seq, head: *head, height: ctx.height }.encode());
                plain(FrameEnd::Success(vec![]), cost)
            }
            Call::RegisterAccount { .. }
            | Call::SetAccountSuspended { .. }
            | Call::RotateKey { .. }
            | Call::Propose { .. }
            | Call::Approve { .. } => {
                Err(TxError::State("internal: a governance call reached the plain dispatch".into()))
            }
        }
    }

    /// The consortium calls. `Ok(Ok((output, gas used beyond the base cost)))`, or the refusal
    /// that fails the receipt.
    fn dispatch_governance(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        tx: &Transaction,
        budget: u64,
        mode: Mode,
    ) -> Result<Result<(Vec<u8>, u64), String>, TxError> {
        let mut g = gov::Gov { overlay, ctx, tx, suite: self.suite };
        let opened = match &tx.call {
            Call::RegisterAccount { account, member, roles } => {
                return Ok(g.register_account(account, member, roles)?.map(|o| (o, 0)))
            }
            Call::SetAccountSuspended { account, suspended } => {
                return Ok(g.set_suspended(account, *suspended)?.map(|o| (o, 0)))
            }
            Call::RotateKey { account, new_key } => return Ok(g.rotate_key(account, new_key)?.map(|o| (o, 0))),
            Call::Propose { spec, approvals } => g.propose(spec, approvals)?,
            Call::Approve { proposal, approvals } => g.approve(*proposal, approvals)?,
            _ => return Ok(Err("internal: not a governance call".into())),
        };
        let (mut proposal, electorate) = match opened {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let mut used = 0;
        if electorate.reached(&proposal.approvals) {
            overlay.checkpoint();
            let outcome = match &proposal.spec.body {
                ProposalBody::Gov(action) => {
                    gov::Gov { overlay, ctx, tx, suite: self.suite }.execute_gov(proposal.id, action)?
                }
                ProposalBody::MultisigCall { account, call, gas_limit } => {
                    let (outcome, gas) =
                        self.run_as_multisig(overlay, ctx, account, call, (*gas_limit).min(budget), mode)?;
                    used = gas;
                    outcome
                }
            };
            match outcome {
                Ok(()) => {
                    overlay.commit_checkpoint();
                    proposal.status = ProposalStatus::Executed { at: ctx.height };
                }
                Err(reason) => {
                    overlay.revert_checkpoint();
                    proposal.status = ProposalStatus::Failed { at: ctx.height, reason };
                }
            }
        }
        // The output: the id, and whether the threshold was reached (the proposal's status says
        // whether its action then succeeded).
        let reached = proposal.status != ProposalStatus::Open;
        jjj_state::gov::store(overlay, jjj_state::gov::keys::proposal(proposal.id), &proposal);
        Ok(Ok(((proposal.id, reached).encode(), used)))
    }

    /// Executes an approved multisig proposal's call as the multisig account (its nonce bumps,
    /// as if it had signed). Returns the outcome and the gas the call used.
    fn run_as_multisig(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        account: &AccountId,
        call: &Call,
        budget: u64,
        mode: Mode,
    ) -> Result<(Result<(), String>, u64), TxError> {
        let mut acct = load_account(overlay, account)?;
        let inner = Transaction {
            network: ctx.network.clone(),
            sender: *account,
            nonce: acct.nonce,
            gas_limit: budget,
            call: call.clone(),
        };
        acct.nonce += 1;
        store_account(overlay, account, &acct);
        let d = self.dispatch(overlay, ctx, &inner, budget, mode)?;
        Ok(match d.end {
            FrameEnd::Success(_) => (Ok(()), d.used),
            FrameEnd::Reverted(m) | FrameEnd::Failed(m) => (Err(m), d.used),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn run_contract(
        &self,
        overlay: &mut Overlay,
        ctx: &BlockContext,
        entry: Entry,
        address: AccountId,
        caller: AccountId,
        value: u64,
        input: Vec<u8>,
        budget: u64,
        mode: Mode,
    ) -> Result<Dispatched, TxError> {
        let host = ChainHost { overlay: std::mem::take(overlay) };
        let call = Invocation {
            ctx: ctx.clone(),
            entry,
            address,
            caller,
            value,
            input,
            gas_limit: budget,
            debug: mode != Mode::Block,
            trace: mode == Mode::Trace,
            read_only: matches!(mode, Mode::Query(_)),
            reads: mode.reads(),
        };
        let outcome = self.vm.execute(host, call);
        *overlay = outcome.host.overlay;
        if outcome.aborted {
            let reason = outcome.abort_reason.unwrap_or_else(|| "a resource limit of this node".into());
            return Err(TxError::Aborted(reason));
        }
        Ok(Dispatched {
            end: outcome.end,
            used: outcome.gas_used,
            events: outcome.events,
            debug: outcome.debug,
            trace: outcome.trace,
            protected: outcome.protected,
        })
    }

    /// Proposer: executes candidates in order on `state`, leaving out those that cannot be
    /// included (returned with their reasons: the node drops them), and returns the block with
    /// its roots. The block keeps to the runtime's [`BlockLimits`]: a candidate that does not
    /// fit what is left (its gas limit over the gas the block has left after the gas used by
    /// those before it, its bytes over the bytes left) is neither included nor refused, and
    /// neither are its sender's later ones: they wait for the next block. Since a transaction
    /// never uses more than its gas limit, the block's execution is bounded by the block gas
    /// limit before anything runs; replicas check the same rule.
    pub fn build_block<S>(
        &self,
        state: Arc<S>,
        template: BlockTemplate,
        candidates: Vec<SignedTransaction>,
    ) -> Result<BuiltBlock, BlockError>
    where
        S: StateReader + StateCommitment + 'static,
    {
        let ctx =
            BlockContext { network: template.network.clone(), height: template.height, timestamp: template.timestamp };
        let mut overlay = Overlay::new(state.clone());
        let mut included = Vec::new();
        let mut receipts = Vec::new();
        let mut refused = Vec::new();
        let limits = self.block_limits_at(&overlay).map_err(|e| BlockError::State(e.to_string()))?;
        let started = std::time::Instant::now();
        let algo = self.hash_algo();
        let candidates: Vec<(Hash, SignedTransaction)> = candidates.into_iter().map(|t| (t.hash(algo), t)).collect();
        self.verify_many_hashed(candidates.iter().map(|(hash, stx)| (*hash, stx)));
        let verified = std::time::Instant::now();
        let (mut bytes, mut gas_used) = (0usize, 0u64);
        let mut waiting: BTreeSet<AccountId> = BTreeSet::new();
        let mut included_hashes = Vec::new();
        for (hash, stx) in candidates {
            if included.len() >= limits.max_txs {
                break;
            }
            let size = stx.encoded_size();
            if size > limits.max_bytes || stx.tx.gas_limit > limits.max_gas {
                let why = format!(
                    "a transaction of {size} bytes and gas limit {} can never fit in a block of this network \
                     (at most {} bytes and {} gas)",
                    stx.tx.gas_limit, limits.max_bytes, limits.max_gas
                );
                refused.push((stx, TxError::OverBlockLimit(why)));
                continue;
            }
            if waiting.contains(&stx.tx.sender)
                || bytes + size > limits.max_bytes
                || gas_used.saturating_add(stx.tx.gas_limit) > limits.max_gas
            {
                waiting.insert(stx.tx.sender);
                continue;
            }
            overlay.checkpoint();
            match self.apply_hashed_transaction(&mut overlay, &ctx, &stx, hash) {
                Ok(r) => {
                    overlay.commit_checkpoint();
                    bytes += size;
                    gas_used = gas_used.saturating_add(r.gas_used);
                    receipts.push(r);
                    included.push(stx);
                    included_hashes.push(hash);
                }
                Err(e) => {
                    overlay.revert_checkpoint();
                    refused.push((stx, e));
                }
            }
        }
        let executed = std::time::Instant::now();
        let exec = finish_block(algo, &*state, &included_hashes, receipts, overlay)?;
        self.times.add(verified - started, executed - verified, executed.elapsed());
        let header = Header {
            network: template.network,
            height: template.height,
            parent_hash: template.parent_hash,
            timestamp: template.timestamp,
            proposer: template.proposer,
            tx_root: exec.tx_root,
            receipts_root: exec.receipts_root,
            state_root: exec.state_root,
        };
        Ok((Block { header, transactions: included }, exec, refused))
    }

    /// Replica and auditor: re-executes a block on `state` and checks every root in its header.
    pub fn apply_block<S>(&self, state: Arc<S>, block: &Block) -> Result<BlockExecution, BlockError>
    where
        S: StateReader + StateCommitment + 'static,
    {
        let exec = self.execute_block(state, block)?;
        let h = &block.header;
        for (which, expected, got) in [
            ("tx root", h.tx_root, exec.tx_root),
            ("receipts root", h.receipts_root, exec.receipts_root),
            ("state root", h.state_root, exec.state_root),
        ] {
            if expected != got {
                return Err(BlockError::RootMismatch { which, expected, got });
            }
        }
        Ok(exec)
    }

    /// Re-executes a block on `state` under the block limits in force, without comparing the
    /// result with its header's roots: an auditor compares receipt by receipt and key by key
    /// to name what differs.
    pub fn execute_block<S>(&self, state: Arc<S>, block: &Block) -> Result<BlockExecution, BlockError>
    where
        S: StateReader + StateCommitment + 'static,
    {
        let limits =
            self.block_limits_at(&Overlay::new(state.clone())).map_err(|e| BlockError::State(e.to_string()))?;
        let count = block.transactions.len();
        if count > limits.max_txs {
            return Err(BlockError::TooManyTransactions { count, limit: limits.max_txs });
        }
        let bytes: usize = block.transactions.iter().map(|t| t.encoded_size()).sum();
        if bytes > limits.max_bytes {
            return Err(BlockError::TooLarge { bytes, limit: limits.max_bytes });
        }
        let ctx = block.header.context();
        let started = std::time::Instant::now();
        let algo = self.hash_algo();
        let hashes: Vec<Hash> = block.transactions.iter().map(|t| t.hash(algo)).collect();
        self.verify_many_hashed(hashes.iter().copied().zip(&block.transactions));
        let verified = std::time::Instant::now();
        let mut overlay = Overlay::new(state.clone());
        let mut receipts = Vec::with_capacity(count);
        let mut gas_used = 0u64;
        for (index, (stx, hash)) in block.transactions.iter().zip(&hashes).enumerate() {
            // The proposer's rule (see `build_block`), checked before running the transaction:
            // it bounds a replica's work on any block, honest or not, by the block gas limit.
            let left = limits.max_gas.saturating_sub(gas_used);
            if stx.tx.gas_limit > left {
                let gas_limit = stx.tx.gas_limit;
                return Err(BlockError::GasLimitExceeded { index, gas_limit, left, limit: limits.max_gas });
            }
            let r = self.apply_hashed_transaction(&mut overlay, &ctx, stx, *hash).map_err(|error| match error {
                TxError::Aborted(reason) => BlockError::Aborted { index, hash: *hash, reason },
                error => BlockError::InvalidTransaction { index, hash: *hash, error },
            })?;
            gas_used = gas_used.saturating_add(r.gas_used);
            receipts.push(r);
        }
        let executed = std::time::Instant::now();
        let exec = finish_block(algo, &*state, &hashes, receipts, overlay)?;
        self.times.add(verified - started, executed - verified, executed.elapsed());
        Ok(exec)
    }
}

fn finish_block<S: StateCommitment + ?Sized>(
    algo: HashAlgo,
    state: &S,
    tx_hashes: &[Hash],
    receipts: Vec<Receipt>,
    overlay: Overlay,
) -> Result<BlockExecution, BlockError> {
    if state.hash_algo() != algo {
        return Err(BlockError::State(format!(
            "the state is hashed with {}, the network with {}",
            state.hash_algo().name(),
            algo.name()
        )));
    }
    let changes = overlay.into_effective_changes().map_err(|e| BlockError::State(e.to_string()))?;
    let state_root = state.root_after(&changes).map_err(|e| BlockError::State(e.to_string()))?;
    Ok(BlockExecution {
        tx_root: merkle_root(algo, tx_hashes.iter().copied()),
        receipts_root: merkle_root(algo, receipts.iter().map(|r| r.hash(algo))),
        receipts,
        changes,
        state_root,
    })
}

/// How a call is run: in a block, as a dry run (debug lines kept), as a query (read-only too),
/// or traced (a block's run with the debug lines and the host-call log kept).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Block,
    DryRun(ReadAccess),
    Query(ReadAccess),
    Trace,
}

impl Mode {
    /// A transaction's sender signed it; an unsigned run says whether a reader signed for it.
    fn reads(self) -> ReadAccess {
        match self {
            Mode::Block | Mode::Trace => ReadAccess::Signed,
            Mode::DryRun(reads) | Mode::Query(reads) => reads,
        }
    }
}

struct Dispatched {
    end: FrameEnd,
    used: u64,
    events: Vec<Event>,
    debug: Vec<String>,
    trace: Vec<TraceStep>,
    /// A protected message ran or was refused.
    protected: bool,
}

impl Dispatched {
    fn into_parts(self) -> (FrameEnd, u64, Vec<Event>) {
        (self.end, self.used, self.events)
    }
}

fn make_receipt(tx_hash: Hash, end: FrameEnd, gas_used: u64, events: Vec<Event>) -> Receipt {
    let (status, output, events) = match end {
        FrameEnd::Success(out) => (ReceiptStatus::Success, out, events),
        FrameEnd::Reverted(m) => (ReceiptStatus::Reverted(m), vec![], vec![]),
        FrameEnd::Failed(m) => (ReceiptStatus::Failed(m), vec![], vec![]),
    };
    Receipt { tx_hash, status, gas_used, events, output }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_crypto::Keypair;
    use jjj_state::Account;
    use jjj_state::MemoryState;

    fn net() -> NetworkId {
        NetworkId::new("jj").expect("id")
    }

    // Keys and hashes of the test suite (`JJJ_TEST_SUITE`).
    use jjj_crypto::{test_hash_algo as algo, test_key as key};

    fn setup() -> (Runtime, Arc<MemoryState>, Keypair, Keypair) {
        let a = key("a");
        let b = key("b");
        let mut s = MemoryState::new(algo());
        s.apply(&genesis_changes(&[(a.account(), 1_000)])).expect("genesis");
        (Runtime::new().expect("runtime").with_suite(jjj_crypto::test_suite()), Arc::new(s), a, b)
    }

    fn transfer(from: &Keypair, nonce: u64, to: AccountId, amount: u64) -> SignedTransaction {
        from.sign_tx(Transaction {
            network: net(),
            sender: from.account(),
            nonce,
            gas_limit: 100_000,
            call: Call::Transfer { to, amount },
        })
    }

    fn template(h: u64) -> BlockTemplate {
        BlockTemplate {
            network: net(),
            height: h,
            parent_hash: Hash::default(),
            timestamp: 1_000,
            proposer: AccountId::default(),
        }
    }

    fn anchor(node: &Keypair, nonce: u64, seq: u64) -> SignedTransaction {
        node.sign_tx(Transaction {
            network: net(),
            sender: node.account(),
            nonce,
            gas_limit: 50_000,
            call: Call::AnchorAccessLog { seq, head: Hash([seq as u8; 32]) },
        })
    }

    /// A validator's node key anchors its access log without being a registered account; the
    /// anchor only moves forward; a key of no validator set is refused at admission, and one
    /// signed by another key too.
    #[test]
    fn validators_anchor_their_access_logs_and_nobody_else_does() {
        let (rt, s, a, b) = setup();
        let node = key("validator-1");
        let rt = rt.with_genesis_validators(vec![node.account()]);
        let overlay = Overlay::new(s.clone());
        assert!(matches!(
            rt.check_transaction(&overlay, &net(), &anchor(&a, 0, 1)),
            Err(TxError::NotRegistered { .. })
        ));
        let mut forged = anchor(&node, 0, 1);
        forged.signatures = vec![b.sign(&forged.tx.signing_payload())];
        assert!(matches!(rt.check_transaction(&overlay, &net(), &forged), Err(TxError::BadSignature(_))));
        let txs = vec![anchor(&node, 0, 4), anchor(&node, 1, 4), anchor(&node, 2, 9)];
        let (_, exec, refused) = rt.build_block(s.clone(), template(1), txs).expect("build");
        assert!(refused.is_empty(), "{refused:?}");
        assert!(exec.receipts[0].is_success());
        assert!(exec.receipts[1].reason().unwrap_or("").contains("anchored up to entry 4 already"));
        assert!(exec.receipts[2].is_success());
        let mut s2 = (*s).clone();
        s2.apply(&exec.changes).expect("apply");
        let key = keys::access_anchor(&node.account());
        let stored = Overlay::new(Arc::new(s2)).get(&key).expect("read").expect("anchored");
        let anchored: AccessAnchor = decode_record(&key, &stored).expect("decodes");
        assert_eq!(anchored, AccessAnchor { seq: 9, head: Hash([9; 32]), height: 1 });
    }

    #[test]
    fn transfers_and_failed_transfers_bump_nonces() {
        let (rt, s, a, b) = setup();
        let txs = vec![transfer(&a, 0, b.account(), 300), transfer(&a, 1, b.account(), 5_000)];
        let (block, exec, refused) = rt.build_block(s.clone(), template(1), txs).expect("build");
        assert!(refused.is_empty());
        assert!(exec.receipts[0].is_success());
        assert!(exec.receipts[1].reason().unwrap_or("").contains("insufficient balance"));
        let mut s2 = (*s).clone();
        s2.apply(&exec.changes).expect("apply");
        let acct = |who: &AccountId| {
            let o = Overlay::new(Arc::new(s2.clone()));
            load_account(&o, who).expect("account")
        };
        assert_eq!(acct(&a.account()), Account { nonce: 2, balance: 700 });
        assert_eq!(acct(&b.account()).balance, 300);
        assert_eq!(rt.apply_block(s, &block).expect("replay").state_root, block.header.state_root);
    }

    #[test]
    fn invalid_transactions_are_left_out_and_refuse_blocks() {
        let (rt, s, a, b) = setup();
        let mut bad_sig = transfer(&a, 0, b.account(), 1);
        bad_sig.signatures[0].signature[0] ^= 1;
        let wrong_net = a.sign_tx(Transaction {
            network: NetworkId::new("other").expect("id"),
            sender: a.account(),
            nonce: 0,
            gas_limit: 100_000,
            call: Call::Transfer { to: b.account(), amount: 1 },
        });
        let replay = transfer(&a, 5, b.account(), 1);
        let by_other = b.sign_tx(transfer(&a, 0, b.account(), 1).tx);
        let good = transfer(&a, 0, b.account(), 1);
        let (block, _, refused) = rt
            .build_block(s.clone(), template(1), vec![bad_sig.clone(), wrong_net, replay, by_other, good.clone(), good])
            .expect("build");
        assert_eq!(block.transactions.len(), 1);
        let reasons: Vec<String> = refused.iter().map(|(_, e)| e.to_string()).collect();
        assert!(reasons[0].contains("does not verify"), "{reasons:?}");
        assert!(reasons[1].contains("network other"), "{reasons:?}");
        assert!(reasons[2].contains("nonce 5"), "{reasons:?}");
        assert!(reasons[3].contains("is signed for by key"), "{reasons:?}");
        assert!(reasons[4].contains("nonce 0 is not the sender's next nonce 1"), "a replay: {reasons:?}");
        let mut forged = block.clone();
        forged.transactions = vec![bad_sig];
        assert!(matches!(rt.apply_block(s.clone(), &forged), Err(BlockError::InvalidTransaction { index: 0, .. })));
        let mut lying = block;
        lying.header.state_root = Hash([9; 32]);
        assert!(matches!(rt.apply_block(s, &lying), Err(BlockError::RootMismatch { which: "state root", .. })));
    }

    #[test]
    fn multisig_accounts_need_their_threshold() {
        let (rt, s, a, b) = setup();
        let c = key("c");
        let ms = multisig_address(algo(), &[a.account(), b.account(), c.account()], 2);
        let create = a.sign_tx(Transaction {
            network: net(),
            sender: a.account(),
            nonce: 0,
            gas_limit: 100_000,
            call: Call::CreateMultisig { members: vec![a.account(), b.account(), c.account()], threshold: 2 },
        });
        let fund = transfer(&a, 1, ms, 500);
        let (_, exec, refused) = rt.build_block(s.clone(), template(1), vec![create, fund]).expect("build");
        assert!(refused.is_empty() && exec.receipts.iter().all(|r| r.is_success()), "{refused:?}");
        let mut st = (*s).clone();
        st.apply(&exec.changes).expect("apply");
        let st = Arc::new(st);
        let spend = Transaction {
            network: net(),
            sender: ms,
            nonce: 0,
            gas_limit: 100_000,
            call: Call::Transfer { to: c.account(), amount: 200 },
        };
        let payload = spend.signing_payload();
        let one = SignedTransaction { tx: spend.clone(), signatures: vec![a.sign(&payload)] };
        let two = SignedTransaction { tx: spend.clone(), signatures: vec![a.sign(&payload), c.sign(&payload)] };
        let outsider = SignedTransaction { tx: spend, signatures: vec![a.sign(&payload), key("z").sign(&payload)] };
        let (block, exec, refused) = rt.build_block(st, template(2), vec![one, outsider, two]).expect("build");
        assert_eq!(block.transactions.len(), 1);
        assert!(exec.receipts[0].is_success());
        assert!(refused[0].1.to_string().contains("needs 2 signatures, got 1"));
        assert!(refused[1].1.to_string().contains("not a member"));
    }

    #[test]
    fn who_signed_is_checked_before_any_signature_is_verified() {
        let (rt, s, a, b) = setup();
        let overlay = Overlay::new(s.clone());
        let garbage = |who: &Keypair| Signature { signer: who.account(), signature: [7; 64] };
        let mut many = transfer(&a, 0, b.account(), 1);
        many.tx.gas_limit = 20_000_000;
        many.signatures = (0..2_700).map(|_| garbage(&a)).collect();
        let mut two = transfer(&a, 0, b.account(), 1);
        two.signatures = vec![garbage(&a), garbage(&b)];
        let mut stranger = transfer(&a, 0, b.account(), 1);
        stranger.signatures = vec![garbage(&b)];
        for (stx, why) in [
            (many, "no account takes more than 16"),
            (two, "exactly its own signature"),
            (stranger, "is signed for by key"),
        ] {
            let before = Runtime::signatures_verified_on_this_thread();
            let err = rt.check_transaction(&overlay, &net(), &stx).expect_err("refused");
            assert!(err.to_string().contains(why), "{err}");
            assert_eq!(Runtime::signatures_verified_on_this_thread(), before, "{why}: no signature verified");
        }
        // A well-formed transaction with a bad signature still costs exactly its verifications.
        let mut bad = transfer(&a, 0, b.account(), 1);
        bad.signatures[0].signature[0] ^= 1;
        let before = Runtime::signatures_verified_on_this_thread();
        assert!(rt.check_transaction(&overlay, &net(), &bad).expect_err("bad").to_string().contains("does not verify"));
        assert_eq!(Runtime::signatures_verified_on_this_thread(), before + 1);
    }

    #[test]
    fn a_transaction_is_verified_once_and_a_bad_one_every_time() {
        let (rt, s, a, b) = setup();
        let overlay = Overlay::new(s);
        let good = transfer(&a, 0, b.account(), 1);
        let before = Runtime::signatures_verified_on_this_thread();
        rt.check_transaction(&overlay, &net(), &good).expect("valid");
        // Admission, then the block: the second check (and a clone's) is a lookup.
        rt.check_transaction(&overlay, &net(), &good).expect("valid");
        rt.with_block_limits(BlockLimits::default()).check_transaction(&overlay, &net(), &good).expect("valid");
        assert_eq!(Runtime::signatures_verified_on_this_thread(), before + 1);
        // A forged signature is never remembered: it costs a verification every time.
        let mut bad = good.clone();
        bad.signatures[0].signature[0] ^= 1;
        for _ in 0..2 {
            assert!(rt.check_transaction(&overlay, &net(), &bad).is_err());
        }
        assert_eq!(Runtime::signatures_verified_on_this_thread(), before + 3);
        // The other suite verifies for itself.
        let other = if rt.suite() == Suite::Sm2Sm3 { Suite::Ed25519Blake2b } else { Suite::Sm2Sm3 };
        assert!(rt.with_suite(other).verify_signatures(&good).is_err(), "a key of the other scheme");
    }

    /// A batch check remembers every transaction when all pass and none when one fails; the bad
    /// one is then found and named by its own check, at its index in the block.
    #[test]
    fn a_batch_of_signatures_is_remembered_only_when_it_all_verifies() {
        let (rt, s, a, b) = setup();
        let overlay = Overlay::new(s.clone());
        let txs: Vec<SignedTransaction> = (0..4).map(|n| transfer(&a, n, b.account(), 1)).collect();
        rt.verify_many(&txs);
        let before = Runtime::signatures_verified_on_this_thread();
        rt.check_transaction(&overlay, &net(), &txs[0]).expect("valid");
        assert_eq!(Runtime::signatures_verified_on_this_thread(), before, "verified in the batch");

        let mut txs: Vec<SignedTransaction> = (10..14).map(|n| transfer(&a, n, b.account(), 1)).collect();
        txs[2].signatures[0].signature[5] ^= 1;
        rt.verify_many(&txs);
        let before = Runtime::signatures_verified_on_this_thread();
        rt.check_transaction(&overlay, &net(), &txs[3]).expect_err("nonce 13 is not next, but its signature…");
        assert_eq!(Runtime::signatures_verified_on_this_thread(), before + 1, "…was checked again: the batch failed");

        // Many signatures stay out of the batch: who signed is checked before any is verified.
        let mut many = transfer(&a, 20, b.account(), 1);
        many.signatures = (0..50).map(|_| many.signatures[0].clone()).collect();
        let before = Runtime::signatures_verified_on_this_thread();
        rt.verify_many(&[many.clone(), txs[0].clone()]);
        assert_eq!(Runtime::signatures_verified_on_this_thread(), before, "nothing batched: one single-signer left");

        // In a block: the bad transaction is refused by index.
        let mut block_txs: Vec<SignedTransaction> = (0..3).map(|n| transfer(&a, n, b.account(), 1)).collect();
        block_txs[1].signatures[0].signature[9] ^= 1;
        let (good, _, _) = rt.build_block(s.clone(), template(1), block_txs[..1].to_vec()).expect("build");
        let mut block = good;
        block.transactions = block_txs;
        match rt.apply_block(s, &block) {
            Err(BlockError::InvalidTransaction { index: 1, error: TxError::BadSignature(_), .. }) => {}
            other => panic!("expected a bad signature at index 1, got {other:?}"),
        }
    }

    #[test]
    fn a_multisig_takes_only_distinct_members_and_no_more_than_it_has() {
        let (rt, s, a, b) = setup();
        let c = key("c");
        let create = a.sign_tx(Transaction {
            network: net(),
            sender: a.account(),
            nonce: 0,
            gas_limit: 100_000,
            call: Call::CreateMultisig { members: vec![a.account(), b.account()], threshold: 2 },
        });
        let (_, exec, _) = rt.build_block(s.clone(), template(1), vec![create]).expect("build");
        let mut st = (*s).clone();
        st.apply(&exec.changes).expect("apply");
        let overlay = Overlay::new(Arc::new(st));
        let ms = multisig_address(algo(), &[a.account(), b.account()], 2);
        let tx = Transaction {
            network: net(),
            sender: ms,
            nonce: 0,
            gas_limit: 1_000_000,
            call: Call::Transfer { to: c.account(), amount: 1 },
        };
        let garbage = |who: &Keypair| Signature { signer: who.account(), signature: [7; 64] };
        for (signatures, why) in [
            (vec![garbage(&a), garbage(&b), garbage(&c)], "not a member"),
            (vec![garbage(&a), garbage(&a)], "signed twice"),
            (vec![garbage(&a), garbage(&b), garbage(&a)], "signed twice"),
        ] {
            let stx = SignedTransaction { tx: tx.clone(), signatures };
            let before = Runtime::signatures_verified_on_this_thread();
            let err = rt.check_transaction(&overlay, &net(), &stx).expect_err("refused");
            assert!(err.to_string().contains(why), "{err}");
            assert_eq!(Runtime::signatures_verified_on_this_thread(), before, "{why}: no signature verified");
        }
    }
}
