#!/usr/bin/env bash
# Builds the web pages a node serves on its RPC port (`jjj-node --web-dir DIR`, or `web_dir` in
# its config) into $JJJ_WEB_DIR (default target/web/):
#   - the static pages of web/ (plain HTML, CSS and JavaScript: nothing to install or bundle);
#   - wallet.wasm, the signing module: crates/wallet-wasm, the CLI's encoding and signing code
#     (jjj-primitives, jjj-crypto, jjj-transcode) compiled to wasm32;
#   - metadata/: every contract's metadata JSON from scripts/build-contracts.sh, and index.json
#     naming the metadata of each code hash (both suites' hashes), for the explorer.
# Usage: scripts/build-web.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${JJJ_WEB_DIR:-$ROOT/target/web}
C=${JJJ_CONTRACTS_DIR:-$ROOT/target/contracts}

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  echo "installing the wasm32-unknown-unknown target…"
  rustup target add wasm32-unknown-unknown
fi
[ -f "$C/utility_bills.json" ] || bash scripts/build-contracts.sh >/dev/null
cargo build --quiet --release -p jjj-cli
# The contracts' profile (size-optimised, LTO): about 600 KB instead of 1 MB for the browser.
cargo build --quiet --profile contract --target wasm32-unknown-unknown -p jjj-wallet-wasm

TMP="$OUT.partial"
rm -rf "$TMP"
mkdir -p "$TMP/metadata"
cp web/index.html web/*.js web/*.css "$TMP/"
cp "$TARGET_DIR/wasm32-unknown-unknown/contract/jjj_wallet_wasm.wasm" "$TMP/wallet.wasm"
{
  echo "{"
  first=1
  for wasm in "$C"/*.wasm; do
    name=$(basename "$wasm" .wasm)
    [ -f "$C/$name.json" ] || continue
    cp "$C/$name.json" "$TMP/metadata/"
    # "ok: N bytes, code hash 0x… (ed25519+blake2b networks), 0x… (sm2+sm3), …"
    for h in $("$TARGET_DIR/release/jjj" contract check "$wasm" | grep -o '0x[0-9a-f]\{64\}'); do
      [ "$first" = 1 ] || echo ","
      printf '  "%s": "%s"' "$h" "$name"
      first=0
    done
  done
  echo
  echo "}"
} >"$TMP/metadata/index.json"
rm -rf "$OUT"
mv "$TMP" "$OUT"
echo "web pages in $OUT ($(du -sh "$OUT" | cut -f1); wallet.wasm $(stat -c %s "$OUT/wallet.wasm") bytes; $(ls "$OUT/metadata" | grep -vc index.json) contract metadata)"
