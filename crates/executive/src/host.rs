//! The VM's view of the chain ([`jjj_vm::Host`]) over the state overlay: contract storage under
//! `S ++ address ++ key`, balances in account records, contracts and code by their records.
use jjj_primitives::{AccountId, Hash};
use jjj_state::gov::{load_member, load_registration, MemberStatus};
use jjj_state::{keys, load_account, load_code_info, load_contract, move_balance, Overlay, StateError};
use jjj_vm::{ContractCode, Host, HostError};

/// The overlay of one execution, lent to the VM and given back when the call tree ends.
#[derive(Default)]
pub struct ChainHost {
    pub overlay: Overlay,
}

fn host_err(e: StateError) -> HostError {
    HostError(e.to_string())
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
        let Some(reg) = load_registration(&self.overlay, account).map_err(host_err)? else { return Ok(false) };
        if reg.suspended || reg.frozen || !reg.has_role(role) {
            return Ok(false);
        }
        let member = load_member(&self.overlay, &reg.member).map_err(host_err)?;
        Ok(member.is_some_and(|m| m.status == MemberStatus::Active))
    }
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, HostError> {
        Ok(load_registration(&self.overlay, account).map_err(host_err)?.map(|r| r.member))
    }
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, HostError> {
        let Some(reg) = load_registration(&self.overlay, account).map_err(host_err)? else { return Ok(None) };
        Ok(load_member(&self.overlay, &reg.member).map_err(host_err)?.map(|m| m.spec.region as u8))
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
