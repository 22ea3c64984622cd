//! JSON ↔ SCALE, driven by a contract's metadata (what `#[contract]` generates and
//! `scripts/build-contracts.sh` writes as JSON next to the wasm).
//!
//! A call's input is the message's 4-byte selector followed by the SCALE encoding of each
//! argument in order; a message's output is the SCALE encoding of its `Ok` value; an event's data
//! is the SCALE encoding of the contract's event enum. This module turns JSON into those bytes and
//! back, walking the metadata's scale-info type registry.
//!
//! JSON mapping:
//! - `bool`; integers as numbers, or as decimal strings (needed past 2^53, where JSON numbers
//!   lose precision in most tools). Decoded `u64`/`u128`/`i64`/`i128` come out as numbers up to
//!   2^53 in magnitude and as decimal strings beyond. `String` ↔ string, `char` ↔ one-char string.
//! - `Vec<u8>` and `[u8; N]` ↔ `"0x…"` hex (an array of numbers is accepted too); other
//!   sequences, arrays and tuples ↔ arrays; `()` ↔ `null`.
//! - structs with named fields ↔ objects; tuple structs ↔ arrays; a newtype (one unnamed field,
//!   e.g. `AccountId([u8; 32])`) ↔ its inner value (so an account is `"0x…"`).
//! - enums: a unit variant ↔ `"Name"`; a variant with fields ↔ `{"Name": fields}` (fields as for a
//!   struct). `Option<T>` ↔ `null` or the value; `Result` ↔ `{"Ok": …}` / `{"Err": …}`.
//!
//! The metadata comes from outside the process (a JSON file), so nothing here trusts it: type ids
//! are checked, nesting depth is bounded (a malicious registry can describe an infinitely nested
//! type) and decoded lengths are bounded by the bytes actually present.
use parity_scale_codec::{Compact, Decode, Encode};
use scale_info::form::PortableForm;
use scale_info::{Field, PortableRegistry, PortableType, Type, TypeDef, TypeDefPrimitive};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Deepest type nesting walked. Real contract types are a handful of levels deep; the bound keeps
/// a self-referential registry from overflowing the stack.
const MAX_DEPTH: u32 = 100;
/// Largest integer a JSON number carries exactly in JavaScript and most JSON tools (2^53).
const MAX_SAFE_JSON_INT: u128 = 1 << 53;
/// A decoded sequence may claim more elements than bytes remain only if its elements are empty;
/// beyond this many such elements we call the data corrupt rather than build a huge array.
const MAX_EMPTY_ELEMENTS: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{}expected {ty}{hint}, got {got}", at(path))]
    Mismatch { path: String, ty: String, hint: String, got: String },
    #[error("{}missing field `{field}` of {ty}", at(path))]
    MissingField { path: String, ty: String, field: String },
    #[error("{}{ty} has no field `{field}`; its fields: {fields}", at(path))]
    UnknownField { path: String, ty: String, field: String, fields: String },
    #[error("{}{ty} has no variant `{variant}`; its variants: {variants}", at(path))]
    UnknownVariant { path: String, ty: String, variant: String, variants: String },
    #[error("{}cannot decode {ty}: {reason}", at(path))]
    Decode { path: String, ty: String, reason: String },
    #[error("{}{ty} is not supported by the JSON codec", at(path))]
    Unsupported { path: String, ty: String },
    #[error("{}type nesting is deeper than {MAX_DEPTH} levels (a self-referential type?)", at(path))]
    TooDeep { path: String },
    #[error("type id {0} is not in the metadata's type registry")]
    UnknownType(u32),
    #[error("{n} unexpected trailing bytes after decoding {what}")]
    TrailingBytes { what: String, n: usize },
    #[error("argument `{arg}`: {source}")]
    Argument {
        arg: String,
        #[source]
        source: Box<CodecError>,
    },
    #[error("{context}: {source}")]
    In {
        context: String,
        #[source]
        source: Box<CodecError>,
    },
    #[error("{contract} has no {kind} `{name}`; available: {available}")]
    UnknownMessage { contract: String, kind: &'static str, name: String, available: String },
    #[error("`{name}` takes {expected} argument(s) ({names}), got {got}")]
    ArgCount { name: String, expected: usize, names: String, got: usize },
    #[error("`{name}` has no argument `{arg}`; its arguments: {names}")]
    UnknownArgument { name: String, arg: String, names: String },
    #[error("`{name}`: argument `{arg}` is missing")]
    MissingArgument { name: String, arg: String },
    #[error("the arguments of `{name}` must be a JSON array (by position) or object (by name), got {got}")]
    ArgsShape { name: String, got: String },
    #[error("{contract} declares no event type")]
    NoEventType { contract: String },
    #[error("bad selector {selector:?} of `{name}`: expected 4 bytes of hex")]
    BadSelector { name: String, selector: String },
    #[error("bad contract metadata: {0}")]
    Metadata(String),
    #[error("cannot parse contract metadata JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at {}: ", path.trim_start_matches('.'))
    }
}

impl CodecError {
    /// Prefixes the location of a value-level error with `seg` (`.field` or `[i]`) as the error
    /// travels up out of a nested value.
    fn within(mut self, seg: impl FnOnce() -> String) -> Self {
        match &mut self {
            CodecError::Mismatch { path, .. }
            | CodecError::MissingField { path, .. }
            | CodecError::UnknownField { path, .. }
            | CodecError::UnknownVariant { path, .. }
            | CodecError::Decode { path, .. }
            | CodecError::Unsupported { path, .. }
            | CodecError::TooDeep { path } => path.insert_str(0, &seg()),
            _ => {}
        }
        self
    }
}

// ---------------------------------------------------------------- metadata as loaded from JSON

/// A contract's metadata as read back from the JSON that `ContractMetadata::to_json` writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedMetadata {
    pub name: String,
    pub constructors: Vec<LoadedMessage>,
    pub messages: Vec<LoadedMessage>,
    /// Type id of the contract's event enum, if it declared one.
    #[serde(default)]
    pub events: Option<u32>,
    /// Each event kind and its topic fields (absent in metadata from before the derive).
    #[serde(default)]
    pub event_topics: Vec<LoadedEventTopics>,
    /// The storage items as the SDK describes them, for people and tools (absent before
    /// layouts; the chain reads the layout from the wasm's section, not from here).
    #[serde(default)]
    pub storage: Option<Value>,
    /// The same layout, SCALE-encoded as hex (what `jjj contract build` embeds in the wasm).
    #[serde(default)]
    pub storage_layout: Option<String>,
    #[serde(deserialize_with = "deserialize_registry")]
    pub types: PortableRegistry,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedMessage {
    pub name: String,
    /// The 4-byte selector as hex (with or without `0x`).
    pub selector: String,
    #[serde(default)]
    pub payable: bool,
    /// False for a `#[message(query)]`. Metadata from before the flag says nothing: assume it
    /// may change state.
    #[serde(default = "mutates_unless_told")]
    pub mutates: bool,
    /// A `#[message(query, protected)]`: the node runs it only for a signed read request.
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub args: Vec<LoadedArg>,
    /// Type id of the `Ok` output.
    pub returns: u32,
    #[serde(default)]
    pub docs: Vec<String>,
}

