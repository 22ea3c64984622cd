//! `jjj contract new NAME --dir DIR`: a standalone contract crate to start from, outside any
//! jjj checkout: one constructor, one message, one query, one event, a native test (mock host)
//! and a wasm test (the real runtime over the built wasm).
use std::path::{Path, PathBuf};

/// Where the SDK comes from in the new crate's Cargo.toml.
pub enum SdkSource {
    /// A jjj checkout's `sdk-contracts` directory; jjj-testkit is its sibling `crates/testkit`.
    Path(PathBuf),
    /// A git repository holding jjj-sdk and jjj-testkit.
    Git(String),
}

pub struct NewContract {
    pub name: String,
    pub dir: PathBuf,
    /// Default: the jjj checkout this binary belongs to.
    pub sdk_path: Option<PathBuf>,
    pub sdk_git: Option<String>,
}

pub fn new_contract(req: NewContract) -> Result<(), String> {
    check_name(&req.name)?;
    let sdk = match (req.sdk_git, req.sdk_path) {
        (Some(_), Some(_)) => return Err("give --sdk-path or --sdk-git, not both".into()),
        (Some(url), None) => SdkSource::Git(url),
        (None, Some(path)) => {
            let path = std::fs::canonicalize(&path).map_err(|e| format!("--sdk-path {}: {e}", path.display()))?;
            if !is_sdk(&path) {
                return Err(format!("{} is not jjj-sdk (its Cargo.toml does not name jjj-sdk)", path.display()));
            }
            SdkSource::Path(path)
        }
        (None, None) => SdkSource::Path(find_sdk().ok_or(
            "cannot find the jjj SDK next to this jjj binary: give --sdk-path <jjj checkout>/sdk-contracts or --sdk-git URL",
        )?),
    };
    let root = req.dir.join(&req.name);
    if root.exists() && std::fs::read_dir(&root).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(format!("{} exists and is not empty", root.display()));
    }
    let lib = req.name.replace('-', "_");
    let ty = type_name(&req.name);
    let mut files: Vec<(&str, String)> = vec![
        ("Cargo.toml", cargo_toml(&req.name, &sdk)?),
        ("src/lib.rs", LIB_RS.replace("{name}", &req.name).replace("{Type}", &ty)),
        ("tests/native.rs", NATIVE_RS.replace("{lib}", &lib).replace("{Type}", &ty)),
        ("tests/wasm.rs", WASM_RS.replace("{lib}", &lib)),
        (".gitignore", "/target\n".into()),
        ("README.md", README_MD.replace("{name}", &req.name).replace("{lib}", &lib)),
    ];
    // The versions jjj itself is tested with, and no registry look-up on the first build.
    if let SdkSource::Path(sdk) = &sdk {
        if let Ok(lock) = std::fs::read_to_string(sdk.join("../Cargo.lock")) {
            files.push(("Cargo.lock", lock));
        }
    }
    for (file, content) in &files {
        let path = root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("created {}", root.display());
    println!("  test natively:  cd {} && cargo test --release --test native", root.display());
    println!("  build the wasm: jjj contract build --manifest-path {}", root.join("Cargo.toml").display());
    println!("  then:           cargo test --release   (the wasm test runs the built contract)");
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("{name:?} is not a crate name: a letter, then letters, digits, '-' or '_'"));
    }
    Ok(())
}

/// "demo-counter" → "DemoCounter".
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn is_sdk(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("name = \"jjj-sdk\""))
}

/// The SDK of the checkout this binary belongs to: above the binary (`<checkout>/target/release/jjj`),
/// else where it was built from (a target directory elsewhere).
fn find_sdk() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok().and_then(|e| std::fs::canonicalize(e).ok());
    let from_exe = exe.iter().flat_map(|e| e.ancestors().map(|d| d.join("sdk-contracts")).collect::<Vec<_>>());
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk-contracts");
    from_exe.chain([built_from]).find(|d| is_sdk(d)).and_then(|d| std::fs::canonicalize(d).ok())
}

