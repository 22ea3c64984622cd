//! A counter: the smallest useful jjj contract, and a template to start from.
//!
//! It also exercises what the runtime's tests need from real wasm: cross-contract calls,
//! refused re-entrancy, panics with messages, debug messages and events.
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use jjj_sdk::prelude::*;

jjj_sdk::storage! {
    static COUNT: Item<u64> = b"count";
    static OWNER: Item<AccountId> = b"owner";
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Clone, Debug, PartialEq, Eq)]
pub enum CounterEvent {
    Bumped { by: u64, now: u64 },
}

pub struct Counter;

#[jjj_sdk::contract(events = CounterEvent)]
impl Counter {
    /// Starts at `start`; the deployer owns the counter.
    #[constructor]
    pub fn new(start: u64) -> Result<()> {
        COUNT.set(&start);
        OWNER.set(&env::caller());
        Ok(())
    }

    /// Adds `by`; returns the new count.
    #[message]
    pub fn bump(by: u64) -> Result<u64> {
        let now = COUNT.get_or(0).checked_add(by).ok_or_else(|| Error::new("counter overflow"))?;
        COUNT.set(&now);
        env::emit(&CounterEvent::Bumped { by, now });
        env::debug(&format!("bumped by {by} to {now}"));
        Ok(now)
    }

    /// The current count.
    #[message(query)]
    pub fn get() -> Result<u64> {
        Ok(COUNT.get_or(0))
    }

    /// Resets to zero; only the owner.
    #[message]
    pub fn reset() -> Result<()> {
        ensure!(Some(env::caller()) == OWNER.get(), "only the owner may reset the counter");
        COUNT.set(&0);
        Ok(())
    }

    /// Divides the count by `by` (panics on zero, to show panic messages in receipts).
    #[message]
    pub fn divide(by: u64) -> Result<u64> {
        let now = COUNT.get_or(0) / by;
        COUNT.set(&now);
        Ok(now)
    }

    /// Bumps another counter by `by` and returns its new count.
    #[message]
    pub fn bump_other(other: AccountId, by: u64) -> Result<u64> {
        CallBuilder::new(other).input(msg::bump(by)).invoke_decode()
    }

    /// Asks `other` to bump this counter back: a re-entrant call, refused by the runtime.
    #[message]
    pub fn bounce(other: AccountId) -> Result<u64> {
        let me = env::self_address();
        CallBuilder::new(other).input(msg::bump_other(me, 1)).invoke_decode()
    }

    /// Accepts fen and returns the contract's balance.
    #[message(payable)]
    pub fn deposit() -> Result<u64> {
        Ok(env::self_balance())
    }
}
