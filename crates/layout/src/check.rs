//! May new code take over old code's storage?
use crate::shape::{namespace_text, Shape, StorageItem, StorageLayout};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A storage item the new code would read differently from how the old code wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incompatibility {
    /// The item's name in the old code (e.g. `"BILLS"`).
    pub name: String,
    /// Its namespace as text (e.g. `"bills"`).
    pub namespace: String,
    /// What changed, in words: `value: field 2 was u64, now str`.
    pub reason: String,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage item {} (namespace \"{}\"): {}", self.name, self.namespace, self.reason)
    }
}

/// Whether code with the layout `new` can take over the storage written by code with the layout
/// `old`: every item of `old` whose namespace is still in `new` must keep its kind, its key
/// shape and its value shape, except that an enum (at any depth, in keys and values) may gain
/// variants with new indexes (the values already stored still decode, and keys already written
/// still encode the same). Items that are gone, and new items, are fine: storage no code reads
/// is dead but harmless, and a new namespace holds nothing yet.
///
/// Also refused: a `new` that declares one namespace twice (two items would share keys).
///
/// Every problem is returned, each naming its item.
pub fn check_upgrade(old: &StorageLayout, new: &StorageLayout) -> Result<(), Vec<Incompatibility>> {
    let mut problems = Vec::new();
    for (i, item) in new.items.iter().enumerate() {
        if let Some(first) = new.items[..i].iter().find(|o| o.namespace == item.namespace) {
            problems.push(Incompatibility {
                name: item.name.clone(),
                namespace: item.namespace_text(),
                reason: format!("the new code declares this namespace twice (also for {})", first.name),
            });
        }
    }
    for before in &old.items {
        if let Some(after) = new.items.iter().find(|n| n.namespace == before.namespace) {
            if let Err(reason) = item_compatible(before, after) {
                problems.push(Incompatibility {
                    name: before.name.clone(),
                    namespace: namespace_text(&before.namespace),
                    reason,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn item_compatible(old: &StorageItem, new: &StorageItem) -> Result<(), String> {
    if old.kind != new.kind {
        return Err(format!("kind changed: was {}, now {}", old.kind, new.kind));
    }
    match (&old.key, &new.key) {
        (None, None) => {}
        (Some(a), Some(b)) => compatible(a, b).map_err(|e| format!("key type changed: {e}"))?,
        (a, b) => {
            let show = |s: &Option<Shape>| s.as_ref().map_or_else(|| String::from("no key"), |s| format!("{s}"));
            return Err(format!("key type changed: was {}, now {}", show(a), show(b)));
        }
    }
    compatible(&old.value, &new.value).map_err(|e| format!("value type changed: {e}"))
}

/// `Ok` when every encoding of `old` decodes as `new` to the same value; else where and how they
/// differ ("field 2 was u64, now str").
fn compatible(old: &Shape, new: &Shape) -> Result<(), String> {
    let differs = || Err(format!("was {old}, now {new}"));
    match (old, new) {
        (Shape::Primitive(a), Shape::Primitive(b)) if a == b => Ok(()),
        (Shape::Recursive { up: a }, Shape::Recursive { up: b }) if a == b => Ok(()),
        (Shape::Compact(a), Shape::Compact(b)) => compatible(a, b).map_err(|e| format!("compact {e}")),
        (Shape::Sequence(a), Shape::Sequence(b)) => compatible(a, b).map_err(|e| format!("element {e}")),
        (Shape::Array { len: la, element: a }, Shape::Array { len: lb, element: b }) => {
            if la != lb {
                return Err(format!("array length was {la}, now {lb}"));
            }
            compatible(a, b).map_err(|e| format!("element {e}"))
        }
        (Shape::BitSequence { store: sa, msb_first: oa }, Shape::BitSequence { store: sb, msb_first: ob }) => {
            if sa != sb || oa != ob {
                return differs();
            }
            Ok(())
        }
        (Shape::Tuple(a), Shape::Tuple(b)) => {
            // A retyped field among those both have says most; then the count.
            fields_compatible(a, b, "field ")?;
            if a.len() != b.len() {
                let (longer, change) = if b.len() > a.len() { (b, "added") } else { (a, "removed") };
                let extra: Vec<String> =
                    longer.iter().enumerate().skip(a.len().min(b.len())).map(|(i, f)| format!("{i} ({f})")).collect();
                let plural = if extra.len() > 1 { "s" } else { "" };
                return Err(format!(
                    "had {} fields, now {}: field{plural} {} {change}",
                    a.len(),
                    b.len(),
                    extra.join(", ")
                ));
            }
            Ok(())
        }
        (Shape::Enum(a), Shape::Enum(b)) => {
            for va in a {
                let Some(vb) = b.iter().find(|v| v.index == va.index) else {
                    return Err(format!("variant {} was removed", va.index));
                };
                if va.fields.len() != vb.fields.len() {
                    return Err(format!(
                        "variant {} had {} fields, now {}",
                        va.index,
                        va.fields.len(),
                        vb.fields.len()
                    ));
                }
                fields_compatible(&va.fields, &vb.fields, &format!("variant {} field ", va.index))?;
            }
            Ok(())
        }
        _ => differs(),
    }
}

fn fields_compatible(a: &[Shape], b: &[Shape], what: &str) -> Result<(), String> {
    for (i, (fa, fb)) in a.iter().zip(b).enumerate() {
        compatible(fa, fb).map_err(|e| format!("{what}{i} {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ItemKind, Primitive, Variant};
    use alloc::boxed::Box;
    use alloc::string::ToString;
    use alloc::vec;

    fn p(p: Primitive) -> Shape {
        Shape::Primitive(p)
    }
    fn account() -> Shape {
        Shape::Array { len: 32, element: Box::new(p(Primitive::U8)) }
    }
    fn status(variants: u8) -> Shape {
        Shape::Enum((0..variants).map(|index| Variant { index, fields: vec![] }).collect())
    }
    fn bill(extra: Option<Shape>) -> Shape {
        let mut fields = vec![p(Primitive::U64), account(), p(Primitive::U128), status(2)];
        fields.extend(extra);
        Shape::Tuple(fields)
    }
    fn item(name: &str, ns: &str, kind: ItemKind, key: Option<Shape>, value: Shape) -> StorageItem {
        StorageItem { name: name.into(), namespace: ns.as_bytes().to_vec(), kind, key, value }
    }
    fn bills(key: Shape, value: Shape) -> StorageLayout {
        StorageLayout {
            items: vec![
                item("ADMIN", "admin", ItemKind::Item, None, account()),
                item("BILLS", "bills", ItemKind::Map, Some(key), value),
            ],
        }
    }
    fn only_problem(old: &StorageLayout, new: &StorageLayout) -> Incompatibility {
        let mut problems = check_upgrade(old, new).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.remove(0)
    }

    #[test]
    fn same_layout_is_compatible() {
        let l = bills(p(Primitive::U64), bill(None));
        assert_eq!(check_upgrade(&l, &l.clone()), Ok(()));
    }

    #[test]
    fn removed_and_new_items_are_fine() {
        let old = bills(p(Primitive::U64), bill(None));
        let mut new = old.clone();
        new.items.remove(0);
        new.items.push(item("LOG", "log", ItemKind::List, None, p(Primitive::Str)));
        assert_eq!(check_upgrade(&old, &new), Ok(()));
    }

    #[test]
    fn items_are_matched_by_namespace_not_name() {
        let old = bills(p(Primitive::U64), bill(None));
        let mut new = old.clone();
        new.items[1].name = "ALL_BILLS".into();
        assert_eq!(check_upgrade(&old, &new), Ok(()));
        // The same name under a new namespace is a new item: nothing to compare.
        let mut moved = old.clone();
        moved.items[1].namespace = b"bills2".to_vec();
        moved.items[1].value = p(Primitive::Bool);
        assert_eq!(check_upgrade(&old, &moved), Ok(()));
    }

    #[test]
    fn a_struct_gaining_a_field_is_refused_naming_the_item() {
        let old = bills(p(Primitive::U64), bill(None));
        let new = bills(p(Primitive::U64), bill(Some(p(Primitive::Bool))));
        let e = only_problem(&old, &new);
        assert_eq!((e.name.as_str(), e.namespace.as_str()), ("BILLS", "bills"));
        assert_eq!(e.reason, "value type changed: had 4 fields, now 5: field 4 (bool) added");
        let text = e.to_string();
        assert!(text.starts_with("storage item BILLS (namespace \"bills\"): value type changed"), "{text}");
    }

    #[test]
    fn a_retyped_field_is_named_by_position() {
        let old = bills(p(Primitive::U64), bill(None));
        let mut new_bill = bill(None);
        if let Shape::Tuple(f) = &mut new_bill {
            f[2] = p(Primitive::Str);
        }
        let e = only_problem(&old, &bills(p(Primitive::U64), new_bill));
        assert_eq!(e.reason, "value type changed: field 2 was u128, now str");
    }

    #[test]
    fn a_changed_key_is_refused() {
        let old = bills(p(Primitive::U64), bill(None));
        let e = only_problem(&old, &bills(p(Primitive::U32), bill(None)));
        assert_eq!(e.name, "BILLS");
        assert_eq!(e.reason, "key type changed: was u64, now u32");
    }

    #[test]
    fn a_changed_kind_is_refused() {
        let old = bills(p(Primitive::U64), bill(None));
        let mut new = old.clone();
        new.items[1].kind = ItemKind::ListMap;
        assert_eq!(only_problem(&old, &new).reason, "kind changed: was Map, now ListMap");
        let mut keyless = old.clone();
        keyless.items[1] = item("BILLS", "bills", ItemKind::Map, None, bill(None));
        assert_eq!(only_problem(&old, &keyless).reason, "key type changed: was u64, now no key");
    }

    #[test]
    fn a_changed_primitive_is_refused() {
        let old = StorageLayout { items: vec![item("COUNT", "count", ItemKind::Item, None, p(Primitive::U64))] };
        let new = StorageLayout { items: vec![item("COUNT", "count", ItemKind::Item, None, p(Primitive::I64))] };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: was u64, now i64");
        // Vec<u8> and String encode alike, but a String must be UTF-8: not the same shape.
        let bytes = Shape::Sequence(Box::new(p(Primitive::U8)));
        let old = StorageLayout { items: vec![item("NOTE", "note", ItemKind::Item, None, bytes)] };
        let new = StorageLayout { items: vec![item("NOTE", "note", ItemKind::Item, None, p(Primitive::Str))] };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: was Vec<u8>, now str");
    }

    #[test]
    fn an_enum_may_gain_trailing_variants_at_any_depth() {
        // In the value, nested in a struct.
        let old = bills(p(Primitive::U64), bill(None));
        let mut grown = bill(None);
        if let Shape::Tuple(f) = &mut grown {
            f[3] = status(3);
        }
        assert_eq!(check_upgrade(&old, &bills(p(Primitive::U64), grown)), Ok(()));
        // In a key: the keys already written encode the same.
        let old = bills(status(2), bill(None));
        assert_eq!(check_upgrade(&old, &bills(status(4), bill(None))), Ok(()));
    }

    #[test]
    fn an_enum_losing_or_changing_a_variant_is_refused() {
        let old = StorageLayout { items: vec![item("S", "s", ItemKind::Item, None, status(3))] };
        let new = StorageLayout { items: vec![item("S", "s", ItemKind::Item, None, status(2))] };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: variant 2 was removed");

        let with_field = Shape::Enum(vec![
            Variant { index: 0, fields: vec![] },
            Variant { index: 1, fields: vec![p(Primitive::U64)] },
        ]);
        let retyped = Shape::Enum(vec![
            Variant { index: 0, fields: vec![] },
            Variant { index: 1, fields: vec![p(Primitive::U32)] },
        ]);
        let old = StorageLayout { items: vec![item("S", "s", ItemKind::Item, None, with_field.clone())] };
        let new = StorageLayout { items: vec![item("S", "s", ItemKind::Item, None, retyped)] };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: variant 1 field 0 was u64, now u32");

        let renumbered = Shape::Enum(vec![
            Variant { index: 0, fields: vec![] },
            Variant { index: 2, fields: vec![p(Primitive::U64)] },
        ]);
        let new = StorageLayout { items: vec![item("S", "s", ItemKind::Item, None, renumbered)] };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: variant 1 was removed");
    }

    #[test]
    fn nested_changes_say_where() {
        let list = |e: Shape| Shape::Sequence(Box::new(Shape::Tuple(vec![p(Primitive::U64), e])));
        let old = StorageLayout {
            items: vec![item("H", "history", ItemKind::Map, Some(p(Primitive::U64)), list(p(Primitive::U8)))],
        };
        let new = StorageLayout {
            items: vec![item("H", "history", ItemKind::Map, Some(p(Primitive::U64)), list(p(Primitive::U16)))],
        };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: element field 1 was u8, now u16");
        let arr = |len| Shape::Array { len, element: Box::new(p(Primitive::U8)) };
        let old = StorageLayout { items: vec![item("A", "a", ItemKind::Item, None, arr(32))] };
        let new = StorageLayout { items: vec![item("A", "a", ItemKind::Item, None, arr(20))] };
        assert_eq!(only_problem(&old, &new).reason, "value type changed: array length was 32, now 20");
    }

    #[test]
    fn every_problem_is_reported() {
        let old = bills(p(Primitive::U64), bill(None));
        let mut new = bills(p(Primitive::U32), bill(None));
        new.items[0].value = p(Primitive::Bool);
        let problems = check_upgrade(&old, &new).unwrap_err();
        let names: Vec<_> = problems.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["ADMIN", "BILLS"]);
    }

    #[test]
    fn a_namespace_declared_twice_is_refused() {
        let old = bills(p(Primitive::U64), bill(None));
        let mut new = old.clone();
        new.items.push(item("OTHER", "bills", ItemKind::Item, None, p(Primitive::U8)));
        let e = only_problem(&old, &new);
        assert_eq!(e.name, "OTHER");
        assert!(e.reason.contains("declares this namespace twice"), "{e}");
    }

    #[test]
    fn namespaces_print_as_text() {
        let old = StorageLayout { items: vec![item("X", "x", ItemKind::Item, None, p(Primitive::U8))] };
        let mut old_bin = old.clone();
        old_bin.items[0].namespace = vec![b'n', 0xff, b'"'];
        let mut new_bin = old_bin.clone();
        new_bin.items[0].value = p(Primitive::U16);
        assert_eq!(only_problem(&old_bin, &new_bin).namespace, "n\\xff\\\"");
    }
}
