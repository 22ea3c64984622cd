//! Reading a request's fields, each with a message that names the field and what it wants.
use jjj_crypto::{Keypair, Scheme, Suite};
use jjj_primitives::{AccountId, NetworkId};
use jjj_transcode::LoadedMetadata;
use serde_json::{Map, Value};

/// Largest integer a JSON number carries exactly in JavaScript (2^53), as in `jjj-transcode`.
const MAX_SAFE_JSON_INT: u64 = 1 << 53;

/// A request's fields, taken one by one; [`Fields::finish`] refuses any left over.
pub struct Fields {
    op: String,
    map: Map<String, Value>,
    known: Vec<&'static str>,
}

impl Fields {
    /// Parses `{"op": "...", …}`.
    pub fn parse(request: &[u8]) -> Result<Fields, String> {
        let text = std::str::from_utf8(request).map_err(|e| format!("the request is not UTF-8: {e}"))?;
        let value: Value = serde_json::from_str(text).map_err(|e| format!("the request is not JSON: {e}"))?;
        let Value::Object(mut map) = value else {
            return Err(format!("the request must be a JSON object {{\"op\": …}}, got {}", kind_of(&value)));
        };
        let op = match map.remove("op") {
            Some(Value::String(op)) => op,
            Some(other) => return Err(format!("`op` must be a string, got {}", kind_of(&other))),
            None => return Err("the request has no `op`".into()),
        };
        Ok(Fields { op, map, known: Vec::new() })
    }

    pub fn op(&self) -> &str {
        &self.op
    }

    /// The field, if given and not null.
    pub fn opt(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.map.remove(name).filter(|v| !v.is_null())
    }

    pub fn opt_str(&mut self, name: &'static str) -> Result<Option<String>, String> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("`{name}` must be a string, got {}", kind_of(&other))),
        }
    }

    pub fn str(&mut self, name: &'static str) -> Result<String, String> {
        self.opt_str(name)?.ok_or_else(|| format!("`{name}` is missing"))
    }

    pub fn opt_bool(&mut self, name: &'static str) -> Result<Option<bool>, String> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(format!("`{name}` must be true or false, got {}", kind_of(&other))),
        }
    }

    /// A `u64` given as a JSON number or a decimal string.
    pub fn opt_u64(&mut self, name: &'static str) -> Result<Option<u64>, String> {
        let bad = |got: &str| {
            format!("`{name}` must be a whole number from 0 to {} (a number or a decimal string), got {got}", u64::MAX)
        };
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad(&n.to_string())),
            Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| bad(&format!("{s:?}"))),
            Some(other) => Err(bad(kind_of(&other))),
        }
    }

    pub fn u64(&mut self, name: &'static str) -> Result<u64, String> {
        self.opt_u64(name)?.ok_or_else(|| format!("`{name}` is missing"))
    }

    /// Bytes given as hex (`0x` optional).
    pub fn bytes(&mut self, name: &'static str) -> Result<Vec<u8>, String> {
        let s = self.str(name)?;
        parse_hex(name, &s)
    }

    pub fn account(&mut self, name: &'static str) -> Result<AccountId, String> {
        let s = self.str(name)?;
        parse_account(name, &s)
    }

    /// A JSON array of account ids, each 32 bytes of hex.
    pub fn accounts(&mut self, name: &'static str) -> Result<Vec<AccountId>, String> {
        match self.opt(name) {
            None => Err(format!("`{name}` is missing")),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => parse_account(&format!("{name}[{i}]"), s),
                    other => Err(format!("`{name}[{i}]` must be an account id (hex), got {}", kind_of(other))),
                })
                .collect(),
            Some(other) => Err(format!("`{name}` must be an array of account ids, got {}", kind_of(&other))),
        }
    }

    pub fn opt_account(&mut self, name: &'static str) -> Result<Option<AccountId>, String> {
        self.opt_str(name)?.map(|s| parse_account(name, &s)).transpose()
    }

    pub fn network(&mut self) -> Result<NetworkId, String> {
        NetworkId::new(&self.str("network")?).map_err(|e| format!("`network`: {e}"))
    }

    /// The signing key, from its text (`text`).
    pub fn key(&mut self) -> Result<Keypair, String> {
        Keypair::from_key_text(&self.str("text")?).map_err(|e| format!("`text`: {e}"))
    }

    pub fn scheme(&mut self) -> Result<Scheme, String> {
        self.str("scheme")?.parse().map_err(|e| format!("`scheme`: {e}"))
    }

    /// `suite`: a suite name (`ed25519+blake2b`, `sm2+sm3`) or a scheme name (`ed25519`, `sm2`).
    pub fn opt_suite(&mut self) -> Result<Option<Suite>, String> {
        let Some(s) = self.opt_str("suite")? else { return Ok(None) };
        match (s.parse::<Suite>(), s.parse::<Scheme>()) {
            (Ok(suite), _) => Ok(Some(suite)),
            (_, Ok(scheme)) => Ok(Some(scheme.suite())),
            (Err(e), Err(_)) => Err(format!("`suite`: {e} (or a scheme: ed25519, sm2)")),
        }
    }

    /// The contract metadata (`metadata`), as JSON text or as the parsed object.
    pub fn metadata(&mut self) -> Result<LoadedMetadata, String> {
        self.opt_metadata()?.ok_or_else(|| "`metadata` is missing".into())
    }

    pub fn opt_metadata(&mut self) -> Result<Option<LoadedMetadata>, String> {
        let meta = match self.opt("metadata") {
            None => return Ok(None),
            Some(Value::String(text)) => LoadedMetadata::from_json(&text),
            Some(value @ Value::Object(_)) => serde_json::from_value::<LoadedMetadata>(value)
                .map_err(jjj_transcode::CodecError::from)
                .and_then(|m| m.validate().map(|()| m)),
            Some(other) => {
                return Err(format!("`metadata` must be the metadata JSON, as text or object, got {}", kind_of(&other)))
            }
        };
        meta.map(Some).map_err(|e| format!("`metadata`: {e}"))
    }

    /// Refuses fields the op did not take.
    pub fn finish(self) -> Result<(), String> {
        let Some(extra) = self.map.keys().next() else { return Ok(()) };
        let known = if self.known.is_empty() { "none".to_string() } else { self.known.join(", ") };
        Err(format!("op `{}` takes no field `{extra}`; its fields: {known}", self.op))
    }
}

pub fn parse_hex(name: &str, s: &str) -> Result<Vec<u8>, String> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    hex::decode(digits).map_err(|e| format!("`{name}` is not hex: {e}"))
}

pub fn parse_account(name: &str, s: &str) -> Result<AccountId, String> {
    let bytes = parse_hex(name, s)?;
    let n = bytes.len();
    <[u8; 32]>::try_from(bytes).map(AccountId).map_err(|_| format!("`{name}` must be 32 bytes of hex, got {n}"))
}

/// `0x` and the lowercase hex of `bytes`.
pub fn hex0x(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A `u64` as JSON: a number up to 2^53, a decimal string beyond (as `jjj-transcode` does).
pub fn u64_json(n: u64) -> Value {
    if n <= MAX_SAFE_JSON_INT {
        Value::from(n)
    } else {
        Value::String(n.to_string())
    }
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