fn cargo_toml(name: &str, sdk: &SdkSource) -> Result<String, String> {
    let (sdk_dep, testkit_dep) = match sdk {
        SdkSource::Path(sdk) => {
            let testkit = sdk.join("../crates/testkit");
            let testkit = std::fs::canonicalize(&testkit)
                .map_err(|_| format!("no jjj-testkit at {} (next to the SDK)", testkit.display()))?;
            (
                format!("{{ path = {} }}", toml_string(&sdk.display().to_string())),
                format!("{{ path = {} }}", toml_string(&testkit.display().to_string())),
            )
        }
        SdkSource::Git(url) => {
            (format!("{{ git = {} }}", toml_string(url)), format!("{{ git = {} }}", toml_string(url)))
        }
    };
    Ok(CARGO_TOML.replace("{name}", name).replace("{sdk}", &sdk_dep).replace("{testkit}", &testkit_dep))
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

const CARGO_TOML: &str = r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
# cdylib: the wasm the chain runs; rlib: the native tests and the metadata `jjj contract build` writes.
crate-type = ["cdylib", "rlib"]

[dependencies]
jjj-sdk = {sdk}
parity-scale-codec = { version = "3.7", default-features = false, features = ["derive"] }
scale-info = { version = "2.11", default-features = false, features = ["derive"] }

[dev-dependencies]
jjj-testkit = {testkit}

# A workspace of its own: not swallowed by a workspace around it.
[workspace]

[profile.release]
overflow-checks = true

# What `jjj contract build` uses: the smallest reproducible wasm.
[profile.contract]
inherits = "release"
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"
strip = true
overflow-checks = true
"#;

const LIB_RS: &str = r#"//! {name}: a jjj contract. A counter to start from: one constructor, one message, one query
//! and one event.
//!
//! Build: `jjj contract build` (wasm and metadata JSON in target/contracts/).
#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use jjj_sdk::prelude::*;

jjj_sdk::storage! {
    /// The count: one value under a fixed key.
    static COUNT: Item<u64> = b"count";
}

/// What the contract announces; tools decode it with the metadata.
#[derive(Encode, Decode, TypeInfo, ContractEvent, Clone, Debug, PartialEq, Eq)]
pub enum {Type}Event {
    Bumped { by: u64, now: u64 },
}

pub struct {Type};

#[jjj_sdk::contract(events = {Type}Event)]
impl {Type} {
    /// Starts counting at `start`.
    #[constructor]
    pub fn new(start: u64) -> Result<()> {
        COUNT.set(&start);
        Ok(())
    }

    /// Adds `by` and returns the new count; an overflow reverts the call.
    #[message]
    pub fn bump(by: u64) -> Result<u64> {
        let now = COUNT.get_or(0).checked_add(by).ok_or_else(|| Error::new("counter overflow"))?;
        COUNT.set(&now);
        env::emit(&{Type}Event::Bumped { by, now });
        Ok(now)
    }

    /// The current count (a query: `jjj contract query`, nothing is signed or stored).
    #[message(query)]
    pub fn get() -> Result<u64> {
        Ok(COUNT.get_or(0))
    }
}
"#;

const NATIVE_RS: &str = r#"//! The contract natively on the SDK's mock host: fast, no wasm, no node.
use jjj_sdk::testing::TestEnv;
use {lib}::{msg, {Type}, {Type}Event};

#[test]
fn bumps_emits_and_reads() {
    let env = TestEnv::new();
    let alice = TestEnv::account("alice");
    let counter = env.deploy({Type}::ENTRY, &alice, 0, msg::new(10)).expect("deploy");
    assert_eq!(env.call_decode::<u64>(&alice, &counter, 0, msg::bump(5)), Ok(15));
    assert_eq!(env.events()[0].decode::<{Type}Event>(), Some({Type}Event::Bumped { by: 5, now: 15 }));
    assert_eq!(env.call_decode::<u64>(&alice, &counter, 0, msg::get()), Ok(15));
    assert_eq!(env.call(&alice, &counter, 0, msg::bump(u64::MAX)), Err("counter overflow".into()));
}
"#;

const WASM_RS: &str = r#"//! The built wasm on the real runtime: signed transactions in blocks, as on chain.
//! Build it first: `jjj contract build`.
use jjj_testkit::TestChain;
use {lib}::msg;
use std::path::PathBuf;

fn wasm() -> Vec<u8> {
    let dir = std::env::var_os("JJJ_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/contracts"));
    let path = dir.join("{lib}.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}; run `jjj contract build` first", path.display()))
}

#[test]
fn runs_as_wasm() {
    let mut chain = TestChain::new();
    let alice = chain.account("alice", 10_000_000);
    let code = chain.upload(&alice, &wasm()).expect("upload");
    let counter = chain.instantiate(&alice, code, 0, msg::new(10)).expect("instantiate");
    assert_eq!(chain.call_ok::<u64>(&alice, &counter, 0, msg::bump(5)), 15);
    assert_eq!(chain.query::<u64>(&alice.id, &counter, msg::get()), Ok(15));
}
"#;

const README_MD: &str = r#"# {name}

A jjj contract.

    cargo test --release --test native                        # natively, on the SDK's mock host
    jjj contract build                                        # target/contracts/{lib}.wasm and .json
    cargo test --release                                      # also the wasm on the real runtime
    jjj contract deploy --key KEY --wasm target/contracts/{lib}.wasm --args '[10]'
    jjj contract call  --key KEY --contract ADDRESS --metadata target/contracts/{lib}.json --message bump --args '[5]'
    jjj contract query --contract ADDRESS --metadata target/contracts/{lib}.json --message get
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_crate_and_type_names() {
        assert_eq!(type_name("demo-counter"), "DemoCounter");
        assert_eq!(type_name("my_first__contract"), "MyFirstContract");
        assert!(check_name("demo-counter").is_ok());
        assert!(check_name("1st").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn refuses_a_non_empty_directory_and_two_sdk_sources() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("taken")).expect("mkdir");
        std::fs::write(dir.join("taken/file"), "x").expect("write");
        let req = |sdk_git: Option<&str>, sdk_path: Option<&Path>| NewContract {
            name: "taken".into(),
            dir: dir.clone(),
            sdk_path: sdk_path.map(Path::to_path_buf),
            sdk_git: sdk_git.map(str::to_string),
        };
        assert!(new_contract(req(Some("https://example.org/jjj"), None)).unwrap_err().contains("not empty"));
        assert!(new_contract(req(Some("u"), Some(&dir))).unwrap_err().contains("not both"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("jjj-scaffold-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
