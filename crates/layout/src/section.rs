//! The layout's custom section in a wasm module: found by a small section walker (the chain
//! reads it from uploaded, untrusted code: every length is checked against the bytes left).
use crate::shape::StorageLayout;
use crate::{decode_layout, MAX_LAYOUT_BYTES};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use parity_scale_codec::Encode;

/// The custom section's name. Custom sections do not change what a module does; the VM accepts
/// them like any other.
pub const LAYOUT_SECTION: &str = "jjj-storage-layout";

const MAGIC: [u8; 4] = *b"\0asm";
const VERSION: [u8; 4] = [1, 0, 0, 0];
const CUSTOM: u8 = 0;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// No wasm module header (magic and version 1).
    NotWasm,
    /// A length or section runs past the end, or a LEB128 number is malformed, at this offset.
    Malformed { offset: usize },
    /// The module has the layout section more than once.
    Duplicate,
    /// The layout is over [`MAX_LAYOUT_BYTES`].
    TooLarge { size: usize },
    /// The layout's bytes are not a layout (or nest deeper than [`crate::MAX_SHAPE_DEPTH`]).
    Decode(String),
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::NotWasm => f.write_str("not a wasm module (no magic and version 1 header)"),
            LayoutError::Malformed { offset } => write!(f, "malformed wasm at byte {offset}"),
            LayoutError::Duplicate => write!(f, "more than one `{LAYOUT_SECTION}` section"),
            LayoutError::TooLarge { size } => {
                write!(f, "the storage layout is {size} bytes, over the limit of {MAX_LAYOUT_BYTES}")
            }
            LayoutError::Decode(e) => write!(f, "the `{LAYOUT_SECTION}` section is not a storage layout: {e}"),
        }
    }
}

/// Reads bytes of a module, never past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn malformed(&self) -> LayoutError {
        LayoutError::Malformed { offset: self.pos }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], LayoutError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or_else(|| self.malformed())?;
        let taken = self.bytes.get(self.pos..end).ok_or_else(|| self.malformed())?;
        self.pos = end;
        Ok(taken)
    }
    fn byte(&mut self) -> Result<u8, LayoutError> {
        Ok(self.take(1)?[0])
    }
    /// An unsigned LEB128 `u32`: at most 5 bytes, no bits beyond 32.
    fn u32(&mut self) -> Result<u32, LayoutError> {
        let start = self.pos;
        let mut value = 0u32;
        for i in 0..5 {
            let b = self.byte()?;
            let bits = u32::from(b & 0x7f);
            if i == 4 && bits > 0x0f {
                return Err(LayoutError::Malformed { offset: start });
            }
            value |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(LayoutError::Malformed { offset: start })
    }
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

/// A section: its id, where it starts (at the id byte) and ends, and its content.
struct Section<'a> {
    id: u8,
    start: usize,
    end: usize,
    content: &'a [u8],
}

/// Every section of a module, in order; an error for a bad header or a truncated section.
fn sections(wasm: &[u8]) -> Result<Vec<Section<'_>>, LayoutError> {
    let mut r = Reader { bytes: wasm, pos: 0 };
    if r.take(4).ok() != Some(&MAGIC[..]) || r.take(4).ok() != Some(&VERSION[..]) {
        return Err(LayoutError::NotWasm);
    }
    let mut out = Vec::new();
    while !r.at_end() {
        let start = r.pos;
        let id = r.byte()?;
        let size = r.u32()?;
        let content = r.take(size as usize)?;
        out.push(Section { id, start, end: r.pos, content });
    }
    Ok(out)
}

/// A custom section's name and payload.
type Custom<'a> = (&'a [u8], &'a [u8]);

/// A custom section's name and payload; `None` if it is not a custom section.
fn custom<'a>(section: &Section<'a>) -> Result<Option<Custom<'a>>, LayoutError> {
    if section.id != CUSTOM {
        return Ok(None);
    }
    let mut r = Reader { bytes: section.content, pos: 0 };
    let len = r.u32().map_err(|_| LayoutError::Malformed { offset: section.start })?;
    let name = r.take(len as usize).map_err(|_| LayoutError::Malformed { offset: section.start })?;
    Ok(Some((name, &section.content[r.pos..])))
}

