//! The SDK's own tests: the entry-point macro, storage, events, value, reverts, panics and
//! cross-contract calls, through the native test host.
use jjj_sdk::prelude::*;
use jjj_sdk::testing::TestEnv;

mod counter {
    use jjj_sdk::prelude::*;

    static COUNT: Item<u64> = Item::new(b"count");
    static OWNER: Item<AccountId> = Item::new(b"owner");
    static NOTES: Map<u64, String> = Map::new(b"note/");

    #[derive(Encode, Decode, TypeInfo, Debug, PartialEq)]
    pub enum CounterEvent {
        Bumped { by: u64, now: u64 },
    }

    impl ContractEvent for CounterEvent {
        fn name(&self) -> &'static str {
            "Bumped"
        }
    }

    pub struct Counter;

    #[jjj_sdk::contract(events = CounterEvent)]
    impl Counter {
        /// Starts counting at `start`.
        #[constructor]
        pub fn new(start: u64) -> Result<()> {
            COUNT.set(&start);
            OWNER.set(&env::caller());
            Ok(())
        }

        #[message]
        pub fn bump(by: u64) -> Result<u64> {
            let now = COUNT.get_or(0).checked_add(by).ok_or_else(|| Error::new("counter overflow"))?;
            COUNT.set(&now);
            env::emit(&CounterEvent::Bumped { by, now });
            Ok(now)
        }

        #[message]
        pub fn get() -> Result<u64> {
            Ok(COUNT.get_or(0))
        }

        #[message(payable)]
        pub fn deposit() -> Result<u64> {
            ensure!(env::value() > 0, "send some fen");
            Ok(env::self_balance())
        }

        #[message]
        pub fn note(id: u64, text: String) -> Result<()> {
            ensure!(env::caller() == OWNER.get().ok_or_else(|| Error::new("no owner"))?, "only the owner writes notes");
            NOTES.set(&id, &text);
            Ok(())
        }

        #[message]
        pub fn read_note(id: u64) -> Result<Option<String>> {
            Ok(NOTES.get(&id))
        }

        #[message]
        pub fn bump_then_fail(by: u64) -> Result<()> {
            Self::bump(by)?;
            fail!("failed after bumping by {by}")
        }

        #[message]
        pub fn divide(a: u64, b: u64) -> Result<u64> {
            Ok(a / b)
        }

        /// Calls `target.bump(by)` and returns what it returned.
        #[message]
        pub fn forward(target: AccountId, by: u64) -> Result<u64> {
            CallBuilder::new(target).input(super::counter::msg::bump(by)).invoke_decode()
        }

        #[message]
        pub fn forward_to_self(by: u64) -> Result<u64> {
            CallBuilder::new(env::self_address()).input(msg::bump(by)).invoke_decode()
        }
    }
}

use counter::{msg, Counter, CounterEvent};

fn setup() -> (TestEnv, AccountId, AccountId) {
    let env = TestEnv::new();
    let alice = TestEnv::account("alice");
    env.set_balance(&alice, 1_000);
    let c = env.deploy(Counter::ENTRY, &alice, 0, msg::new(5)).expect("deploy");
    (env, alice, c)
}

#[test]
fn messages_dispatch_and_persist() {
    let (env, alice, c) = setup();
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::bump(3)), Ok(8));
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::get()), Ok(8));
    let events = env.events();
    assert_eq!(events.len(), 1);
    assert!(events[0].is("Bumped"));
    assert_eq!(events[0].decode::<CounterEvent>(), Some(CounterEvent::Bumped { by: 3, now: 8 }));
}

#[test]
fn errors_revert_their_writes_and_carry_the_message() {
    let (env, alice, c) = setup();
    let err = env.call(&alice, &c, 0, msg::bump_then_fail(10)).unwrap_err();
    assert_eq!(err, "failed after bumping by 10");
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::get()), Ok(5), "the bump was rolled back");
    assert!(env.events().is_empty(), "the event was rolled back");
}

