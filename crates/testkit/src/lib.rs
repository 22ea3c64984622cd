//! jjj-testkit: an in-memory chain for testing contracts as real wasm through the real runtime: every call is
//! a signed transaction executed in a block of its own, and the block is re-applied on a copy of
//! the state to check that its roots replay.
//!
//! ```ignore
//! let mut chain = TestChain::new();
//! let admin = chain.account("admin", 1_000_000);
//! let code = chain.upload(&admin, &contract_wasm("utility_bills")).unwrap();
//! let bills = chain.instantiate(&admin, code, 0, utility_bills::msg::new()).unwrap();
//! let water = chain.account("beijing-water", 0);
//! chain.set_roles(&water.id, &["utility-provider"]);
//! let receipt = chain.call(&water, &bills, 0, utility_bills::msg::register_provider(water.id, ..));
//! ```
use jjj_crypto::Keypair;
use jjj_executive::{genesis_changes, BlockTemplate, DryRun, GenesisSpec, ReadAccess, Runtime};
use jjj_primitives::params::MAX_TX_GAS;
use jjj_primitives::*;
use jjj_state::{keys, Account, ChangeSet, MemoryState, StateCommitment, StateReader};
use parity_scale_codec::{Decode, Encode};
use std::path::PathBuf;
use std::sync::Arc;

pub use jjj_crypto::{test_hash_algo, test_key, test_suite, TEST_SUITE_VAR};

/// A funded account with its signing key.
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub id: AccountId,
    pub key: Keypair,
}

pub struct TestChain {
    runtime: Runtime,
    state: Arc<MemoryState>,
    network: NetworkId,
    height: u64,
    time: u64,
    parent: Hash,
    /// Gas limit of every transaction the kit sends.
    pub gas_limit: u64,
    /// Every block so far, for replay tests.
    pub blocks: Vec<Block>,
    /// The receipts of each block in `blocks`.
    receipts: Vec<Vec<Receipt>>,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    pub fn new() -> Self {
        let runtime = Runtime::new().unwrap_or_else(|e| panic!("cannot start the runtime: {e}"));
        Self::with_runtime(runtime.with_suite(test_suite()))
    }

    /// A chain of `runtime`'s suite (its keys, hashes and state tree).
    pub fn with_runtime(runtime: Runtime) -> Self {
        TestChain {
            state: Arc::new(MemoryState::new(runtime.hash_algo())),
            runtime,
            network: NetworkId::new("test").unwrap_or_else(|e| panic!("{e}")),
            height: 0,
            time: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            parent: Hash::default(),
            gas_limit: MAX_TX_GAS / 2,
            blocks: Vec::new(),
            receipts: Vec::new(),
        }
    }

