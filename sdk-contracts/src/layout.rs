//! A contract's storage layout (native builds only, like [`crate::metadata`]).
//!
//! [`storage!`](crate::storage!) records each item's name, namespace, kind and key/value types
//! ([`StorageItemSpec`]); `#[contract]` turns them into `Contract::storage_layout()`, a
//! [`StorageLayout`] whose shapes come from the types' `scale_info::TypeInfo` ([`shape_of`]), and
//! into the `storage` part of the metadata. `jjj contract build` plus `scripts/build-contracts.sh`
//! embed the layout in the wasm (custom section [`LAYOUT_SECTION`]), where the chain reads it to
//! check upgrades ([`check_upgrade`]).
pub use jjj_layout::{
    check_upgrade, decode_layout, read_layout_section, Incompatibility, ItemKind, LayoutError, Primitive, Shape,
    StorageItem, StorageLayout, Variant, LAYOUT_SECTION,
};

use crate::storage::{Item, List, ListMap, Map};
use scale_info::{MetaType, PortableRegistry, Registry, TypeDef, TypeDefPrimitive, TypeInfo};

/// One item of a `storage!` block, with its types still as Rust types.
#[derive(Clone, Debug)]
pub struct StorageItemSpec {
    pub name: &'static str,
    pub namespace: &'static [u8],
    pub kind: ItemKind,
    pub key: Option<MetaType>,
    pub value: MetaType,
}

impl StorageItemSpec {
    /// The spec of a static `name: S = namespace` (what `storage!` writes for each line).
    pub fn of<S: StorageType>(name: &'static str, namespace: &'static [u8]) -> Self {
        StorageItemSpec { name, namespace, kind: S::KIND, key: S::key(), value: S::value() }
    }
}

/// The storage types, by kind and key/value types.
pub trait StorageType {
    const KIND: ItemKind;
    fn key() -> Option<MetaType>;
    fn value() -> MetaType;
}

impl<T: TypeInfo + 'static> StorageType for Item<T> {
    const KIND: ItemKind = ItemKind::Item;
    fn key() -> Option<MetaType> {
        None
    }
    fn value() -> MetaType {
        MetaType::new::<T>()
    }
}

impl<K: TypeInfo + 'static, V: TypeInfo + 'static> StorageType for Map<K, V> {
    const KIND: ItemKind = ItemKind::Map;
    fn key() -> Option<MetaType> {
        Some(MetaType::new::<K>())
    }
    fn value() -> MetaType {
        MetaType::new::<V>()
    }
}

impl<T: TypeInfo + 'static> StorageType for List<T> {
    const KIND: ItemKind = ItemKind::List;
    fn key() -> Option<MetaType> {
        None
    }
    fn value() -> MetaType {
        MetaType::new::<T>()
    }
}

impl<K: TypeInfo + 'static, T: TypeInfo + 'static> StorageType for ListMap<K, T> {
    const KIND: ItemKind = ItemKind::ListMap;
    fn key() -> Option<MetaType> {
        Some(MetaType::new::<K>())
    }
    fn value() -> MetaType {
        MetaType::new::<T>()
    }
}

/// The type ids (in some registry) of each item's key and value.
pub(crate) type ItemTypeIds = (Option<u32>, u32);

pub(crate) fn register(registry: &mut Registry, items: &[StorageItemSpec]) -> Vec<ItemTypeIds> {
    items.iter().map(|i| (i.key.map(|k| registry.register_type(&k).id), registry.register_type(&i.value).id)).collect()
}

/// The layout of these items, their types resolved in `types` by the ids `register` gave.
pub(crate) fn layout_in(types: &PortableRegistry, items: &[StorageItemSpec], ids: &[ItemTypeIds]) -> StorageLayout {
    StorageLayout {
        items: items
            .iter()
            .zip(ids)
            .map(|(i, (key, value))| StorageItem {
                name: i.name.into(),
                namespace: i.namespace.to_vec(),
                kind: i.kind,
                key: key.map(|k| shape_of(types, k)),
                value: shape_of(types, *value),
            })
            .collect(),
    }
}

/// The layout of a `storage!` block's items.
pub fn layout_of(items: &[StorageItemSpec]) -> StorageLayout {
    let mut registry = Registry::new();
    let ids = register(&mut registry, items);
    layout_in(&registry.into(), items, &ids)
}

/// The shape of type `id` of `types`: its SCALE encoding without names. Composites and tuples
/// become their fields' shapes in order (one field: that field's shape), enums their variants'
/// indexes and fields; a type met again inside itself becomes [`Shape::Recursive`].
///
/// Panics if `id` or a type it refers to is not in `types`, which a registry built by
/// scale-info never lacks (this runs natively, on the contract author's machine).
pub fn shape_of(types: &PortableRegistry, id: u32) -> Shape {
    shape(types, id, &mut Vec::new())
}

