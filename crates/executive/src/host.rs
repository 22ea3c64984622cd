//! The VM's view of the chain ([`jjj_vm::Host`]) over the state overlay: contract storage under
//! `S ++ address ++ key`, balances in account records, contracts and code by their records.
use jjj_consensus::ReceiptProof;
use jjj_crypto::Scheme;
use jjj_primitives::gov::TrustedNetwork;
use jjj_primitives::{AccountId, Call, Hash};
use jjj_state::gov::{load_member, load_registration, MemberStatus};
use jjj_state::{keys, load_account, load_code_info, load_contract, move_balance, Overlay, StateError};
use jjj_vm::{ContractCode, Host, HostError};
use jjj_vm::{ProvenCall, ProvenEvent, ProvenReceipt};
use parity_scale_codec::DecodeAll;

/// The overlay of one execution, lent to the VM and given back when the call tree ends.
#[derive(Default)]
pub struct ChainHost {
    pub overlay: Overlay,
}

fn host_err(e: StateError) -> HostError {
    HostError(e.to_string())
}

/// Whether `account` holds `role` and may act: registered, neither it nor its member
/// suspended, not frozen. What contracts ask through `has_role`, and the node of auditors.
pub fn has_role(overlay: &Overlay, account: &AccountId, role: &str) -> Result<bool, StateError> {
    let Some(reg) = load_registration(overlay, account)? else { return Ok(false) };
    if reg.suspended || reg.frozen || !reg.has_role(role) {
        return Ok(false);
    }
    let member = load_member(overlay, &reg.member)?;
    Ok(member.is_some_and(|m| m.status == MemberStatus::Active))
}

impl Host for ChainHost {
    fn storage_get(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        self.overlay.get(&keys::storage(contract, key)).map_err(host_err)
    }
    fn storage_set(&mut self, contract: &AccountId, key: &[u8], value: Vec<u8>) {
        self.overlay.set(keys::storage(contract, key), value)
    }
    fn storage_remove(&mut self, contract: &AccountId, key: &[u8]) {
        self.overlay.remove(keys::storage(contract, key))
    }
    fn balance(&self, account: &AccountId) -> Result<u64, HostError> {
        Ok(load_account(&self.overlay, account).map_err(host_err)?.balance)
    }
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: u64) -> Result<bool, HostError> {
        move_balance(&mut self.overlay, from, to, amount).map_err(host_err)
    }
    fn contract(&self, address: &AccountId) -> Result<Option<ContractCode>, HostError> {
        let Some(info) = load_contract(&self.overlay, address).map_err(host_err)? else { return Ok(None) };
        if jjj_state::gov::is_frozen(&self.overlay, address).map_err(host_err)? {
            return Err(HostError(format!("contract {address} is frozen by governance")));
        }
        let reentrant = load_code_info(&self.overlay, &info.code_hash).ok().flatten().is_some_and(|c| c.reentrant);
        Ok(Some(ContractCode { code_hash: info.code_hash, reentrant }))
    }
    fn code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, HostError> {
        self.overlay.get(&keys::code(code_hash)).map_err(host_err)
    }
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, HostError> {
        has_role(&self.overlay, account, role).map_err(host_err)
    }
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, HostError> {
        Ok(load_registration(&self.overlay, account).map_err(host_err)?.map(|r| r.member))
    }
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, HostError> {
        let Some(reg) = load_registration(&self.overlay, account).map_err(host_err)? else { return Ok(None) };
        Ok(load_member(&self.overlay, &reg.member).map_err(host_err)?.map(|m| m.spec.region as u8))
    }
    fn verify_receipt(&self, proof: &[u8]) -> Result<Result<(ProvenReceipt, usize), String>, HostError> {
        let proof = match ReceiptProof::decode_all(&mut &proof[..]) {
            Ok(p) => p,
            Err(e) => return Ok(Err(format!("the receipt proof does not decode: {e}"))),
        };
        let network = &proof.header.network;
        let key = jjj_state::gov::keys::trusted_network(network.as_str());
        let Some(bytes) = self.overlay.get(&key).map_err(host_err)? else {
            return Ok(Err(format!("this network does not trust network {network}: no record of its validators")));
        };
        let record: TrustedNetwork = jjj_state::decode_record(&key, &bytes).map_err(host_err)?;
        let Some(scheme) = Scheme::from_code(record.scheme) else {
            return Err(HostError(format!("the record of network {network} names unknown scheme {}", record.scheme)));
        };
        if record.validators.is_empty() {
            return Ok(Err(format!("the record of network {network} holds no validator set")));
        }
        let signatures = proof.certificate.signatures.len();
        // The light client's check, with the one set the record holds (governance keeps it current).
        let trusted = jjj_light::SetHistory::fixed(network.clone(), record.validators);
        let v = match trusted.verify_receipt(scheme.suite(), &proof) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let call = match v.transaction.tx.call {
            Call::Call { contract, input, value } => Some(ProvenCall { contract, input, value }),
            _ => None,
        };
        let receipt = ProvenReceipt {
            network: network.as_str().as_bytes().to_vec(),
            height: v.height,
            tx_hash: v.tx_hash,
            sender: v.transaction.tx.sender,
            call,
            success: v.receipt.is_success(),
            output: v.receipt.output,
            events: v
                .receipt
                .events
                .into_iter()
                .map(|e| ProvenEvent { contract: e.contract, topics: e.topics, data: e.data })
                .collect(),
        };
        Ok(Ok((receipt, signatures)))
    }
    fn checkpoint(&mut self) {
        self.overlay.checkpoint()
    }
    fn commit_checkpoint(&mut self) {
        self.overlay.commit_checkpoint()
    }
    fn revert_checkpoint(&mut self) {
        self.overlay.revert_checkpoint()
    }
}