    /// The same chain under another network id (before any block): two chains of one test
    /// stand for two networks.
    pub fn named(mut self, network: &str) -> Self {
        self.network = NetworkId::new(network).unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// The proof of transaction `tx_hash` (as `tx_getProof` gives it), its block certified by
    /// COMMIT votes of `validators` (view 0), or `None` if no block holds it.
    pub fn receipt_proof(&self, tx_hash: &Hash, validators: &[Keypair]) -> Option<jjj_consensus::ReceiptProof> {
        let algo = self.runtime.hash_algo();
        for (block, receipts) in self.blocks.iter().zip(&self.receipts) {
            let leaves: Vec<Hash> = block.transactions.iter().map(|t| t.hash(algo)).collect();
            let Some(index) = leaves.iter().position(|h| h == tx_hash) else { continue };
            let receipt_leaves: Vec<Hash> = receipts.iter().map(|r| r.hash(algo)).collect();
            let block_hash = block.header.hash(algo);
            let signatures = validators
                .iter()
                .map(|k| {
                    let v = jjj_consensus::Vote::sign(
                        &self.network,
                        k,
                        jjj_consensus::VoteKind::Commit,
                        block.header.height,
                        0,
                        block_hash,
                    );
                    (v.voter, v.signature)
                })
                .collect();
            return Some(jjj_consensus::ReceiptProof {
                header: block.header.clone(),
                certificate: jjj_consensus::CommitCertificate {
                    height: block.header.height,
                    view: 0,
                    block_hash,
                    signatures,
                },
                transaction: block.transactions[index].clone(),
                receipt: receipts[index].clone(),
                tx_branch: jjj_primitives::merkle_proof(algo, &leaves, index)?,
                receipt_branch: jjj_primitives::merkle_proof(algo, &receipt_leaves, index)?,
            });
        }
        None
    }

    /// Records, as a governance decision would (`GovAction::TrustNetwork`), that this network
    /// trusts `network`'s receipts certified by `validators`.
    pub fn trust_network(&mut self, network: &NetworkId, validators: &[AccountId]) {
        let record = jjj_primitives::gov::TrustedNetwork {
            scheme: self.runtime.suite().scheme().code(),
            validators: validators.to_vec(),
            since: self.height,
        };
        let key = jjj_state::gov::keys::trusted_network(network.as_str());
        let changes: ChangeSet = [(key, Some(record.encode()))].into_iter().collect();
        self.apply_changes(&changes);
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
    pub fn state(&self) -> Arc<MemoryState> {
        self.state.clone()
    }
    pub fn network(&self) -> &NetworkId {
        &self.network
    }
    pub fn height(&self) -> u64 {
        self.height
    }
    /// Timestamp of the next block, ms since the Unix epoch.
    pub fn time(&self) -> u64 {
        self.time
    }
    /// Moves the clock: the next blocks are `ms` later.
    pub fn advance_time(&mut self, ms: u64) {
        self.time += ms;
    }

    fn apply_changes(&mut self, changes: &ChangeSet) {
        let mut next = (*self.state).clone();
        next.apply(changes).unwrap_or_else(|e| panic!("state: {e}"));
        self.state = Arc::new(next);
    }

    /// A deterministic key account named `name`, credited with `balance` fen (added to what it has).
    pub fn account(&mut self, name: &str, balance: u64) -> TestAccount {
        let key = Keypair::named(self.runtime.suite().scheme(), name);
        let id = key.account();
        let have = self.balance(&id);
        // The dev genesis of this one account: registered by member `dev` with the deployer
        // role. What the chain already has (the member, an earlier registration) is kept.
        let mut changes = genesis_changes(&[(id, have + balance)]);
        changes.retain(|k, _| self.state.get(k).ok().flatten().is_none() || *k == keys::account(&id));
        if let Some(Some(v)) = changes.get_mut(&keys::account(&id)) {
            *v = Account { nonce: self.nonce(&id), balance: have + balance }.encode();
        }
        self.apply_changes(&changes);
        TestAccount { id, key }
    }

    /// Sets the roles of an account [`TestChain::account`] registered (replacing the ones it
    /// had), as a governance grant or revocation would: what `has_role` answers contracts.
    pub fn set_roles(&mut self, who: &AccountId, roles: &[&str]) {
        let overlay = jjj_state::Overlay::new(self.state.clone());
        let mut reg = jjj_state::gov::load_registration(&overlay, who)
            .unwrap_or_else(|e| panic!("state: {e}"))
            .unwrap_or_else(|| panic!("{who} is not registered: create it with TestChain::account"));
        reg.roles = roles.iter().map(|r| r.to_string()).collect();
        let changes: ChangeSet = [(jjj_state::gov::keys::registration(who), Some(reg.encode()))].into_iter().collect();
        self.apply_changes(&changes);
    }

    /// Registers an address that has no key here (a contract) as an account of member `dev`
    /// holding `roles`, as a member admin's registration and a governance grant would: how a
    /// contract comes to hold a role another contract checks with `has_role`.
    pub fn register_address(&mut self, who: &AccountId, roles: &[&str]) {
        let mut changes = genesis_changes(&[(*who, self.balance(who))]);
        changes.retain(|k, _| self.state.get(k).ok().flatten().is_none());
        self.apply_changes(&changes);
        self.set_roles(who, roles);
    }

    /// Moves an account [`TestChain::account`] registered to member `member` of `region`
    /// (created, with the admin key `"{member}-admin"`, if the chain has no such member): what
    /// `member_of` and `member_region` answer contracts.
    pub fn set_member(&mut self, who: &AccountId, member: &str, region: jjj_primitives::gov::Region) {
        let mut overlay = jjj_state::Overlay::new(self.state.clone());
        let exists = jjj_state::gov::load_member(&overlay, member).unwrap_or_else(|e| panic!("state: {e}")).is_some();
        if !exists {
            let spec = jjj_primitives::gov::MemberSpec {
                id: member.into(),
                name: member.into(),
                region,
                admins: vec![Keypair::named(self.runtime.suite().scheme(), &format!("{member}-admin")).account()],
                admin_threshold: 1,
            };
            jjj_executive::gov::add_member(&mut overlay, spec, self.height)
                .unwrap_or_else(|e| panic!("state: {e}"))
                .unwrap_or_else(|e| panic!("member {member}: {e}"));
        }
        let mut reg = jjj_state::gov::load_registration(&overlay, who)
            .unwrap_or_else(|e| panic!("state: {e}"))
            .unwrap_or_else(|| panic!("{who} is not registered: create it with TestChain::account"));
        reg.member = member.into();
        overlay.set(jjj_state::gov::keys::registration(who), reg.encode());
        self.apply_changes(&overlay.into_changes());
    }

    /// A chain whose state starts from a full genesis (members, accounts, thresholds).
    pub fn with_genesis(spec: &GenesisSpec) -> Self {
        let mut chain = Self::new();
        let changes = spec.changes().unwrap_or_else(|e| panic!("genesis: {e}"));
        chain.apply_changes(&changes);
        chain
    }

    /// A key named `name` (as [`TestChain::account`] derives it on a chain of the test suite)
    /// without touching the state.
    pub fn key(name: &str) -> TestAccount {
        let key = test_key(name);
        TestAccount { id: key.account(), key }
    }

    /// Sends `call` for account `sender`, signed by `key` (a rotated key, a multisig member…);
    /// `Err` with the reason if the transaction is refused.
    pub fn try_submit(&mut self, sender: AccountId, key: &Keypair, call: Call) -> Result<Receipt, String> {
        let tx = Transaction {
            network: self.network.clone(),
            sender,
            nonce: self.nonce(&sender),
            gas_limit: self.gas_limit,
            call,
        };
        self.submit_signed(key.sign_tx(tx))
    }

    fn account_record(&self, who: &AccountId) -> Account {
        self.state
            .get(&keys::account(who))
            .ok()
            .flatten()
            .and_then(|b| Account::decode(&mut &b[..]).ok())
            .unwrap_or_default()
    }
    pub fn balance(&self, who: &AccountId) -> u64 {
        self.account_record(who).balance
    }
    pub fn nonce(&self, who: &AccountId) -> u64 {
        self.account_record(who).nonce
    }

    /// Signs `call` as `from` and executes it in a block of its own; returns its receipt.
    /// Panics if the transaction is refused outright (bad nonce and the like): a test bug.
    pub fn submit(&mut self, from: &TestAccount, call: Call) -> Receipt {
        let tx = Transaction {
            network: self.network.clone(),
            sender: from.id,
            nonce: self.nonce(&from.id),
            gas_limit: self.gas_limit,
            call,
        };
        self.submit_signed(from.key.sign_tx(tx)).unwrap_or_else(|e| panic!("transaction refused: {e}"))
    }

    /// The template of the next block: on the last one, at the chain's current time.
    pub fn next_template(&self) -> BlockTemplate {
        BlockTemplate {
            network: self.network.clone(),
            height: self.height + 1,
            parent_hash: self.parent,
            timestamp: self.time,
            proposer: AccountId::default(),
        }
    }

    /// `call` signed by `from` with the given nonce and gas limit, for tests that build blocks
    /// themselves.
    pub fn sign(&self, from: &TestAccount, nonce: u64, gas_limit: u64, call: Call) -> SignedTransaction {
        from.key.sign_tx(Transaction { network: self.network.clone(), sender: from.id, nonce, gas_limit, call })
    }

    /// Executes a signed transaction in a block of its own; `Err` if it cannot be included.
    pub fn submit_signed(&mut self, stx: SignedTransaction) -> Result<Receipt, String> {
        let template = self.next_template();
        self.height += 1;
        let (block, exec, refused) =
            self.runtime.build_block(self.state.clone(), template, vec![stx]).map_err(|e| e.to_string())?;
        if let Some((_, e)) = refused.into_iter().next() {
            self.height -= 1;
            return Err(e.to_string());
        }
        // The replica's view must agree with the proposer's.
        let replay = self.runtime.apply_block(self.state.clone(), &block).map_err(|e| format!("replay: {e}"))?;
        assert_eq!(replay, exec, "re-executing the block gave a different result");
        self.apply_changes(&exec.changes);
        assert_eq!(self.state.state_root(), block.header.state_root);
        self.parent = block.header.hash(self.runtime.hash_algo());
        self.blocks.push(block);
        self.receipts.push(exec.receipts.clone());
        exec.receipts.into_iter().next().ok_or_else(|| "no receipt".to_string())
    }

    /// Uploads code; returns its hash or the refusal reason.
    pub fn upload(&mut self, from: &TestAccount, code: &[u8]) -> Result<Hash, String> {
        let r = self.submit(from, Call::UploadCode { code: code.to_vec() });
        decode_output(&r)
    }

    /// Instantiates uploaded code with a constructor message; returns the contract's address.
    pub fn instantiate(
        &mut self,
        from: &TestAccount,
        code_hash: Hash,
        value: u64,
        input: Vec<u8>,
    ) -> Result<AccountId, String> {
        let r = self.submit(from, Call::Instantiate { code_hash, input, value });
        decode_output(&r)
    }

    /// Calls a contract; returns the receipt, whatever happened.
    pub fn call(&mut self, from: &TestAccount, contract: &AccountId, value: u64, input: Vec<u8>) -> Receipt {
        self.submit(from, Call::Call { contract: *contract, input, value })
    }

    /// Calls and decodes the output; panics with the reason if the call failed.
    pub fn call_ok<R: Decode>(&mut self, from: &TestAccount, contract: &AccountId, value: u64, input: Vec<u8>) -> R {
        let r = self.call(from, contract, value, input);
        decode_output(&r).unwrap_or_else(|e| panic!("call failed: {e}"))
    }

    /// Calls expecting failure; returns the reason (panics if the call succeeded).
    pub fn call_err(&mut self, from: &TestAccount, contract: &AccountId, value: u64, input: Vec<u8>) -> String {
        let r = self.call(from, contract, value, input);
        match r.reason() {
            Some(reason) => reason.to_string(),
            None => panic!("the call succeeded but was expected to fail"),
        }
    }

    /// A read-only call at the current state, as `from` having signed a read request (so a
    /// protected message runs its read policy with `from` as the caller).
    pub fn query<R: Decode>(&self, from: &AccountId, contract: &AccountId, input: Vec<u8>) -> Result<R, String> {
        let r = self.run_query(from, contract, input, ReadAccess::Signed)?;
        decode_output(&r.receipt)
    }

    /// A read-only call that no reader signed for: a protected message fails.
    pub fn query_unsigned<R: Decode>(
        &self,
        from: &AccountId,
        contract: &AccountId,
        input: Vec<u8>,
    ) -> Result<R, String> {
        let r = self.run_query(from, contract, input, ReadAccess::Anonymous)?;
        decode_output(&r.receipt)
    }

    fn run_query(
        &self,
        from: &AccountId,
        contract: &AccountId,
        input: Vec<u8>,
        reads: ReadAccess,
    ) -> Result<DryRun, String> {
        let ctx = BlockContext { network: self.network.clone(), height: self.height + 1, timestamp: self.time };
        let call = Call::Call { contract: *contract, input, value: 0 };
        self.runtime.dry_run(self.state.clone(), &ctx, *from, call, self.gas_limit, reads).map_err(|e| e.to_string())
    }

    /// A dry run: the receipt (with exact gas) and debug messages, nothing persisted.
    pub fn dry_run(
        &self,
        from: &AccountId,
        contract: &AccountId,
        value: u64,
        input: Vec<u8>,
    ) -> Result<DryRun, String> {
        let ctx = BlockContext { network: self.network.clone(), height: self.height + 1, timestamp: self.time };
        let call = Call::Call { contract: *contract, input, value };
        self.runtime
            .dry_run(self.state.clone(), &ctx, *from, call, self.gas_limit, ReadAccess::Signed)
            .map_err(|e| e.to_string())
    }
}

/// Decodes a successful receipt's output, or returns its reason.
pub fn decode_output<R: Decode>(r: &Receipt) -> Result<R, String> {
    match r.reason() {
        Some(reason) => Err(reason.to_string()),
        None => R::decode(&mut &r.output[..]).map_err(|e| format!("cannot decode the output: {e}")),
    }
}

/// Where `scripts/build-contracts.sh` puts the wasm: `$JJJ_CONTRACTS_DIR`, or `target/contracts`
/// under the workspace.
pub fn contracts_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("JJJ_CONTRACTS_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts")
}

/// Loads a built contract by file name without extension ("utility_bills").
pub fn contract_wasm(name: &str) -> Vec<u8> {
    let path = contracts_dir().join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run scripts/build-contracts.sh first", path.display()))
}
