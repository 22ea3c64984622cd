#!/usr/bin/env bash
# Builds every contract in contracts/ to wasm32-unknown-unknown and prints its name, size and
# code hash (blake2b-256, the hash the chain stores it under).
#
# Reproducible: source paths are remapped, so the same source and toolchain give the same code
# hash on any machine. Output: $JJJ_CONTRACTS_DIR (default target/contracts/).
# Fails if a contract is over $JJJ_MAX_CONTRACT_KIB KiB (default 100).
#
# Usage: scripts/build-contracts.sh [CONTRACT…]   (default: every crate under contracts/)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}
MAX_KIB=${JJJ_MAX_CONTRACT_KIB:-100}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  echo "installing the wasm32-unknown-unknown target…"
  rustup target add wasm32-unknown-unknown
fi

names=("$@")
if (( ${#names[@]} == 0 )); then
  for manifest in contracts/*/Cargo.toml; do
    names+=("$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)")
  done
fi
packages=()
for name in "${names[@]}"; do packages+=(-p "$name"); done

# A 64 KiB shadow stack instead of rustc's 1 MiB keeps instances small; remapped paths keep
# panic locations free of this machine's directories.
export RUSTFLAGS="-C link-arg=-zstack-size=65536 --remap-path-prefix=$ROOT=/jjj --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
cargo build --quiet --target wasm32-unknown-unknown --profile contract "${packages[@]}"

mkdir -p "$OUT"
status=0
printf '%-24s %9s  %s\n' contract bytes "code hash (blake2b-256)"
for name in "${names[@]}"; do
  file=${name//-/_}.wasm
  cp "$TARGET_DIR/wasm32-unknown-unknown/contract/$file" "$OUT/$file"
  size=$(stat -c %s "$OUT/$file")
  hash=$(b2sum -l 256 "$OUT/$file" | cut -d' ' -f1)
  printf '%-24s %9d  0x%s\n' "$name" "$size" "$hash"
  if (( size > MAX_KIB * 1024 )); then
    echo "error: $name is $size bytes, over the limit of $MAX_KIB KiB" >&2
    status=1
  fi
done
exit $status
