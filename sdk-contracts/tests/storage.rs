//! Storage layout: length-prefixed namespaces that cannot collide, and the append-only lists.
// `lines` returns four views of one list at once, to compare them in one call.
#![allow(clippy::type_complexity)]
use jjj_sdk::prelude::*;
use jjj_sdk::testing::TestEnv;

mod store {
    use jjj_sdk::prelude::*;

    jjj_sdk::storage! {
        static FLAG: Item<u8> = b"flag";
        /// With raw prefixes, `a` ++ `bc` and `ab` ++ `c` were the same key.
        static SHORT: Map<[u8; 2], u8> = b"a";
        static LONG: Map<[u8; 1], u8> = b"ab";
        static LOG: List<String> = b"log";
        static BY_KEY: ListMap<u32, u64> = b"by_key";
        static BIG_KEYS: ListMap<Vec<u8>, u8> = b"big";
    }

    pub struct Store;

    #[jjj_sdk::contract]
    impl Store {
        #[constructor]
        pub fn new() -> Result<()> {
            FLAG.set(&1);
            Ok(())
        }

        #[message]
        pub fn write_both(x: u8, y: u8) -> Result<()> {
            SHORT.set(b"bc", &x);
            LONG.set(b"c", &y);
            Ok(())
        }

        #[message(query)]
        pub fn read_both() -> Result<(Option<u8>, Option<u8>)> {
            Ok((SHORT.get(b"bc"), LONG.get(b"c")))
        }

        #[message]
        pub fn log(line: String) -> Result<u32> {
            LOG.push(&line)
        }

        #[message(query)]
        pub fn lines(start: u32, limit: u32) -> Result<(u32, Vec<String>, Vec<String>, Option<String>)> {
            Ok((LOG.len(), LOG.page(start, limit), LOG.iter().collect(), LOG.get(start)))
        }

        #[message]
        pub fn push(key: u32, value: u64) -> Result<u32> {
            BY_KEY.push(&key, &value)
        }

        #[message(query)]
        pub fn of(key: u32, start: u32, limit: u32) -> Result<(u32, Vec<u64>, Vec<u64>)> {
            Ok((BY_KEY.len(&key), BY_KEY.page(&key, start, limit), BY_KEY.iter(&key).collect()))
        }

        /// A key whose encoding exceeds the 128-byte key limit is hashed, and still works.
        #[message]
        pub fn big(n: u8) -> Result<(u32, Vec<u8>)> {
            let key = vec![7u8; 200];
            for i in 0..n {
                BIG_KEYS.push(&key, &i)?;
            }
            Ok((BIG_KEYS.len(&key), BIG_KEYS.iter(&key).collect()))
        }
    }
}

use store::{msg, Store};

fn setup() -> (TestEnv, AccountId, AccountId) {
    let env = TestEnv::new();
    let alice = TestEnv::account("alice");
    let c = env.deploy(Store::ENTRY, &alice, 0, msg::new()).expect("deploy");
    (env, alice, c)
}

#[test]
fn keys_are_length_prefixed_namespaces() {
    let (env, alice, c) = setup();
    assert_eq!(env.storage(&c, b"\x04flag"), Some(vec![1]));
    env.call(&alice, &c, 0, msg::write_both(10, 20)).expect("write");
    assert_eq!(env.call_decode(&alice, &c, 0, msg::read_both()), Ok((Some(10u8), Some(20u8))));
    assert_eq!(env.storage(&c, b"\x01abc"), Some(vec![10]));
    assert_eq!(env.storage(&c, b"\x02abc"), Some(vec![20]));
}

