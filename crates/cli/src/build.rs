//! `jjj contract build`: contract crates to reproducible wasm plus their metadata JSON.
//!
//! The wasm: `cargo build --target wasm32-unknown-unknown --profile contract` with a 64 KiB
//! stack and remapped source paths, then validated as the chain validates an upload and held to
//! a size limit. The metadata: the CLI links no contract, so it writes a throw-away binary crate
//! (in the contracts' target directory) that depends on them by path and writes what each one's
//! `#[contract]` macro generated (`__jjj_contract_metadata()`), and runs it natively.
use jjj_crypto::blake2_256;
use jjj_executive::Runtime;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Largest contract accepted, unless `JJJ_MAX_CONTRACT_KIB` says otherwise: small code keeps
/// uploads, compilation and every validator's cache cheap.
const DEFAULT_MAX_KIB: u64 = 100;
/// rustc's default 1 MiB shadow stack would be reserved in every instance; 64 KiB is plenty.
const STACK_SIZE: u32 = 64 * 1024;

pub struct BuildRequest {
    /// A package manifest (that contract) or a workspace manifest (its contracts); default: the
    /// workspace of the current directory.
    pub manifest_path: Option<PathBuf>,
    /// Only these contract packages (default: every contract of the workspace).
    pub contracts: Vec<String>,
    /// Where the wasm and JSON go (default: $JJJ_CONTRACTS_DIR, or target/contracts under the
    /// workspace root).
    pub out: Option<PathBuf>,
}

/// A contract crate: a member with a cdylib target that depends on jjj-sdk.
struct ContractCrate {
    package: String,
    /// The library's crate name, which names the wasm file ("utility_bills").
    lib: String,
    dir: PathBuf,
}

struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    contracts: Vec<ContractCrate>,
    /// Path dependencies outside the root (a local SDK checkout): remapped like the root.
    outside_path_deps: Vec<(String, PathBuf)>,
}

