//! The 京津冀 environmental ledger (环境台账): hazardous-waste disposals recorded on the
//! region-wide network, each proven from the network where its manifest ran.
//!
//! A manifest (联单) between Tianjin and Hebei runs on 津冀 (`waste-disposal`); the region's
//! environmental ledger lives on 京津冀. Rather than trust whoever reports a disposal, the ledger
//! takes the proof of the facility's `confirm_disposal` transaction (`tx_getProof`, `jjj audit
//! receipt TX --scale`) and has the chain verify it (`env::verify_receipt`): the block's
//! certificate against the validators this network's governance trusts for 津冀, the transaction
//! and its receipt against the block's roots. Then it checks what was proven: a successful call of
//! `confirm_disposal` on the waste-disposal contract an agency registered for that network.
//!
//! 1. An environment agency registers a source: a network and its waste-disposal contract.
//! 2. Anyone (usually the facility) submits a proof with `record_disposal`; each transaction is
//!    recorded once.
//! 3. Everyone reads the ledger (`disposal`, `disposals`): disposals are public records.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// Longest network id a source may name, in bytes.
pub const MAX_NETWORK_LEN: usize = 32;
/// Most disposals returned by one page.
pub const MAX_PAGE: u32 = 200;

/// One disposal proven from another network.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Disposal {
    /// Where the manifest ran (e.g. `jinji`, 津冀).
    pub network: String,
    /// The height of the block that finalised it there, and its transaction.
    pub height: u64,
    pub tx_hash: Hash,
    pub manifest_id: u64,
    /// Who confirmed the disposal there: the facility.
    pub facility: AccountId,
    /// Who brought the proof here, and when (this network's block time).
    pub recorded_by: AccountId,
    pub recorded_at: u64,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum LedgerEvent {
    SourceRegistered {
        network: String,
        #[topic]
        contract: AccountId,
    },
    DisposalRecorded {
        #[topic]
        tx_hash: Hash,
        #[topic]
        facility: AccountId,
        network: String,
        manifest_id: u64,
    },
}

jjj_sdk::storage! {
    /// Each source network's waste-disposal contract.
    static SOURCES: Map<String, AccountId> = b"sources";
    static DISPOSALS: Map<Hash, Disposal> = b"disposals";
    /// Transaction hashes of the disposals, in the order recorded.
    static ORDER: List<Hash> = b"order";
}

pub struct EnvironmentLedger;

#[jjj_sdk::contract(events = LedgerEvent)]
impl EnvironmentLedger {
    /// Creates the ledger. No admin: environment agencies register the sources.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        Ok(())
    }

    /// An environment agency names the waste-disposal contract whose disposals count on
    /// `network` (replacing an earlier one).
    #[message]
    pub fn register_source(network: String, contract: AccountId) -> Result<()> {
        let caller = env::caller();
        ensure!(
            env::has_role(&caller, roles::ENVIRONMENT_AGENCY),
            "{} lacks the alliance's role {}: only an environment agency registers sources",
            caller,
            roles::ENVIRONMENT_AGENCY
        );
        ensure!(
            !network.is_empty() && network.len() <= MAX_NETWORK_LEN,
            "a network id has 1 to {} bytes",
            MAX_NETWORK_LEN
        );
        SOURCES.set(&network, &contract);
        env::emit(&LedgerEvent::SourceRegistered { network, contract });
        Ok(())
    }

    /// Records the disposal that `proof` (a receipt proof of another network) proves: a
    /// successful `confirm_disposal` on that network's registered waste-disposal contract.
    #[message]
    pub fn record_disposal(proof: Vec<u8>) -> Result<Disposal> {
        let r = env::verify_receipt(&proof).map_err(|e| Error::new(format!("the proof does not hold: {e}")))?;
        let network = String::from_utf8(r.network.clone()).map_err(|_| Error::new("the network id is not UTF-8"))?;
        let Some(source) = SOURCES.get(&network) else {
            fail!("no waste-disposal contract is registered for network {}", network);
        };
        let Some(call) = r.call.as_ref() else { fail!("the proven transaction calls no contract") };
        ensure!(
            call.contract == source,
            "the proven call is to {}, not the waste-disposal contract {}",
            call.contract,
            source
        );
        ensure!(call.input.len() >= 12, "the proven call is not confirm_disposal(manifest)");
        ensure!(call.input[..4] == env::selector("confirm_disposal"), "the proven call is not confirm_disposal");
        ensure!(r.success, "the proven confirm_disposal failed on {}: nothing was disposed", network);
        let mut id = [0u8; 8];
        id.copy_from_slice(&call.input[4..12]);
        let manifest_id = u64::from_le_bytes(id);
        ensure!(!DISPOSALS.contains(&r.tx_hash), "transaction {} is recorded already", r.tx_hash);
        let d = Disposal {
            network: network.clone(),
            height: r.height,
            tx_hash: r.tx_hash,
            manifest_id,
            facility: r.sender,
            recorded_by: env::caller(),
            recorded_at: env::block_time(),
        };
        DISPOSALS.set(&r.tx_hash, &d);
        ORDER.push(&r.tx_hash)?;
        env::emit(&LedgerEvent::DisposalRecorded { tx_hash: r.tx_hash, facility: r.sender, network, manifest_id });
        Ok(d)
    }

    /// The disposal proven by transaction `tx_hash` of its network, if recorded.
    #[message(query)]
    pub fn disposal(tx_hash: Hash) -> Result<Option<Disposal>> {
        Ok(DISPOSALS.get(&tx_hash))
    }

    /// Up to `limit` (at most 200) disposals from the `start`-th recorded, oldest first.
    #[message(query)]
    pub fn disposals(start: u32, limit: u32) -> Result<Vec<Disposal>> {
        Ok(ORDER.page(start, limit.min(MAX_PAGE)).iter().filter_map(|h| DISPOSALS.get(h)).collect())
    }

    /// The waste-disposal contract registered for `network`.
    #[message(query)]
    pub fn source(network: String) -> Result<Option<AccountId>> {
        Ok(SOURCES.get(&network))
    }
}
