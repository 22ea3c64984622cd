//! The node's JSON-RPC methods and subscriptions, declared once.
//!
//! Every method takes the network it is about first. Parameters are declared one by one so that
//! the server accepts them by name or by position; the client sends them by name
//! (`param_kind = map`), as the node's other clients do. An `Option` parameter may be left out.
// The methods mirror the JSON params one to one, so some take many arguments (also in the
// client and server traits the `rpc` macro derives, hence module-wide).
#![allow(clippy::too_many_arguments)]
use crate::{
    AccessLogJson, AccountJson, BlockJson, CertificateJson, CodeChangeJson, ContractInfoJson, EventJson, GovRulesJson,
    HeaderJson, HealthJson, LightHeaderJson, MemberJson, PeerJson, PermissionJson, ProposalJson, ReceiptJson,
    RegistrationJson, RegistryEntryJson, StateProofJson, SubmitResultJson, TxProofJson,
};
// Only the server half names these: the client half rewrites the return types.
#[cfg_attr(not(feature = "server"), allow(unused_imports))]
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;

#[cfg_attr(feature = "server", rpc(server, client))]
#[cfg_attr(not(feature = "server"), rpc(client))]
pub trait NodeApi {
    /// Admits a SCALE-encoded signed transaction (0x-hex) to the mempool; returns its hash.
    #[method(name = "tx_submit", param_kind = map)]
    fn submit_tx(&self, network: String, tx: String) -> RpcResult<String>;

    /// Admits up to `MAX_SUBMIT_BATCH` SCALE-encoded signed transactions (0x-hex) at once: their
    /// signatures are checked together (one ed25519 batch) and those admitted are gossiped in
    /// as few messages as fit. One result per transaction, in order: its hash, or why it was
    /// refused (the others are admitted all the same).
    #[method(name = "tx_submitBatch", param_kind = map)]
    async fn submit_batch(&self, network: String, txs: Vec<String>) -> RpcResult<Vec<SubmitResultJson>>;

    /// The receipt of a finalised transaction, or null. With `wait_ms`, waits that long (at most
    /// `MAX_RECEIPT_WAIT_MS`) for it to be finalised, then fails with `ErrorCode::Timeout`.
    #[method(name = "tx_receipt", param_kind = map)]
    async fn receipt(&self, network: String, hash: String, wait_ms: Option<u64>) -> RpcResult<Option<ReceiptJson>>;

    /// What proves a finalised transaction and its receipt without trusting this node: the
    /// block's header and commit certificate, the transaction and the receipt, and their Merkle
    /// branches to the header's `tx_root` and `receipts_root` (`jjj audit receipt` and `jjj audit
    /// verify-receipt` check it). Null if the transaction is not final.
    #[method(name = "tx_getProof", param_kind = map)]
    async fn tx_proof(&self, network: String, hash: String) -> RpcResult<Option<TxProofJson>>;

    /// A state key's value at `height` (default: the finalised head; genesis is 0), or its
    /// absence, with what proves it without trusting this node: the key's branch to that height's
    /// state root, the header and its commit certificate (`jjj audit verify-receipt` checks it
    /// offline against the network's validator-set history). `key` is the raw state key, 0x-hex
    /// (`jjj state proof` builds it from an account, a contract or a governance record). A
    /// contract's storage (`S ++ contract ++ key`) is its private data: it is served only with
    /// `read`, a `SignedRead` for that contract whose input is the storage key, by an auditor;
    /// every such request is in the access log.
    #[method(name = "state_getProof", param_kind = map)]
    async fn state_proof(
        &self,
        network: String,
        key: String,
        height: Option<u64>,
        read: Option<String>,
    ) -> RpcResult<StateProofJson>;

    /// What a light client needs of height `height` (`jjj follow`): the header, its commit
    /// certificate (null for genesis) and the validator schedule's value at that height with its
    /// state proof, from which the client learns the next height's validators without executing.
    /// Null above the finalised head.
    #[method(name = "light_getHeader", param_kind = map)]
    async fn light_header(&self, network: String, height: u64) -> RpcResult<Option<LightHeaderJson>>;

    /// A finalised block by height or hash (default: the head), or null. `raw` adds the
    /// SCALE-encoded block, certificate, header and receipts.
    #[method(name = "chain_getBlock", param_kind = map)]
    async fn block(
        &self,
        network: String,
        height: Option<u64>,
        hash: Option<String>,
        raw: Option<bool>,
    ) -> RpcResult<Option<BlockJson>>;

    /// The header of the finalised head.
    #[method(name = "chain_getFinalizedHead", param_kind = map)]
    async fn finalized_head(&self, network: String) -> RpcResult<HeaderJson>;

    /// The commit certificate of the block at `height`, or null.
    #[method(name = "chain_getCertificate", param_kind = map)]
    async fn certificate(&self, network: String, height: u64) -> RpcResult<Option<CertificateJson>>;

    /// An account's balance and nonce at the finalised head.
    #[method(name = "state_getAccount", param_kind = map)]
    async fn account(&self, network: String, account: String) -> RpcResult<AccountJson>;

    /// Runs a contract message read-only (nothing is stored) against the state at height `at`
    /// (default: the finalised head); a message that would change state fails. `read` is a
    /// SCALE-encoded `SignedRead` (0x-hex) for this contract and input: the query then runs with
    /// its reader as the caller, and may read protected data under the contract's read policy;
    /// without one, `sender` is only a claim and a protected message fails. A refused read
    /// request (bad signature, stale, replayed) is `ErrorCode::ReadRefused`; every protected read
    /// and refusal goes to the node's access log (`audit_accessLog`). `gas_limit` defaults to,
    /// and may not exceed, the node's `[rpc] call_gas_limit`; when the node already runs `[rpc]
    /// max_concurrent_calls` queries and dry runs, the answer is `ErrorCode::Busy` (retry).
    #[method(name = "contract_query", param_kind = map)]
    #[allow(clippy::too_many_arguments)]
    async fn contract_query(
        &self,
        network: String,
        contract: String,
        input: String,
        sender: Option<String>,
        value: Option<u64>,
        gas_limit: Option<u64>,
        at: Option<u64>,
        read: Option<String>,
    ) -> RpcResult<ReceiptJson>;