pub fn build(req: BuildRequest) -> Result<(), String> {
    ensure_wasm_target()?;
    let manifest = match &req.manifest_path {
        Some(m) => Some(std::fs::canonicalize(m).map_err(|e| format!("{}: {e}", m.display()))?),
        None => None,
    };
    let ws = workspace(manifest.as_deref(), &req.contracts)?;
    let out = match req.out {
        Some(o) => o,
        None => {
            std::env::var_os("JJJ_CONTRACTS_DIR").map(PathBuf::from).unwrap_or_else(|| ws.root.join("target/contracts"))
        }
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let out = std::fs::canonicalize(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    build_wasm(&ws)?;
    write_metadata(&ws, &out)?;

    let max_kib = match std::env::var("JJJ_MAX_CONTRACT_KIB") {
        Ok(v) => v.parse::<u64>().map_err(|_| format!("JJJ_MAX_CONTRACT_KIB={v:?} is not a number"))?,
        Err(_) => DEFAULT_MAX_KIB,
    };
    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    println!("{:<24} {:>9}  code hash (blake2b-256)", "contract", "bytes");
    for c in &ws.contracts {
        let built = ws.target_dir.join("wasm32-unknown-unknown/contract").join(format!("{}.wasm", c.lib));
        let wasm = out.join(format!("{}.wasm", c.lib));
        let mut code = std::fs::read(&built).map_err(|e| format!("cannot read {}: {e}", built.display()))?;
        let metadata = out.join(format!("{}.json", c.lib));
        let layout = embed_layout(&mut code, &metadata)?;
        std::fs::write(&wasm, &code).map_err(|e| format!("cannot write {}: {e}", wasm.display()))?;
        println!("{:<24} {:>9}  {}", c.package, code.len(), blake2_256(&code));
        println!("  sm3:      {} (its code hash on sm2+sm3 networks)", jjj_crypto::sm3(&code));
        println!("  wasm:     {}", wasm.display());
        println!("  metadata: {}", metadata.display());
        match layout {
            Some(items) => println!("  storage:  {items} items, layout embedded ({})", jjj_layout::LAYOUT_SECTION),
            None => println!("  storage:  no storage! block, so no layout: upgrades of it are not checked"),
        }
        if code.len() as u64 > max_kib * 1024 {
            failures.push(format!("{} is {} bytes, over the limit of {max_kib} KiB", c.package, code.len()));
        }
        if let Err(e) = runtime.vm().compile(&code) {
            failures.push(format!("{}: the chain would refuse it: {e}", c.package));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Appends the storage layout the metadata carries (`storage_layout`, SCALE hex) to `code` as
/// the custom section the chain reads to check upgrades, and reads it back as the chain will.
/// The number of storage items, or `None` for a contract without a `storage!` block.
fn embed_layout(code: &mut Vec<u8>, metadata: &Path) -> Result<Option<usize>, String> {
    let text = std::fs::read_to_string(metadata).map_err(|e| format!("cannot read {}: {e}", metadata.display()))?;
    let meta: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", metadata.display()))?;
    let Some(encoded) = meta["storage_layout"].as_str() else { return Ok(None) };
    let bytes = hex::decode(encoded.trim_start_matches("0x"))
        .map_err(|e| format!("{}: storage_layout is not hex: {e}", metadata.display()))?;
    let layout = jjj_layout::decode_layout(&bytes).map_err(|e| format!("{}: {e}", metadata.display()))?;
    jjj_layout::append_layout_section(code, &layout);
    match jjj_layout::read_layout_section(code) {
        Ok(Some(read)) if read == layout => Ok(Some(layout.items.len())),
        other => Err(format!("{}: the embedded storage layout does not read back: {other:?}", metadata.display())),
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn ensure_wasm_target() -> Result<(), String> {
    let out =
        Command::new("rustc").args(["--print", "sysroot"]).output().map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if out.status.success() && !sysroot.join("lib/rustlib/wasm32-unknown-unknown").exists() {
        return Err(
            "the wasm32-unknown-unknown target is not installed: rustup target add wasm32-unknown-unknown".into()
        );
    }
    Ok(())
}

/// Reads the workspace with `cargo metadata` and picks the contracts to build.
fn workspace(manifest: Option<&Path>, names: &[String]) -> Result<Workspace, String> {
    let mut cmd = cargo();
    cmd.args(["metadata", "--format-version", "1"]);
    if let Some(m) = manifest {
        cmd.arg("--manifest-path").arg(m);
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let meta: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let root = canonical(Path::new(meta["workspace_root"].as_str().ok_or("cargo metadata: no workspace_root")?));
    let target_dir = PathBuf::from(meta["target_directory"].as_str().ok_or("cargo metadata: no target_directory")?);
    let members: Vec<&str> =
        meta["workspace_members"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let packages = meta["packages"].as_array().ok_or("cargo metadata: no packages")?;

    let mut contracts = Vec::new();
    let mut outside_path_deps = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let manifest_path = canonical(Path::new(p["manifest_path"].as_str().unwrap_or_default()));
        let dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let is_member = members.contains(&p["id"].as_str().unwrap_or_default());
        if !is_member {
            if p["source"].is_null() && !dir.starts_with(&root) {
                outside_path_deps.push((name, dir));
            }
            continue;
        }
        let lib = p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["crate_types"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib")));
        let uses_sdk = p["dependencies"].as_array().into_iter().flatten().any(|d| d["name"] == "jjj-sdk");
        let chosen = match manifest {
            // A package manifest names its contract; a workspace manifest means all of them.
            Some(m) if m != root.join("Cargo.toml") => manifest_path == m,
            _ => names.is_empty() || names.contains(&name),
        };
        if let (true, Some(lib)) = (chosen, lib) {
            if manifest.is_some_and(|m| m == manifest_path) || uses_sdk {
                let lib = lib["name"].as_str().unwrap_or(&name).replace('-', "_");
                contracts.push(ContractCrate { package: name, lib, dir });
            }
        }
    }
    if let Some(missing) = names.iter().find(|n| !contracts.iter().any(|c| &c.package == *n)) {
        return Err(format!(
            "{missing} is not a contract crate of {} (a member with a cdylib that uses jjj-sdk)",
            root.display()
        ));
    }
    if contracts.is_empty() {
        return Err(format!(
            "no contract crate in {} (a package with crate-type cdylib that depends on jjj-sdk)",
            manifest.unwrap_or(&root).display()
        ));
    }
    contracts.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(Workspace { root, target_dir, contracts, outside_path_deps })
}

/// The flags that make the wasm small and reproducible: the same source and toolchain give the
/// same code hash on any machine, because no local directory ends up in the code (panic
/// locations name /src/…, /deps/<package>/… and /cargo/…).
fn wasm_rustflags(ws: &Workspace) -> String {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut remaps: Vec<(PathBuf, String)> = vec![(ws.root.clone(), "/src".into())];
    remaps.extend(ws.outside_path_deps.iter().map(|(name, dir)| (dir.clone(), format!("/deps/{name}"))));
    remaps.extend(cargo_home.map(|h| (h, "/cargo".to_string())));
    // rustc applies the last matching remap: nested directories after their parents.
    remaps.sort_by_key(|(dir, _)| dir.as_os_str().len());
    let mut flags = format!("-C link-arg=-zstack-size={STACK_SIZE}");
    for (from, to) in remaps {
        flags.push_str(&format!(" --remap-path-prefix={}={to}", from.display()));
    }
    flags
}

fn build_wasm(ws: &Workspace) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "--target", "wasm32-unknown-unknown", "--profile", "contract", "--manifest-path"])
        .arg(ws.root.join("Cargo.toml"))
        .current_dir(&ws.root)
        .env("RUSTFLAGS", wasm_rustflags(ws))
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    for c in &ws.contracts {
        cmd.args(["-p", &c.package]);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(
            "building the wasm failed (a contract workspace needs a [profile.contract]: see `jjj contract new`)".into(),
        );
    }
    Ok(())
}

/// Writes `<lib>.json` for every contract into `out` by generating and running a small native
/// binary that links them.
fn write_metadata(ws: &Workspace, out: &Path) -> Result<(), String> {
    let crate_name = match &ws.contracts[..] {
        [one] => one.package.clone(),
        _ => ws.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "workspace".into()),
    };
    let dir = ws.target_dir.join("jjj-metadata").join(crate_name);
    std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;

    let mut deps = toml::Table::new();
    for c in &ws.contracts {
        let mut dep = toml::Table::new();
        dep.insert("path".into(), c.dir.display().to_string().into());
        dep.insert("package".into(), c.package.clone().into());
        deps.insert(c.lib.clone(), dep.into());
    }
    let mut package = toml::Table::new();
    package.insert("name".into(), "jjj-contract-metadata-writer".into());
    package.insert("version".into(), "0.0.0".into());
    package.insert("edition".into(), "2021".into());
    package.insert("publish".into(), false.into());
    let mut manifest = toml::Table::new();
    manifest.insert("package".into(), package.into());
    // Its own workspace: not swallowed by one above it (the default target dir is inside one).
    manifest.insert("workspace".into(), toml::Table::new().into());
    manifest.insert("dependencies".into(), deps.into());
    // The contracts' release profile, so their native dependencies build as they do there.
    if let Some(release) = root_release_profile(&ws.root) {
        let mut profile = toml::Table::new();
        profile.insert("release".into(), release.into());
        manifest.insert("profile".into(), profile.into());
    }
    let manifest = format!(
        "# Generated by `jjj contract build` to write contract metadata; safe to delete.\n{}",
        toml::to_string(&manifest).map_err(|e| e.to_string())?
    );

    let mut main = String::from(
        "// Generated by `jjj contract build`: writes each contract's metadata JSON into the directory given.\n\
         fn write(dir: &std::path::Path, lib: &str, json: String) {\n    \
             let path = dir.join(format!(\"{lib}.json\"));\n    \
             if let Err(e) = std::fs::write(&path, json) {\n        \
                 eprintln!(\"cannot write {}: {e}\", path.display());\n        \
                 std::process::exit(1);\n    \
             }\n\
         }\n\n\
         fn main() {\n    \
             let dir = std::path::PathBuf::from(std::env::args_os().nth(1).unwrap_or_default());\n",
    );
    for c in &ws.contracts {
        main.push_str(&format!("    write(&dir, \"{0}\", {0}::__jjj_contract_metadata().to_json());\n", c.lib));
    }
    main.push_str("}\n");

    write_if_changed(&dir.join("Cargo.toml"), manifest.as_bytes())?;
    write_if_changed(&dir.join("src/main.rs"), main.as_bytes())?;
    // The contracts' lock file: the metadata is built from the same dependency versions.
    if let Ok(lock) = std::fs::read(ws.root.join("Cargo.lock")) {
        write_if_changed(&dir.join("Cargo.lock"), &lock)?;
    }

    // A target directory of its own: a contract is a cdylib, whose library files cargo names
    // without a hash, so this build (its own workspace, other features) and the contracts'
    // workspace would overwrite each other's `libNAME.rlib` in one directory, and a test could
    // link against the other build's ("multiple different versions of crate jjj_sdk").
    let status = cargo()
        .args(["run", "--quiet", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(ws.target_dir.join("contract-metadata"))
        .arg("--")
        .arg(out)
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "writing the metadata failed (the generated crate is {}; a contract needs a jjj-sdk with \
             `__jjj_contract_metadata`)",
            dir.display()
        ));
    }
    Ok(())
}

/// The path with symbolic links resolved, so paths from cargo and from the user compare.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn root_release_profile(root: &Path) -> Option<toml::Table> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("profile")?.get("release")?.as_table().cloned()
}

/// Leaves an unchanged file alone, so cargo does not rebuild the generated crate needlessly.
fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
