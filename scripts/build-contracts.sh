#!/usr/bin/env bash
# Builds every contract in contracts/ to wasm32-unknown-unknown, writes its metadata JSON next
# to it, embeds its storage layout in the wasm (custom section `jjj-storage-layout`, see
# crates/layout), and prints its name, size and code hash (blake2b-256, the hash the chain
# stores it under). The work is `jjj contract build`; this script builds the jjj CLI first, so
# it runs on a fresh checkout before anything else is built.
#
# Reproducible: source paths are remapped, so the same source and toolchain give the same code
# hash on any machine. Output: $JJJ_CONTRACTS_DIR (default target/contracts/).
# Fails if a contract is over $JJJ_MAX_CONTRACT_KIB KiB (default 100).
#
# Usage: scripts/build-contracts.sh [CONTRACT…]   (default: every contract crate of the workspace)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  echo "installing the wasm32-unknown-unknown target…"
  rustup target add wasm32-unknown-unknown
fi

cargo build --quiet --release -p jjj-cli
"$TARGET_DIR/release/jjj" contract build --manifest-path "$ROOT/Cargo.toml" "$@"