fn mutates_unless_told() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedEventTopics {
    pub name: String,
    pub topics: Vec<String>,
    /// A protected event: served only to its readers.
    #[serde(default)]
    pub protected: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedArg {
    pub name: String,
    pub ty: u32,
}

/// `PortableRegistry` implements `Deserialize` only with scale-info's `decode` feature, which this
/// crate does not enable; its parts (`Type<PortableForm>`) deserialize with `serde` alone, so we
/// read the same JSON shape (`{"types": [{"id": n, "type": …}]}`) and assemble it.
fn deserialize_registry<'de, D: Deserializer<'de>>(d: D) -> Result<PortableRegistry, D::Error> {
    #[derive(Deserialize)]
    struct RegistryJson {
        types: Vec<EntryJson>,
    }
    #[derive(Deserialize)]
    struct EntryJson {
        id: u32,
        #[serde(rename = "type")]
        ty: Type<PortableForm>,
    }
    let r = RegistryJson::deserialize(d)?;
    // `PortableRegistry::resolve` indexes by position, so ids must be 0, 1, 2, … in order.
    for (i, e) in r.types.iter().enumerate() {
        if e.id as usize != i {
            return Err(serde::de::Error::custom(format!(
                "type registry entry {i} has id {}: ids must be 0, 1, 2, … in order",
                e.id
            )));
        }
    }
    Ok(PortableRegistry { types: r.types.into_iter().map(|e| PortableType::new(e.id, e.ty)).collect() })
}

impl LoadedMetadata {
    /// Parses metadata JSON and checks that every type id and selector it names is usable.
    pub fn from_json(json: &str) -> Result<Self, CodecError> {
        let meta: LoadedMetadata = serde_json::from_str(json)?;
        meta.validate()?;
        Ok(meta)
    }

    /// Every referenced type id resolves and every selector is 4 bytes of hex.
    pub fn validate(&self) -> Result<(), CodecError> {
        let check = |id: u32, what: &dyn Fn() -> String| {
            self.types.resolve(id).map(|_| ()).ok_or_else(|| {
                CodecError::Metadata(format!("{} refers to type {id}, which is not in the registry", what()))
            })
        };
        for m in self.constructors.iter().chain(&self.messages) {
            selector_bytes(m)?;
            check(m.returns, &|| format!("the output of `{}`", m.name))?;
            for a in &m.args {
                check(a.ty, &|| format!("argument `{}` of `{}`", a.name, m.name))?;
            }
        }
        if let Some(e) = self.events {
            check(e, &|| "the event type".to_string())?;
        }
        Ok(())
    }

    /// A message by name.
    pub fn message(&self, name: &str) -> Option<&LoadedMessage> {
        self.messages.iter().find(|m| m.name == name)
    }

    /// A constructor by name.
    pub fn constructor(&self, name: &str) -> Option<&LoadedMessage> {
        self.constructors.iter().find(|m| m.name == name)
    }

    /// A message, or failing that a constructor, by name; the error lists what there is.
    pub fn message_or_constructor(&self, name: &str) -> Result<&LoadedMessage, CodecError> {
        self.message(name).or_else(|| self.constructor(name)).ok_or_else(|| CodecError::UnknownMessage {
            contract: self.name.clone(),
            kind: "message or constructor",
            name: name.into(),
            available: self.describe_all(),
        })
    }

    /// `name(arg: Type, …) -> Output` for a message: for help texts and error messages.
    pub fn signature(&self, m: &LoadedMessage) -> String {
        let args: Vec<String> =
            m.args.iter().map(|a| format!("{}: {}", a.name, type_name(&self.types, a.ty))).collect();
        format!("{}({}) -> {}", m.name, args.join(", "), type_name(&self.types, m.returns))
    }

    fn describe_all(&self) -> String {
        let mut names: Vec<String> = self.messages.iter().map(|m| m.name.clone()).collect();
        names.extend(self.constructors.iter().map(|m| format!("{} (constructor)", m.name)));
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

/// Test code holds the contracts' metadata as the SDK builds it; tools read it from JSON.
#[cfg(test)]
impl From<&jjj_sdk::metadata::ContractMetadata> for LoadedMetadata {
    fn from(m: &jjj_sdk::metadata::ContractMetadata) -> Self {
        let conv = |s: &jjj_sdk::metadata::MessageSpec| LoadedMessage {
            name: s.name.clone(),
            selector: s.selector.clone(),
            payable: s.payable,
            mutates: s.mutates,
            protected: s.protected,
            args: s.args.iter().map(|a| LoadedArg { name: a.name.clone(), ty: a.ty }).collect(),
            returns: s.returns,
            docs: s.docs.clone(),
        };
        LoadedMetadata {
            name: m.name.clone(),
            constructors: m.constructors.iter().map(conv).collect(),
            messages: m.messages.iter().map(conv).collect(),
            events: m.events,
            event_topics: m
                .event_topics
                .iter()
                .map(|e| LoadedEventTopics { name: e.name.clone(), topics: e.topics.clone(), protected: e.protected })
                .collect(),
            storage: m.storage.as_ref().and_then(|s| serde_json::to_value(s).ok()),
            storage_layout: m.storage_layout.clone(),
            types: m.types.clone(),
        }
    }
}

fn selector_bytes(m: &LoadedMessage) -> Result<[u8; 4], CodecError> {
    let bad = || CodecError::BadSelector { name: m.name.clone(), selector: m.selector.clone() };
    let s = m.selector.strip_prefix("0x").unwrap_or(&m.selector);
    let bytes = hex::decode(s).map_err(|_| bad())?;
    <[u8; 4]>::try_from(bytes.as_slice()).map_err(|_| bad())
}

// ---------------------------------------------------------------- calls, outputs, events

/// Input for a message (or, if no message has that name, a constructor): its selector followed by
/// its arguments, given as a JSON array (by position) or object (by argument name).
pub fn encode_call(meta: &LoadedMetadata, name: &str, args: &Value) -> Result<Vec<u8>, CodecError> {
    let spec = meta.message_or_constructor(name)?;
    encode_with_spec(meta, spec, args)
}

/// Input for a constructor only (a deploy), for contracts with a message of the same name.
pub fn encode_constructor(meta: &LoadedMetadata, name: &str, args: &Value) -> Result<Vec<u8>, CodecError> {
    let spec = meta.constructor(name).ok_or_else(|| CodecError::UnknownMessage {
        contract: meta.name.clone(),
        kind: "constructor",
        name: name.into(),
        available: list(meta.constructors.iter().map(|m| m.name.as_str())),
    })?;
    encode_with_spec(meta, spec, args)
}

/// Selector ++ SCALE(args) for one message spec.
pub fn encode_with_spec(meta: &LoadedMetadata, spec: &LoadedMessage, args: &Value) -> Result<Vec<u8>, CodecError> {
    let mut out = selector_bytes(spec)?.to_vec();
    let names = || list(spec.args.iter().map(|a| a.name.as_str()));
    let values: Vec<&Value> = match args {
        // No arguments may be written as nothing at all.
        Value::Null if spec.args.is_empty() => Vec::new(),
        Value::Array(items) => {
            if items.len() != spec.args.len() {
                return Err(CodecError::ArgCount {
                    name: spec.name.clone(),
                    expected: spec.args.len(),
                    names: names(),
                    got: items.len(),
                });
            }
            items.iter().collect()
        }
        Value::Object(obj) => {
            if let Some(k) = obj.keys().find(|k| !spec.args.iter().any(|a| &a.name == *k)) {
                return Err(CodecError::UnknownArgument { name: spec.name.clone(), arg: k.clone(), names: names() });
            }
            let mut v = Vec::with_capacity(spec.args.len());
            for a in &spec.args {
                v.push(
                    obj.get(&a.name)
                        .ok_or_else(|| CodecError::MissingArgument { name: spec.name.clone(), arg: a.name.clone() })?,
                );
            }
            v
        }
        other => return Err(CodecError::ArgsShape { name: spec.name.clone(), got: show(other) }),
    };
    for (a, v) in spec.args.iter().zip(values) {
        encode_to(&meta.types, a.ty, v, &mut out, 0)
            .map_err(|e| CodecError::Argument { arg: a.name.clone(), source: Box::new(e) })?;
    }
    Ok(out)
}

/// A call input read back: which method, and its arguments by name.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedCall {
    pub name: String,
    /// `{"arg": value, …}` in the JSON mapping `encode_call` accepts.
    pub args: Value,
}

/// Reads a message call's input (selector ++ arguments), e.g. to show a transaction.
pub fn decode_call(meta: &LoadedMetadata, input: &[u8]) -> Result<DecodedCall, CodecError> {
    decode_input(meta, &meta.messages, "message", input)
}

/// Reads a constructor's input (a deploy's data).
pub fn decode_deploy(meta: &LoadedMetadata, input: &[u8]) -> Result<DecodedCall, CodecError> {
    decode_input(meta, &meta.constructors, "constructor", input)
}

fn decode_input(
    meta: &LoadedMetadata,
    specs: &[LoadedMessage],
    kind: &'static str,
    input: &[u8],
) -> Result<DecodedCall, CodecError> {
    let Some((selector, mut rest)) = input.split_first_chunk::<4>() else {
        return Err(CodecError::Decode {
            path: String::new(),
            ty: format!("a {kind} call"),
            reason: format!("{} bytes, shorter than a selector", input.len()),
        });
    };
    let mut found = None;
    for s in specs {
        if selector_bytes(s)? == *selector {
            found = Some(s);
            break;
        }
    }
    let spec = found.ok_or_else(|| CodecError::UnknownMessage {
        contract: meta.name.clone(),
        kind,
        name: format!("0x{}", hex::encode(selector)),
        available: list(specs.iter().map(|m| m.name.as_str())),
    })?;
    let mut args = Map::new();
    for a in &spec.args {
        let v = decode_value(&meta.types, a.ty, &mut rest)
            .map_err(|e| CodecError::Argument { arg: a.name.clone(), source: Box::new(e) })?;
        args.insert(a.name.clone(), v);
    }
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes { what: format!("the arguments of `{}`", spec.name), n: rest.len() });
    }
    Ok(DecodedCall { name: spec.name.clone(), args: Value::Object(args) })
}

/// Decodes a message's `Ok` output (the bytes a successful call returns) to JSON.
pub fn decode_output(meta: &LoadedMetadata, name: &str, output: &[u8]) -> Result<Value, CodecError> {
    let spec = meta.message_or_constructor(name)?;
    decode_all(&meta.types, spec.returns, output, &format!("the output of `{name}`"))
}

/// Decodes an event's data with the contract's event type.
pub fn decode_event(meta: &LoadedMetadata, data: &[u8]) -> Result<Value, CodecError> {
    let ty = meta.events.ok_or_else(|| CodecError::NoEventType { contract: meta.name.clone() })?;
    decode_all(&meta.types, ty, data, &format!("an event of {}", meta.name))
}

/// A contract storage entry read through the metadata's storage items (the SDK's key layout:
/// `len ++ namespace`, then the SCALE key and/or list index).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedStorage {
    /// `bills[3]`, `last_bill`, `resident_bills[0x…][2]`, `provider_list.len`…
    pub label: String,
    /// The value as JSON (a list's length for its length entry); `None` when absent.
    pub value: Option<Value>,
}

