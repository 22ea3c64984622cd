//! `#[derive(ContractEvent)]` with `#[topic]`, `#[message(query)]` and typed errors, through the
//! native test host and the metadata.
use jjj_sdk::event::{account_topic, name_topic, u64_topic, ContractEvent, EventSpec};
use jjj_sdk::prelude::*;
use jjj_sdk::testing::TestEnv;

mod shop {
    use jjj_sdk::prelude::*;

    jjj_sdk::storage! {
        static SOLD: Item<u64> = b"sold";
    }

    #[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, PartialEq)]
    pub enum ShopEvent {
        Sold {
            #[topic]
            item: u32,
            #[topic]
            buyer: AccountId,
            price: u64,
        },
        Tagged(#[topic] Hash, String, #[topic] Option<AccountId>),
        Paired {
            #[topic]
            left: AccountId,
            #[topic(distinct)]
            right: Option<AccountId>,
        },
        Closed,
    }

    /// A struct event is named after its type.
    #[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, PartialEq)]
    pub struct Audited {
        #[topic]
        pub round: u64,
        pub note: String,
    }

    /// A contract's own error type: the revert reason is its `Display` text.
    #[derive(Debug, PartialEq)]
    pub enum ShopError {
        SoldOut { item: u32 },
        Host(Error),
    }

    impl core::fmt::Display for ShopError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self {
                ShopError::SoldOut { item } => write!(f, "item {item} is sold out"),
                ShopError::Host(e) => write!(f, "{e}"),
            }
        }
    }

    impl From<Error> for ShopError {
        fn from(e: Error) -> Self {
            ShopError::Host(e)
        }
    }

    pub struct Shop;

    #[jjj_sdk::contract(events = ShopEvent)]
    impl Shop {
        #[constructor]
        pub fn new() -> Result<()> {
            Ok(())
        }

        #[message]
        pub fn sell(item: u32, price: u64) -> Result<u64, ShopError> {
            if item == 0 {
                return Err(ShopError::SoldOut { item });
            }
            let sold = SOLD.get_or(0) + 1;
            SOLD.set(&sold);
            env::emit(&ShopEvent::Sold { item, buyer: env::caller(), price });
            Ok(sold)
        }

        #[message]
        pub fn emit_all(a: AccountId, b: Option<AccountId>) -> Result<()> {
            env::emit(&ShopEvent::Tagged(Hash([9; 32]), "x".into(), b));
            env::emit(&ShopEvent::Paired { left: a, right: b });
            env::emit(&ShopEvent::Closed);
            env::emit(&Audited { round: 3, note: "ok".into() });
            Ok(())
        }

        #[message(query)]
        pub fn sold() -> Result<u64> {
            Ok(SOLD.get_or(0))
        }

        /// Mislabelled on purpose: a query that writes.
        #[message(query)]
        pub fn sneaky_write() -> Result<()> {
            SOLD.set(&99);
            Ok(())
        }

        #[message(query)]
        pub fn sneaky_event() -> Result<()> {
            env::emit(&ShopEvent::Closed);
            Ok(())
        }

        /// A query calling a mutating message runs it read-only too.
        #[message(query)]
        pub fn sneaky_call(other: AccountId) -> Result<u64> {
            CallBuilder::new(other).input(msg::sell(1, 1)).invoke_decode()
        }

        #[message]
        pub fn sell_through(other: AccountId) -> Result<u64> {
            CallBuilder::new(other).input(msg::sell(1, 1)).invoke_decode()
        }

        #[message]
        pub fn ask(other: AccountId) -> Result<u64> {
            CallBuilder::new(other).input(msg::sold()).invoke_decode()
        }
    }
}

use shop::{msg, Audited, Shop, ShopEvent};

fn setup() -> (TestEnv, AccountId, AccountId) {
    let env = TestEnv::new();
    let alice = TestEnv::account("alice");
    let c = env.deploy(Shop::ENTRY, &alice, 0, msg::new()).expect("deploy");
    (env, alice, c)
}