    /// Runs a contract call as a transaction would, without storing anything; the receipt
    /// carries the contract's debug messages. Read requests, gas and concurrency limits as
    /// `contract_query`.
    #[method(name = "contract_dryRun", param_kind = map)]
    #[allow(clippy::too_many_arguments)]
    async fn contract_dry_run(
        &self,
        network: String,
        contract: String,
        input: String,
        sender: Option<String>,
        value: Option<u64>,
        gas_limit: Option<u64>,
        at: Option<u64>,
        read: Option<String>,
    ) -> RpcResult<ReceiptJson>;

    /// This node's access log of network `network`: entries from sequence number `from`
    /// (default 0), at most `limit` (default and most 1,000), each with its hash and the
    /// SCALE bytes it was hashed from, so a client checks the chain itself.
    #[method(name = "audit_accessLog", param_kind = map)]
    async fn access_log(&self, network: String, from: Option<u64>, limit: Option<usize>) -> RpcResult<AccessLogJson>;

    /// Finalised events, oldest first, filtered by contract and topic, between heights `from`
    /// (default 0) and `to` (default: the head), at most 10,000 blocks apart (wider is
    /// refused: ask in parts); at most `limit` (default 1,000, at most 10,000). Protected events
    /// (`#[event(protected)]`) are left out unless `read` is a `SignedRead` (input
    /// `contract_events`, the filter's contract or zero) by an account among the event's topics
    /// or an auditor; each call that met protected events is in the access log.
    #[method(name = "contract_events", param_kind = map)]
    async fn contract_events(
        &self,
        network: String,
        contract: Option<String>,
        topic: Option<String>,
        from: Option<u64>,
        to: Option<u64>,
        limit: Option<usize>,
        read: Option<String>,
    ) -> RpcResult<Vec<EventJson>>;

    /// A deployed contract's code hash, deployer and code facts, or null.
    #[method(name = "contract_info", param_kind = map)]
    async fn contract_info(&self, network: String, account: String) -> RpcResult<Option<ContractInfoJson>>;

    /// The alliance's member organisations, in order of admission.
    #[method(name = "gov_members", param_kind = map)]
    async fn gov_members(&self, network: String) -> RpcResult<Vec<MemberJson>>;

    /// An account's registration (member, signing key, roles, suspended/frozen), or null.
    #[method(name = "gov_account", param_kind = map)]
    async fn gov_account(&self, network: String, account: String) -> RpcResult<Option<RegistrationJson>>;

    /// One proposal, or null.
    #[method(name = "gov_proposal", param_kind = map)]
    async fn gov_proposal(&self, network: String, id: u64) -> RpcResult<Option<ProposalJson>>;

    /// The governance history: proposals newest first, from id `before` down (default: the
    /// newest), at most `limit` (default 100, at most 1,000); `open_only` leaves out closed ones.
    #[method(name = "gov_proposals", param_kind = map)]
    async fn gov_proposals(
        &self,
        network: String,
        before: Option<u64>,
        limit: Option<u64>,
        open_only: Option<bool>,
    ) -> RpcResult<Vec<ProposalJson>>;

    /// Function permissions: upload and instantiate (set or default) and every method policy.
    #[method(name = "gov_permissions", param_kind = map)]
    async fn gov_permissions(&self, network: String) -> RpcResult<Vec<PermissionJson>>;

    /// Thresholds per action kind and the roles members may give their own accounts.
    #[method(name = "gov_rules", param_kind = map)]
    async fn gov_rules(&self, network: String) -> RpcResult<GovRulesJson>;

    /// The official contract names.
    #[method(name = "gov_registry", param_kind = map)]
    async fn gov_registry(&self, network: String) -> RpcResult<Vec<RegistryEntryJson>>;

    /// A contract's code history: instantiation, then each upgrade.
    #[method(name = "gov_codeHistory", param_kind = map)]
    async fn gov_code_history(&self, network: String, contract: String) -> RpcResult<Vec<CodeChangeJson>>;

    /// The node, its peers count and each network's head.
    #[method(name = "node_health")]
    fn health(&self) -> RpcResult<HealthJson>;

    /// The connected peers.
    #[method(name = "node_peers")]
    fn peers(&self) -> RpcResult<Vec<PeerJson>>;

    /// Each newly finalised header (WebSocket). A subscriber that falls behind gets a last
    /// notification `LaggedJson` (code 2008, `resubscribe_from`) and the subscription ends.
    #[subscription(
        name = "chain_subscribeFinalizedHeads" => "chain_finalizedHead",
        unsubscribe = "chain_unsubscribeFinalizedHeads",
        item = HeaderJson,
        param_kind = map
    )]
    async fn subscribe_finalized_heads(&self, network: String) -> SubscriptionResult;

    /// Each newly finalised event, of one contract or all (WebSocket), protected ones left out
    /// (read those with `contract_events`); lagging as for heads.
    #[subscription(
        name = "contract_subscribeEvents" => "contract_event",
        unsubscribe = "contract_unsubscribeEvents",
        item = EventJson,
        param_kind = map
    )]
    async fn subscribe_contract_events(&self, network: String, contract: Option<String>) -> SubscriptionResult;
}