#[test]
fn a_list_appends_pages_and_iterates() {
    let (env, alice, c) = setup();
    let empty: (u32, Vec<String>, Vec<String>, Option<String>) = (0, vec![], vec![], None);
    assert_eq!(env.call_decode(&alice, &c, 0, msg::lines(0, 10)), Ok(empty));
    for (i, line) in ["a", "b", "c", "d"].iter().enumerate() {
        assert_eq!(env.call_decode(&alice, &c, 0, msg::log(line.to_string())), Ok(i as u32));
    }
    let all: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let got: (u32, Vec<String>, Vec<String>, Option<String>) =
        env.call_decode(&alice, &c, 0, msg::lines(1, 2)).expect("lines");
    assert_eq!(got, (4, vec!["b".into(), "c".into()], all.clone(), Some("b".into())));
    let got: (u32, Vec<String>, Vec<String>, Option<String>) =
        env.call_decode(&alice, &c, 0, msg::lines(3, u32::MAX)).expect("lines");
    assert_eq!((got.1, got.3), (vec!["d".into()], Some("d".into())));
    let got: (u32, Vec<String>, Vec<String>, Option<String>) =
        env.call_decode(&alice, &c, 0, msg::lines(9, 5)).expect("lines");
    assert_eq!((got.1, got.3), (vec![], None));
    // Length under the namespace's own key, element i under SCALE(i as u32).
    assert_eq!(env.storage(&c, b"\x03log"), Some(4u32.encode()));
    assert_eq!(env.storage(&c, b"\x03log\x02\0\0\0"), Some("c".to_string().encode()));
}

#[test]
fn a_list_map_keeps_one_list_per_key() {
    let (env, alice, c) = setup();
    for (k, v) in [(1u32, 10u64), (2, 20), (1, 11), (1, 12)] {
        env.call(&alice, &c, 0, msg::push(k, v)).expect("push");
    }
    assert_eq!(env.call_decode(&alice, &c, 0, msg::of(1, 1, 5)), Ok((3u32, vec![11u64, 12], vec![10u64, 11, 12])));
    assert_eq!(env.call_decode(&alice, &c, 0, msg::of(2, 0, 0)), Ok((1u32, Vec::<u64>::new(), vec![20u64])));
    assert_eq!(env.call_decode(&alice, &c, 0, msg::of(3, 0, 9)), Ok((0u32, Vec::<u64>::new(), Vec::<u64>::new())));
    assert_eq!(env.call_decode(&alice, &c, 0, msg::big(3)), Ok((3u32, vec![0u8, 1, 2])));
}

#[test]
fn a_missing_list_element_reverts_instead_of_shortening_the_list() {
    let (env, alice, c) = setup();
    env.call(&alice, &c, 0, msg::log("a".into())).expect("log");
    // Damage storage: claim two elements where there is one.
    env.set_storage(&c, b"\x03log", &2u32.encode());
    let err = env.call(&alice, &c, 0, msg::lines(0, 5)).unwrap_err();
    assert!(err.contains("element 1 of the list in storage namespace 0x6c6f67 is missing"), "{err}");
}

#[test]
fn the_storage_block_is_the_contract_layout() {
    use jjj_sdk::layout::{ItemKind, Primitive, Shape};
    let layout = store::Store::storage_layout().expect("a storage! block");
    let items: Vec<_> = layout.items.iter().map(|i| (i.name.as_str(), i.namespace.as_slice(), i.kind)).collect();
    assert_eq!(
        items,
        [
            ("FLAG", &b"flag"[..], ItemKind::Item),
            ("SHORT", b"a", ItemKind::Map),
            ("LONG", b"ab", ItemKind::Map),
            ("LOG", b"log", ItemKind::List),
            ("BY_KEY", b"by_key", ItemKind::ListMap),
            ("BIG_KEYS", b"big", ItemKind::ListMap),
        ]
    );
    assert_eq!(layout.items[0].key, None);
    assert_eq!(layout.items[0].value, Shape::Primitive(Primitive::U8));
    assert_eq!(layout.items[1].key.as_ref().map(ToString::to_string).as_deref(), Some("[u8; 2]"));
    assert_eq!(layout.items[3].value, Shape::Primitive(Primitive::Str));
    assert_eq!(layout.items[5].key.as_ref().map(ToString::to_string).as_deref(), Some("Vec<u8>"));
    // The metadata carries it twice: readable, and encoded as the build embeds it.
    let meta = store::Store::metadata();
    assert_eq!(meta.layout.as_ref(), Some(&layout));
    let storage = meta.storage.as_ref().expect("storage in the metadata");
    assert_eq!((storage[4].name.as_str(), storage[4].kind.as_str()), ("BY_KEY", "ListMap"));
    assert_eq!(storage[4].key_shape.as_deref(), Some("u32"));
    let encoded = meta.storage_layout.as_deref().expect("encoded layout");
    let bytes: Vec<u8> =
        (0..encoded.len()).step_by(2).map(|i| u8::from_str_radix(&encoded[i..i + 2], 16).expect("hex")).collect();
    assert_eq!(jjj_sdk::layout::decode_layout(&bytes), Ok(layout));
}
