use counter::{msg, Counter, CounterEvent};
use jjj_sdk::testing::TestEnv;

#[test]
fn counts_emits_and_guards_reset() {
    let env = TestEnv::new();
    let owner = TestEnv::account("owner");
    let other = TestEnv::account("other");
    let c = env.deploy(Counter::ENTRY, &owner, 0, msg::new(10)).expect("deploy");
    assert_eq!(env.call_decode::<u64>(&other, &c, 0, msg::bump(5)), Ok(15));
    assert_eq!(env.events()[0].decode::<CounterEvent>(), Some(CounterEvent::Bumped { by: 5, now: 15 }));
    assert_eq!(env.call(&other, &c, 0, msg::reset()), Err("only the owner may reset the counter".into()));
    assert_eq!(env.call_decode::<u64>(&owner, &c, 0, msg::get()), Ok(15));
    env.call(&owner, &c, 0, msg::reset()).expect("reset");
    assert_eq!(env.call_decode::<u64>(&owner, &c, 0, msg::get()), Ok(0));
    assert!(env.call(&owner, &c, 0, msg::divide(0)).unwrap_err().contains("divide by zero"));
}

#[test]
fn calls_other_counters_but_not_itself_back() {
    let env = TestEnv::new();
    let owner = TestEnv::account("owner");
    let a = env.deploy(Counter::ENTRY, &owner, 0, msg::new(0)).expect("deploy");
    let b = env.deploy(Counter::ENTRY, &owner, 0, msg::new(100)).expect("deploy");
    assert_eq!(env.call_decode::<u64>(&owner, &a, 0, msg::bump_other(b, 2)), Ok(102));
    let err = env.call(&owner, &a, 0, msg::bounce(b)).unwrap_err();
    assert!(err.contains("re-entrant call refused"), "{err}");
}