#[test]
fn derived_events_have_their_names_and_topic_fields() {
    let (env, alice, c) = setup();
    env.call(&alice, &c, 0, msg::sell(7, 100)).expect("sell");
    let e = &env.events()[0];
    assert_eq!(e.topics, vec![name_topic("Sold"), u64_topic(7), account_topic(&alice)], "u32 is widened to u64");
    assert_eq!(e.decode::<ShopEvent>(), Some(ShopEvent::Sold { item: 7, buyer: alice, price: 100 }));

    let bob = TestEnv::account("bob");
    env.take_events();
    env.call(&alice, &c, 0, msg::emit_all(alice, Some(bob))).expect("emit");
    env.call(&alice, &c, 0, msg::emit_all(alice, Some(alice))).expect("emit");
    env.call(&alice, &c, 0, msg::emit_all(alice, None)).expect("emit");
    let topics: Vec<Vec<Hash>> = env.events().into_iter().map(|e| e.topics).collect();
    let (a, b, h) = (account_topic(&alice), account_topic(&bob), Hash([9; 32]));
    assert_eq!(
        topics,
        vec![
            vec![name_topic("Tagged"), h, b],
            vec![name_topic("Paired"), a, b],
            vec![name_topic("Closed")],
            vec![name_topic("Audited"), u64_topic(3)],
            vec![name_topic("Tagged"), h, a],
            vec![name_topic("Paired"), a],
            vec![name_topic("Closed")],
            vec![name_topic("Audited"), u64_topic(3)],
            vec![name_topic("Tagged"), h],
            vec![name_topic("Paired"), a],
            vec![name_topic("Closed")],
            vec![name_topic("Audited"), u64_topic(3)],
        ],
        "an absent Option adds no topic; a distinct topic equal to an earlier one is left out"
    );
    assert_eq!(Audited { round: 1, note: String::new() }.name(), "Audited");
}

#[test]
fn the_derive_describes_topics_for_metadata() {
    let topics = |name, topics| EventSpec { name, topics, protected: false };
    assert_eq!(
        ShopEvent::SPECS,
        &[
            topics("Sold", &["item", "buyer"][..]),
            topics("Tagged", &["0", "2"]),
            topics("Paired", &["left", "right"]),
            topics("Closed", &[]),
        ]
    );
    let meta = Shop::metadata();
    let json: serde_json::Value = serde_json::from_str(&meta.to_json()).expect("json");
    assert_eq!(
        json["event_topics"][0],
        serde_json::json!({"name": "Sold", "topics": ["item", "buyer"], "protected": false})
    );
    assert_eq!(json["event_topics"].as_array().map(Vec::len), Some(4));
    let mutates = |name: &str| meta.message(name).map(|m| m.mutates);
    assert_eq!(mutates("sell"), Some(true));
    assert_eq!(mutates("sold"), Some(false));
    assert_eq!(mutates("new"), Some(true), "a constructor always mutates");
    assert_eq!(json["messages"][0]["mutates"], serde_json::json!(true));
}

/// Events only their readers may read.
#[derive(Encode, Decode, TypeInfo, ContractEvent)]
#[event(protected)]
enum Private {
    Seen {
        #[topic]
        who: AccountId,
        n: u64,
    },
}

#[test]
fn a_protected_event_says_so_to_emit_and_to_metadata() {
    let e = Private::Seen { who: AccountId([3; 32]), n: 1 };
    assert!(e.protected() && !ShopEvent::Closed.protected());
    assert_eq!(Private::SPECS, &[EventSpec { name: "Seen", topics: &["who"], protected: true }]);
}

#[test]
fn the_topic_field_limit_matches_the_host() {
    // The derive refuses a 4th #[topic] field with a literal 3 (a proc macro cannot read the ABI
    // crate); this keeps the two in step.
    assert_eq!(jjj_sdk::event::MAX_TOPIC_FIELDS, 3);
}

#[test]
fn a_query_reads_and_may_not_change_state() {
    let (env, alice, c) = setup();
    env.call(&alice, &c, 0, msg::sell(1, 5)).expect("sell");
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::sold()), Ok(1));
    assert_eq!(
        env.call(&alice, &c, 0, msg::sneaky_write()),
        Err("`sneaky_write` is a query and may not write storage".into())
    );
    assert_eq!(
        env.call(&alice, &c, 0, msg::sneaky_event()),
        Err("`sneaky_event` is a query and may not emit events".into())
    );
    let other = env.deploy(Shop::ENTRY, &alice, 0, msg::new()).expect("deploy");
    let err = env.call(&alice, &c, 0, msg::sneaky_call(other)).unwrap_err();
    assert!(err.contains("`sneaky_call` is a query and may not write storage"), "{err}");
    // A mutating message may call another contract's mutating message or query as usual.
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::sell_through(other)), Ok(1));
    assert_eq!(env.call_decode::<u64>(&alice, &c, 0, msg::ask(other)), Ok(1));
    env.set_balance(&alice, 10);
    assert!(env.call(&alice, &c, 3, msg::sold()).unwrap_err().contains("does not accept value"));
}

#[test]
fn a_typed_error_reverts_with_its_display_text() {
    let (env, alice, c) = setup();
    assert_eq!(env.call(&alice, &c, 0, msg::sell(0, 1)), Err("item 0 is sold out".into()));
    assert!(env.events().is_empty());
}
