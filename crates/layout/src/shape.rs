//! The layout types and how they print.
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use parity_scale_codec::{Decode, Encode};

/// A contract's storage items, in declaration order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct StorageLayout {
    pub items: Vec<StorageItem>,
}

/// One storage item: a `static` of a `storage!` block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StorageItem {
    /// The static's name, e.g. `"BILLS"`: for people; items are matched by namespace.
    pub name: String,
    /// The namespace its keys start with, e.g. `b"bills"`.
    pub namespace: Vec<u8>,
    pub kind: ItemKind,
    /// The key's shape: a `Map`'s or a `ListMap`'s key type; `None` for `Item` and `List`.
    pub key: Option<Shape>,
    /// The stored value's shape: an `Item`'s or a `Map`'s value, a list's element.
    pub value: Shape,
}

/// Which storage type an item is; each lays its keys out differently (see the SDK's `storage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ItemKind {
    Item,
    Map,
    List,
    ListMap,
}

/// A type's SCALE encoding, without names. A struct and a tuple with the same field shapes are
/// the same shape; a struct nested in a struct is flattened into it (its fields are encoded in
/// place), so a struct or tuple of exactly one field is that field's shape (a newtype encodes
/// as its field); `Option<T>` is the enum `{0: (), 1: T}`. Build tuples with [`Shape::fields`],
/// which keeps them canonical.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Shape {
    Primitive(Primitive),
    /// `Compact<T>`: T's shape (a primitive, or a one-field struct around one).
    Compact(Box<Shape>),
    /// `[T; len]`: no length prefix.
    Array {
        len: u32,
        element: Box<Shape>,
    },
    /// `Vec<T>` and the like: a compact length, then the elements.
    Sequence(Box<Shape>),
    /// Structs and tuples: the fields in order (`()` and unit structs are the empty tuple).
    Tuple(Vec<Shape>),
    /// Enums: one index byte, then that variant's fields.
    Enum(Vec<Variant>),
    /// A bit vector (`bitvec`), by its store type and bit order.
    BitSequence {
        store: Box<Shape>,
        msb_first: bool,
    },
    /// A recursive type's reference to itself or a type around it: `up` types outwards (1 is the
    /// type that directly holds this one).
    Recursive {
        up: u32,
    },
}

/// One variant of an enum: its index byte and its fields in order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Variant {
    pub index: u8,
    pub fields: Vec<Shape>,
}

/// The types SCALE encodes without structure. `Str` is `String`/`&str` (a `Vec<u8>` that must be
/// UTF-8, hence not the same shape as `Vec<u8>`); `Char` is a `char` (as a `u32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Primitive {
    Bool,
    Char,
    Str,
    U8,
    U16,
    U32,
    U64,
    U128,
    U256,
    I8,
    I16,
    I32,
    I64,
    I128,
    I256,
}

impl Primitive {
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Bool => "bool",
            Primitive::Char => "char",
            Primitive::Str => "str",
            Primitive::U8 => "u8",
            Primitive::U16 => "u16",
            Primitive::U32 => "u32",
            Primitive::U64 => "u64",
            Primitive::U128 => "u128",
            Primitive::U256 => "u256",
            Primitive::I8 => "i8",
            Primitive::I16 => "i16",
            Primitive::I32 => "i32",
            Primitive::I64 => "i64",
            Primitive::I128 => "i128",
            Primitive::I256 => "i256",
        }
    }
}

impl Shape {
    /// The shape of a struct or tuple with these fields: fields that are tuples themselves are
    /// flattened into it, and a single field is that field's shape.
    pub fn fields(fields: Vec<Shape>) -> Shape {
        let mut flat = Vec::with_capacity(fields.len());
        for f in fields {
            match f {
                Shape::Tuple(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            if let Some(only) = flat.pop() {
                return only;
            }
        }
        Shape::Tuple(flat)
    }

    pub fn unit() -> Shape {
        Shape::Tuple(Vec::new())
    }
}

impl ItemKind {
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Item => "Item",
            ItemKind::Map => "Map",
            ItemKind::List => "List",
            ItemKind::ListMap => "ListMap",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn list(f: &mut fmt::Formatter<'_>, shapes: &[Shape]) -> fmt::Result {
    for (i, s) in shapes.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{s}")?;
    }
    Ok(())
}

/// Rust-like: `u64`, `[u8; 32]`, `Vec<str>`, `(u64, bool)`, `enum { 0, 1(u64) }`.
impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Primitive(p) => write!(f, "{p}"),
            Shape::Compact(s) => write!(f, "Compact<{s}>"),
            Shape::Array { len, element } => write!(f, "[{element}; {len}]"),
            Shape::Sequence(s) => write!(f, "Vec<{s}>"),
            Shape::Tuple(fields) => {
                f.write_str("(")?;
                list(f, fields)?;
                f.write_str(")")
            }
            Shape::Enum(variants) => {
                f.write_str("enum {")?;
                for (i, v) in variants.iter().enumerate() {
                    f.write_str(if i > 0 { ", " } else { " " })?;
                    write!(f, "{v}")?;
                }
                f.write_str(if variants.is_empty() { "}" } else { " }" })
            }
            Shape::BitSequence { store, msb_first } => {
                write!(f, "BitVec<{store}, {}>", if *msb_first { "Msb0" } else { "Lsb0" })
            }
            Shape::Recursive { up } => write!(f, "<recursive: {up} up>"),
        }
    }
}

/// `3` for a variant without fields, `3(u64, str)` for one with.
impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.index)?;
        if !self.fields.is_empty() {
            f.write_str("(")?;
            list(f, &self.fields)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A namespace as text: printable ASCII as is, anything else escaped (`\xff`).
pub(crate) fn namespace_text(namespace: &[u8]) -> String {
    let mut s = String::with_capacity(namespace.len());
    for b in namespace {
        for c in core::ascii::escape_default(*b) {
            s.push(char::from(c));
        }
    }
    s
}

impl StorageItem {
    /// The namespace as text (non-printable bytes escaped).
    pub fn namespace_text(&self) -> String {
        namespace_text(&self.namespace)
    }
}

/// `BILLS: Map<u64, (…)> at "bills"`.
impl fmt::Display for StorageItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}<", self.name, self.kind)?;
        if let Some(k) = &self.key {
            write!(f, "{k}, ")?;
        }
        write!(f, "{}> at \"{}\"", self.value, self.namespace_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn fields_are_canonical() {
        let u8_ = || Shape::Primitive(Primitive::U8);
        let b = || Shape::Primitive(Primitive::Bool);
        assert_eq!(Shape::fields(vec![u8_()]), u8_());
        assert_eq!(Shape::fields(vec![]), Shape::unit());
        // ((u8, bool), u8) encodes as (u8, bool, u8); a unit field adds nothing.
        let nested = Shape::fields(vec![Shape::fields(vec![u8_(), b()]), Shape::unit(), u8_()]);
        assert_eq!(nested, Shape::Tuple(vec![u8_(), b(), u8_()]));
        assert_eq!(Shape::fields(vec![Shape::fields(vec![b(), Shape::unit()])]), b());
        assert_eq!(nested.to_string(), "(u8, bool, u8)");
    }
}