/// Names a raw storage key of a contract (and decodes its value) from the contract's metadata;
/// `None` when no storage item of the metadata owns the key or the bytes do not fit its types.
pub fn decode_storage(meta: &LoadedMetadata, key: &[u8], value: Option<&[u8]>) -> Option<DecodedStorage> {
    let items = meta.storage.as_ref()?.as_array()?;
    let (&len, rest) = key.split_first()?;
    let namespace = rest.get(..usize::from(len))?;
    let mut rest = &rest[usize::from(len)..];
    let item = items.iter().find(|i| i["namespace"].as_str().map(str::as_bytes) == Some(namespace))?;
    let name = item["namespace"].as_str()?;
    let ty = |f: &str| item[f].as_u64().and_then(|t| u32::try_from(t).ok());
    let decode = |ty: u32, bytes: &[u8]| decode_all(&meta.types, ty, bytes, "a storage value").ok();
    let u32_of = |bytes: &[u8]| <[u8; 4]>::try_from(bytes).ok().map(u32::from_le_bytes);
    let key_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (label, value_ty) = match item["kind"].as_str()? {
        "Item" if rest.is_empty() => (name.to_string(), Some(ty("value")?)),
        "Map" => {
            let k = decode_value(&meta.types, ty("key")?, &mut rest).ok()?;
            if !rest.is_empty() {
                return None;
            }
            (format!("{name}[{}]", key_text(&k)), Some(ty("value")?))
        }
        "List" if rest.is_empty() => (format!("{name}.len"), None),
        "List" => (format!("{name}[{}]", u32_of(rest)?), Some(ty("value")?)),
        "ListMap" => {
            let k = decode_value(&meta.types, ty("key")?, &mut rest).ok()?;
            match rest.len() {
                0 => (format!("{name}[{}].len", key_text(&k)), None),
                _ => (format!("{name}[{}][{}]", key_text(&k), u32_of(rest)?), Some(ty("value")?)),
            }
        }
        _ => return None,
    };
    let value = match (value, value_ty) {
        (None, _) => None,
        (Some(v), Some(t)) => Some(decode(t, v)?),
        (Some(v), None) => Some(Value::from(u32_of(v)?)),
    };
    Some(DecodedStorage { label, value })
}

/// Decodes exactly `bytes` as one value of `type_id`: leftovers mean the type is wrong.
fn decode_all(registry: &PortableRegistry, type_id: u32, bytes: &[u8], what: &str) -> Result<Value, CodecError> {
    let mut rest = bytes;
    let v = decode_value(registry, type_id, &mut rest)
        .map_err(|e| CodecError::In { context: what.to_string(), source: Box::new(e) })?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes { what: what.to_string(), n: rest.len() });
    }
    Ok(v)
}

// ---------------------------------------------------------------- type names

/// A Rust-like name for a type: `u64`, `Vec<UtilityKind>`, `Option<Bill>`, `[u8; 32]`, `(u64, u64)`.
pub fn type_name(registry: &PortableRegistry, type_id: u32) -> String {
    name_at(registry, type_id, 0)
}

fn name_at(reg: &PortableRegistry, id: u32, depth: u32) -> String {
    if depth > 8 {
        return "…".into();
    }
    let Some(ty) = reg.resolve(id) else { return format!("<unknown type {id}>") };
    let sub = |id: u32| name_at(reg, id, depth + 1);
    if let Some(last) = ty.path.segments.last() {
        let params: Vec<String> = ty.type_params.iter().filter_map(|p| p.ty.as_ref()).map(|t| sub(t.id)).collect();
        return if params.is_empty() { last.clone() } else { format!("{last}<{}>", params.join(", ")) };
    }
    match &ty.type_def {
        TypeDef::Primitive(p) => prim_name(p).into(),
        TypeDef::Sequence(s) => format!("Vec<{}>", sub(s.type_param.id)),
        TypeDef::Array(a) => format!("[{}; {}]", sub(a.type_param.id), a.len),
        TypeDef::Tuple(t) if t.fields.len() == 1 => format!("({},)", sub(t.fields[0].id)),
        TypeDef::Tuple(t) => format!("({})", t.fields.iter().map(|f| sub(f.id)).collect::<Vec<_>>().join(", ")),
        TypeDef::Compact(c) => format!("Compact<{}>", sub(c.type_param.id)),
        TypeDef::BitSequence(_) => "BitVec".into(),
        TypeDef::Composite(_) => "struct".into(),
        TypeDef::Variant(_) => "enum".into(),
    }
}

fn prim_name(p: &TypeDefPrimitive) -> &'static str {
    match p {
        TypeDefPrimitive::Bool => "bool",
        TypeDefPrimitive::Char => "char",
        TypeDefPrimitive::Str => "String",
        TypeDefPrimitive::U8 => "u8",
        TypeDefPrimitive::U16 => "u16",
        TypeDefPrimitive::U32 => "u32",
        TypeDefPrimitive::U64 => "u64",
        TypeDefPrimitive::U128 => "u128",
        TypeDefPrimitive::U256 => "u256",
        TypeDefPrimitive::I8 => "i8",
        TypeDefPrimitive::I16 => "i16",
        TypeDefPrimitive::I32 => "i32",
        TypeDefPrimitive::I64 => "i64",
        TypeDefPrimitive::I128 => "i128",
        TypeDefPrimitive::I256 => "i256",
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// A JSON value for an error message, cut short if long.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

fn resolve(reg: &PortableRegistry, id: u32) -> Result<&Type<PortableForm>, CodecError> {
    reg.resolve(id).ok_or(CodecError::UnknownType(id))
}

fn is_u8(reg: &PortableRegistry, id: u32) -> bool {
    matches!(reg.resolve(id).map(|t| &t.type_def), Some(TypeDef::Primitive(TypeDefPrimitive::U8)))
}

/// `Option<T>` as scale-info describes it: the prelude enum `Option` with `None` and `Some(T)`.
/// Gives the `None` variant's index, and the `Some` variant's index and payload type.
fn option_parts(ty: &Type<PortableForm>) -> Option<(u8, u8, u32)> {
    let TypeDef::Variant(v) = &ty.type_def else { return None };
    if ty.path.segments.len() != 1 || ty.path.segments[0] != "Option" || v.variants.len() != 2 {
        return None;
    }
    let none = v.variants.iter().find(|x| x.name == "None" && x.fields.is_empty())?;
    let some = v.variants.iter().find(|x| x.name == "Some")?;
    match some.fields.as_slice() {
        [f] => Some((none.index, some.index, f.ty.id)),
        _ => None,
    }
}

// ---------------------------------------------------------------- encoding

/// SCALE-encodes `value` as a value of type `type_id`.
pub fn encode_value(registry: &PortableRegistry, type_id: u32, value: &Value) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    encode_to(registry, type_id, value, &mut out, 0)?;
    Ok(out)
}

fn mismatch(reg: &PortableRegistry, id: u32, hint: impl Into<String>, got: &Value) -> CodecError {
    CodecError::Mismatch { path: String::new(), ty: type_name(reg, id), hint: hint.into(), got: show(got) }
}

