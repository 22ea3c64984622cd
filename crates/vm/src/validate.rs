//! Checks a module before its code hash is accepted: structure and limits with wasmparser
//! (cheap, before any compilation), then imports and exports against the host ABI once wasmtime
//! has compiled and fully validated it under the deterministic feature set.
use super::limits::*;
use jjj_abi::{exports, host_function, AbiType, HOST_MODULE};
use wasmparser::{Parser, Payload};
use wasmtime::{ExternType, Module, ValType};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("code is {size} bytes, over the limit of {MAX_CODE_SIZE}")]
    TooLarge { size: usize },
    #[error("not a wasm module: {0}")]
    Malformed(String),
    #[error("the module has a start function; contracts run only through `deploy` and `call`")]
    StartFunction,
    #[error("{what}: {count} is over the limit of {limit}")]
    OverLimit { what: &'static str, count: u64, limit: u64 },
    #[error("memory of {pages} initial pages is over the limit of {MAX_MEMORY_PAGES}")]
    MemoryTooLarge { pages: u64 },
    #[error("shared or 64-bit memories are not allowed")]
    ForbiddenMemory,
    #[error("import `{module}::{name}` is not a jjj host function")]
    UnknownImport { module: String, name: String },
    #[error("import `{name}` has the signature {got}, the host ABI says {expected}")]
    ImportSignature { name: String, expected: String, got: String },
    #[error("only host functions may be imported; `{name}` is a {kind}")]
    ForbiddenImport { name: String, kind: &'static str },
    #[error("missing export `{0}`")]
    MissingExport(&'static str),
    #[error("export `{name}` must be {expected}")]
    ExportType { name: &'static str, expected: &'static str },
    #[error("invalid wasm: {0}")]
    Invalid(String),
}

/// What validation learnt about a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSummary {
    pub reentrant: bool,
}

fn over(what: &'static str, count: u64, limit: u64) -> Result<(), ValidationError> {
    if count > limit {
        Err(ValidationError::OverLimit { what, count, limit })
    } else {
        Ok(())
    }
}

/// Structural checks on raw bytes, before compiling anything.
pub fn check_structure(code: &[u8]) -> Result<(), ValidationError> {
    if code.len() > MAX_CODE_SIZE {
        return Err(ValidationError::TooLarge { size: code.len() });
    }
    let malformed = |e: wasmparser::BinaryReaderError| ValidationError::Malformed(e.message().to_string());
    let mut functions = 0u64;
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(malformed)? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(ValidationError::Malformed("components are not contracts".into()));
            }
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp.map_err(malformed)?;
                    if matches!(imp.ty, wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)) {
                        functions += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => functions += u64::from(r.count()),
            Payload::TableSection(r) => {
                over("tables", u64::from(r.count()), u64::from(MAX_TABLES))?;
                for t in r {
                    let t = t.map_err(malformed)?;
                    over("table elements", t.ty.initial, u64::from(MAX_TABLE_ELEMENTS))?;
                }
            }
            Payload::MemorySection(r) => {
                over("memories", u64::from(r.count()), 1)?;
                for m in r {
                    let m = m.map_err(malformed)?;
                    if m.shared || m.memory64 {
                        return Err(ValidationError::ForbiddenMemory);
                    }
                    if m.initial > MAX_MEMORY_PAGES {
                        return Err(ValidationError::MemoryTooLarge { pages: m.initial });
                    }
                }
            }
            Payload::GlobalSection(r) => over("globals", u64::from(r.count()), u64::from(MAX_GLOBALS))?,
            Payload::StartSection { .. } => return Err(ValidationError::StartFunction),
            Payload::ElementSection(r) => over("element segments", u64::from(r.count()), u64::from(MAX_SEGMENTS))?,
            Payload::DataSection(r) => over("data segments", u64::from(r.count()), u64::from(MAX_SEGMENTS))?,
            Payload::CodeSectionEntry(body) => {
                let mut locals = 0u64;
                for l in body.get_locals_reader().map_err(malformed)? {
                    let (n, _) = l.map_err(malformed)?;
                    locals += u64::from(n);
                    over("locals in one function", locals, u64::from(MAX_LOCALS_PER_FUNCTION))?;
                }
            }
            _ => {}
        }
    }
    over("functions", functions, u64::from(MAX_FUNCTIONS))
}

fn abi_type(t: &ValType) -> Option<AbiType> {
    match t {
        ValType::I32 => Some(AbiType::I32),
        ValType::I64 => Some(AbiType::I64),
        _ => None,
    }
}

fn describe(params: &[AbiType], results: &[AbiType]) -> String {
    format!("{params:?} -> {results:?}").to_lowercase()
}

/// Interface checks on a compiled module: imports against the ABI, required exports.
pub fn check_interface(module: &Module) -> Result<ModuleSummary, ValidationError> {
    for import in module.imports() {
        let name = import.name().to_string();
        if import.module() != HOST_MODULE {
            return Err(ValidationError::UnknownImport { module: import.module().into(), name });
        }
        let Some(expected) = host_function(&name) else {
            return Err(ValidationError::UnknownImport { module: import.module().into(), name });
        };
        match import.ty() {
            ExternType::Func(f) => {
                let params: Vec<_> = f.params().map(|t| abi_type(&t)).collect();
                let results: Vec<_> = f.results().map(|t| abi_type(&t)).collect();
                let same = params.len() == expected.params.len()
                    && results.len() == expected.results.len()
                    && params.iter().zip(expected.params).all(|(a, b)| *a == Some(*b))
                    && results.iter().zip(expected.results).all(|(a, b)| *a == Some(*b));
                if !same {
                    let got = format!("{:?} -> {:?}", f.params().collect::<Vec<_>>(), f.results().collect::<Vec<_>>());
                    return Err(ValidationError::ImportSignature {
                        name,
                        expected: describe(expected.params, expected.results),
                        got: got.to_lowercase(),
                    });
                }
            }
            ExternType::Memory(_) => return Err(ValidationError::ForbiddenImport { name, kind: "memory" }),
            ExternType::Table(_) => return Err(ValidationError::ForbiddenImport { name, kind: "table" }),
            ExternType::Global(_) => return Err(ValidationError::ForbiddenImport { name, kind: "global" }),
            _ => return Err(ValidationError::ForbiddenImport { name, kind: "tag" }),
        }
    }
    for entry in [exports::DEPLOY, exports::CALL] {
        match module.get_export(entry) {
            None => return Err(ValidationError::MissingExport(entry)),
            Some(ExternType::Func(f)) if f.params().len() == 0 && f.results().len() == 0 => {}
            Some(_) => {
                return Err(ValidationError::ExportType {
                    name: entry,
                    expected: "a function taking and returning nothing",
                })
            }
        }
    }
    match module.get_export(exports::MEMORY) {
        None => return Err(ValidationError::MissingExport(exports::MEMORY)),
        Some(ExternType::Memory(_)) => {}
        Some(_) => return Err(ValidationError::ExportType { name: exports::MEMORY, expected: "a memory" }),
    }
    Ok(ModuleSummary { reentrant: module.get_export(exports::REENTRANT).is_some() })
}
