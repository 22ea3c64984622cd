//! `jjj-layout-embed DIR`: the step of `scripts/build-contracts.sh` after `jjj contract build`.
//!
//! For each `<lib>.json` in DIR (contract metadata) that carries a storage layout
//! (`storage_layout`, SCALE hex, present when the contract declares a `storage!` block), it
//! appends the layout to `<lib>.wasm` as the `jjj-storage-layout` custom section (replacing one
//! already there), reads it back the way the chain will, checks the chain's upload validation
//! still accepts the code, and prints the contract's new size and code hash and the section's
//! size.
//!
//! (`jjj contract build` itself does not embed the layout yet: this keeps the step out of the
//! CLI until it takes it over.)
use jjj_executive::Runtime;
use jjj_layout::{append_layout_section, decode_layout, read_layout_section};
use jjj_primitives::blake2_256;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest contract accepted, as `jjj contract build` holds it (`JJJ_MAX_CONTRACT_KIB`).
const DEFAULT_MAX_KIB: u64 = 100;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: jjj-layout-embed DIR   (the directory of the built .wasm and .json)");
        return ExitCode::FAILURE;
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jjj-layout-embed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path) -> Result<(), String> {
    let max_kib = match std::env::var("JJJ_MAX_CONTRACT_KIB") {
        Ok(v) => v.parse::<u64>().map_err(|_| format!("JJJ_MAX_CONTRACT_KIB={v:?} is not a number"))?,
        Err(_) => DEFAULT_MAX_KIB,
    };
    let mut jsons: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.with_extension("wasm").is_file())
        .collect();
    jsons.sort();
    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    println!("storage layouts ({}):", jjj_layout::LAYOUT_SECTION);
    println!("{:<24} {:>9} {:>9}  code hash (blake2b-256)", "contract", "bytes", "section");
    for json in jsons {
        match embed(&json, &runtime, max_kib) {
            Ok(line) => println!("{line}"),
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Embeds one contract's layout; the line to print.
fn embed(json: &Path, runtime: &Runtime, max_kib: u64) -> Result<String, String> {
    let wasm_path = json.with_extension("wasm");
    let name = json.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let text = std::fs::read_to_string(json).map_err(|e| format!("cannot read {}: {e}", json.display()))?;
    let meta: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    let Some(encoded) = meta["storage_layout"].as_str() else {
        return Ok(format!("{name:<24} (no storage! block: no layout section)"));
    };
    let bytes = hex::decode(encoded).map_err(|e| format!("{}: storage_layout is not hex: {e}", json.display()))?;
    let layout = decode_layout(&bytes).map_err(|e| format!("{}: {e}", json.display()))?;

    let mut code = std::fs::read(&wasm_path).map_err(|e| format!("cannot read {}: {e}", wasm_path.display()))?;
    append_layout_section(&mut code, &layout);
    match read_layout_section(&code) {
        Ok(Some(read)) if read == layout => {}
        other => return Err(format!("{name}: the embedded layout does not read back: {other:?}")),
    }
    if code.len() as u64 > max_kib * 1024 {
        return Err(format!("{name} is {} bytes with its layout, over the limit of {max_kib} KiB", code.len()));
    }
    runtime.vm().compile(&code).map_err(|e| format!("{name}: the chain would refuse it with its layout: {e}"))?;
    std::fs::write(&wasm_path, &code).map_err(|e| format!("cannot write {}: {e}", wasm_path.display()))?;
    Ok(format!("{name:<24} {:>9} {:>9}  {}", code.len(), section_size(&layout), blake2_256(&code)))
}

/// The bytes the section adds to a module (id, size, name and the encoded layout).
fn section_size(layout: &jjj_layout::StorageLayout) -> usize {
    let header = b"\0asm\x01\0\0\0";
    let mut module = header.to_vec();
    append_layout_section(&mut module, layout);
    module.len() - header.len()
}