fn encode_to(reg: &PortableRegistry, id: u32, value: &Value, out: &mut Vec<u8>, depth: u32) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep { path: String::new() });
    }
    let ty = resolve(reg, id)?;
    match &ty.type_def {
        TypeDef::Primitive(p) => encode_primitive(reg, id, p, value, out),
        TypeDef::Compact(c) => {
            let n = compact_number(reg, c.type_param.id, value, depth + 1).map_err(|e| match e {
                // Name the compact type in the error, not only its inner type.
                CodecError::Mismatch { path, hint, got, .. } if path.is_empty() => {
                    CodecError::Mismatch { path, ty: type_name(reg, id), hint, got }
                }
                e => e,
            })?;
            Compact(n).encode_to(out);
            Ok(())
        }
        TypeDef::Sequence(s) => {
            let elem = s.type_param.id;
            if is_u8(reg, elem) {
                let bytes = bytes_from_json(value, None)
                    .ok_or_else(|| mismatch(reg, id, " (0x-prefixed hex, or an array of bytes)", value))?;
                Compact(len_u32(bytes.len())?).encode_to(out);
                out.extend_from_slice(&bytes);
                return Ok(());
            }
            let items = value.as_array().ok_or_else(|| mismatch(reg, id, " (an array)", value))?;
            Compact(len_u32(items.len())?).encode_to(out);
            for (i, v) in items.iter().enumerate() {
                encode_to(reg, elem, v, out, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?;
            }
            Ok(())
        }
        TypeDef::Array(a) => {
            let elem = a.type_param.id;
            let len = a.len as usize;
            if is_u8(reg, elem) {
                let bytes = bytes_from_json(value, Some(len))
                    .ok_or_else(|| mismatch(reg, id, format!(" (0x-prefixed hex of {len} bytes)"), value))?;
                out.extend_from_slice(&bytes);
                return Ok(());
            }
            let items = match value.as_array() {
                Some(items) if items.len() == len => items,
                _ => return Err(mismatch(reg, id, format!(" (an array of {len})"), value)),
            };
            for (i, v) in items.iter().enumerate() {
                encode_to(reg, elem, v, out, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?;
            }
            Ok(())
        }
        TypeDef::Tuple(t) => {
            if t.fields.is_empty() {
                return match value {
                    Value::Null => Ok(()),
                    Value::Array(a) if a.is_empty() => Ok(()),
                    _ => Err(mismatch(reg, id, " (null)", value)),
                };
            }
            let items = match value.as_array() {
                Some(items) if items.len() == t.fields.len() => items,
                _ => return Err(mismatch(reg, id, format!(" (an array of {})", t.fields.len()), value)),
            };
            for (i, (f, v)) in t.fields.iter().zip(items).enumerate() {
                encode_to(reg, f.id, v, out, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?;
            }
            Ok(())
        }
        TypeDef::Composite(c) => encode_fields(reg, id, true, &c.fields, value, out, depth),
        TypeDef::Variant(v) => {
            if let Some((none, some, inner)) = option_parts(ty) {
                if value.is_null() {
                    out.push(none);
                    return Ok(());
                }
                out.push(some);
                return encode_to(reg, inner, value, out, depth + 1);
            }
            let variants = || list(v.variants.iter().map(|x| x.name.as_str()));
            let (name, payload) = match value {
                Value::String(s) => (s.as_str(), None),
                Value::Object(o) if o.len() == 1 => match o.iter().next() {
                    Some((k, p)) => (k.as_str(), Some(p)),
                    None => return Err(mismatch(reg, id, variant_hint(v), value)),
                },
                _ => return Err(mismatch(reg, id, variant_hint(v), value)),
            };
            let var = v.variants.iter().find(|x| x.name == name).ok_or_else(|| CodecError::UnknownVariant {
                path: String::new(),
                ty: type_name(reg, id),
                variant: name.into(),
                variants: variants(),
            })?;
            out.push(var.index);
            match payload {
                None if var.fields.is_empty() => Ok(()),
                None => Err(CodecError::Mismatch {
                    path: String::new(),
                    ty: format!("{}::{}", type_name(reg, id), var.name),
                    hint: format!(" ({{\"{}\": its fields}})", var.name),
                    got: show(value),
                }),
                Some(p) => encode_fields(reg, id, false, &var.fields, p, out, depth)
                    .map_err(|e| e.within(|| format!(".{}", var.name))),
            }
        }
        TypeDef::BitSequence(_) => Err(CodecError::Unsupported { path: String::new(), ty: type_name(reg, id) }),
    }
}

fn variant_hint(v: &scale_info::TypeDefVariant<PortableForm>) -> String {
    let names: Vec<String> = v
        .variants
        .iter()
        .map(|x| if x.fields.is_empty() { format!("\"{}\"", x.name) } else { format!("{{\"{}\": …}}", x.name) })
        .collect();
    format!(" (one of {})", names.join(", "))
}

/// Fields of a struct or of an enum variant: none ↔ null, named ↔ object, one unnamed ↔ the
/// value itself (newtype), several unnamed ↔ array. `owner` is the struct or enum, for errors.
#[allow(clippy::too_many_arguments)]
fn encode_fields(
    reg: &PortableRegistry,
    owner: u32,
    is_struct: bool,
    fields: &[Field<PortableForm>],
    value: &Value,
    out: &mut Vec<u8>,
    depth: u32,
) -> Result<(), CodecError> {
    if fields.is_empty() {
        return match value {
            Value::Null => Ok(()),
            Value::Array(a) if a.is_empty() => Ok(()),
            Value::Object(o) if o.is_empty() => Ok(()),
            _ => Err(mismatch(reg, owner, " (null: it has no fields)", value)),
        };
    }
    if fields.iter().all(|f| f.name.is_some()) {
        let field_names = || list(fields.iter().filter_map(|f| f.name.as_deref()));
        let obj = value
            .as_object()
            .ok_or_else(|| mismatch(reg, owner, format!(" (an object with {})", field_names()), value))?;
        if let Some(k) = obj.keys().find(|k| !fields.iter().any(|f| f.name.as_deref() == Some(k.as_str()))) {
            return Err(CodecError::UnknownField {
                path: String::new(),
                ty: type_name(reg, owner),
                field: k.clone(),
                fields: field_names(),
            });
        }
        for f in fields {
            let name = f.name.as_deref().unwrap_or_default();
            let v = obj.get(name).ok_or_else(|| CodecError::MissingField {
                path: String::new(),
                ty: type_name(reg, owner),
                field: name.into(),
            })?;
            encode_to(reg, f.ty.id, v, out, depth + 1).map_err(|e| e.within(|| format!(".{name}")))?;
        }
        return Ok(());
    }
    if fields.len() == 1 {
        // A newtype reads as its inner value; an error about that value names the newtype
        // (`AccountId`, not `[u8; 32]`).
        return encode_to(reg, fields[0].ty.id, value, out, depth + 1).map_err(|e| match e {
            CodecError::Mismatch { path, hint, got, .. } if is_struct && path.is_empty() => {
                CodecError::Mismatch { path, ty: type_name(reg, owner), hint, got }
            }
            e => e,
        });
    }
    let items = match value.as_array() {
        Some(items) if items.len() == fields.len() => items,
        _ => return Err(mismatch(reg, owner, format!(" (an array of {})", fields.len()), value)),
    };
    for (i, (f, v)) in fields.iter().zip(items).enumerate() {
        encode_to(reg, f.ty.id, v, out, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?;
    }
    Ok(())
}

fn len_u32(n: usize) -> Result<u32, CodecError> {
    u32::try_from(n).map_err(|_| CodecError::Metadata(format!("a sequence of {n} elements is too long to encode")))
}

/// `"0x…"` hex or an array of numbers 0..=255, of exactly `len` bytes if given.
fn bytes_from_json(value: &Value, len: Option<usize>) -> Option<Vec<u8>> {
    let bytes = match value {
        Value::String(s) => hex::decode(s.strip_prefix("0x")?).ok()?,
        Value::Array(items) => {
            items.iter().map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok())).collect::<Option<Vec<u8>>>()?
        }
        _ => return None,
    };
    match len {
        Some(n) if bytes.len() != n => None,
        _ => Some(bytes),
    }
}

/// An unsigned integer from a JSON number or a decimal string.
fn json_u128(v: &Value) -> Option<u128> {
    match v {
        Value::Number(n) => n.as_u64().map(u128::from),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

/// A signed integer from a JSON number or a decimal string (optionally with a leading `-`).
fn json_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn encode_primitive(
    reg: &PortableRegistry,
    id: u32,
    p: &TypeDefPrimitive,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    // An integer that parsed but does not fit gets its range in the message.
    let range = |lo: i128, hi: u128| format!(" ({lo}..={hi})");
    let bad = || mismatch(reg, id, "", value);
    macro_rules! unsigned {
        ($t:ty) => {{
            let n = json_u128(value).ok_or_else(bad)?;
            let v = <$t>::try_from(n).map_err(|_| mismatch(reg, id, range(0, <$t>::MAX as u128), value))?;
            v.encode_to(out);
        }};
    }
    macro_rules! signed {
        ($t:ty) => {{
            let n = json_i128(value).ok_or_else(bad)?;
            let v =
                <$t>::try_from(n).map_err(|_| mismatch(reg, id, range(<$t>::MIN as i128, <$t>::MAX as u128), value))?;
            v.encode_to(out);
        }};
    }
    match p {
        TypeDefPrimitive::Bool => value.as_bool().ok_or_else(bad)?.encode_to(out),
        TypeDefPrimitive::Char => {
            let s = value.as_str().ok_or_else(|| mismatch(reg, id, " (a one-character string)", value))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => (c as u32).encode_to(out),
                _ => return Err(mismatch(reg, id, " (a one-character string)", value)),
            }
        }
        TypeDefPrimitive::Str => value.as_str().ok_or_else(bad)?.encode_to(out),
        TypeDefPrimitive::U8 => unsigned!(u8),
        TypeDefPrimitive::U16 => unsigned!(u16),
        TypeDefPrimitive::U32 => unsigned!(u32),
        TypeDefPrimitive::U64 => unsigned!(u64),
        TypeDefPrimitive::U128 => unsigned!(u128),
        TypeDefPrimitive::I8 => signed!(i8),
        TypeDefPrimitive::I16 => signed!(i16),
        TypeDefPrimitive::I32 => signed!(i32),
        TypeDefPrimitive::I64 => signed!(i64),
        TypeDefPrimitive::I128 => signed!(i128),
        TypeDefPrimitive::U256 | TypeDefPrimitive::I256 => {
            return Err(CodecError::Unsupported { path: String::new(), ty: prim_name(p).into() })
        }
    }
    Ok(())
}

/// The largest value a `Compact<p>` may hold: only unsigned integers may be compact.
fn compact_max(p: &TypeDefPrimitive) -> Result<u128, CodecError> {
    Ok(match p {
        TypeDefPrimitive::U8 => u8::MAX.into(),
        TypeDefPrimitive::U16 => u16::MAX.into(),
        TypeDefPrimitive::U32 => u32::MAX.into(),
        TypeDefPrimitive::U64 => u64::MAX.into(),
        TypeDefPrimitive::U128 => u128::MAX,
        _ => return Err(CodecError::Unsupported { path: String::new(), ty: format!("Compact<{}>", prim_name(p)) }),
    })
}

/// The number inside a `Compact<T>`: T is an unsigned integer or a newtype around one
/// (`#[codec(compact)]` on a `CompactAs` type), which reads as its inner value or `{"field": n}`.
fn compact_number(reg: &PortableRegistry, id: u32, value: &Value, depth: u32) -> Result<u128, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep { path: String::new() });
    }
    let ty = resolve(reg, id)?;
    match &ty.type_def {
        TypeDef::Primitive(p) => {
            let max = compact_max(p)?;
            let n = json_u128(value).ok_or_else(|| mismatch(reg, id, "", value))?;
            if n > max {
                return Err(mismatch(reg, id, format!(" (0..={max})"), value));
            }
            Ok(n)
        }
        TypeDef::Composite(c) if c.fields.len() == 1 => {
            let f = &c.fields[0];
            match &f.name {
                None => compact_number(reg, f.ty.id, value, depth + 1),
                Some(name) => {
                    let inner = value.as_object().and_then(|o| if o.len() == 1 { o.get(name) } else { None });
                    let inner = inner.ok_or_else(|| mismatch(reg, id, format!(" (an object with {name})"), value))?;
                    compact_number(reg, f.ty.id, inner, depth + 1).map_err(|e| e.within(|| format!(".{name}")))
                }
            }
        }
        _ => Err(CodecError::Unsupported { path: String::new(), ty: format!("Compact<{}>", type_name(reg, id)) }),
    }
}

