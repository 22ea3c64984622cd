//! The storage layout: what `storage!` records natively, what the upgrade check makes of changed
//! types, and that the built wasm carries the same layout in its `jjj-storage-layout` section.
use jjj_sdk::layout::{check_upgrade, layout_of, read_layout_section, ItemKind, StorageItemSpec, StorageLayout};
use jjj_sdk::prelude::*;
use jjj_testkit::contract_wasm;
use utility_bills::{Bill, PaymentReceipt, UtilityBills, UtilityKind};

fn native() -> StorageLayout {
    UtilityBills::storage_layout().expect("utility-bills declares its storage in a storage! block")
}

/// The layout with BILLS declared as `S` instead.
fn with_bills<S: jjj_sdk::layout::StorageType>() -> StorageLayout {
    let mut layout = native();
    let [bills] = layout_of(&[StorageItemSpec::of::<S>("BILLS", b"bills")]).items.try_into().expect("one item");
    let at = layout.items.iter().position(|i| i.name == "BILLS").expect("BILLS");
    layout.items[at] = bills;
    layout
}

#[test]
fn the_layout_lists_every_item_with_its_kind() {
    let layout = native();
    let items: Vec<_> = layout.items.iter().map(|i| (i.name.as_str(), i.namespace.as_slice(), i.kind)).collect();
    assert_eq!(
        items,
        [
            ("LAST_BILL", &b"last_bill"[..], ItemKind::Item),
            ("BILLS", b"bills", ItemKind::Map),
            ("PROVIDERS", b"providers", ItemKind::Map),
            ("PROVIDER_LIST", b"provider_list", ItemKind::List),
            ("RESIDENT_BILLS", b"resident_bills", ItemKind::ListMap),
            ("RECEIPTS", b"receipts", ItemKind::ListMap),
            ("INVOICED", b"invoiced", ItemKind::Map),
        ]
    );
    let bills = &layout.items[1];
    assert_eq!(bills.key.as_ref().map(ToString::to_string).as_deref(), Some("u64"));
    // Bill: id, provider, resident, kind, amount, period, issued_at, due, late fee, payment.
    assert_eq!(
        bills.value.to_string(),
        "(u64, [u8; 32], [u8; 32], enum { 0, 1, 2, 3, 4 }, u64, str, u64, u64, u32, enum { 0, 1((u64, [u8; 32], u64, \
         u64, u64)) })"
    );
    assert_eq!(check_upgrade(&layout, &native()), Ok(()));
    // The metadata lists the same items.
    let meta = UtilityBills::metadata();
    assert_eq!(meta.layout.as_ref(), Some(&layout));
    let json: serde_json::Value = serde_json::from_str(&meta.to_json()).expect("json");
    assert_eq!(json["storage"][1]["name"], "BILLS");
    assert_eq!(json["storage"][1]["namespace"], "bills");
    assert_eq!(json["storage"][1]["kind"], "Map");
    assert_eq!(json["storage"][1]["key_shape"], "u64");
}

/// `Bill` with one more field.
#[derive(Encode, Decode, TypeInfo)]
struct BillWithNote {
    bill: Bill,
    note: String,
}

#[test]
fn a_bill_gaining_a_field_is_refused_naming_bills() {
    let problems = check_upgrade(&native(), &with_bills::<Map<u64, BillWithNote>>()).expect_err("refused");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].name.as_str(), problems[0].namespace.as_str()), ("BILLS", "bills"));
    let text = problems[0].to_string();
    assert!(
        text.starts_with("storage item BILLS (namespace \"bills\"): value type changed: had 10 fields, now 11"),
        "{text}"
    );
}

#[test]
fn a_narrower_bill_id_is_refused() {
    let problems = check_upgrade(&native(), &with_bills::<Map<u32, Bill>>()).expect_err("refused");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].to_string(), "storage item BILLS (namespace \"bills\"): key type changed: was u64, now u32");
}

/// `UtilityKind` with a new last variant.
#[allow(dead_code)]
#[derive(Encode, Decode, TypeInfo)]
enum UtilityKindPlus {
    Water,
    Electricity,
    Gas,
    Heating,
    WasteFee,
    Internet,
}

/// `Bill` whose kind may also be the new one.
#[derive(Encode, Decode, TypeInfo)]
struct BillPlus {
    id: u64,
    provider: AccountId,
    resident: AccountId,
    kind: UtilityKindPlus,
    amount: u64,
    period: String,
    issued_at: u64,
    due: u64,
    late_fee_bps_per_day: u32,
    payment: Option<PaymentReceipt>,
}

#[test]
fn an_enum_gaining_a_trailing_variant_is_accepted() {
    assert_eq!(check_upgrade(&native(), &with_bills::<Map<u64, BillPlus>>()), Ok(()));
    // The other way round, a kind disappears: stored bills of that kind would not decode.
    let problems = check_upgrade(&with_bills::<Map<u64, BillPlus>>(), &native()).expect_err("refused");
    assert_eq!(problems[0].reason, "value type changed: field 3 variant 5 was removed");
    let _ = UtilityKind::Water;
}

#[test]
fn a_changed_kind_is_refused() {
    let problems = check_upgrade(&native(), &with_bills::<ListMap<u64, Bill>>()).expect_err("refused");
    assert_eq!(problems[0].reason, "kind changed: was Map, now ListMap");
}

/// Needs `scripts/build-contracts.sh`: the wasm it builds carries the layout the native code
/// records, in the section the chain reads.
#[test]
fn the_built_wasm_carries_the_same_layout() {
    let wasm = contract_wasm("utility_bills");
    let embedded = read_layout_section(&wasm).expect("a readable module").expect("a jjj-storage-layout section");
    assert_eq!(embedded, native());
}
