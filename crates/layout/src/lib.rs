//! jjj-layout: what a contract keeps in storage, in a form the chain can compare.
//!
//! A [`StorageLayout`] lists a contract's storage items: the static's name, its namespace, its
//! kind (`Item`, `Map`, `List`, `ListMap`) and the [`Shape`] of its key and value. A shape is a
//! canonical, name-free description of a type's SCALE encoding: two types with equal shapes
//! encode the same values to the same bytes, whatever they are called.
//!
//! The SDK records the layout of every contract (the `storage!` block) and the build writes it,
//! SCALE-encoded, into the contract's wasm as the custom section [`LAYOUT_SECTION`]; so the chain
//! can read it from the uploaded code alone ([`read_layout_section`]) and refuse an upgrade whose
//! new code would no longer decode the state the old code wrote ([`check_upgrade`]).
//!
//! Everything here may read hostile input (the bytes of an uploaded wasm): decoding is bounded in
//! size and depth, and nothing panics.
#![no_std]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

mod check;
mod section;
mod shape;

pub use check::{check_upgrade, Incompatibility};
pub use section::{append_layout_section, read_layout_section, LayoutError, LAYOUT_SECTION};
pub use shape::{ItemKind, Primitive, Shape, StorageItem, StorageLayout, Variant};

/// Largest encoded layout the chain decodes, in bytes. A contract's real layout is a few hundred
/// bytes; the bound keeps a hostile section from costing more than reading it.
pub const MAX_LAYOUT_BYTES: usize = 64 * 1024;

/// Deepest nesting of shapes (and of the types that hold them) a decoded layout may have: keeps
/// the recursive decoder, comparison and printing off the end of the stack on hostile input.
pub const MAX_SHAPE_DEPTH: u32 = 64;

/// Decodes an encoded layout with the limits above; the whole input must be one layout.
pub fn decode_layout(bytes: &[u8]) -> Result<StorageLayout, LayoutError> {
    use parity_scale_codec::DecodeLimit;
    if bytes.len() > MAX_LAYOUT_BYTES {
        return Err(LayoutError::TooLarge { size: bytes.len() });
    }
    StorageLayout::decode_all_with_depth_limit(MAX_SHAPE_DEPTH, &mut &bytes[..])
        .map_err(|e| LayoutError::Decode(alloc::string::ToString::to_string(&e)))
}