fn shape(types: &PortableRegistry, id: u32, outer: &mut Vec<u32>) -> Shape {
    if let Some(at) = outer.iter().rposition(|o| *o == id) {
        // `outer.len() - at` types out: 1 is the type directly around this one.
        return Shape::Recursive { up: (outer.len() - at) as u32 };
    }
    let Some(ty) = types.resolve(id) else {
        panic!("storage layout: type id {id} is not in the registry");
    };
    outer.push(id);
    let mut sub = |id: u32| shape(types, id, outer);
    let s = match &ty.type_def {
        TypeDef::Composite(c) => Shape::fields(c.fields.iter().map(|f| sub(f.ty.id)).collect()),
        TypeDef::Tuple(t) => Shape::fields(t.fields.iter().map(|f| sub(f.id)).collect()),
        TypeDef::Variant(v) => Shape::Enum(
            v.variants
                .iter()
                .map(|v| Variant { index: v.index, fields: v.fields.iter().map(|f| sub(f.ty.id)).collect() })
                .collect(),
        ),
        TypeDef::Sequence(s) => Shape::Sequence(Box::new(sub(s.type_param.id))),
        TypeDef::Array(a) => Shape::Array { len: a.len, element: Box::new(sub(a.type_param.id)) },
        TypeDef::Compact(c) => Shape::Compact(Box::new(sub(c.type_param.id))),
        TypeDef::Primitive(p) => Shape::Primitive(primitive(p)),
        TypeDef::BitSequence(b) => {
            let store = Box::new(sub(b.bit_store_type.id));
            let msb_first =
                types.resolve(b.bit_order_type.id).and_then(|o| o.path.segments.last()).is_some_and(|s| s == "Msb0");
            Shape::BitSequence { store, msb_first }
        }
    };
    outer.pop();
    s
}

fn primitive(p: &TypeDefPrimitive) -> Primitive {
    match p {
        TypeDefPrimitive::Bool => Primitive::Bool,
        TypeDefPrimitive::Char => Primitive::Char,
        TypeDefPrimitive::Str => Primitive::Str,
        TypeDefPrimitive::U8 => Primitive::U8,
        TypeDefPrimitive::U16 => Primitive::U16,
        TypeDefPrimitive::U32 => Primitive::U32,
        TypeDefPrimitive::U64 => Primitive::U64,
        TypeDefPrimitive::U128 => Primitive::U128,
        TypeDefPrimitive::U256 => Primitive::U256,
        TypeDefPrimitive::I8 => Primitive::I8,
        TypeDefPrimitive::I16 => Primitive::I16,
        TypeDefPrimitive::I32 => Primitive::I32,
        TypeDefPrimitive::I64 => Primitive::I64,
        TypeDefPrimitive::I128 => Primitive::I128,
        TypeDefPrimitive::I256 => Primitive::I256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::{Compact, Decode, Encode};

    fn shape<T: TypeInfo + 'static>() -> Shape {
        let mut r = Registry::new();
        let id = r.register_type(&MetaType::new::<T>()).id;
        shape_of(&r.into(), id)
    }

    #[derive(Encode, Decode, TypeInfo)]
    struct Wrapper(u64);
    #[derive(Encode, Decode, TypeInfo)]
    struct Pair {
        a: u8,
        #[codec(compact)]
        b: u32,
    }
    #[derive(Encode, Decode, TypeInfo)]
    enum Tree {
        Leaf,
        Node(Box<Tree>, Vec<Tree>),
    }

    #[test]
    fn shapes_are_name_free_and_canonical() {
        use Primitive::*;
        assert_eq!(shape::<u64>(), Shape::Primitive(U64));
        assert_eq!(shape::<Wrapper>(), shape::<u64>(), "a newtype encodes as its field");
        assert_eq!(shape::<Pair>(), shape::<(u8, Compact<u32>)>());
        assert_eq!(
            shape::<Pair>(),
            Shape::Tuple(vec![Shape::Primitive(U8), Shape::Compact(Box::new(Shape::Primitive(U32)))])
        );
        assert_eq!(shape::<String>(), Shape::Primitive(Str));
        assert_ne!(shape::<String>(), shape::<Vec<u8>>());
        assert_eq!(shape::<[u8; 32]>(), Shape::Array { len: 32, element: Box::new(Shape::Primitive(U8)) });
        assert_eq!(shape::<crate::AccountId>(), shape::<[u8; 32]>());
        assert_eq!(
            shape::<Option<bool>>(),
            Shape::Enum(vec![
                Variant { index: 0, fields: vec![] },
                Variant { index: 1, fields: vec![Shape::Primitive(Bool)] }
            ])
        );
        assert_eq!(shape::<()>(), Shape::unit());
    }

    #[test]
    fn recursive_types_refer_back() {
        let leaf = Variant { index: 0, fields: vec![] };
        let node = Variant {
            index: 1,
            fields: vec![Shape::Recursive { up: 1 }, Shape::Sequence(Box::new(Shape::Recursive { up: 2 }))],
        };
        assert_eq!(shape::<Tree>(), Shape::Enum(vec![leaf, node]));
    }
}