/// The storage layout a wasm module carries in its [`LAYOUT_SECTION`] custom section: `None`
/// when it has none, an error when the module is malformed, carries the section twice, or the
/// section does not decode (within [`MAX_LAYOUT_BYTES`] and [`crate::MAX_SHAPE_DEPTH`]).
pub fn read_layout_section(wasm: &[u8]) -> Result<Option<StorageLayout>, LayoutError> {
    let mut found = None;
    for section in sections(wasm)? {
        if let Some((name, payload)) = custom(&section)? {
            if name == LAYOUT_SECTION.as_bytes() {
                if found.is_some() {
                    return Err(LayoutError::Duplicate);
                }
                found = Some(payload);
            }
        }
    }
    found.map(decode_layout).transpose()
}

fn leb_u32(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Appends `layout` as the [`LAYOUT_SECTION`] custom section, after removing any such section
/// the module already has (so building twice gives the same bytes). A module the walker cannot
/// read is left as it is but for the appended section; the VM judges it at upload.
pub fn append_layout_section(wasm: &mut Vec<u8>, layout: &StorageLayout) {
    if let Ok(all) = sections(wasm) {
        let mut stale = Vec::new();
        for s in &all {
            if let Ok(Some((name, _))) = custom(s) {
                if name == LAYOUT_SECTION.as_bytes() {
                    stale.push((s.start, s.end));
                }
            }
        }
        for (start, end) in stale.into_iter().rev() {
            wasm.drain(start..end);
        }
    }
    let payload = layout.encode();
    let name = LAYOUT_SECTION.as_bytes();
    let mut content = Vec::with_capacity(name.len() + payload.len() + 10);
    // Both lengths are far below 4 GiB: a name of 18 bytes, a layout of a few hundred.
    leb_u32(&mut content, name.len() as u32);
    content.extend_from_slice(name);
    content.extend_from_slice(&payload);
    wasm.push(CUSTOM);
    leb_u32(wasm, content.len() as u32);
    wasm.extend_from_slice(&content);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ItemKind, Primitive, Shape, StorageItem, Variant};
    use crate::MAX_SHAPE_DEPTH;
    use alloc::boxed::Box;
    use alloc::vec;

    /// `(module)` plus a type section with no types and a custom "name" section.
    fn module() -> Vec<u8> {
        let mut m = Vec::from(MAGIC);
        m.extend_from_slice(&VERSION);
        m.extend_from_slice(&[1, 1, 0]); // type section: 0 types
        m.extend_from_slice(&[0, 5, 4, b'n', b'a', b'm', b'e']); // custom "name", empty
        m
    }

    fn layout() -> StorageLayout {
        StorageLayout {
            items: vec![
                StorageItem {
                    name: "COUNT".into(),
                    namespace: b"count".to_vec(),
                    kind: ItemKind::Item,
                    key: None,
                    value: Shape::Primitive(Primitive::U64),
                },
                StorageItem {
                    name: "BILLS".into(),
                    namespace: b"bills".to_vec(),
                    kind: ItemKind::Map,
                    key: Some(Shape::Compact(Box::new(Shape::Primitive(Primitive::U64)))),
                    value: Shape::Enum(vec![
                        Variant { index: 0, fields: vec![] },
                        Variant { index: 1, fields: vec![Shape::Sequence(Box::new(Shape::Primitive(Primitive::Str)))] },
                    ]),
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let mut m = module();
        assert_eq!(read_layout_section(&m), Ok(None));
        append_layout_section(&mut m, &layout());
        assert_eq!(read_layout_section(&m), Ok(Some(layout())));
        assert!(m.starts_with(&module()), "the module is kept, the section follows it");
    }

    #[test]
    fn appending_twice_replaces_the_section() {
        let mut once = module();
        append_layout_section(&mut once, &layout());
        let mut twice = once.clone();
        append_layout_section(&mut twice, &layout());
        assert_eq!(once, twice);
        let mut other = once.clone();
        append_layout_section(&mut other, &StorageLayout::default());
        assert_eq!(read_layout_section(&other), Ok(Some(StorageLayout::default())));
    }

    #[test]
    fn a_duplicate_section_is_an_error() {
        let mut m = module();
        append_layout_section(&mut m, &layout());
        let section = m[module().len()..].to_vec();
        m.extend_from_slice(&section);
        assert_eq!(read_layout_section(&m), Err(LayoutError::Duplicate));
    }

    #[test]
    fn long_sections_need_multi_byte_lengths() {
        let mut big = layout();
        for i in 0..100u8 {
            let mut item = big.items[0].clone();
            item.namespace = vec![b'n', i];
            big.items.push(item);
        }
        let mut m = module();
        append_layout_section(&mut m, &big);
        assert_eq!(read_layout_section(&m), Ok(Some(big)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(read_layout_section(b""), Err(LayoutError::NotWasm));
        assert_eq!(read_layout_section(b"\0asm"), Err(LayoutError::NotWasm));
        assert_eq!(read_layout_section(b"\0asm\x02\0\0\0"), Err(LayoutError::NotWasm));
        let mut m = module();
        append_layout_section(&mut m, &layout());
        // Every truncation of a valid module: an error or (cut between sections) a shorter module.
        for cut in 0..m.len() {
            let _ = read_layout_section(&m[..cut]);
        }
        // Cut inside the layout section: malformed.
        assert!(matches!(read_layout_section(&m[..m.len() - 1]), Err(LayoutError::Malformed { .. })));
        // A section length over the bytes left, a LEB128 of six bytes, one with bits past 32.
        let mut over = module();
        over.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(read_layout_section(&over), Err(LayoutError::Malformed { .. })));
        let mut long = module();
        long.extend_from_slice(&[0, 0x80, 0x80, 0x80, 0x80, 0x80, 0]);
        assert!(matches!(read_layout_section(&long), Err(LayoutError::Malformed { .. })));
        let mut wide = module();
        wide.extend_from_slice(&[0, 0x80, 0x80, 0x80, 0x80, 0x10]);
        assert!(matches!(read_layout_section(&wide), Err(LayoutError::Malformed { .. })));
        // A custom section whose name runs past its content.
        let mut name = module();
        name.extend_from_slice(&[0, 2, 9, b'x']);
        assert!(matches!(read_layout_section(&name), Err(LayoutError::Malformed { .. })));
        // Pseudo-random bytes after a valid header, and flipped bytes in a valid module.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut g = module();
            let n = (next() % 64) as usize;
            g.extend((0..n).map(|_| next() as u8));
            let _ = read_layout_section(&g);
            let mut flipped = m.clone();
            let at = (next() as usize) % flipped.len();
            flipped[at] = next() as u8;
            let _ = read_layout_section(&flipped);
        }
    }

    /// A module whose layout section holds `payload` as is.
    fn with_payload(payload: &[u8]) -> Vec<u8> {
        let mut content = Vec::new();
        leb_u32(&mut content, LAYOUT_SECTION.len() as u32);
        content.extend_from_slice(LAYOUT_SECTION.as_bytes());
        content.extend_from_slice(payload);
        let mut m = module();
        m.push(CUSTOM);
        leb_u32(&mut m, content.len() as u32);
        m.extend_from_slice(&content);
        m
    }

    #[test]
    fn hostile_payloads_are_refused() {
        // Not a layout; a layout with trailing bytes.
        assert!(matches!(read_layout_section(&with_payload(&[9, 9, 9])), Err(LayoutError::Decode(_))));
        let mut trailing = layout().encode();
        trailing.push(0);
        assert!(matches!(read_layout_section(&with_payload(&trailing)), Err(LayoutError::Decode(_))));
        // A length prefix claiming 2^30 items in a few bytes.
        assert!(matches!(read_layout_section(&with_payload(&[0x03, 0, 0, 0, 0x40])), Err(LayoutError::Decode(_))));
        // Over the size limit.
        let big = vec![0u8; MAX_LAYOUT_BYTES + 1];
        assert_eq!(read_layout_section(&with_payload(&big)), Err(LayoutError::TooLarge { size: big.len() }));
        // Nested far deeper than the limit: Sequence(Sequence(…)) is one byte per level.
        let mut deep = Shape::Primitive(Primitive::U8);
        for _ in 0..(MAX_SHAPE_DEPTH * 4) {
            deep = Shape::Sequence(Box::new(deep));
        }
        let mut nested = layout();
        nested.items[0].value = deep;
        let e = read_layout_section(&with_payload(&nested.encode()));
        assert!(matches!(e, Err(LayoutError::Decode(_))), "{e:?}");
        // Even with a long hand-made run of the tag (so the value never ends): no stack overflow.
        let mut bomb = vec![0x04, 0x04, b'X', 0x04, b'x', 0, 0];
        bomb.extend(core::iter::repeat_n(3u8, 50_000));
        assert!(matches!(read_layout_section(&with_payload(&bomb)), Err(LayoutError::Decode(_))));
    }

    #[test]
    fn errors_read_well() {
        use alloc::string::ToString;
        assert_eq!(LayoutError::Duplicate.to_string(), "more than one `jjj-storage-layout` section");
        assert!(LayoutError::Malformed { offset: 9 }.to_string().contains("byte 9"));
    }
}