#[test]
fn panics_become_reverts_with_the_message() {
    let (env, alice, c) = setup();
    let err = env.call(&alice, &c, 0, msg::divide(1, 0)).unwrap_err();
    assert!(err.contains("divide by zero"), "{err}");
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::divide(9, 3)), Ok(3));
}

#[test]
fn value_only_to_payable_messages() {
    let (env, alice, c) = setup();
    let err = env.call(&alice, &c, 10, msg::bump(1)).unwrap_err();
    assert!(err.contains("does not accept value"), "{err}");
    assert_eq!(env.balance(&alice), 1_000, "refused value stays with the caller");
    assert_eq!(env.call_decode::<u64>(&alice, &c, 40, msg::deposit()), Ok(40));
    assert_eq!(env.balance(&alice), 960);
    let err = env.call(&alice, &c, 5_000, msg::deposit()).unwrap_err();
    assert!(err.contains("cannot pay"), "{err}");
}

#[test]
fn roles_and_maps() {
    let (env, alice, c) = setup();
    let bob = TestEnv::account("bob");
    assert_eq!(env.call(&bob, &c, 0, msg::note(1, "hi".into())).unwrap_err(), "only the owner writes notes");
    env.call(&alice, &c, 0, msg::note(1, "hi".into())).unwrap();
    assert_eq!(env.call_decode::<Option<String>>(&bob, &c, 0, msg::read_note(1)), Ok(Some("hi".into())));
    assert_eq!(env.call_decode::<Option<String>>(&bob, &c, 0, msg::read_note(2)), Ok(None));
}

#[test]
fn bad_input_is_refused_readably() {
    let (env, alice, c) = setup();
    assert!(env.call(&alice, &c, 0, vec![1, 2]).unwrap_err().contains("selector"));
    assert!(env
        .call(&alice, &c, 0, vec![0xde, 0xad, 0xbe, 0xef])
        .unwrap_err()
        .contains("unknown message selector 0xdeadbeef"));
    let mut extra = msg::bump(1);
    extra.push(0);
    assert!(env.call(&alice, &c, 0, extra).unwrap_err().contains("trailing"));
    let short = msg::bump(1)[..6].to_vec();
    assert!(env.call(&alice, &c, 0, short).unwrap_err().contains("cannot decode the arguments of `bump`"));
}

#[test]
fn cross_contract_calls_and_reentrancy() {
    let (env, alice, a) = setup();
    let b = env.deploy(Counter::ENTRY, &alice, 0, msg::new(100)).unwrap();
    assert_eq!(env.call_decode::<u64>(&alice, &a, 0, msg::forward(b, 1)), Ok(101));
    let err = env.call(&alice, &a, 0, msg::forward_to_self(1)).unwrap_err();
    assert!(err.contains("re-entrant call refused"), "{err}");
    let nobody = TestEnv::account("nobody");
    let err = env.call(&alice, &a, 0, msg::forward(nobody, 1)).unwrap_err();
    assert!(err.contains("no contract"), "{err}");
}

#[test]
fn metadata_describes_messages() {
    let meta = Counter::metadata();
    assert_eq!(meta.name, "Counter");
    assert_eq!(meta.constructors.len(), 1);
    let bump = meta.message("bump").expect("bump");
    assert_eq!(bump.selector, hex(&msg::BUMP));
    assert_eq!(bump.args.len(), 1);
    assert!(meta.message("deposit").map(|m| m.payable).unwrap_or(false));
    assert!(meta.events.is_some());
    assert!(meta.constructors[0].docs.iter().any(|d| d.contains("Starts counting")));
    let json = meta.to_json();
    assert!(json.contains("\"forward\""), "{json}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A contract whose storage is not in a `storage!` block has no recorded layout.
#[test]
fn no_storage_block_no_layout() {
    assert_eq!(counter::Counter::storage_layout(), None);
    let meta = counter::Counter::metadata();
    assert!(meta.storage.is_none() && meta.storage_layout.is_none());
}