// ---------------------------------------------------------------- decoding

/// Decodes one value of type `type_id` from the front of `bytes`, advancing it.
pub fn decode_value(registry: &PortableRegistry, type_id: u32, bytes: &mut &[u8]) -> Result<Value, CodecError> {
    decode_from(registry, type_id, bytes, 0)
}

fn decode_err(reg: &PortableRegistry, id: u32, reason: impl ToString) -> CodecError {
    CodecError::Decode { path: String::new(), ty: type_name(reg, id), reason: reason.to_string() }
}

fn read<T: Decode>(reg: &PortableRegistry, id: u32, bytes: &mut &[u8]) -> Result<T, CodecError> {
    T::decode(bytes).map_err(|e| decode_err(reg, id, e))
}

fn hex_json(bytes: &[u8]) -> Value {
    Value::String(format!("0x{}", hex::encode(bytes)))
}

/// Numbers up to 2^53 in magnitude stay JSON numbers; larger ones become decimal strings so no
/// JSON reader rounds them.
fn big_unsigned(n: u128) -> Value {
    if n <= MAX_SAFE_JSON_INT {
        Value::from(n as u64)
    } else {
        Value::String(n.to_string())
    }
}

fn big_signed(n: i128) -> Value {
    if n.unsigned_abs() <= MAX_SAFE_JSON_INT {
        Value::from(n as i64)
    } else {
        Value::String(n.to_string())
    }
}

fn read_len(reg: &PortableRegistry, id: u32, bytes: &mut &[u8]) -> Result<usize, CodecError> {
    let Compact(len) = read::<Compact<u32>>(reg, id, bytes)?;
    let len = len as usize;
    if len > bytes.len() && len > MAX_EMPTY_ELEMENTS {
        return Err(decode_err(reg, id, format!("length {len} but only {} bytes remain", bytes.len())));
    }
    Ok(len)
}

fn take<'a>(reg: &PortableRegistry, id: u32, bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
    if bytes.len() < n {
        return Err(decode_err(reg, id, format!("needs {n} bytes, {} remain", bytes.len())));
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn decode_from(reg: &PortableRegistry, id: u32, bytes: &mut &[u8], depth: u32) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep { path: String::new() });
    }
    let ty = resolve(reg, id)?;
    match &ty.type_def {
        TypeDef::Primitive(p) => decode_primitive(reg, id, p, bytes),
        TypeDef::Compact(c) => {
            let Compact(n) = read::<Compact<u128>>(reg, id, bytes)?;
            compact_json(reg, c.type_param.id, n, depth + 1)
        }
        TypeDef::Sequence(s) => {
            let elem = s.type_param.id;
            let len = read_len(reg, id, bytes)?;
            if is_u8(reg, elem) {
                return Ok(hex_json(take(reg, id, bytes, len)?));
            }
            let mut items = Vec::with_capacity(len.min(bytes.len()));
            for i in 0..len {
                items.push(decode_from(reg, elem, bytes, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?);
            }
            Ok(Value::Array(items))
        }
        TypeDef::Array(a) => {
            let elem = a.type_param.id;
            let len = a.len as usize;
            if is_u8(reg, elem) {
                return Ok(hex_json(take(reg, id, bytes, len)?));
            }
            if len > bytes.len() && len > MAX_EMPTY_ELEMENTS {
                return Err(decode_err(reg, id, format!("length {len} but only {} bytes remain", bytes.len())));
            }
            let mut items = Vec::with_capacity(len.min(bytes.len()));
            for i in 0..len {
                items.push(decode_from(reg, elem, bytes, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?);
            }
            Ok(Value::Array(items))
        }
        TypeDef::Tuple(t) => {
            if t.fields.is_empty() {
                return Ok(Value::Null);
            }
            let mut items = Vec::with_capacity(t.fields.len());
            for (i, f) in t.fields.iter().enumerate() {
                items.push(decode_from(reg, f.id, bytes, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?);
            }
            Ok(Value::Array(items))
        }
        TypeDef::Composite(c) => decode_fields(reg, &c.fields, bytes, depth),
        TypeDef::Variant(v) => {
            let index = read::<u8>(reg, id, bytes)?;
            let var = v
                .variants
                .iter()
                .find(|x| x.index == index)
                .ok_or_else(|| decode_err(reg, id, format!("no variant has index {index}")))?;
            if let Some((_, some, inner)) = option_parts(ty) {
                return if index == some { decode_from(reg, inner, bytes, depth + 1) } else { Ok(Value::Null) };
            }
            if var.fields.is_empty() {
                return Ok(Value::String(var.name.clone()));
            }
            let inner =
                decode_fields(reg, &var.fields, bytes, depth).map_err(|e| e.within(|| format!(".{}", var.name)))?;
            let mut m = Map::new();
            m.insert(var.name.clone(), inner);
            Ok(Value::Object(m))
        }
        TypeDef::BitSequence(_) => Err(CodecError::Unsupported { path: String::new(), ty: type_name(reg, id) }),
    }
}

fn decode_fields(
    reg: &PortableRegistry,
    fields: &[Field<PortableForm>],
    bytes: &mut &[u8],
    depth: u32,
) -> Result<Value, CodecError> {
    if fields.is_empty() {
        return Ok(Value::Null);
    }
    if fields.iter().all(|f| f.name.is_some()) {
        let mut m = Map::new();
        for f in fields {
            let name = f.name.clone().unwrap_or_default();
            let v = decode_from(reg, f.ty.id, bytes, depth + 1).map_err(|e| e.within(|| format!(".{name}")))?;
            m.insert(name, v);
        }
        return Ok(Value::Object(m));
    }
    if fields.len() == 1 {
        return decode_from(reg, fields[0].ty.id, bytes, depth + 1);
    }
    let mut items = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        items.push(decode_from(reg, f.ty.id, bytes, depth + 1).map_err(|e| e.within(|| format!("[{i}]")))?);
    }
    Ok(Value::Array(items))
}

/// The JSON of a decoded compact number as its declared type: the integer, or the newtype
/// around it.
fn compact_json(reg: &PortableRegistry, id: u32, n: u128, depth: u32) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep { path: String::new() });
    }
    let ty = resolve(reg, id)?;
    match &ty.type_def {
        TypeDef::Primitive(p) => {
            let max = compact_max(p)?;
            if n > max {
                return Err(decode_err(reg, id, format!("compact value {n} is out of range")));
            }
            Ok(big_unsigned(n))
        }
        TypeDef::Composite(c) if c.fields.len() == 1 => {
            let f = &c.fields[0];
            let inner = compact_json(reg, f.ty.id, n, depth + 1)?;
            Ok(match &f.name {
                None => inner,
                Some(name) => {
                    let mut m = Map::new();
                    m.insert(name.clone(), inner);
                    Value::Object(m)
                }
            })
        }
        _ => Err(CodecError::Unsupported { path: String::new(), ty: format!("Compact<{}>", type_name(reg, id)) }),
    }
}

fn decode_primitive(
    reg: &PortableRegistry,
    id: u32,
    p: &TypeDefPrimitive,
    bytes: &mut &[u8],
) -> Result<Value, CodecError> {
    Ok(match p {
        TypeDefPrimitive::Bool => Value::Bool(read::<bool>(reg, id, bytes)?),
        TypeDefPrimitive::Char => {
            let c = read::<u32>(reg, id, bytes)?;
            let c = char::from_u32(c)
                .ok_or_else(|| decode_err(reg, id, format!("{c:#x} is not a Unicode scalar value")))?;
            Value::String(c.to_string())
        }
        TypeDefPrimitive::Str => {
            let len = read_len(reg, id, bytes)?;
            let raw = take(reg, id, bytes, len)?;
            Value::String(String::from_utf8(raw.to_vec()).map_err(|e| decode_err(reg, id, e))?)
        }
        TypeDefPrimitive::U8 => Value::from(read::<u8>(reg, id, bytes)?),
        TypeDefPrimitive::U16 => Value::from(read::<u16>(reg, id, bytes)?),
        TypeDefPrimitive::U32 => Value::from(read::<u32>(reg, id, bytes)?),
        TypeDefPrimitive::U64 => big_unsigned(read::<u64>(reg, id, bytes)?.into()),
        TypeDefPrimitive::U128 => big_unsigned(read::<u128>(reg, id, bytes)?),
        TypeDefPrimitive::I8 => Value::from(read::<i8>(reg, id, bytes)?),
        TypeDefPrimitive::I16 => Value::from(read::<i16>(reg, id, bytes)?),
        TypeDefPrimitive::I32 => Value::from(read::<i32>(reg, id, bytes)?),
        TypeDefPrimitive::I64 => big_signed(read::<i64>(reg, id, bytes)?.into()),
        TypeDefPrimitive::I128 => big_signed(read::<i128>(reg, id, bytes)?),
        TypeDefPrimitive::U256 | TypeDefPrimitive::I256 => {
            return Err(CodecError::Unsupported { path: String::new(), ty: prim_name(p).into() })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_sdk::{AccountId, Hash};
    use serde_json::json;

    /// Metadata the way the CLI gets it: the contract's own JSON, parsed back.
    fn load(meta: jjj_sdk::metadata::ContractMetadata) -> LoadedMetadata {
        match LoadedMetadata::from_json(&meta.to_json()) {
            Ok(m) => m,
            Err(e) => panic!("metadata of {} does not load: {e}", meta.name),
        }
    }

    fn bills() -> LoadedMetadata {
        load(utility_bills::UtilityBills::metadata())
    }

    fn acct(b: u8) -> AccountId {
        AccountId::new([b; 32])
    }

    fn hex32(b: u8) -> String {
        format!("0x{}", hex::encode([b; 32]))
    }

    fn call(meta: &LoadedMetadata, name: &str, args: Value) -> Vec<u8> {
        encode_call(meta, name, &args).unwrap_or_else(|e| panic!("encode {name}: {e}"))
    }

    fn err(meta: &LoadedMetadata, name: &str, args: Value) -> String {
        match encode_call(meta, name, &args) {
            Ok(bytes) => panic!("{name}({args}) encoded to {} but should fail", hex::encode(bytes)),
            Err(e) => e.to_string(),
        }
    }

    fn returns(meta: &LoadedMetadata, name: &str) -> u32 {
        meta.message(name).map(|m| m.returns).unwrap_or_else(|| panic!("no message {name}"))
    }

    /// Storage keys of utility-bills named and their values decoded the way the SDK lays them
    /// out: an item, a map entry, a list-map's length and element; a stranger key is not named.
    #[test]
    fn storage_keys_are_named_and_values_decoded_through_the_metadata() {
        let meta = bills();
        let key = |ns: &[u8], rest: &[u8]| [&[ns.len() as u8][..], ns, rest].concat();
        let d = decode_storage(&meta, &key(b"last_bill", &[]), Some(&7u64.to_le_bytes())).expect("an item");
        assert_eq!((d.label.as_str(), d.value), ("last_bill", Some(json!(7))));
        let d = decode_storage(&meta, &key(b"bills", &3u64.to_le_bytes()), None).expect("a map entry");
        assert_eq!((d.label.as_str(), d.value), ("bills[3]", None));
        let resident = [9u8; 32];
        let d = decode_storage(&meta, &key(b"resident_bills", &resident), Some(&2u32.to_le_bytes())).expect("a length");
        assert_eq!((d.label, d.value), (format!("resident_bills[{}].len", hex32(9)), Some(json!(2))));
        let element = [&resident[..], &1u32.to_le_bytes()].concat();
        let d =
            decode_storage(&meta, &key(b"resident_bills", &element), Some(&5u64.to_le_bytes())).expect("an element");
        assert_eq!((d.label, d.value), (format!("resident_bills[{}][1]", hex32(9)), Some(json!(5))));
        assert_eq!(decode_storage(&meta, &key(b"nothing", &[]), Some(&[1])), None);
        assert_eq!(decode_storage(&meta, &key(b"last_bill", &[]), Some(&[1, 2])), None, "not a u64");
    }

    #[test]
    fn metadata_json_round_trips_for_every_contract() {
        for meta in [
            utility_bills::UtilityBills::metadata(),
            waste_disposal::WasteDisposal::metadata(),
            ecommerce_agreement::EcommerceAgreement::metadata(),
            counter::Counter::metadata(),
        ] {
            let json = meta.to_json();
            let loaded = load(meta.clone());
            assert_eq!(loaded.types, meta.types, "{}: registry differs after JSON", meta.name);
            assert_eq!(loaded.name, meta.name);
            assert_eq!(loaded.messages.len(), meta.messages.len());
            assert_eq!(loaded.events, meta.events);
            // Writing it back gives the same JSON: nothing was dropped or renamed.
            let again = serde_json::to_value(&loaded).unwrap_or_default();
            let orig: Value = serde_json::from_str(&json).unwrap_or_default();
            assert_eq!(again, orig, "{}", meta.name);
            // And the native conversion agrees with the JSON path.
            let native = LoadedMetadata::from(&meta);
            assert_eq!(serde_json::to_value(&native).unwrap_or_default(), orig);
        }
    }

    #[test]
    fn metadata_without_query_flags_or_event_topics_still_loads() {
        let mut v: Value = serde_json::from_str(&utility_bills::UtilityBills::metadata().to_json()).unwrap_or_default();
        assert_eq!(v["messages"].as_array().map(|m| m.iter().any(|m| m["mutates"] == json!(false))), Some(true));
        for m in v["messages"].as_array_mut().into_iter().flatten().filter_map(Value::as_object_mut) {
            m.remove("mutates");
        }
        if let Some(m) = v.as_object_mut() {
            m.remove("event_topics");
        }
        let loaded = LoadedMetadata::from_json(&v.to_string()).unwrap_or_else(|e| panic!("older metadata loads: {e}"));
        assert!(loaded.messages.iter().all(|m| m.mutates), "without the flag every message may change state");
        assert!(loaded.event_topics.is_empty());
        assert_eq!(bills().message("bill").map(|m| m.mutates), Some(false));
        assert_eq!(bills().event_topics[0].topics, ["bill_id", "provider", "resident"]);
    }

    #[test]
    fn metadata_with_dangling_type_or_bad_ids_is_refused() {
        let mut v: Value = serde_json::from_str(&utility_bills::UtilityBills::metadata().to_json()).unwrap_or_default();
        v["messages"][0]["returns"] = json!(9999);
        let e = LoadedMetadata::from_json(&v.to_string()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("9999") && e.contains("not in the registry"), "{e}");

        let mut v: Value = serde_json::from_str(&utility_bills::UtilityBills::metadata().to_json()).unwrap_or_default();
        v["types"]["types"][0]["id"] = json!(5);
        let e = LoadedMetadata::from_json(&v.to_string()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("ids must be 0, 1, 2"), "{e}");

        let mut v: Value = serde_json::from_str(&utility_bills::UtilityBills::metadata().to_json()).unwrap_or_default();
        v["messages"][0]["selector"] = json!("abc");
        assert!(matches!(LoadedMetadata::from_json(&v.to_string()), Err(CodecError::BadSelector { .. })));

        assert!(matches!(LoadedMetadata::from_json("{not json"), Err(CodecError::Json(_))));
    }

    #[test]
    fn issue_bill_matches_the_generated_encoder() {
        let meta = bills();
        let expected = utility_bills::msg::issue_bill(
            acct(7),
            utility_bills::UtilityKind::Heating,
            12_345,
            "2026-01 采暖".into(),
            1_800_000_000_000,
        );
        let positional =
            call(&meta, "issue_bill", json!([hex32(7), "Heating", 12345, "2026-01 采暖", 1_800_000_000_000u64]));
        assert_eq!(positional, expected);
        let named = call(
            &meta,
            "issue_bill",
            json!({"due": "1800000000000", "period": "2026-01 采暖", "amount": 12345, "kind": "Heating", "resident": hex32(7)}),
        );
        assert_eq!(named, expected);
        // And back: the input names its message and arguments.
        let call = decode_call(&meta, &expected).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(call.name, "issue_bill");
        assert_eq!(
            call.args,
            json!({"due": 1_800_000_000_000u64, "period": "2026-01 采暖", "amount": 12345, "kind": "Heating", "resident": hex32(7)})
        );
        assert_eq!(encode_call(&meta, &call.name, &call.args).ok(), Some(expected.clone()));
        let mut long = expected.clone();
        long.push(0);
        assert!(matches!(decode_call(&meta, &long), Err(CodecError::TrailingBytes { n: 1, .. })));
        let e = decode_call(&meta, &[1, 2, 3, 4]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("UtilityBills has no message `0x01020304`; available: register_provider"), "{e}");
        assert!(decode_call(&meta, &[1, 2]).is_err());
        let deploy = decode_deploy(&meta, &utility_bills::msg::new()).ok().map(|c| (c.name, c.args));
        assert_eq!(deploy, Some(("new".to_string(), json!({}))));
    }

    #[test]
    fn register_provider_with_enums_vec_of_enums_string_and_account() {
        use utility_bills::{Region, UtilityKind};
        let meta = bills();
        let expected = utility_bills::msg::register_provider(
            acct(0xab),
            "国网冀北电力".into(),
            Region::Hebei,
            vec![UtilityKind::Electricity, UtilityKind::WasteFee, UtilityKind::Water],
            250,
        );
        let got = call(
            &meta,
            "register_provider",
            json!([hex32(0xab), "国网冀北电力", "Hebei", ["Electricity", "WasteFee", "Water"], 250]),
        );
        assert_eq!(got, expected);
        // A unit variant may also be written {"Name": null}; an account as an array of bytes.
        let got = call(
            &meta,
            "register_provider",
            json!([vec![0xabu8; 32], "国网冀北电力", {"Hebei": null}, ["Electricity", "WasteFee", "Water"], 250]),
        );
        assert_eq!(got, expected);
        // Messages without arguments and constructors.
        assert_eq!(call(&meta, "providers", json!([])), utility_bills::msg::providers());
        assert_eq!(call(&meta, "providers", Value::Null), utility_bills::msg::providers());
        assert_eq!(call(&meta, "new", json!({})), utility_bills::msg::new());
        let c = load(counter::Counter::metadata());
        assert_eq!(encode_constructor(&c, "new", &json!([5])).ok(), Some(counter::msg::new(5)));
        assert_eq!(encode_constructor(&c, "new", &json!({"start": 5})).ok(), Some(counter::msg::new(5)));
        assert_eq!(call(&c, "bump", json!([7])), counter::msg::bump(7));
    }

    #[test]
    fn propose_with_vec_of_structs_and_hash() {
        use ecommerce_agreement::MilestoneSpec;
        let meta = load(ecommerce_agreement::EcommerceAgreement::metadata());
        let doc = Hash::new([0x5a; 32]);
        let milestones = vec![
            MilestoneSpec { description: "样品".into(), amount: 1_000, deadline: 2_000_000 },
            MilestoneSpec { description: "bulk".into(), amount: u64::MAX, deadline: 3_000_000 },
        ];
        let expected = ecommerce_agreement::msg::propose(
            doc,
            vec![acct(1), acct(2), acct(3)],
            acct(1),
            acct(2),
            acct(9),
            milestones,
            1_500_000,
        );
        let got = call(
            &meta,
            "propose",
            json!({
                "document_hash": hex32(0x5a),
                "parties": [hex32(1), hex32(2), hex32(3)],
                "buyer": hex32(1),
                "seller": hex32(2),
                "arbitrator": hex32(9),
                "milestones": [
                    {"description": "样品", "amount": 1000, "deadline": 2000000},
                    {"description": "bulk", "amount": "18446744073709551615", "deadline": 3000000}
                ],
                "sign_deadline": 1500000
            }),
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn create_manifest_matches() {
        use waste_disposal::{Region, WasteCategory};
        let meta = load(waste_disposal::WasteDisposal::metadata());
        let expected = waste_disposal::msg::create_manifest(
            WasteCategory::Hazardous,
            1_250,
            Region::Tianjin,
            Region::Hebei,
            acct(4),
            acct(5),
            3_000,
        );
        let got =
            call(&meta, "create_manifest", json!(["Hazardous", 1250, "Tianjin", "Hebei", hex32(4), hex32(5), 3000]));
        assert_eq!(got, expected);
        assert!(meta.message("create_manifest").is_some_and(|m| m.payable));
    }

    #[test]
    fn bill_output_decodes_and_re_encodes() {
        use utility_bills::{Bill, PaymentReceipt, UtilityKind};
        let meta = bills();
        let bill = Bill {
            id: 42,
            provider: acct(2),
            resident: acct(3),
            kind: UtilityKind::Gas,
            amount: 9_900,
            period: "2026-02".into(),
            issued_at: 1_700_000_000_000,
            due: u64::MAX,
            late_fee_bps_per_day: 50,
            payment: Some(PaymentReceipt {
                bill_id: 42,
                payer: acct(3),
                amount_paid: 10_000,
                late_fee: 100,
                paid_at: 1_700_000_100_000,
            }),
        };
        let bytes = Some(bill.clone()).encode();
        let v = decode_output(&meta, "bill", &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v,
            json!({
                "id": 42, "provider": hex32(2), "resident": hex32(3), "kind": "Gas", "amount": 9900,
                "period": "2026-02", "issued_at": 1_700_000_000_000u64,
                // past 2^53: a decimal string, exact
                "due": "18446744073709551615",
                "late_fee_bps_per_day": 50,
                "payment": {"bill_id": 42, "payer": hex32(3), "amount_paid": 10000, "late_fee": 100, "paid_at": 1_700_000_100_000u64}
            })
        );
        assert_eq!(encode_value(&meta.types, returns(&meta, "bill"), &v).ok(), Some(bytes));

        // None and an unpaid bill.
        assert_eq!(decode_output(&meta, "bill", &None::<Bill>.encode()).ok(), Some(Value::Null));
        let unpaid = Bill { payment: None, ..bill };
        let v = decode_output(&meta, "bill", &Some(unpaid.clone()).encode()).unwrap_or_default();
        assert_eq!(v["payment"], Value::Null);
        assert_eq!(encode_value(&meta.types, returns(&meta, "bill"), &v).ok(), Some(Some(unpaid.clone()).encode()));

        // Vec<Bill> and a unit output.
        let list = vec![unpaid.clone(), unpaid];
        let v = decode_output(&meta, "bills_of", &list.encode()).unwrap_or_default();
        assert_eq!(v.as_array().map(|a| a.len()), Some(2));
        assert_eq!(decode_output(&meta, "set_provider_active", &[]).ok(), Some(Value::Null));
        // Trailing or missing bytes are errors, not guesses.
        let mut long = 7u64.encode();
        long.push(0);
        assert!(matches!(decode_output(&meta, "amount_due", &long), Err(CodecError::TrailingBytes { n: 1, .. })));
        let e = decode_output(&meta, "amount_due", &[1, 2]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("the output of `amount_due`") && e.contains("cannot decode u64"), "{e}");
    }

    #[test]
    fn agreement_output_with_data_carrying_enum_round_trips() {
        use ecommerce_agreement::{Agreement, Milestone, MilestoneState, Signature, Status};
        let meta = load(ecommerce_agreement::EcommerceAgreement::metadata());
        let a = Agreement {
            id: 3,
            document_hash: Hash::new([9; 32]),
            proposer: acct(1),
            parties: vec![acct(1), acct(2)],
            buyer: acct(1),
            seller: acct(2),
            arbitrator: acct(8),
            milestones: vec![
                Milestone { description: "a".into(), amount: 5, deadline: 10, state: MilestoneState::Pending },
                Milestone {
                    description: "b".into(),
                    amount: 6,
                    deadline: 11,
                    state: MilestoneState::Released { at: 12 },
                },
                Milestone {
                    description: "c".into(),
                    amount: 7,
                    deadline: 13,
                    state: MilestoneState::Disputed { by: acct(2), reason: "late".into(), at: 14, overdue: true },
                },
            ],
            sign_deadline: 9,
            signatures: vec![Signature { party: acct(1), at: 4 }],
            total: 18,
            escrow: 13,
            status: Status::Active,
            created_at: 1,
        };
        let bytes = Some(a).encode();
        let v = decode_output(&meta, "agreement", &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["status"], json!("Active"));
        assert_eq!(v["milestones"][0]["state"], json!("Pending"));
        assert_eq!(v["milestones"][1]["state"], json!({"Released": {"at": 12}}));
        assert_eq!(
            v["milestones"][2]["state"],
            json!({"Disputed": {"by": hex32(2), "reason": "late", "at": 14, "overdue": true}})
        );
        assert_eq!(encode_value(&meta.types, returns(&meta, "agreement"), &v).ok(), Some(bytes));
    }

    #[test]
    fn events_decode_and_re_encode() {
        let meta = bills();
        let ev = utility_bills::UtilityEvent::BillPaid {
            bill_id: 1,
            provider: acct(2),
            payer: acct(3),
            amount: 10_100,
            late_fee: 100,
        };
        let v = decode_event(&meta, &ev.encode()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v,
            json!({"BillPaid": {"bill_id": 1, "provider": hex32(2), "payer": hex32(3), "amount": 10100, "late_fee": 100}})
        );
        assert_eq!(meta.events.and_then(|t| encode_value(&meta.types, t, &v).ok()), Some(ev.encode()));

        let w = load(waste_disposal::WasteDisposal::metadata());
        let ev =
            waste_disposal::WasteEvent::Rejected { id: 4, agency: acct(6), reason: "无许可".into(), refunded: 500 };
        let v = decode_event(&w, &ev.encode()).unwrap_or_default();
        assert_eq!(v["Rejected"]["reason"], json!("无许可"));
        assert_eq!(w.events.and_then(|t| encode_value(&w.types, t, &v).ok()), Some(ev.encode()));

        // A manifest has an Option<u64> inside a struct.
        let m = waste_disposal::Manifest {
            id: 1,
            generator: acct(1),
            category: waste_disposal::WasteCategory::Medical,
            declared_weight_kg: 100,
            measured_weight_kg: Some(99),
            origin: waste_disposal::Region::Beijing,
            destination: waste_disposal::Region::Hebei,
            transporter: acct(2),
            facility: acct(3),
            fee: 1000,
            transporter_share_bps: 4000,
            status: waste_disposal::Status::Flagged,
            flagged: true,
            transporter_paid: 0,
            facility_paid: 0,
            created_at: 5,
        };
        let bytes = Some(m).encode();
        let v = decode_output(&w, "manifest", &bytes).unwrap_or_default();
        assert_eq!(v["measured_weight_kg"], json!(99));
        assert_eq!(encode_value(&w.types, returns(&w, "manifest"), &v).ok(), Some(bytes));
        // A tuple output.
        assert_eq!(decode_output(&w, "confirm_disposal", &(3u64, 4u64).encode()).ok(), Some(json!([3, 4])));

        // Unknown variant index in event data.
        let e = decode_event(&meta, &[7]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("UtilityEvent") && e.contains("no variant has index 7"), "{e}");
        let mut none = meta.clone();
        none.events = None;
        assert!(matches!(decode_event(&none, &[0]), Err(CodecError::NoEventType { .. })));
    }

    #[test]
    fn bad_input_errors_name_the_argument_and_type() {
        let meta = bills();
        let issue = |args: Value| err(&meta, "issue_bill", args);
        assert_eq!(issue(json!([hex32(1), "Water", "abc", "p", 5])), "argument `amount`: expected u64, got \"abc\"");
        assert_eq!(issue(json!([hex32(1), "Water", -5, "p", 5])), "argument `amount`: expected u64, got -5");
        assert_eq!(issue(json!([hex32(1), "Water", 1.5, "p", 5])), "argument `amount`: expected u64, got 1.5");
        assert_eq!(
            issue(json!([hex32(1), "Water", "18446744073709551616", "p", 5])),
            "argument `amount`: expected u64 (0..=18446744073709551615), got \"18446744073709551616\""
        );
        assert_eq!(
            issue(json!(["0x1234", "Water", 1, "p", 5])),
            "argument `resident`: expected AccountId (0x-prefixed hex of 32 bytes), got \"0x1234\""
        );
        assert_eq!(
            issue(json!([hex32(1), "Coal", 1, "p", 5])),
            "argument `kind`: UtilityKind has no variant `Coal`; its variants: Water, Electricity, Gas, Heating, WasteFee"
        );
        assert!(issue(json!([hex32(1), 3, 1, "p", 5]))
            .starts_with("argument `kind`: expected UtilityKind (one of \"Water\""));
        assert_eq!(issue(json!([hex32(1), "Water", 1, 7, 5])), "argument `period`: expected String, got 7");
        assert_eq!(
            issue(json!([hex32(1), "Water", 1])),
            "`issue_bill` takes 5 argument(s) (resident, kind, amount, period, due), got 3"
        );
        assert_eq!(
            issue(json!({"resident": hex32(1), "kind": "Water", "amount": 1, "period": "p", "due": 5, "tip": 1})),
            "`issue_bill` has no argument `tip`; its arguments: resident, kind, amount, period, due"
        );
        assert_eq!(issue(json!({"resident": hex32(1)})), "`issue_bill`: argument `kind` is missing");
        assert!(issue(json!("x")).contains("must be a JSON array"));

        let e = err(&meta, "pay_bill", json!([1]));
        assert!(e.starts_with("UtilityBills has no message or constructor `pay_bill`; available: "), "{e}");
        assert!(e.contains("pay,") && e.contains("issue_bill") && e.contains("new (constructor)"), "{e}");

        // Errors deep inside a value say where.
        let ec = load(ecommerce_agreement::EcommerceAgreement::metadata());
        let base = |milestones: Value| {
            json!({"document_hash": hex32(1), "parties": [hex32(1), hex32(2)], "buyer": hex32(1), "seller": hex32(2),
                   "arbitrator": hex32(3), "milestones": milestones, "sign_deadline": 1})
        };
        assert_eq!(
            err(
                &ec,
                "propose",
                base(
                    json!([{"description": "a", "amount": 1, "deadline": 2}, {"description": "b", "amount": true, "deadline": 2}])
                )
            ),
            "argument `milestones`: at [1].amount: expected u64, got true"
        );
        assert_eq!(
            err(&ec, "propose", base(json!([{"description": "a", "amount": 1}]))),
            "argument `milestones`: at [0]: missing field `deadline` of MilestoneSpec"
        );
        assert_eq!(
            err(&ec, "propose", base(json!([{"description": "a", "amount": 1, "deadline": 2, "x": 0}]))),
            "argument `milestones`: at [0]: MilestoneSpec has no field `x`; its fields: description, amount, deadline"
        );
        let e = err(&ec, "propose", base(json!({"description": "a"})));
        assert_eq!(e, "argument `milestones`: expected Vec<MilestoneSpec> (an array), got {\"description\":\"a\"}");
    }

    #[test]
    fn numbers_bytes_and_primitives_map_as_documented() {
        use scale_info::{meta_type, Registry};
        #[derive(scale_info::TypeInfo)]
        #[allow(dead_code)]
        struct All {
            a: u8,
            b: i16,
            c: i64,
            d: u128,
            e: char,
            f: Vec<u8>,
            g: (bool, ()),
            #[codec(compact)]
            h: u64,
            i: [u16; 2],
            j: Result<u32, String>,
            k: Option<Option<u8>>,
        }
        let mut r = Registry::new();
        let id = r.register_type(&meta_type::<All>()).id;
        let reg: PortableRegistry = r.into();
        let v = json!({
            "a": 255, "b": -300, "c": "-9007199254740993", "d": "340282366920938463463374607431768211455",
            "e": "京", "f": "0x00ff", "g": [true, null], "h": 1_000_000, "i": [1, 65535],
            "j": {"Err": "no"}, "k": 3
        });
        let bytes = encode_value(&reg, id, &v).unwrap_or_else(|e| panic!("{e}"));
        let mut expected = Vec::new();
        255u8.encode_to(&mut expected);
        (-300i16).encode_to(&mut expected);
        (-9_007_199_254_740_993i64).encode_to(&mut expected);
        u128::MAX.encode_to(&mut expected);
        ('京' as u32).encode_to(&mut expected);
        vec![0u8, 255].encode_to(&mut expected);
        true.encode_to(&mut expected);
        Compact(1_000_000u64).encode_to(&mut expected);
        [1u16, 65535].encode_to(&mut expected);
        Err::<u32, String>("no".into()).encode_to(&mut expected);
        Some(Some(3u8)).encode_to(&mut expected);
        assert_eq!(bytes, expected);
        let back = decode_value(&reg, id, &mut bytes.as_slice()).unwrap_or_default();
        assert_eq!(back, v);
        // 2^53 stays a number, 2^53 + 1 becomes a string; arrays of numbers are accepted for bytes.
        {
            let mut r = Registry::new();
            let id = r.register_type(&meta_type::<(u64, Vec<u8>)>()).id;
            let reg: PortableRegistry = r.into();
            let b = encode_value(&reg, id, &json!([9007199254740992u64, [1, 2]])).unwrap_or_default();
            assert_eq!(b, (1u64 << 53, vec![1u8, 2]).encode());
            assert_eq!(decode_value(&reg, id, &mut b.as_slice()).ok(), Some(json!([9007199254740992u64, "0x0102"])));
            let big = ((1u64 << 53) | 1, Vec::<u8>::new()).encode();
            assert_eq!(decode_value(&reg, id, &mut big.as_slice()).ok(), Some(json!(["9007199254740993", "0x"])));
        }
        // Range and shape errors.
        let e = encode_value(&reg, id, &json!({"a": 256})).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("missing field") || e.contains("expected u8"), "{e}");
        let mut bad = v.clone();
        bad["a"] = json!(256);
        let e = encode_value(&reg, id, &bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "at a: expected u8 (0..=255), got 256");
        bad["a"] = json!(1);
        bad["e"] = json!("ab");
        let e = encode_value(&reg, id, &bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "at e: expected char (a one-character string), got \"ab\"");
        bad["e"] = json!("x");
        bad["f"] = json!("zz");
        let e = encode_value(&reg, id, &bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "at f: expected Vec<u8> (0x-prefixed hex, or an array of bytes), got \"zz\"");
        bad["f"] = json!("0x");
        bad["j"] = json!({"Ok": "x"});
        let e = encode_value(&reg, id, &bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "at j.Ok: expected u32, got \"x\"");
    }

    #[test]
    fn hostile_bytes_and_registries_give_errors_not_panics() {
        let meta = bills();
        let bill = utility_bills::Bill {
            id: 1,
            provider: acct(1),
            resident: acct(2),
            kind: utility_bills::UtilityKind::Water,
            amount: 1,
            period: "p".into(),
            issued_at: 0,
            due: 1,
            late_fee_bps_per_day: 0,
            payment: None,
        };
        let bytes = vec![bill].encode();
        // Every strict prefix is incomplete.
        for n in 0..bytes.len() {
            assert!(decode_output(&meta, "bills_of", &bytes[..n]).is_err(), "prefix {n} decoded");
        }
        // A huge claimed length with no data behind it.
        let mut huge = Compact(u32::MAX).encode();
        huge.push(0);
        let e = decode_output(&meta, "bills_of", &huge).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("only 1 bytes remain"), "{e}");
        // Invalid UTF-8 in a String, bool out of range.
        let e = decode_output(&meta, "bill", &[1, 1, 0, 0, 0, 0, 0, 0, 0]).err().map(|e| e.to_string());
        assert!(e.is_some());

        // A registry whose type 0 is a struct containing itself.
        let json = r#"{"name":"Evil","constructors":[],"messages":[{"name":"m","selector":"00000000","payable":false,
            "args":[{"name":"x","ty":0}],"returns":0,"docs":[]}],"events":null,
            "types":{"types":[{"id":0,"type":{"path":["Loop"],"def":{"composite":{"fields":[{"type":0}]}}}}]}}"#;
        let evil = LoadedMetadata::from_json(json).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(decode_output(&evil, "m", &[]), Err(CodecError::In { .. })));
        let e = decode_output(&evil, "m", &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("deeper than"), "{e}");
        let e = encode_call(&evil, "m", &json!([1])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("deeper than"), "{e}");
    }

    #[test]
    fn signatures_read_like_rust() {
        let meta = bills();
        let sig = |n: &str| meta.message(n).map(|m| meta.signature(m)).unwrap_or_default();
        assert_eq!(
            sig("issue_bill"),
            "issue_bill(resident: AccountId, kind: UtilityKind, amount: u64, period: String, due: u64) -> u64"
        );
        assert_eq!(sig("bill"), "bill(id: u64) -> Option<Bill>");
        assert_eq!(sig("register_provider"), "register_provider(provider: AccountId, name: String, region: Region, kinds: Vec<UtilityKind>, late_fee_bps_per_day: u32) -> ()");
    }
}
